package io.tickstream.source;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.NumberInput;
import io.tickstream.model.InstrumentNames;
import io.tickstream.model.Side;
import io.tickstream.model.Tick;
import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;

/**
 * Reads tick JSON v1 (docs/contracts.md) strictly: a streaming parse with no tree and no reflection, because it
 * runs once per trade. Anything that is not a valid tick raises {@link BadTickException} whose message
 * is the reason written to the dead-letter topic; the reason never holds wall-clock values, so the same
 * bad input always gets the same reason. Not thread-safe (it keeps the instrument names seen): one per task.
 */
public final class TickParser implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The Bitcoin genesis block (2009-01-03): no crypto trade is older. */
    public static final long EARLIEST_TRADE_TS = 1230940800000L;

    // Duplicate fields are detected by readFields itself: Jackson's detection allocates a hash set per record.
    private static final JsonFactory JSON = JsonFactory.builder().build();

    private static final Side[] SIDES = Side.values();

    private final Set<String> exchanges;
    private final long maxClockSkewMs;
    private final long maxTradeAheadMs;
    private final int maxRecordBytes;
    private transient InstrumentNames names;

    /**
     * @param exchanges the venue ids accepted; ticks of any other venue are bad records
     * @param maxClockSkewMs how far in the future (past the parsing machine's clock) a trade time may be
     * @param maxTradeAheadMs how far a trade time may be ahead of the time the producer received the trade
     * @param maxRecordBytes records larger than this are rejected without being parsed
     */
    public TickParser(Set<String> exchanges, long maxClockSkewMs, long maxTradeAheadMs, int maxRecordBytes) {
        this.exchanges = Set.copyOf(exchanges);
        this.maxClockSkewMs = maxClockSkewMs;
        this.maxTradeAheadMs = maxTradeAheadMs;
        this.maxRecordBytes = maxRecordBytes;
    }

    /** A parser whose trade times may be ahead of their receive time by as much as the clock skew. */
    public TickParser(Set<String> exchanges, long maxClockSkewMs, int maxRecordBytes) {
        this(exchanges, maxClockSkewMs, maxClockSkewMs, maxRecordBytes);
    }

    /** Parses one Kafka record; {@code key} must be the record key, {@code <exchange>:<symbol>}. */
    public Tick parse(byte[] key, byte[] value, long now) throws BadTickException {
        if (value == null || value.length == 0) {
            throw new BadTickException("empty value");
        }
        if (value.length > maxRecordBytes) {
            throw new BadTickException("record too large: more than " + maxRecordBytes + " bytes");
        }
        if (names == null) {
            names = new InstrumentNames();
        }
        InstrumentNames.Names known = key == null ? null : names.get(key, 0, key.length);
        Tick tick = readCanonical(value, now, known);
        if (tick == null) {
            tick = readWithJackson(value, now, known);
        }
        if (known == null || tick.instrument() != known.instrument()) {
            checkKey(key, tick);
            names.put(key, 0, key.length, new InstrumentNames.Names(tick.exchange(), tick.symbol(), tick.instrument()));
        }
        return tick;
    }

    /** Any JSON the contract allows (field order, whitespace, escapes, unknown fields), and every kind of bad input. */
    Tick readWithJackson(byte[] value, long now, InstrumentNames.Names known) throws BadTickException {
        Tick tick;
        try (JsonParser p = JSON.createParser(value)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new BadTickException("not a JSON object");
            }
            tick = readFields(p, now, known);
            if (p.nextToken() != null) {
                throw new BadTickException("trailing content after the JSON object");
            }
        } catch (JsonParseException e) {
            throw new BadTickException("not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new BadTickException("unreadable: " + e.getMessage());
        }
        return tick;
    }

    /**
     * The tick's fields; {@code known} are the names of the record key's instrument when it was seen before: a value
     * naming them again needs neither new strings nor checks.
     */
    private Tick readFields(JsonParser p, long now, InstrumentNames.Names known) throws IOException, BadTickException {
        Integer version = null;
        String exchange = null, symbol = null, tradeId = null, price = null, size = null, sideText = null;
        Long ts = null, recvTs = null;
        int seen = 0;
        Set<String> otherFields = null;
        JsonToken token;
        while ((token = p.nextToken()) != JsonToken.END_OBJECT) {
            if (token == null) {
                throw new BadTickException("not valid JSON: unexpected end of input");
            }
            String field = p.currentName();
            JsonToken valueToken = p.nextToken();
            int bit = fieldBit(field);
            if (bit == 0) {
                otherFields = otherFields == null ? new HashSet<>() : otherFields;
            }
            if (bit == 0 ? !otherFields.add(field) : (seen & bit) != 0) {
                throw new BadTickException("not valid JSON: Duplicate field '" + field + "'");
            }
            seen |= bit;
            switch (field) {
                case "v":
                    if (valueToken != JsonToken.VALUE_NUMBER_INT) {
                        throw new BadTickException("field v must be an integer");
                    }
                    version = p.getIntValue();
                    break;
                case "exchange":
                    exchange = known != null && textEquals(p, valueToken, known.exchange())
                            ? known.exchange()
                            : text(p, valueToken, field);
                    break;
                case "symbol":
                    symbol = known != null && textEquals(p, valueToken, known.symbol())
                            ? known.symbol()
                            : text(p, valueToken, field);
                    break;
                case "trade_id":
                    tradeId = text(p, valueToken, field);
                    break;
                case "price":
                    price = text(p, valueToken, field);
                    break;
                case "size":
                    size = text(p, valueToken, field);
                    break;
                case "side":
                    sideText = text(p, valueToken, field);
                    break;
                case "ts":
                    ts = epochMillis(p, valueToken, field);
                    break;
                case "recv_ts":
                    recvTs = epochMillis(p, valueToken, field);
                    break;
                default:
                    p.skipChildren(); // fields added later within v1 are ignored
            }
        }
        if (version == null) {
            throw new BadTickException("missing field v");
        }
        if (version != 1) {
            throw new BadTickException("unsupported version v=" + version);
        }
        require(exchange, "exchange");
        require(symbol, "symbol");
        require(tradeId, "trade_id");
        require(price, "price");
        require(size, "size");
        require(sideText, "side");
        require(ts, "ts");
        require(recvTs, "recv_ts");
        return tick(exchange, symbol, tradeId, price, size, Side.fromJson(sideText), ts, recvTs, now, known);
    }

    /** The tick of a v1 record's fields, all present; {@code side} is null when the side text is none of the three. */
    private Tick tick(
            String exchange,
            String symbol,
            String tradeId,
            String price,
            String size,
            Side side,
            long ts,
            long recvTs,
            long now,
            InstrumentNames.Names known)
            throws BadTickException {
        boolean knownNames = known != null && exchange == known.exchange() && symbol == known.symbol();
        if (!knownNames && !exchanges.contains(exchange)) {
            throw new BadTickException("unknown exchange '" + abbreviate(exchange) + "'");
        }
        if (!knownNames && !isSymbol(symbol)) {
            throw new BadTickException("symbol must be BASE-QUOTE in upper case, got '" + abbreviate(symbol) + "'");
        }
        if (tradeId.isEmpty() || tradeId.length() > 64 || !isPrintableAscii(tradeId)) {
            throw new BadTickException("trade_id must be 1 to 64 printable characters");
        }
        double priceValue = positiveDecimal(price, "price");
        double sizeValue = positiveDecimal(size, "size");
        if (side == null) {
            throw new BadTickException("side must be buy, sell or unknown");
        }
        checkTime(ts, "ts", now);
        checkTime(recvTs, "recv_ts", now);
        if (ts - recvTs > maxTradeAheadMs) {
            // A trade stamped in the future (a venue's clock, a bad producer) would move its instrument's windows and
            // its partition's event time by as much: every trade after it would look late.
            throw new BadTickException("ts is " + (ts - recvTs) + " ms after recv_ts, more than the " + maxTradeAheadMs
                    + " ms a trade may be ahead of its receipt (--max-trade-ahead)");
        }
        return knownNames
                ? new Tick(
                        exchange,
                        symbol,
                        tradeId,
                        sequenceOf(tradeId),
                        price,
                        priceValue,
                        size,
                        sizeValue,
                        side,
                        ts,
                        recvTs,
                        known.instrument())
                : new Tick(
                        exchange,
                        symbol,
                        tradeId,
                        sequenceOf(tradeId),
                        price,
                        priceValue,
                        size,
                        sizeValue,
                        side,
                        ts,
                        recvTs);
    }

    private static final byte[] V1_EXCHANGE = ascii("{\"v\":1,\"exchange\":\"");
    private static final byte[] SYMBOL = ascii(",\"symbol\":\"");
    private static final byte[] TRADE_ID = ascii(",\"trade_id\":\"");
    private static final byte[] PRICE = ascii(",\"price\":\"");
    private static final byte[] SIZE = ascii(",\"size\":\"");
    private static final byte[] SIDE = ascii(",\"side\":\"");
    private static final byte[] TS = ascii(",\"ts\":");
    private static final byte[] RECV_TS = ascii(",\"recv_ts\":");

    /** Where {@link #readCanonical} has read to; -1 once the record is not in the canonical layout. */
    private transient int at;

    /**
     * The tick of a record exactly as the producers write it (docs/contracts.md: the contract's fields in its order,
     * no whitespace, strings of printable ASCII without escapes, integers of at most 18 digits), read straight from
     * its bytes; null for any other record, which {@link #readWithJackson} then reads. Both paths give a record the
     * same tick and the same reason (the fields go through the same checks), this one without a JSON parser, an
     * intermediate string per field or a field-name look-up: parsing was a third of the TaskManager's time.
     */
    Tick readCanonical(byte[] value, long now, InstrumentNames.Names known) throws BadTickException {
        at = 0;
        int exchangeStart = after(value, V1_EXCHANGE), exchangeEnd = stringEnd(value);
        int symbolStart = after(value, SYMBOL), symbolEnd = stringEnd(value);
        int tradeIdStart = after(value, TRADE_ID), tradeIdEnd = stringEnd(value);
        int priceStart = after(value, PRICE), priceEnd = stringEnd(value);
        int sizeStart = after(value, SIZE), sizeEnd = stringEnd(value);
        int sideStart = after(value, SIDE), sideEnd = stringEnd(value);
        after(value, TS);
        long ts = integer(value);
        after(value, RECV_TS);
        long recvTs = integer(value);
        if (at < 0 || at != value.length - 1 || value[at] != '}') {
            return null;
        }
        String exchange = known != null && asciiEquals(value, exchangeStart, exchangeEnd, known.exchange())
                ? known.exchange()
                : ascii(value, exchangeStart, exchangeEnd);
        String symbol = known != null && asciiEquals(value, symbolStart, symbolEnd, known.symbol())
                ? known.symbol()
                : ascii(value, symbolStart, symbolEnd);
        return tick(
                exchange,
                symbol,
                ascii(value, tradeIdStart, tradeIdEnd),
                ascii(value, priceStart, priceEnd),
                ascii(value, sizeStart, sizeEnd),
                side(value, sideStart, sideEnd),
                ts,
                recvTs,
                now,
                known);
    }

    /** Reads {@code expected} at the current position; the position after it, or -1 when it is not there. */
    private int after(byte[] value, byte[] expected) {
        if (at < 0 || at + expected.length > value.length) {
            return at = -1;
        }
        for (int i = 0; i < expected.length; i++) {
            if (value[at + i] != expected[i]) {
                return at = -1;
            }
        }
        return at += expected.length;
    }

    /**
     * The end of the string value starting at the current position (its closing quote is then read): printable
     * ASCII only, no escape (-1 otherwise).
     */
    private int stringEnd(byte[] value) {
        if (at < 0) {
            return -1;
        }
        for (int i = at; i < value.length; i++) {
            byte b = value[i];
            if (b == '"') {
                at = i + 1;
                return i;
            }
            if (b < 0x20 || b > 0x7e || b == '\\') {
                break;
            }
        }
        return at = -1;
    }

    /** A JSON integer of 1 to 18 digits, no sign, no leading zero (-1 and position -1 otherwise). */
    private long integer(byte[] value) {
        if (at < 0) {
            return -1;
        }
        int start = at;
        long n = 0;
        int i = start;
        while (i < value.length && i - start < 19 && value[i] >= '0' && value[i] <= '9') {
            n = n * 10 + (value[i] - '0');
            i++;
        }
        int digits = i - start;
        if (digits == 0 || digits > 18 || (digits > 1 && value[start] == '0')) {
            return at = -1;
        }
        at = i;
        return n;
    }

    private static boolean asciiEquals(byte[] value, int start, int end, String expected) {
        if (end - start != expected.length()) {
            return false;
        }
        for (int i = 0; i < expected.length(); i++) {
            if (value[start + i] != expected.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static String ascii(byte[] value, int start, int end) {
        return new String(value, start, end - start, StandardCharsets.ISO_8859_1);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** The side its text names, null for any other text (as {@link Side#fromJson}). */
    private static Side side(byte[] value, int start, int end) {
        for (Side side : SIDES) {
            if (asciiEquals(value, start, end, side.json())) {
                return side;
            }
        }
        return null;
    }

    /** A bit per field of tick JSON v1, to find duplicates; none for fields added later within v1. */
    private static int fieldBit(String field) {
        switch (field) {
            case "v":
                return 1;
            case "exchange":
                return 1 << 1;
            case "symbol":
                return 1 << 2;
            case "trade_id":
                return 1 << 3;
            case "price":
                return 1 << 4;
            case "size":
                return 1 << 5;
            case "side":
                return 1 << 6;
            case "ts":
                return 1 << 7;
            case "recv_ts":
                return 1 << 8;
            default:
                return 0;
        }
    }

    /** Whether the current string value is {@code expected}, without making a string of it. */
    private static boolean textEquals(JsonParser p, JsonToken token, String expected) throws IOException {
        if (token != JsonToken.VALUE_STRING || p.getTextLength() != expected.length()) {
            return false;
        }
        char[] chars = p.getTextCharacters();
        int offset = p.getTextOffset();
        for (int i = 0; i < expected.length(); i++) {
            if (chars[offset + i] != expected.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private void checkTime(long value, String field, long now) throws BadTickException {
        if (value < EARLIEST_TRADE_TS) {
            throw new BadTickException(field + " is before 2009 (epoch ms expected)");
        }
        if (value > now + maxClockSkewMs) {
            throw new BadTickException(field + " is in the future by more than " + maxClockSkewMs + " ms");
        }
    }

    /** The key must name the same instrument as the value: the job and Kafka's partitioning rely on it. */
    private static void checkKey(byte[] key, Tick tick) throws BadTickException {
        if (key == null || key.length == 0) {
            throw new BadTickException("missing key (expected exchange:symbol)");
        }
        String exchange = tick.exchange(), symbol = tick.symbol();
        int expected = exchange.length() + 1 + symbol.length();
        boolean matches = key.length == expected && key[exchange.length()] == ':';
        for (int i = 0; matches && i < exchange.length(); i++) {
            matches = key[i] == exchange.charAt(i);
        }
        for (int i = 0; matches && i < symbol.length(); i++) {
            matches = key[exchange.length() + 1 + i] == symbol.charAt(i);
        }
        if (!matches) {
            throw new BadTickException("key does not match exchange:symbol of the value");
        }
    }

    private static String text(JsonParser p, JsonToken token, String field) throws IOException, BadTickException {
        if (token != JsonToken.VALUE_STRING) {
            throw new BadTickException("field " + field + " must be a string");
        }
        return p.getText();
    }

    private static long epochMillis(JsonParser p, JsonToken token, String field) throws IOException, BadTickException {
        if (token != JsonToken.VALUE_NUMBER_INT) {
            throw new BadTickException("field " + field + " must be an integer (epoch ms)");
        }
        if (p.getNumberType() != JsonParser.NumberType.INT && p.getNumberType() != JsonParser.NumberType.LONG) {
            throw new BadTickException("field " + field + " is out of range");
        }
        return p.getLongValue();
    }

    private static void require(Object value, String field) throws BadTickException {
        if (value == null) {
            throw new BadTickException("missing field " + field);
        }
    }

    /**
     * A plain positive decimal such as "67123.45": digits with at most one point, no sign, exponent, NaN or
     * Infinity, which Double.parseDouble would otherwise accept.
     */
    static double positiveDecimal(String text, String field) throws BadTickException {
        if (text.length() > 1 && text.charAt(0) == '-' && Character.isDigit(text.charAt(1))) {
            throw new BadTickException(field + " must be positive");
        }
        int n = text.length();
        boolean digits = false, point = false, nonZero = false;
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            if (c >= '0' && c <= '9') {
                digits = true;
                nonZero |= c != '0';
            } else if (c == '.' && !point && i > 0 && i < n - 1) {
                point = true;
            } else {
                throw new BadTickException(field + " must be a decimal string such as \"123.45\"");
            }
        }
        if (!digits || n > 40) {
            throw new BadTickException(field + " must be a decimal string such as \"123.45\"");
        }
        if (!nonZero) {
            throw new BadTickException(field + " must be positive");
        }
        // Jackson's FastDoubleParser: the double Double.parseDouble gives (the nearest), in a fraction of its time
        return NumberInput.parseDouble(text, true);
    }

    private static boolean isSymbol(String symbol) {
        int n = symbol.length(), dash = -1;
        if (n < 3 || n > 32) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            char c = symbol.charAt(i);
            if (c == '-') {
                if (dash >= 0) {
                    return false;
                }
                dash = i;
            } else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
                return false;
            }
        }
        return dash > 0 && dash < n - 1;
    }

    private static boolean isPrintableAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x21 || c > 0x7e) {
                return false;
            }
        }
        return true;
    }

    /** Numeric trade ids (every venue we read) become a sequence number; others get none. */
    static long sequenceOf(String tradeId) {
        int n = tradeId.length();
        if (n > 18) {
            return Tick.NO_SEQUENCE;
        }
        long value = 0;
        for (int i = 0; i < n; i++) {
            char c = tradeId.charAt(i);
            if (c < '0' || c > '9') {
                return Tick.NO_SEQUENCE;
            }
            value = value * 10 + (c - '0');
        }
        // "007" and "7" would collide as sequence numbers; only canonical numbers count.
        return n > 1 && tradeId.charAt(0) == '0' ? Tick.NO_SEQUENCE : value;
    }

    /** At most 32 characters of a value for a reason, control characters and non-ASCII escaped as {@code \\uXXXX}. */
    private static String abbreviate(String s) {
        String head = s.length() <= 32 ? s : s.substring(0, 32);
        StringBuilder out = new StringBuilder(head.length() + 8);
        for (int i = 0; i < head.length(); i++) {
            char c = head.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return s.length() <= 32 ? out.toString() : out.append("...").toString();
    }
}
