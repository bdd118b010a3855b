package io.tickstream.source;

import static org.assertj.core.api.Assertions.assertThat;

import io.tickstream.model.InstrumentNames;
import io.tickstream.model.Tick;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;
import org.junit.jupiter.api.Test;

/**
 * The parser's two paths agree: a record in the producers' exact layout is read from its bytes
 * ({@link TickParser#readCanonical}), any other by Jackson ({@link TickParser#readWithJackson}); for every generated
 * record — canonical, near-canonical (each field's value of any kind, the layout's bytes mutated) — the canonical
 * path either declines it or gives the same tick, or the same reason, as Jackson.
 */
class TickParserPathsTest {
    private static final long NOW = 1_764_460_800_000L;
    private static final TickParser PARSER =
            new TickParser(Set.of("binance", "coinbase", "kraken", "synthetic"), 60_000, 10_000, 65_536);
    private static final InstrumentNames.Names BINANCE_BTC =
            new InstrumentNames.Names("binance", "BTC-USDT", "binance:BTC-USDT");

    /** What a path makes of a record: the tick, "reason: ..." or null when the canonical path declines it. */
    private interface Path {
        Tick read() throws BadTickException;
    }

    private static Object outcome(Path path) {
        try {
            return path.read();
        } catch (BadTickException e) {
            return "reason: " + e.getMessage();
        }
    }

    /** Checks both paths agree; what the canonical path made of the record (for the property's statistics). */
    private static String samePathsOutcome(byte[] value, InstrumentNames.Names known) {
        Object canonical = outcome(() -> PARSER.readCanonical(value, NOW, known));
        if (canonical == null) {
            return "left to Jackson";
        }
        Object jackson = outcome(() -> PARSER.readWithJackson(value, NOW, known));
        assertThat(canonical)
                .as("%s (known names %s)", new String(value, StandardCharsets.UTF_8), known)
                .isEqualTo(jackson);
        return canonical instanceof Tick ? "canonical: tick" : "canonical: bad record";
    }

    @Test
    void recordsAsTheProducersWriteThemTakeTheCanonicalPath() throws Exception {
        byte[] value = utf8("{\"v\":1,\"exchange\":\"binance\",\"symbol\":\"BTC-USDT\",\"trade_id\":\"3456789012\","
                + "\"price\":\"67123.45\",\"size\":\"0.0012\",\"side\":\"buy\",\"ts\":1764460700000,"
                + "\"recv_ts\":1764460700005}");
        Tick tick = PARSER.readCanonical(value, NOW, null);
        assertThat(tick).isNotNull().isEqualTo(PARSER.readWithJackson(value, NOW, null));
        Tick again = PARSER.readCanonical(value, NOW, BINANCE_BTC);
        assertThat(again).isEqualTo(tick);
        assertThat(again.instrument()).isSameAs(BINANCE_BTC.instrument());
    }

    @Test
    void anythingBesideTheLayoutIsLeftToJackson() {
        for (String value : new String[] {
            " {\"v\":1,\"exchange\":\"binance\",\"symbol\":\"BTC-USDT\",\"trade_id\":\"1\",\"price\":\"1\",\"size\":\"1\","
                    + "\"side\":\"buy\",\"ts\":1764460700000,\"recv_ts\":1764460700005}",
            "{\"v\":1,\"exchange\":\"binance\",\"symbol\":\"BTC-USDT\",\"trade_id\":\"1\",\"price\":\"1\",\"size\":\"1\","
                    + "\"side\":\"buy\",\"ts\":1764460700000,\"recv_ts\":1764460700005} ",
            "{\"v\":1,\"exchange\":\"binance\",\"symbol\":\"BTC-USDT\",\"trade_id\":\"a\\\"b\",\"price\":\"1\",\"size\":\"1\","
                    + "\"side\":\"buy\",\"ts\":1764460700000,\"recv_ts\":1764460700005}",
            "{\"v\":1,\"exchange\":\"binance\",\"symbol\":\"BTC-USDT\",\"trade_id\":\"1\",\"price\":\"1\",\"size\":\"1\","
                    + "\"side\":\"buy\",\"ts\":01764460700000,\"recv_ts\":1764460700005}",
            "{\"v\":1,\"exchange\":\"binance\",\"symbol\":\"BTC-USDT\",\"trade_id\":\"1\",\"price\":\"1\",\"size\":\"1\","
                    + "\"side\":\"buy\",\"ts\":1764460700000,\"recv_ts\":1764460700005,\"extra\":1}",
            "{\"v\":1,\"exchange\":\"binance\",\"symbol\":\"BTC-USDT\",\"trade_id\":\"1\",\"price\":\"1\",\"size\":\"1\","
                    + "\"side\":\"buy\",\"ts\":1764460700000,\"recv_ts\":1234567890123456789}",
        }) {
            assertThat(outcome(() -> PARSER.readCanonical(utf8(value), NOW, null)))
                    .as(value)
                    .isNull();
        }
    }

    @Property(tries = 3000, seed = "20261202")
    void generatedRecordsGetTheSameOutcomeOnBothPaths(@ForAll("records") byte[] value, @ForAll boolean known) {
        Statistics.collect(samePathsOutcome(value, known ? BINANCE_BTC : null));
    }

    @Property(tries = 3000, seed = "20261203")
    void mutatedRecordsGetTheSameOutcomeOnBothPaths(
            @ForAll("records") byte[] value,
            @ForAll("positions") int position,
            @ForAll("bytes") byte replacement,
            @ForAll boolean insert) {
        int at = position % (value.length + 1);
        byte[] mutated = new byte[insert ? value.length + 1 : Math.max(at, value.length)];
        System.arraycopy(value, 0, mutated, 0, Math.min(at, value.length));
        if (insert) {
            mutated[at] = replacement;
            System.arraycopy(value, at, mutated, at + 1, value.length - at);
        } else if (at < value.length) {
            mutated[at] = replacement;
            System.arraycopy(value, at + 1, mutated, at + 1, value.length - at - 1);
        }
        samePathsOutcome(mutated, BINANCE_BTC);
        samePathsOutcome(mutated, null);
    }

    @Provide
    Arbitrary<Integer> positions() {
        return Arbitraries.integers().between(0, 1000);
    }

    @Provide
    Arbitrary<Byte> bytes() {
        return Arbitraries.oneOf(
                Arbitraries.bytes(),
                Arbitraries.of((byte) '"', (byte) '\\', (byte) ',', (byte) '}', (byte) '0', (byte) ' ', (byte) '-'));
    }

    /** Records in the canonical layout whose values are of any kind (valid, bad, escaped, non-ASCII). */
    @Provide
    Arbitrary<byte[]> records() {
        Arbitrary<String> anyText = Arbitraries.strings().ofMaxLength(70);
        Arbitrary<String> exchange = mostly(
                Arbitraries.of("binance", "coinbase", "kraken", "synthetic"),
                Arbitraries.of("bitfinex", "Binance", ""),
                anyText);
        Arbitrary<String> symbol =
                mostly(Arbitraries.of("BTC-USDT", "ETH-USD"), Arbitraries.of("btc-usdt", "BTCUSDT", "A-", ""), anyText);
        Arbitrary<String> tradeId = mostly(
                Arbitraries.longs().between(0, Long.MAX_VALUE).map(String::valueOf),
                Arbitraries.strings().withCharRange('!', '~').ofMinLength(0).ofMaxLength(70),
                Arbitraries.of("007", "0", "1234567890123456789", "a b", "\\N"),
                anyText);
        Arbitrary<String> decimal = mostly(
                Arbitraries.bigDecimals()
                        .between(java.math.BigDecimal.ZERO, new java.math.BigDecimal("1e12"))
                        .ofScale(8)
                        .map(d -> d.stripTrailingZeros().toPlainString()),
                Arbitraries.strings().withChars("0123456789.-+eE").ofMaxLength(45),
                Arbitraries.of(
                        "0", "0.0", "00.10", "1.", ".5", "NaN", "Infinity", "-1", "1e5", "12345678901234567890.5"),
                anyText);
        Arbitrary<String> side =
                mostly(Arbitraries.of("buy", "sell", "unknown"), Arbitraries.of("BUY", "", "bu"), anyText);
        Arbitrary<String> time = mostly(
                Arbitraries.longs().between(NOW - 86_400_000L, NOW + 120_000L).map(String::valueOf),
                Arbitraries.longs().map(String::valueOf),
                Arbitraries.of(
                        "0",
                        "01764460700000",
                        "1764460700000.0",
                        "1.7e12",
                        "\"1764460700000\"",
                        "null",
                        "99999999999999999999",
                        "999999999999999999",
                        "-0"));
        return Combinators.combine(exchange, symbol, tradeId, decimal, decimal, side, time, time)
                .as((e, s, id, p, z, d, ts, recv) -> utf8("{\"v\":1,\"exchange\":\"" + e + "\",\"symbol\":\"" + s
                        + "\",\"trade_id\":\"" + id + "\",\"price\":\"" + p + "\",\"size\":\"" + z + "\",\"side\":\""
                        + d
                        + "\",\"ts\":" + ts + ",\"recv_ts\":" + recv + "}"));
    }

    /** The first (valid values) five times as often as each of the others. */
    @SafeVarargs
    private static Arbitrary<String> mostly(Arbitrary<String> usual, Arbitrary<String>... others) {
        List<Tuple.Tuple2<Integer, Arbitrary<String>>> choices = new ArrayList<>();
        choices.add(Tuple.of(5 * others.length, usual));
        for (Arbitrary<String> other : others) {
            choices.add(Tuple.of(1, other));
        }
        return Arbitraries.frequencyOf(choices);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
