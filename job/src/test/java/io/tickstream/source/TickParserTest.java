package io.tickstream.source;

import static io.tickstream.testutils.TestTicks.T0;
import static io.tickstream.testutils.TestTicks.json;
import static io.tickstream.testutils.TestTicks.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import io.tickstream.model.Side;
import io.tickstream.model.Tick;
import io.tickstream.testutils.TestTicks;
import io.tickstream.testutils.TestTicks.Json;
import java.util.Set;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class TickParserTest {
    private static final Set<String> VENUES = Set.of("binance", "coinbase", "kraken", "synthetic");
    private static final long SKEW_MS = 600_000;
    private static final int MAX_BYTES = 65_536;
    /** The parsing machine's clock in these tests: a minute after the ticks' trade time. */
    private static final long NOW = T0 + 60_000;

    private static final String DECIMAL = "must be a decimal string such as \"123.45\"";

    private final TickParser parser = new TickParser(VENUES, SKEW_MS, MAX_BYTES);

    private Tick parse(Json json) throws BadTickException {
        return parser.parse(json.key(), json.bytes(), NOW);
    }

    private String reasonFor(byte[] key, byte[] value) {
        try {
            Tick tick = parser.parse(key, value, NOW);
            throw new AssertionError("accepted a bad record as " + tick);
        } catch (BadTickException e) {
            return e.getMessage();
        }
    }

    private String reasonFor(Json json) {
        return reasonFor(json.key(), json.bytes());
    }

    // ---- good ticks ------------------------------------------------------------------------------------

    @Test
    void binanceTickKeepsExactDecimalTextsAndNumericTradeIdBecomesSequence() throws Exception {
        Tick t = parse(json());

        assertThat(t.exchange()).isEqualTo("binance");
        assertThat(t.symbol()).isEqualTo("BTC-USDT");
        assertThat(t.tradeId()).isEqualTo("3456789012");
        assertThat(t.tradeSeq()).isEqualTo(3_456_789_012L);
        assertThat(t.hasSequence()).isTrue();
        assertThat(t.price()).isEqualTo("67123.45");
        assertThat(t.priceValue()).isEqualTo(67123.45);
        assertThat(t.size()).isEqualTo("0.00120"); // trailing zero kept: the venue's exact text
        assertThat(t.sizeValue()).isEqualTo(0.0012);
        assertThat(t.side()).isEqualTo(Side.BUY);
        assertThat(t.ts()).isEqualTo(T0);
        assertThat(t.recvTs()).isEqualTo(T0 + 27);
        assertThat(t.instrument()).isEqualTo("binance:BTC-USDT");
    }

    @Test
    void coinbaseTickWithUuidTradeIdHasNoSequence() throws Exception {
        String id = "4f8a1c2e-9b3d-4e5f-a6b7-c8d9e0f1a2b3";
        Tick t = parse(json().str("exchange", "coinbase")
                .str("symbol", "BTC-USD")
                .str("trade_id", id)
                .str("price", "97000.01")
                .str("size", "0.5")
                .str("side", "sell"));

        assertThat(t.exchange()).isEqualTo("coinbase");
        assertThat(t.symbol()).isEqualTo("BTC-USD");
        assertThat(t.tradeId()).isEqualTo(id);
        assertThat(t.tradeSeq()).isEqualTo(Tick.NO_SEQUENCE);
        assertThat(t.hasSequence()).isFalse();
        assertThat(t.price()).isEqualTo("97000.01");
        assertThat(t.size()).isEqualTo("0.5");
        assertThat(t.side()).isEqualTo(Side.SELL);
    }

    @Test
    void krakenTickWithUnknownSideAndManyDecimals() throws Exception {
        Tick t = parse(json().str("exchange", "kraken")
                .str("symbol", "ETH-EUR")
                .str("trade_id", "81234567")
                .str("price", "3120.123456789012")
                .str("size", "12.0000000001")
                .str("side", "unknown")
                .raw("ts", Long.toString(T0 + 5))
                .raw("recv_ts", Long.toString(T0 + 900)));

        assertThat(t.instrument()).isEqualTo("kraken:ETH-EUR");
        assertThat(t.tradeSeq()).isEqualTo(81_234_567L);
        assertThat(t.price()).isEqualTo("3120.123456789012");
        assertThat(t.size()).isEqualTo("12.0000000001");
        assertThat(t.side()).isEqualTo(Side.UNKNOWN);
        assertThat(t.ts()).isEqualTo(T0 + 5);
        assertThat(t.recvTs()).isEqualTo(T0 + 900);
    }

    @Test
    void syntheticTickIsAccepted() throws Exception {
        Tick t = parse(
                json().str("exchange", "synthetic").str("symbol", "SYN1-USD").str("trade_id", "0"));

        assertThat(t.instrument()).isEqualTo("synthetic:SYN1-USD");
        assertThat(t.tradeSeq()).isZero();
    }

    @ParameterizedTest(name = "trade_id {0} -> seq {1}")
    @MethodSource
    void tradeSequenceOnlyForCanonicalNumbersOfAtMost18Digits(String tradeId, long expected) throws Exception {
        assertThat(parse(json().str("trade_id", tradeId)).tradeSeq()).isEqualTo(expected);
        assertThat(TickParser.sequenceOf(tradeId)).isEqualTo(expected);
    }

    static Stream<Arguments> tradeSequenceOnlyForCanonicalNumbersOfAtMost18Digits() {
        return Stream.of(
                arguments("1", 1L),
                arguments("999999999999999999", 999_999_999_999_999_999L),
                arguments("1000000000000000000", Tick.NO_SEQUENCE), // 19 digits
                arguments("007", Tick.NO_SEQUENCE), // would collide with "7"
                arguments("12a", Tick.NO_SEQUENCE),
                arguments("-5", Tick.NO_SEQUENCE),
                arguments("1.5", Tick.NO_SEQUENCE),
                arguments("AB-12", Tick.NO_SEQUENCE));
    }

    @Test
    void unknownFieldsOfAnyShapeAreIgnored() throws Exception {
        Tick t = parse(json().raw("extra", "{\"a\":[1,2,{\"b\":null}]}")
                .raw("list", "[1,\"x\"]")
                .str("note", "hi"));
        assertThat(t.tradeId()).isEqualTo("3456789012");
    }

    @Test
    void fieldOrderDoesNotMatter() throws Exception {
        String value =
                "{\"recv_ts\":" + (T0 + 1) + ",\"ts\":" + T0 + ",\"side\":\"sell\",\"size\":\"2\",\"price\":\"3\","
                        + "\"trade_id\":\"9\",\"symbol\":\"ETH-USDT\",\"exchange\":\"binance\",\"v\":1}";
        Tick t = parser.parse(utf8("binance:ETH-USDT"), utf8(value), NOW);
        assertThat(t.symbol()).isEqualTo("ETH-USDT");
        assertThat(t.price()).isEqualTo("3");
        assertThat(t.tradeSeq()).isEqualTo(9);
    }

    @Test
    void whitespaceAroundTheObjectIsNotTrailingContent() throws Exception {
        Json j = json();
        Tick t = parser.parse(j.key(), utf8("  \n" + j + "\r\n  "), NOW);
        assertThat(t.tradeId()).isEqualTo("3456789012");
    }

    @Test
    void recordOfExactlyTheSizeLimitIsAccepted() throws Exception {
        byte[] value = json().bytes();
        TickParser exact = new TickParser(VENUES, SKEW_MS, value.length);
        assertThat(exact.parse(json().key(), value, NOW).tradeId()).isEqualTo("3456789012");
    }

    @Test
    void tradeTimesAtTheLimitsAreAccepted() throws Exception {
        Tick earliest = parse(json().raw("ts", Long.toString(TickParser.EARLIEST_TRADE_TS))
                .raw("recv_ts", Long.toString(TickParser.EARLIEST_TRADE_TS)));
        assertThat(earliest.ts()).isEqualTo(TickParser.EARLIEST_TRADE_TS);

        Tick latest =
                parse(json().raw("ts", Long.toString(NOW + SKEW_MS)).raw("recv_ts", Long.toString(NOW + SKEW_MS)));
        assertThat(latest.ts()).isEqualTo(NOW + SKEW_MS);
    }

    @Test
    void tradeIdOf64PrintableCharactersIsAccepted() throws Exception {
        String id = "~!" + "x".repeat(62);
        assertThat(parse(json().str("trade_id", id)).tradeId()).isEqualTo(id);
    }

    @Test
    void sameBadInputAlwaysGetsTheSameReason() {
        Json bad = json().raw("ts", Long.toString(NOW + SKEW_MS + 1));
        assertThat(reasonFor(bad.key(), bad.bytes())).isEqualTo(reasonFor(bad.key(), bad.bytes()));
        // the reason never holds the clock: another "now" still gives the same text
        String other;
        try {
            parser.parse(bad.key(), bad.bytes(), NOW - 1);
            throw new AssertionError("accepted");
        } catch (BadTickException e) {
            other = e.getMessage();
        }
        assertThat(other).isEqualTo(reasonFor(bad.key(), bad.bytes()));
    }

    // ---- bad records: framing -----------------------------------------------------------------------------

    @ParameterizedTest
    @NullAndEmptySource
    void emptyValueIsRejected(byte[] value) {
        assertThat(reasonFor(utf8("binance:BTC-USDT"), value)).isEqualTo("empty value");
    }

    @Test
    void recordLargerThanTheLimitIsRejectedUnparsed() {
        byte[] value = json().bytes();
        TickParser small = new TickParser(VENUES, SKEW_MS, value.length - 1);
        assertThatThrownBy(() -> small.parse(json().key(), value, NOW))
                .isInstanceOf(BadTickException.class)
                .hasMessage("record too large: more than " + (value.length - 1) + " bytes");
        // unparsed: even garbage of that size gets the size reason, not a JSON one
        assertThatThrownBy(() -> small.parse(json().key(), new byte[value.length], NOW))
                .hasMessage("record too large: more than " + (value.length - 1) + " bytes");
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @ValueSource(
            strings = {
                "hello",
                "{v:1}",
                "{'v':1}",
                "\u00ff\u00fe",
                "{\"v\":1 \"exchange\":\"binance\"}",
                "{\"v\":01}",
            })
    void notJsonIsRejected(String value) {
        assertThat(reasonFor(utf8("binance:BTC-USDT"), utf8(value))).startsWith("not valid JSON: ");
    }

    @ParameterizedTest(name = "[{index}] cut at {0}")
    @ValueSource(ints = {1, 2, 5, 9, 20, 60, 100, -1})
    void truncatedJsonIsRejected(int cut) {
        String whole = json().toString();
        String truncated = whole.substring(0, cut > 0 ? cut : whole.length() + cut);
        assertThat(reasonFor(json().key(), utf8(truncated)))
                .as("reason for %s", truncated)
                .startsWith("not valid JSON: ");
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @ValueSource(strings = {"{}", "1", "\"x\"", "[]", "null", "true"})
    void trailingJsonValueAfterTheObjectIsRejected(String trailing) {
        Json j = json();
        assertThat(reasonFor(j.key(), utf8(j + " " + trailing))).isEqualTo("trailing content after the JSON object");
    }

    @Test
    void trailingGarbageAfterTheObjectIsRejected() {
        Json j = json();
        assertThat(reasonFor(j.key(), utf8(j + "x"))).startsWith("not valid JSON: ");
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @ValueSource(strings = {"[]", "[{\"v\":1}]", "\"a string\"", "42", "null", "false", "   "})
    void jsonThatIsNotAnObjectIsRejected(String value) {
        assertThat(reasonFor(utf8("binance:BTC-USDT"), utf8(value))).isEqualTo("not a JSON object");
    }

    @ParameterizedTest(name = "duplicate {0}")
    @ValueSource(strings = {"v", "price", "ts", "extra"})
    void duplicateFieldIsRejected(String field) {
        Json j = json().raw("extra", "0");
        String text = j.toString();
        String withDuplicate = text.substring(0, text.length() - 1) + ",\"" + field + "\":"
                + ("v".equals(field) || "ts".equals(field) || "extra".equals(field) ? "1" : "\"1\"") + "}";
        assertThat(reasonFor(j.key(), utf8(withDuplicate)))
                .startsWith("not valid JSON: ")
                .contains("Duplicate field '" + field + "'");
    }

    // ---- bad records: fields --------------------------------------------------------------------------------

    @ParameterizedTest(name = "missing {0}")
    @ValueSource(strings = {"v", "exchange", "symbol", "trade_id", "price", "size", "side", "ts", "recv_ts"})
    void missingRequiredFieldIsRejected(String field) {
        Json j = json();
        byte[] key = j.key();
        assertThat(reasonFor(key, j.without(field).bytes())).isEqualTo("missing field " + field);
    }

    @ParameterizedTest(name = "[{index}] {0}={1}")
    @MethodSource
    void wrongJsonTypeIsRejected(String field, String rawValue, String reason) {
        Json j = json();
        byte[] key = j.key();
        assertThat(reasonFor(key, j.raw(field, rawValue).bytes())).isEqualTo(reason);
    }

    static Stream<Arguments> wrongJsonTypeIsRejected() {
        return Stream.of(
                arguments("price", "67123.45", "field price must be a string"),
                arguments("size", "1", "field size must be a string"),
                arguments("trade_id", "3456789012", "field trade_id must be a string"),
                arguments("exchange", "null", "field exchange must be a string"),
                arguments("symbol", "[\"BTC\",\"USDT\"]", "field symbol must be a string"),
                arguments("side", "true", "field side must be a string"),
                arguments("ts", "\"" + T0 + "\"", "field ts must be an integer (epoch ms)"),
                arguments("ts", T0 + ".0", "field ts must be an integer (epoch ms)"),
                arguments("ts", "1.7325024E12", "field ts must be an integer (epoch ms)"),
                arguments("recv_ts", "null", "field recv_ts must be an integer (epoch ms)"),
                arguments("ts", "99999999999999999999", "field ts is out of range"),
                arguments("v", "\"1\"", "field v must be an integer"),
                arguments("v", "1.0", "field v must be an integer"));
    }

    @ParameterizedTest(name = "v={0}")
    @ValueSource(ints = {2, 0, -1})
    void unknownVersionIsRejected(int version) {
        assertThat(reasonFor(json().raw("v", Integer.toString(version)))).isEqualTo("unsupported version v=" + version);
    }

    @Test
    void unknownVersionIsReportedBeforeMissingFields() {
        // a v2 record may well have other fields: the version is the reason that matters
        Json j = json();
        byte[] key = j.key();
        assertThat(reasonFor(key, j.raw("v", "2").without("price").bytes())).isEqualTo("unsupported version v=2");
    }

    @ParameterizedTest(name = "exchange {0}")
    @ValueSource(strings = {"bitfinex", "Binance", "BINANCE", "", " binance"})
    void unknownExchangeIsRejected(String exchange) {
        Json j = json().str("exchange", exchange);
        assertThat(reasonFor(utf8(exchange + ":BTC-USDT"), j.bytes())).isEqualTo("unknown exchange '" + exchange + "'");
    }

    @Test
    void longUnknownExchangeIsAbbreviatedInTheReason() {
        String exchange = "e".repeat(40);
        Json j = json().str("exchange", exchange);
        assertThat(reasonFor(utf8(exchange + ":BTC-USDT"), j.bytes()))
                .isEqualTo("unknown exchange '" + "e".repeat(32) + "...'");
    }

    @ParameterizedTest(name = "symbol \"{0}\"")
    @ValueSource(
            strings = {
                "btc-usdt",
                "BTC-usdt",
                "BTCUSDT",
                "BTC/USD",
                "BTC-",
                "-USDT",
                "BTC-USD-T",
                "BTC_USDT",
                "B-",
                "",
                "BTC USDT",
                "BTC--USD"
            })
    void badSymbolIsRejected(String symbol) {
        Json j = json().str("symbol", symbol);
        assertThat(reasonFor(j.key(), j.bytes()))
                .isEqualTo("symbol must be BASE-QUOTE in upper case, got '" + symbol + "'");
    }

    @Test
    void symbolOfMoreThan32CharactersIsRejected() throws Exception {
        String symbol = "A".repeat(16) + "-" + "B".repeat(16); // 33
        Json j = json().str("symbol", symbol);
        assertThat(reasonFor(j.key(), j.bytes()))
                .isEqualTo("symbol must be BASE-QUOTE in upper case, got '" + symbol.substring(0, 32) + "...'");
        String ok = "A".repeat(15) + "-" + "B".repeat(16); // 32
        Json good = json().str("symbol", ok);
        assertThat(parser.parse(good.key(), good.bytes(), NOW)).isNotNull();
    }

    @ParameterizedTest(name = "[{index}] trade_id \"{0}\"")
    @MethodSource
    void badTradeIdIsRejected(String tradeId) {
        assertThat(reasonFor(json().str("trade_id", tradeId)))
                .isEqualTo("trade_id must be 1 to 64 printable characters");
    }

    static Stream<String> badTradeIdIsRejected() {
        return Stream.of("", "x".repeat(65), "12 34", "tab\there", "caf\u00e9", "new\nline");
    }

    @ParameterizedTest(name = "[{index}] {0}=\"{1}\"")
    @MethodSource
    void badPriceOrSizeIsRejected(String field, String value, String reason) {
        assertThat(reasonFor(json().str(field, value))).isEqualTo(field + " " + reason);
    }

    static Stream<Arguments> badPriceOrSizeIsRejected() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (String field : new String[] {"price", "size"}) {
            // a negative number is reported as not positive
            for (String zero : new String[] {"0", "0.0", "0.00000000", "00", "-1", "-0.5", "-67123.45"}) {
                b.add(arguments(field, zero, "must be positive"));
            }
            for (String bad : new String[] {
                "-",
                "-x",
                "--1",
                "NaN",
                "Infinity",
                "-Infinity",
                "1e5",
                "1E5",
                "1.5e-3",
                "abc",
                "",
                " 1",
                "1 ",
                "+1",
                ".5",
                "5.",
                "1.2.3",
                "0x10",
                "1,5",
                "١٢٣",
                "1" + "0".repeat(40)
            }) {
                b.add(arguments(field, bad, DECIMAL));
            }
        }
        return b.build();
    }

    @ParameterizedTest(name = "side \"{0}\"")
    @ValueSource(strings = {"BUY", "Sell", "long", "b", "", "none"})
    void badSideIsRejected(String side) {
        assertThat(reasonFor(json().str("side", side))).isEqualTo("side must be buy, sell or unknown");
    }

    @ParameterizedTest(name = "{0}={1}")
    @MethodSource
    void tradeTimeBefore2009IsRejected(String field, long value) {
        assertThat(reasonFor(json().raw(field, Long.toString(value))))
                .isEqualTo(field + " is before 2009 (epoch ms expected)");
    }

    static Stream<Arguments> tradeTimeBefore2009IsRejected() {
        return Stream.of(
                arguments("ts", TickParser.EARLIEST_TRADE_TS - 1),
                arguments("ts", T0 / 1000), // epoch seconds by mistake
                arguments("ts", 0L),
                arguments("ts", -1L),
                arguments("recv_ts", TickParser.EARLIEST_TRADE_TS - 1),
                arguments("recv_ts", T0 / 1000));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"ts", "recv_ts"})
    void tradeTimeInTheFutureBeyondTheSkewIsRejected(String field) {
        assertThat(reasonFor(json().raw(field, Long.toString(NOW + SKEW_MS + 1))))
                .isEqualTo(field + " is in the future by more than " + SKEW_MS + " ms");
        assertThat(reasonFor(json().raw(field, Long.toString(T0 * 1000)))) // epoch micros by mistake
                .isEqualTo(field + " is in the future by more than " + SKEW_MS + " ms");
    }

    @Test
    void aTradeStampedFurtherAheadOfItsReceiptThanAllowedIsQuarantined() throws Exception {
        TickParser parser = new TickParser(VENUES, SKEW_MS, 10_000, MAX_BYTES);
        long recv = T0 + 27; // the sample's recv_ts
        assertThat(parser.parse(
                                json().key(),
                                json().raw("ts", Long.toString(recv + 10_000)).bytes(),
                                NOW)
                        .ts())
                .isEqualTo(recv + 10_000);
        // Nine minutes ahead: inside the clock skew, so only the receive time tells it is wrong.
        Json nineMinutesAhead = json().raw("ts", Long.toString(recv + 540_000));
        assertThatThrownBy(() -> parser.parse(nineMinutesAhead.key(), nineMinutesAhead.bytes(), recv + 540_000))
                .isInstanceOf(BadTickException.class)
                .hasMessage("ts is 540000 ms after recv_ts, more than the 10000 ms a trade may be ahead of its receipt"
                        + " (--max-trade-ahead)");
        // A trade received long after it happened (a replay, a backlog) is no problem.
        assertThat(parser.parse(
                                json().key(),
                                json().raw("recv_ts", Long.toString(T0 + 3_600_000))
                                        .bytes(),
                                T0 + 3_600_000)
                        .ts())
                .isEqualTo(T0);
    }

    @ParameterizedTest
    @NullAndEmptySource
    void missingKeyIsRejected(byte[] key) {
        assertThat(reasonFor(key, json().bytes())).isEqualTo("missing key (expected exchange:symbol)");
    }

    @ParameterizedTest(name = "key \"{0}\"")
    @ValueSource(
            strings = {
                "binance:ETH-USDT",
                "coinbase:BTC-USDT",
                "binance:BTC-USDT ",
                "binance-BTC-USDT",
                "binance:BTC-USD",
                "binance:BTC-USDTX",
                "BTC-USDT",
                "binance",
                ":",
                "binance:btc-usdt",
                "binanc:eBTC-USDT"
            })
    void keyNotMatchingTheValueIsRejected(String key) {
        assertThat(reasonFor(utf8(key), json().bytes())).isEqualTo("key does not match exchange:symbol of the value");
    }

    @Test
    void anInstrumentSeenBeforeSharesItsNamesAndItsKeyMustStillMatchTheValue() throws Exception {
        Tick first = parse(json());
        byte[] key = json().key();

        assertThat(reasonFor(key, json().str("symbol", "ETH-USDT").bytes()))
                .isEqualTo("key does not match exchange:symbol of the value");
        assertThat(reasonFor(key, json().str("exchange", "kraken").bytes()))
                .isEqualTo("key does not match exchange:symbol of the value");
        assertThat(reasonFor(key, json().str("exchange", "nasdaq").bytes())).isEqualTo("unknown exchange 'nasdaq'");
        assertThat(reasonFor(key, json().str("symbol", "btc-usdt").bytes()))
                .startsWith("symbol must be BASE-QUOTE in upper case");
        Tick again = parse(json().str("trade_id", "3456789013"));
        assertThat(again.instrument()).isEqualTo("binance:BTC-USDT").isSameAs(first.instrument());
        assertThat(again.exchange()).isSameAs(first.exchange());
        assertThat(again.symbol()).isSameAs(first.symbol());
    }

    @Test
    void keyIsCheckedOnlyAfterTheValueIsValid() {
        // a bad value is reported for what is wrong with it, whatever the key
        assertThat(reasonFor(null, json().str("price", "abc").bytes())).isEqualTo("price " + DECIMAL);
    }

    @Test
    void helperKeyMatchesWhatTheProducersSend() {
        assertThat(new String(TestTicks.key("binance", "BTC-USDT"))).isEqualTo("binance:BTC-USDT");
    }

    /** Prices and sizes get the double Double.parseDouble gives their text, to the bit (a faster parser does it). */
    @Property(tries = 20_000, seed = "20261204")
    void decimalValueIsTheNearestDouble(@ForAll("decimals") String text) throws Exception {
        assertThat(Double.doubleToRawLongBits(TickParser.positiveDecimal(text, "price")))
                .as(text)
                .isEqualTo(Double.doubleToRawLongBits(Double.parseDouble(text)));
    }

    /** Plain positive decimals of 1 to 40 characters: short and long, leading and trailing zeros, tiny and huge. */
    @Provide
    Arbitrary<String> decimals() {
        Arbitrary<String> digits =
                Arbitraries.strings().numeric().ofMinLength(1).ofMaxLength(20);
        return Combinators.combine(digits, digits, Arbitraries.of(true, false))
                .as((whole, fraction, point) -> point ? whole + "." + fraction : whole + fraction)
                .filter(text -> text.length() <= 40 && text.chars().anyMatch(c -> c >= '1' && c <= '9'));
    }
}
