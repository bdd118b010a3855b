package io.tickstream.testutils;

import io.tickstream.model.Side;
import io.tickstream.model.Tick;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.StringJoiner;

/** Shared builders for tests: ticks, tick JSON v1 texts and Kafka keys. */
public final class TestTicks {
    /** 2024-11-25T02:40:00Z, a fixed trade time far from the parser's limits. */
    public static final long T0 = 1_732_502_400_000L;

    private TestTicks() {}

    /** A buy of 1 unit on binance:BTC-USDT with a numeric (sequenced) trade id. */
    public static Tick tick(long seq, long ts, String price) {
        return tick("binance", "BTC-USDT", Long.toString(seq), ts, price, "1");
    }

    public static Tick tick(long seq, long ts, String price, String size) {
        return tick("binance", "BTC-USDT", Long.toString(seq), ts, price, size);
    }

    /** A tick of any instrument; the sequence number follows the parser's rule for the id. */
    public static Tick tick(String exchange, String symbol, String tradeId, long ts, String price, String size) {
        return new Tick(
                exchange,
                symbol,
                tradeId,
                sequenceOf(tradeId),
                price,
                Double.parseDouble(price),
                size,
                Double.parseDouble(size),
                Side.BUY,
                ts,
                ts + 25);
    }

    /** The same rule as TickParser: canonical numbers of up to 18 digits, else no sequence. */
    public static long sequenceOf(String tradeId) {
        if (tradeId.isEmpty()
                || tradeId.length() > 18
                || !tradeId.chars().allMatch(Character::isDigit)
                || (tradeId.length() > 1 && tradeId.charAt(0) == '0')) {
            return Tick.NO_SEQUENCE;
        }
        return Long.parseLong(tradeId);
    }

    public static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    public static byte[] key(String exchange, String symbol) {
        return utf8(exchange + ':' + symbol);
    }

    /** A mutable tick JSON v1 object: start from {@link #json()} and change one field to make a bad record. */
    public static Json json() {
        return new Json();
    }

    public static final class Json {
        /** Field name to raw JSON value text (already quoted when a string). */
        private final Map<String, String> fields = new LinkedHashMap<>();

        private Json() {
            raw("v", "1");
            str("exchange", "binance");
            str("symbol", "BTC-USDT");
            str("trade_id", "3456789012");
            str("price", "67123.45");
            str("size", "0.00120");
            str("side", "buy");
            raw("ts", Long.toString(T0));
            raw("recv_ts", Long.toString(T0 + 27));
        }

        /** Sets a field to a JSON string value, escaped as JSON requires. */
        public Json str(String name, String value) {
            StringBuilder b = new StringBuilder("\"");
            for (char c : value.toCharArray()) {
                if (c == '"' || c == '\\') {
                    b.append('\\').append(c);
                } else if (c < 0x20) {
                    b.append(String.format("\\u%04x", (int) c));
                } else {
                    b.append(c);
                }
            }
            fields.put(name, b.append('"').toString());
            return this;
        }

        /** Sets a field to a raw JSON value text, e.g. {@code 123}, {@code null}, {@code [1]}. */
        public Json raw(String name, String jsonValue) {
            fields.put(name, jsonValue);
            return this;
        }

        public Json without(String name) {
            fields.remove(name);
            return this;
        }

        public String exchange() {
            return unquote(fields.get("exchange"));
        }

        public String symbol() {
            return unquote(fields.get("symbol"));
        }

        /** The Kafka key that matches this value. */
        public byte[] key() {
            return utf8(exchange() + ':' + symbol());
        }

        @Override
        public String toString() {
            StringJoiner j = new StringJoiner(",", "{", "}");
            fields.forEach((k, v) -> j.add('"' + k + "\":" + v));
            return j.toString();
        }

        public byte[] bytes() {
            return utf8(toString());
        }

        private static String unquote(String v) {
            return v != null && v.length() >= 2 && v.startsWith("\"") ? v.substring(1, v.length() - 1) : "x";
        }
    }
}
