package io.tickstream.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tickstream.TickStreamJob;
import io.tickstream.config.JobConfig;
import io.tickstream.model.AnomalyType;
import io.tickstream.model.Side;
import io.tickstream.model.Tick;
import io.tickstream.sink.DeadLetterSerializer;
import io.tickstream.testutils.KafkaTopics;
import io.tickstream.testutils.LocalStack;
import io.tickstream.testutils.MarketScenario;
import io.tickstream.testutils.Waiting;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The production job (Kafka source, PostgreSQL and Kafka sinks) on a MiniCluster against the local stack's
 * real Kafka broker and PostgreSQL server. Each test uses its own topics and instruments.
 */
class JobOnKafkaAndPostgresIT {
    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER =
            new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(1)
                    .setNumberSlotsPerTaskManager(2)
                    .build());

    private static final Duration TIMEOUT = Duration.ofMinutes(3);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static LocalStack stack;
    private static KafkaTopics kafka;

    @BeforeAll
    static void startStack() throws Exception {
        stack = LocalStack.get();
        kafka = new KafkaTopics(stack.kafkaBootstrap);
    }

    /** Topics and a symbol prefix of letters only (symbols are BASE-QUOTE upper case) unique to one run. */
    private record Run(String prefix, String ticks, String anomalies, String dlq) {
        static Run create() throws Exception {
            Random r = new Random();
            StringBuilder p = new StringBuilder();
            for (int i = 0; i < 5; i++) {
                p.append((char) ('A' + r.nextInt(26)));
            }
            String id = p.toString().toLowerCase();
            Run run = new Run(p.toString(), "ticks-" + id, "anomalies-" + id, "ticks.dlq-" + id);
            kafka.create(run.ticks, 5);
            kafka.create(run.anomalies, 5);
            kafka.create(run.dlq, 1);
            return run;
        }

        JobConfig config(String... extra) throws Exception {
            List<String> args = new ArrayList<>(List.of(
                    "--kafka-bootstrap",
                    stack.kafkaBootstrap,
                    "--ticks-topic",
                    ticks,
                    "--anomalies-topic",
                    anomalies,
                    "--dlq-topic",
                    dlq,
                    "--group-id",
                    "it-" + prefix,
                    "--jdbc-url",
                    stack.jdbcUrl,
                    "--checkpoint-interval",
                    "1 s"));
            args.addAll(List.of(extra));
            return JobConfig.parse(
                    args.toArray(String[]::new), Map.of(JobConfig.JDBC_PASSWORD_ENV, stack.jdbcPassword));
        }
    }

    @Test
    void everyTickOnceCandlesAgreeExpectedAnomaliesInTableAndTopicBadRecordsInDlq() throws Exception {
        Run run = Run.create();
        long now = System.currentTimeMillis();
        List<String> symbols = List.of(
                run.prefix + "A-USD",
                run.prefix + "B-USDT",
                run.prefix + "C-USD",
                run.prefix + "D-EUR",
                run.prefix + "E-USD");
        MarketScenario market = new MarketScenario(symbols, 3, 600, now - 20 * 60_000L, 200, 5);

        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (Tick t : market.shuffledWithin(2000, 3)) {
            records.add(new ProducerRecord<>(run.ticks, MarketScenario.key(t), MarketScenario.json(t)));
        }
        List<String[]> bad = MarketScenario.badRecords(now);
        for (String[] b : bad) {
            records.add(new ProducerRecord<>(
                    run.ticks, 0, null, b[0].getBytes(StandardCharsets.UTF_8), b[1].getBytes(StandardCharsets.UTF_8)));
        }
        // One later trade on every partition moves event time past the last minute and its allowed lateness.
        long lastTs = market.trades.get(market.trades.size() - 1).ts();
        List<Tick> flush = new ArrayList<>();
        for (int partition = 0; partition < 5; partition++) {
            Tick t = new Tick(
                    "synthetic",
                    run.prefix + "Z" + (char) ('A' + partition) + "-USD",
                    "1",
                    1,
                    "1.00",
                    1.0,
                    "1",
                    1.0,
                    Side.BUY,
                    lastTs + 5 * 60_000L,
                    lastTs + 5 * 60_000L);
            flush.add(t);
            records.add(
                    new ProducerRecord<>(run.ticks, partition, null, MarketScenario.key(t), MarketScenario.json(t)));
        }
        kafka.send(run.ticks, records);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        TickStreamJob.define(env, run.config());
        JobClient job = env.executeAsync("it-end-to-end");
        try {
            int ticks = market.trades.size() + flush.size();
            long candles = market.trades.stream()
                    .map(t -> t.instrument() + "@" + t.ts() / 60_000L)
                    .distinct()
                    .count();
            Waiting.until("all ticks, candles and anomalies in the database", TIMEOUT, () -> {
                assertThat(job.getJobStatus().get().isGloballyTerminalState())
                        .as("job terminated")
                        .isFalse();
                return count("SELECT count(*) FROM ticks WHERE symbol LIKE ?", run.prefix + "%") == ticks
                        && count("SELECT count(*) FROM candles_1m WHERE symbol LIKE ?", run.prefix + "%") == candles
                        && count("SELECT count(*) FROM anomalies WHERE symbol LIKE ?", run.prefix + "%")
                                >= market.expected.size();
            });
            List<ConsumerRecord<byte[], byte[]>> dlq = kafka.readAtLeast(run.dlq, bad.size(), TIMEOUT);
            List<ConsumerRecord<byte[], byte[]>> onTopic =
                    kafka.readAtLeast(run.anomalies, market.expected.size(), TIMEOUT);

            // Every tick exactly once, values as sent.
            try (Connection c = stack.connect();
                    Statement s = c.createStatement()) {
                Set<String> rows = new HashSet<>();
                try (ResultSet rs = s.executeQuery("SELECT exchange, symbol, trade_id, price::text, size::text, side,"
                        + " (extract(epoch from time) * 1000)::bigint FROM ticks WHERE symbol LIKE '" + run.prefix
                        + "%'")) {
                    while (rs.next()) {
                        assertThat(rows.add(rs.getString(1) + ":" + rs.getString(2) + "#" + rs.getString(3)))
                                .as("duplicate row")
                                .isTrue();
                    }
                }
                assertThat(rows).hasSize(ticks);
                for (Tick t : market.trades) {
                    assertThat(rows).contains(t.instrument() + "#" + t.tradeId());
                }
                // Candles agree with the ticks table (first/last by trade id, which is trade order here).
                try (ResultSet rs = s.executeQuery("WITH t AS (SELECT *, date_trunc('minute', time) AS bucket,"
                        + "  row_number() OVER (PARTITION BY exchange, symbol, date_trunc('minute', time) ORDER BY trade_id::bigint) AS first_rank,"
                        + "  row_number() OVER (PARTITION BY exchange, symbol, date_trunc('minute', time) ORDER BY trade_id::bigint DESC) AS last_rank"
                        + "  FROM ticks WHERE symbol LIKE '" + run.prefix + "%'),"
                        + " expected AS (SELECT exchange, symbol, bucket, max(price) FILTER (WHERE first_rank = 1) AS open,"
                        + "  max(price) AS high, min(price) AS low, max(price) FILTER (WHERE last_rank = 1) AS close,"
                        + "  sum(size) AS volume, count(*) AS trades FROM t GROUP BY 1, 2, 3)"
                        + " SELECT count(*) FROM expected e JOIN candles_1m c USING (exchange, symbol, bucket)"
                        + " WHERE (c.open, c.high, c.low, c.close, c.volume, c.trades) IS DISTINCT FROM"
                        + " (e.open, e.high, e.low, e.close, e.volume, e.trades)")) {
                    rs.next();
                    assertThat(rs.getLong(1))
                            .as("candles that disagree with the ticks")
                            .isZero();
                }
                // Exactly the injected anomalies in the table.
                List<MarketScenario.Expected> inTable = new ArrayList<>();
                try (ResultSet rs = s.executeQuery("SELECT exchange || ':' || symbol, type, trade_id FROM anomalies"
                        + " WHERE symbol LIKE '" + run.prefix + "%'")) {
                    while (rs.next()) {
                        inTable.add(new MarketScenario.Expected(
                                rs.getString(1), AnomalyType.valueOf(rs.getString(2)), rs.getString(3)));
                    }
                }
                assertThat(inTable).containsExactlyInAnyOrderElementsOf(market.expected);
            }

            // The same anomalies on the topic, once each, keyed by instrument, as anomaly JSON v1.
            List<MarketScenario.Expected> topic = new ArrayList<>();
            for (ConsumerRecord<byte[], byte[]> r : onTopic) {
                JsonNode a = JSON.readTree(r.value());
                assertThat(a.get("v").asInt()).isEqualTo(1);
                assertThat(new String(r.key(), StandardCharsets.UTF_8))
                        .isEqualTo(a.get("exchange").asText() + ":"
                                + a.get("symbol").asText());
                assertThat(new BigDecimal(a.get("price").asText())).isPositive();
                topic.add(new MarketScenario.Expected(
                        new String(r.key(), StandardCharsets.UTF_8),
                        AnomalyType.valueOf(a.get("type").asText()),
                        a.get("trade_id").asText()));
            }
            assertThat(topic).containsExactlyInAnyOrderElementsOf(market.expected);

            // Every bad record in the DLQ, unchanged, with its reason and origin.
            assertThat(dlq).hasSize(bad.size());
            for (String[] b : bad) {
                assertThat(dlq).as("dead letter for %s", b[1]).anySatisfy(r -> {
                    assertThat(new String(r.value(), StandardCharsets.UTF_8)).isEqualTo(b[1]);
                    assertThat(new String(r.key(), StandardCharsets.UTF_8)).isEqualTo(b[0]);
                    assertThat(header(r, DeadLetterSerializer.ERROR)).startsWith(b[2]);
                    assertThat(header(r, DeadLetterSerializer.SOURCE_TOPIC)).isEqualTo(run.ticks);
                    assertThat(header(r, DeadLetterSerializer.SOURCE_PARTITION)).isEqualTo("0");
                    assertThat(Long.parseLong(header(r, DeadLetterSerializer.SOURCE_OFFSET)))
                            .isNotNegative();
                });
            }
        } finally {
            job.cancel().get();
        }
    }

    @Test
    void detectorStateSurvivesStopWithSavepointAndRestoreWithoutDuplicateRows(@TempDir Path savepoints)
            throws Exception {
        Run run = Run.create();
        String symbol = run.prefix + "S-USD";
        long start = System.currentTimeMillis() - 10 * 60_000L;
        // Before the savepoint: 300 calm trades at 100.00 (the window's minimum, the z-score warm-up).
        List<Tick> before = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            String price = i % 2 == 0 ? "100.00" : "100.01";
            before.add(new Tick(
                    "synthetic",
                    symbol,
                    Long.toString(i + 1),
                    i + 1,
                    price,
                    Double.parseDouble(price),
                    "0.01",
                    0.01,
                    Side.BUY,
                    start + i * 100L,
                    start + i * 100L + 5));
        }
        // After: a 0.5 % step (an outlier return, below the price threshold: only a z-score detector that remembers its
        // warm-up alerts on it), then a 1.5 % rise (only a price detector that remembers the minimum alerts on it).
        List<Tick> after = new ArrayList<>();
        for (int i = 300; i < 320; i++) {
            String price = i == 300 ? "100.50" : "101.50";
            after.add(new Tick(
                    "synthetic",
                    symbol,
                    Long.toString(i + 1),
                    i + 1,
                    price,
                    Double.parseDouble(price),
                    "0.01",
                    0.01,
                    Side.BUY,
                    start + i * 100L,
                    start + i * 100L + 5));
        }

        kafka.send(run.ticks, records(run.ticks, before));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        TickStreamJob.define(env, run.config());
        JobClient first = env.executeAsync("it-before-savepoint");
        Waiting.until(
                "the first job's ticks in the database",
                TIMEOUT,
                () -> count("SELECT count(*) FROM ticks WHERE symbol = ?", symbol) == before.size());
        String savepoint = stopWithSavepoint(first, savepoints);
        assertThat(count("SELECT count(*) FROM anomalies WHERE symbol = ?", symbol))
                .isZero();

        kafka.send(run.ticks, records(run.ticks, after));
        Configuration restore = new Configuration();
        restore.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
        StreamExecutionEnvironment restored = StreamExecutionEnvironment.getExecutionEnvironment(restore);
        restored.setParallelism(2);
        TickStreamJob.define(restored, run.config());
        JobClient second = restored.executeAsync("it-after-savepoint");
        try {
            Waiting.until(
                    "the alerts on the first trade after the restore",
                    TIMEOUT,
                    () -> count("SELECT count(*) FROM anomalies WHERE symbol = ?", symbol) >= 2
                            && count("SELECT count(*) FROM ticks WHERE symbol = ?", symbol)
                                    == before.size() + after.size());
            Set<String> alerts = new HashSet<>();
            try (Connection c = stack.connect();
                    Statement s = c.createStatement();
                    ResultSet rs =
                            s.executeQuery("SELECT type, trade_id FROM anomalies WHERE symbol = '" + symbol + "'")) {
                while (rs.next()) {
                    alerts.add(rs.getString(1) + "@" + rs.getString(2));
                }
            }
            assertThat(alerts).containsExactlyInAnyOrder("RETURN_ZSCORE@301", "PRICE_SPIKE@302");
            assertThat(count("SELECT count(DISTINCT trade_id) FROM ticks WHERE symbol = ?", symbol))
                    .isEqualTo(before.size() + after.size());
            List<ConsumerRecord<byte[], byte[]>> topic = kafka.readAtLeast(run.anomalies, 2, TIMEOUT);
            assertThat(topic.stream()
                            .map(r -> new String(r.value(), StandardCharsets.UTF_8))
                            .collect(Collectors.toList()))
                    .hasSize(2);
        } finally {
            second.cancel().get();
        }
    }

    /**
     * A partition whose producer sends only bad records must not hold event time back: counted as activity, they kept
     * it from going idle while it had no watermark, so no candle ever closed, on any partition.
     */
    @Test
    void aPartitionOfOnlyBadRecordsDoesNotHoldEventTimeBack() throws Exception {
        Run run = Run.create();
        String symbol = run.prefix + "W-USD";
        long start = (System.currentTimeMillis() - 10 * 60_000L) / 60_000L * 60_000L;
        List<ProducerRecord<byte[], byte[]>> good = new ArrayList<>();
        for (int i = 0; i < 180; i++) { // three minutes of trade time, one trade a second, all on partition 0
            Tick t = new Tick(
                    "synthetic",
                    symbol,
                    Long.toString(i + 1),
                    i + 1,
                    "100.00",
                    100.0,
                    "0.01",
                    0.01,
                    Side.BUY,
                    start + i * 1000L,
                    start + i * 1000L + 5);
            good.add(new ProducerRecord<>(run.ticks, 0, null, MarketScenario.key(t), MarketScenario.json(t)));
        }
        kafka.send(run.ticks, good);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        TickStreamJob.define(env, run.config("--idle-timeout", "1 s"));
        JobClient job = env.executeAsync("it-bad-records-only-partition");
        AtomicBoolean done = new AtomicBoolean();
        Thread badProducer = new Thread(() -> {
            try (var producer = kafka.producer()) {
                while (!done.get()) { // every other partition: only bad records, all the time
                    for (int partition = 1; partition < 5; partition++) {
                        producer.send(new ProducerRecord<>(
                                run.ticks, partition, null, null, "not a tick".getBytes(StandardCharsets.UTF_8)));
                    }
                    producer.flush();
                    Thread.sleep(100);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        badProducer.start();
        try {
            Waiting.until(
                    "the first two minutes' candles",
                    TIMEOUT,
                    () -> count("SELECT count(*) FROM candles_1m WHERE symbol = ?", symbol) >= 2);
        } finally {
            done.set(true);
            badProducer.join();
            job.cancel().get();
        }
    }

    /**
     * With {@code --delivery exactly-once} the instruments' alerts and the divergences leave through two transactional
     * writers. Sharing transactional ids they would fence each other; each must commit its own: read_committed, the
     * topic holds every alert of the table once, the divergence among them.
     */
    @Test
    void withExactlyOnceTheAlertsAndTheDivergencesBothCommitToTheTopic() throws Exception {
        Run run = Run.create();
        List<Tick> trades = MarketScenario.divergingVenues(run.prefix, System.currentTimeMillis() - 10 * 60_000L, 9);
        kafka.send(run.ticks, records(run.ticks, trades));

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        TickStreamJob.define(env, run.config("--delivery", "exactly-once", "--idle-timeout", "1 s"));
        JobClient job = env.executeAsync("it-exactly-once-alerts");
        try {
            // The two writers commit on their own: wait until the topic holds what the table holds, the divergence
            // and an instrument's alert among them (with shared transactional ids the divergence never lands).
            Waiting.until("the table's alerts, a divergence among them, once each on the topic", TIMEOUT, () -> {
                assertThat(job.getJobStatus().get().isGloballyTerminalState())
                        .as("job terminated")
                        .isFalse();
                Set<String> inTable = alertsInTable(run.prefix);
                return inTable.stream().anyMatch(a -> a.endsWith("|CROSS_VENUE_DIVERGENCE"))
                        && inTable.stream().anyMatch(a -> !a.endsWith("|CROSS_VENUE_DIVERGENCE"))
                        && alertsOnTopic(run.anomalies, inTable.size(), Duration.ofSeconds(2))
                                .equals(inTable.stream().sorted().toList());
            });
            Set<String> inTable = alertsInTable(run.prefix);
            assertThat(alertsOnTopic(run.anomalies, inTable.size(), TIMEOUT))
                    .containsExactlyInAnyOrderElementsOf(inTable);
        } finally {
            job.cancel().get();
        }
    }

    /** The run's alerts in the table, as id|type. */
    private static Set<String> alertsInTable(String prefix) throws Exception {
        Set<String> out = new HashSet<>();
        try (Connection c = stack.connect();
                var ps = c.prepareStatement("SELECT id, type FROM anomalies WHERE symbol LIKE ?")) {
            ps.setString(1, prefix + "%");
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1) + "|" + rs.getString(2));
                }
            }
        }
        return out;
    }

    /** The committed alerts on the topic, as id|type, sorted (duplicates kept). */
    private static List<String> alertsOnTopic(String topic, int atLeast, Duration timeout) throws Exception {
        List<String> out = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : kafka.readAtLeast(topic, atLeast, timeout)) {
            JsonNode a = JSON.readTree(r.value());
            out.add(a.get("id").asText() + "|" + a.get("type").asText());
        }
        out.sort(null);
        return out;
    }

    /** Stop-with-savepoint, retried while some task is still being deployed (a savepoint needs them all running). */
    private static String stopWithSavepoint(JobClient job, Path dir) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (true) {
            try {
                return job.stopWithSavepoint(false, dir.toUri().toString(), SavepointFormatType.CANONICAL)
                        .get();
            } catch (ExecutionException e) {
                if (System.nanoTime() > deadline
                        || !String.valueOf(e.getMessage()).contains("not being executed")) {
                    throw e;
                }
                Thread.sleep(200);
            }
        }
    }

    private static List<ProducerRecord<byte[], byte[]>> records(String topic, List<Tick> ticks) {
        return ticks.stream()
                .map(t -> new ProducerRecord<>(topic, MarketScenario.key(t), MarketScenario.json(t)))
                .collect(Collectors.toList());
    }

    private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
        var h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private static long count(String sql, String param) throws Exception {
        try (Connection c = stack.connect();
                var ps = c.prepareStatement(sql)) {
            ps.setString(1, param);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }
}
