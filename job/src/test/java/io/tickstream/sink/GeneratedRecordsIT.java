package io.tickstream.sink;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tickstream.model.BadRecord;
import io.tickstream.model.Tick;
import io.tickstream.source.BadTickException;
import io.tickstream.source.TickParser;
import io.tickstream.testutils.LocalStack;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.record.AbstractRecords;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.RecordBatch;

/**
 * Generated records, mutated from valid ticks in every field and in their bytes, through the real parser, the ticks
 * table's writer and a real PostgreSQL COPY (in a database of its own with the project's schema): every record ends in
 * exactly one place — a row equal to the parsed tick, or a dead letter with a reason (the parser's, or the database's)
 * that fits the dead-letter topic — and no exception leaves the parser or the writer. 400 tries of 250 records: 100,000
 * records per run, seeded, so a failure reproduces (jqwik prints the seed; rerun with it).
 */
class GeneratedRecordsIT {
    private static final int TRIES = 400;
    private static final int RECORDS_PER_TRY = 250;
    private static final Set<String> VENUES = Set.of("binance", "coinbase", "kraken", "synthetic");
    /** The parser's clock in this test. Trade times of generated ticks lie before it. */
    private static final long NOW = 1_764_460_800_000L; // 2025-11-30

    private static final TickParser PARSER = new TickParser(VENUES, 60_000, 10_000, 65_536);
    private static final DeadLetterSerializer DEAD_LETTERS = new DeadLetterSerializer("ticks.dlq");
    private static final ObjectMapper JSON = new ObjectMapper();

    private static LocalStack stack;
    private static String url;
    private static Connection writer;
    private static Connection admin;
    private static final TickTable TICKS = new TickTable();
    private static final Map<String, AtomicLong> OUTCOMES = new TreeMap<>();

    @BeforeContainer
    static void database() throws Exception {
        stack = LocalStack.get();
        url = stack.database("generated_records");
        writer = DriverManager.getConnection(url, stack.jdbcUser, stack.jdbcPassword);
        writer.setAutoCommit(false);
        TICKS.prepare(writer);
        admin = stack.connectAsSuperuser(url);
    }

    @AfterContainer
    static void report() throws Exception {
        StringBuilder out = new StringBuilder("GeneratedRecordsIT outcomes:\n");
        OUTCOMES.forEach((outcome, n) -> out.append(String.format("%8d  %s%n", n.get(), outcome)));
        System.out.println(out);
        writer.close();
        admin.close();
    }

    /** A generated Kafka record: its key and value bytes, and how it was made (shown when a try fails). */
    record Generated(byte[] key, byte[] value, String how) {
        @Override
        public String toString() {
            String text = new String(value, 0, Math.min(value.length, 300), StandardCharsets.UTF_8);
            return how + ": key="
                    + (key == null ? "null" : new String(key, 0, Math.min(key.length, 80), StandardCharsets.UTF_8))
                    + " value=" + text + (value.length > 300 ? "... (" + value.length + " bytes)" : "");
        }
    }

    @Property(tries = TRIES, seed = "20261201", shrinking = ShrinkingMode.OFF)
    void everyRecordEndsInExactlyOnePlace(@ForAll("batches") List<Generated> records) throws Exception {
        try (Statement s = admin.createStatement()) {
            s.execute("TRUNCATE ticks");
        }
        List<Tick> parsed = new ArrayList<>();
        int deadLetters = 0;
        for (Generated r : records) {
            try {
                parsed.add(PARSER.parse(r.key(), r.value(), NOW));
            } catch (BadTickException e) {
                deadLetters++;
                assertThat(e.getMessage()).as("reason for %s", r).isNotBlank();
                fitsTheDeadLetterTopic(BadRecord.unparsable(r.key(), r.value(), e.getMessage(), "ticks", 0, 1, NOW));
                count("parse: " + kind(e.getMessage()));
            }
        }
        List<BadRecord> refused = new ArrayList<>();
        TableSinkOperator.writeIsolatingRefused(TICKS, writer, parsed, refused, "ticks-db-sink");
        for (BadRecord bad : refused) {
            count("refused: " + kind(bad.reason()));
            fitsTheDeadLetterTopic(bad);
        }

        // What the table must hold: each parsed tick not refused, once per (exchange, symbol, trade_id, time).
        Map<String, Tick> expected = new LinkedHashMap<>();
        for (Tick t : parsed) {
            expected.putIfAbsent(t.exchange() + '|' + t.symbol() + '|' + t.tradeId() + '|' + t.ts(), t);
        }
        for (BadRecord bad : refused) {
            JsonNode t = JSON.readTree(bad.value());
            assertThat(expected)
                    .as("a refused row is one of the parsed ticks: %s", t)
                    .containsKey(t.get("exchange").asText()
                            + '|'
                            + t.get("symbol").asText()
                            + '|'
                            + t.get("trade_id").asText()
                            + '|'
                            + t.get("ts").asLong());
        }
        Map<String, String[]> rows = new HashMap<>();
        try (PreparedStatement ps =
                        writer.prepareStatement("SELECT exchange, symbol, trade_id, price::text, size::text,"
                                + " side, (extract(epoch from time) * 1000)::bigint, (extract(epoch from recv_time) * 1000)::bigint"
                                + " FROM ticks");
                ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                String key = rs.getString(1) + '|' + rs.getString(2) + '|' + rs.getString(3) + '|' + rs.getLong(7);
                assertThat(rows.put(key, new String[] {
                            rs.getString(4), rs.getString(5), rs.getString(6), Long.toString(rs.getLong(8))
                        }))
                        .as("row stored twice: %s", key)
                        .isNull();
            }
        }
        writer.commit();
        assertThat(rows.size() + refused.size()).as("rows stored and refused").isEqualTo(expected.size());
        for (Map.Entry<String, Tick> e : expected.entrySet()) {
            String[] row = rows.get(e.getKey());
            if (row == null) {
                continue; // refused: checked above
            }
            Tick t = e.getValue();
            assertSameDecimal(row[0], t.price(), e.getKey());
            assertSameDecimal(row[1], t.size(), e.getKey());
            assertThat(row[2]).isEqualTo(t.side().json());
            assertThat(Long.parseLong(row[3])).isEqualTo(t.recvTs());
        }
        assertThat(parsed.size() + deadLetters).isEqualTo(records.size());
        count("stored", rows.size());
        count("records", records.size());
    }

    /** PostgreSQL's numeric keeps a decimal's value and scale (not its leading zeros). */
    private static void assertSameDecimal(String stored, String sent, String row) {
        BigDecimal a = new BigDecimal(stored), b = new BigDecimal(sent);
        assertThat(a.compareTo(b)).as("%s: %s stored as %s", row, sent, stored).isZero();
        assertThat(a.scale())
                .as("%s: scale of %s stored as %s", row, sent, stored)
                .isEqualTo(b.scale());
    }

    private static void fitsTheDeadLetterTopic(BadRecord bad) {
        ProducerRecord<byte[], byte[]> r = DEAD_LETTERS.serialize(bad, null, null);
        int size = AbstractRecords.estimateSizeInBytesUpperBound(
                RecordBatch.CURRENT_MAGIC_VALUE,
                CompressionType.NONE,
                r.key(),
                r.value(),
                r.headers().toArray());
        assertThat(size).as("dead letter size").isLessThan(1_000_000);
    }

    /** A reason without what varies from record to record (values quoted in it, numbers), for the summary. */
    private static String kind(String reason) {
        return reason.replaceAll("(?s)(got|character|token|escape|marker|byte|value|field)\\b[^a-z].*", "$1 ...")
                .replaceAll("[0-9]+", "N");
    }

    private static void count(String outcome) {
        count(outcome, 1);
    }

    private static void count(String outcome, long n) {
        OUTCOMES.computeIfAbsent(outcome.length() > 120 ? outcome.substring(0, 120) : outcome, k -> new AtomicLong())
                .addAndGet(n);
    }

    // --- generators -------------------------------------------------------------------------------------------------

    @Provide
    Arbitrary<List<Generated>> batches() {
        return record().list().ofSize(RECORDS_PER_TRY);
    }

    private Arbitrary<Generated> record() {
        return Arbitraries.frequencyOf(
                Tuple.of(250, validTick().map(t -> t.record("valid"))),
                Tuple.of(
                        350,
                        Combinators.combine(validTick(), field(), fieldValue()).as(TickText::replaced)),
                Tuple.of(80, Combinators.combine(validTick(), field()).as(TickText::without)),
                Tuple.of(
                        80,
                        Combinators.combine(validTick(), field(), fieldValue()).as(TickText::duplicated)),
                Tuple.of(60, Combinators.combine(validTick(), nested()).as(TickText::withUnknownField)),
                Tuple.of(120, Combinators.combine(validTick(), byteEdits()).as(TickText::edited)),
                Tuple.of(50, Combinators.combine(validTick(), key()).as(TickText::withKey)),
                Tuple.of(2, hugeValue()));
    }

    /** A tick JSON v1 text as a list of fields (a list: a field may be given twice). */
    record TickText(List<String[]> fields, String exchange, String symbol) {
        Generated record(String how) {
            return new Generated(
                    (exchange + ':' + symbol).getBytes(StandardCharsets.UTF_8),
                    text().getBytes(StandardCharsets.UTF_8),
                    how);
        }

        String text() {
            StringBuilder b = new StringBuilder("{");
            for (String[] f : fields) {
                if (b.length() > 1) {
                    b.append(',');
                }
                b.append('"').append(f[0]).append("\":").append(f[1]);
            }
            return b.append('}').toString();
        }

        Generated replaced(String field, String value) {
            List<String[]> out = new ArrayList<>();
            for (String[] f : fields) {
                out.add(f[0].equals(field) ? new String[] {field, value} : f);
            }
            return new TickText(out, exchange, symbol).record("replaced " + field);
        }

        Generated without(String field) {
            List<String[]> out = new ArrayList<>(fields);
            out.removeIf(f -> f[0].equals(field));
            return new TickText(out, exchange, symbol).record("without " + field);
        }

        Generated duplicated(String field, String value) {
            List<String[]> out = new ArrayList<>(fields);
            out.add(new String[] {field, value});
            return new TickText(out, exchange, symbol).record("duplicated " + field);
        }

        Generated withUnknownField(String nestedValue) {
            List<String[]> out = new ArrayList<>(fields);
            out.add(3, new String[] {"extra", nestedValue});
            return new TickText(out, exchange, symbol).record("unknown field");
        }

        Generated edited(List<int[]> edits) {
            byte[] bytes = text().getBytes(StandardCharsets.UTF_8);
            for (int[] e : edits) {
                int at = Math.floorMod(e[1], bytes.length + 1);
                switch (e[0]) {
                    case 0 -> { // overwrite a byte
                        if (at < bytes.length) {
                            bytes[at] = (byte) e[2];
                        }
                    }
                    case 1 -> { // insert a byte
                        byte[] out = new byte[bytes.length + 1];
                        System.arraycopy(bytes, 0, out, 0, at);
                        out[at] = (byte) e[2];
                        System.arraycopy(bytes, at, out, at + 1, bytes.length - at);
                        bytes = out;
                    }
                    case 2 -> { // delete a byte
                        if (at < bytes.length) {
                            byte[] out = new byte[bytes.length - 1];
                            System.arraycopy(bytes, 0, out, 0, at);
                            System.arraycopy(bytes, at + 1, out, at, bytes.length - at - 1);
                            bytes = out;
                        }
                    }
                    default -> bytes = Arrays.copyOf(bytes, at); // truncate
                }
            }
            return new Generated((exchange + ':' + symbol).getBytes(StandardCharsets.UTF_8), bytes, "bytes edited");
        }

        Generated withKey(byte[] key) {
            Generated r = record("key replaced");
            return new Generated(key, r.value(), r.how());
        }
    }

    private static String quoted(String s) {
        return '"' + new String(JsonStringEncoder.getInstance().quoteAsString(s)) + '"';
    }

    /** Valid ticks of every shape the contract allows: any printable-ASCII trade id (backslashes, quotes), decimals. */
    private Arbitrary<TickText> validTick() {
        Arbitrary<String> exchange = Arbitraries.of(VENUES);
        Arbitrary<String> symbol = Combinators.combine(
                        Arbitraries.strings()
                                .withChars("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
                                .ofMinLength(1)
                                .ofMaxLength(12),
                        Arbitraries.strings()
                                .withChars("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
                                .ofMinLength(1)
                                .ofMaxLength(8))
                .as((base, quote) -> base + '-' + quote)
                .filter(s -> s.length() >= 3);
        Arbitrary<String> tradeId = Arbitraries.oneOf(
                Arbitraries.longs().between(0, Long.MAX_VALUE).map(n -> Long.toString(n)),
                Arbitraries.strings().withCharRange('!', '~').ofMinLength(1).ofMaxLength(64),
                Arbitraries.of("\\N", "\\t", "x\\", "a\\\\b", "\\", "\\.", "\"", "\\\"", "'", "%", "\\x00", "\\0"));
        Arbitrary<String> decimal = Arbitraries.oneOf(
                        Combinators.combine(
                                        Arbitraries.strings()
                                                .numeric()
                                                .ofMinLength(1)
                                                .ofMaxLength(20),
                                        Arbitraries.strings()
                                                .numeric()
                                                .ofMinLength(0)
                                                .ofMaxLength(19))
                                .as((i, f) -> f.isEmpty() ? i : i + '.' + f),
                        Arbitraries.of(
                                "1",
                                "0.00000001",
                                "67123.45",
                                "0001.5000",
                                "99999999999999999999999999999999999999.9",
                                "0.0000000000000000000000000000000000001"))
                .filter(d -> d.chars().anyMatch(c -> c >= '1' && c <= '9') && d.length() <= 40);
        Arbitrary<Long> ts = Arbitraries.longs().between(TickParser.EARLIEST_TRADE_TS, NOW);
        return Combinators.combine(
                        exchange,
                        symbol,
                        tradeId,
                        decimal,
                        decimal,
                        Arbitraries.of("buy", "sell", "unknown"),
                        ts,
                        Arbitraries.longs().between(-10_000, 3_600_000))
                .as((ex, sym, id, price, size, side, t, delay) -> {
                    List<String[]> f = new ArrayList<>();
                    f.add(new String[] {"v", "1"});
                    f.add(new String[] {"exchange", quoted(ex)});
                    f.add(new String[] {"symbol", quoted(sym)});
                    f.add(new String[] {"trade_id", quoted(id)});
                    f.add(new String[] {"price", quoted(price)});
                    f.add(new String[] {"size", quoted(size)});
                    f.add(new String[] {"side", quoted(side)});
                    f.add(new String[] {"ts", Long.toString(t)});
                    f.add(new String[] {
                        "recv_ts", Long.toString(Math.min(NOW, Math.max(TickParser.EARLIEST_TRADE_TS, t + delay)))
                    });
                    return new TickText(f, ex, sym);
                });
    }

    private Arbitrary<String> field() {
        return Arbitraries.of("v", "exchange", "symbol", "trade_id", "price", "size", "side", "ts", "recv_ts");
    }

    /** Any JSON value, most of them wrong for the field they replace. */
    private Arbitrary<String> fieldValue() {
        Arbitrary<String> anyText = Arbitraries.strings().all().ofMaxLength(80).map(GeneratedRecordsIT::quoted);
        Arbitrary<String> controls = Arbitraries.strings()
                .withCharRange('\u0000', '\u001f')
                .withChars('\\', '"', '\u007f', '\u2028', '\ud800', '\udfff', 'é')
                .ofMinLength(1)
                .ofMaxLength(10)
                .map(GeneratedRecordsIT::quoted);
        Arbitrary<String> numbersAsText = Arbitraries.of(
                        "",
                        "0",
                        "-1",
                        "-0",
                        "1e5",
                        "1E-7",
                        "1.",
                        ".5",
                        "1..2",
                        "+1",
                        "NaN",
                        "Infinity",
                        "-Infinity",
                        "0x10",
                        "1,5",
                        " 1",
                        "1 ",
                        "١٢٣",
                        "0.000",
                        "12345678901234567890123456789012345678901",
                        "1234567890123456789012345678901234567890",
                        "9".repeat(400),
                        "00",
                        "007")
                .map(GeneratedRecordsIT::quoted);
        Arbitrary<String> numbers = Arbitraries.oneOf(
                Arbitraries.of(
                        "0",
                        "-1",
                        "1e3",
                        "1.5",
                        "-0",
                        "1E400",
                        "-1E400",
                        "123456789012345678901234567890",
                        "9223372036854775807",
                        "9223372036854775808",
                        "-9223372036854775809",
                        "1.0",
                        "2",
                        "1732500000123"),
                Arbitraries.longs().map(n -> Long.toString(n)),
                Arbitraries.doubles().map(Object::toString).filter(d -> !d.contains("N") && !d.contains("I")));
        Arbitrary<String> others = Arbitraries.of(
                "true",
                "false",
                "null",
                "{}",
                "[]",
                "[1,2]",
                "{\"a\":1}",
                "\"buy\"",
                "\"binance\"",
                "\"BTC-USDT\"",
                "[\"1\"]");
        Arbitrary<String> huge = Arbitraries.integers().between(65, 100_000).map(n -> quoted("7".repeat(n)));
        return Arbitraries.frequencyOf(
                Tuple.of(20, anyText),
                Tuple.of(15, controls),
                Tuple.of(20, numbersAsText),
                Tuple.of(20, numbers),
                Tuple.of(15, others),
                Tuple.of(3, huge));
    }

    /** An unknown field's value: nested arrays and objects, some deeper than Jackson's limit. */
    private Arbitrary<String> nested() {
        return Arbitraries.integers().between(1, 1500).map(depth -> "[".repeat(depth) + "1" + "]".repeat(depth));
    }

    /** Byte edits: (kind, position, byte): overwrite, insert, delete, truncate. */
    private Arbitrary<List<int[]>> byteEdits() {
        return Combinators.combine(
                        Arbitraries.integers().between(0, 3),
                        Arbitraries.integers().between(0, 400),
                        Arbitraries.integers().between(-128, 127))
                .as((k, at, b) -> new int[] {k, at, b})
                .list()
                .ofMinSize(1)
                .ofMaxSize(4);
    }

    private Arbitrary<byte[]> key() {
        return Arbitraries.oneOf(
                Arbitraries.just((byte[]) null),
                Arbitraries.just(new byte[0]),
                Arbitraries.strings().all().ofMaxLength(60).map(s -> s.getBytes(StandardCharsets.UTF_8)),
                Arbitraries.integers()
                        .between(5_000, 200_000)
                        .map(n -> "k".repeat(n).getBytes(StandardCharsets.UTF_8)));
    }

    /** Values up to and past every limit: the parser's (64 KiB), the dead-letter topic's, Kafka's (compressed 9 MB). */
    private Arbitrary<Generated> hugeValue() {
        return Arbitraries.of(65_536, 65_537, 600_000, 2_000_000, 9_437_184).map(n -> {
            byte[] value = new byte[n];
            Arrays.fill(value, (byte) 'a');
            value[0] = '{';
            return new Generated("binance:BTC-USDT".getBytes(StandardCharsets.UTF_8), value, "huge value of " + n);
        });
    }
}
