package io.tickstream.sink;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tickstream.TickStreamJob;
import io.tickstream.config.JobConfig;
import io.tickstream.model.Anomaly;
import io.tickstream.model.AnomalyType;
import io.tickstream.model.BadRecord;
import io.tickstream.model.Candle;
import io.tickstream.model.Side;
import io.tickstream.model.Tick;
import io.tickstream.model.TickSerializer;
import io.tickstream.testutils.CollectingSink;
import io.tickstream.testutils.LocalStack;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.OperatorStateHandle;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.AbstractStreamOperatorTestHarness;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The table writers on a MiniCluster against a real PostgreSQL: rows the database refuses for their content (here a
 * CHECK constraint the test adds, as a DBA might) leave as dead letters with the database's reason, the rest of their
 * batch is stored, and the job finishes normally; text the COPY format would read as escapes is stored unchanged. A
 * checkpoint of the ticks' sink does not wait for the database, and its restore writes the ticks it held.
 */
class TableSinkOperatorIT {
    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER =
            new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(1)
                    .setNumberSlotsPerTaskManager(2)
                    .build());

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Rows holding this marker are refused by the constraints the test adds. */
    private static final String REFUSED = "refuse-me";

    private static LocalStack stack;

    @BeforeAll
    static void addConstraints() throws Exception {
        stack = LocalStack.get();
        try (Connection c = stack.connectAsSuperuser();
                Statement s = c.createStatement()) {
            s.execute("ALTER TABLE ticks DROP CONSTRAINT IF EXISTS it_refused_tick");
            s.execute("ALTER TABLE ticks ADD CONSTRAINT it_refused_tick CHECK (trade_id NOT LIKE '" + REFUSED + "%')");
            s.execute("ALTER TABLE candles_1m DROP CONSTRAINT IF EXISTS it_refused_candle");
            s.execute("ALTER TABLE candles_1m ADD CONSTRAINT it_refused_candle CHECK (trades <> 666)");
            s.execute("ALTER TABLE anomalies DROP CONSTRAINT IF EXISTS it_refused_anomaly");
            s.execute("ALTER TABLE anomalies ADD CONSTRAINT it_refused_anomaly CHECK (trade_id NOT LIKE '" + REFUSED
                    + "%')");
        }
    }

    @AfterAll
    static void dropConstraints() throws Exception {
        try (Connection c = stack.connectAsSuperuser();
                Statement s = c.createStatement()) {
            s.execute("ALTER TABLE ticks DROP CONSTRAINT IF EXISTS it_refused_tick");
            s.execute("ALTER TABLE candles_1m DROP CONSTRAINT IF EXISTS it_refused_candle");
            s.execute("ALTER TABLE anomalies DROP CONSTRAINT IF EXISTS it_refused_anomaly");
        }
    }

    private static String symbol() {
        Random r = new Random();
        StringBuilder base = new StringBuilder("TS");
        for (int i = 0; i < 6; i++) {
            base.append((char) ('A' + r.nextInt(26)));
        }
        return base + "-USD";
    }

    private static JobConfig config() throws Exception {
        return JobConfig.parse(
                new String[] {"--jdbc-url", stack.jdbcUrl, "--jdbc-batch-size", "500", "--jdbc-max-retries", "1"},
                Map.of(JobConfig.JDBC_PASSWORD_ENV, stack.jdbcPassword));
    }

    @Test
    void refusedTicksBecomeDeadLettersAndTheRestOfTheirBatchIsStored() throws Exception {
        String symbol = symbol();
        long ts = System.currentTimeMillis() - 60_000;
        // Trade ids COPY's text format would read as escapes: a NULL, a tab, a trailing backslash, a doubled one.
        List<String> tricky = List.of("\\N", "\\t", "x\\", "a\\\\b", "\\", "\\.", "tab\tin", "nl\nin", "é€日");
        List<Tick> ticks = new ArrayList<>();
        Set<String> refusedIds = new HashSet<>();
        for (int i = 0; i < 3000; i++) {
            String id = i % 997 == 13 ? REFUSED + i : i < tricky.size() ? tricky.get(i) : Integer.toString(i);
            if (id.startsWith(REFUSED)) {
                refusedIds.add(id);
            }
            ticks.add(new Tick(
                    "kraken",
                    symbol,
                    id,
                    Tick.NO_SEQUENCE,
                    "67123.45000",
                    67123.45,
                    "0.00012300",
                    0.000123,
                    i % 2 == 0 ? Side.BUY : Side.SELL,
                    ts + i,
                    ts + i + 27));
        }

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        DataStream<Tick> rows = env.fromData(TypeInformation.of(Tick.class), ticks.toArray(Tick[]::new));
        CollectingSink<BadRecord> deadLetters = new CollectingSink<>();
        PostgresSinks.ticks(config()).sink(rows, "ticks-db-sink").sinkTo(deadLetters);
        env.execute("table-writer-refusals");

        Set<String> stored = new HashSet<>();
        try (Connection c = stack.connect();
                PreparedStatement ps = c.prepareStatement("SELECT trade_id, price::text, size::text, side,"
                        + " (extract(epoch from time) * 1000)::bigint FROM ticks WHERE symbol = ?")) {
            ps.setString(1, symbol);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    assertThat(rs.getString(2)).isEqualTo("67123.45000");
                    assertThat(rs.getString(3)).isEqualTo("0.00012300");
                    assertThat(stored.add(rs.getString(1)))
                            .as("stored twice: %s", rs.getString(1))
                            .isTrue();
                }
            }
        }
        Set<String> expected = new HashSet<>();
        ticks.stream().map(Tick::tradeId).filter(id -> !refusedIds.contains(id)).forEach(expected::add);
        assertThat(stored).as("every tick not refused, its trade id unchanged").isEqualTo(expected);
        assertThat(stored).containsAll(tricky);

        List<BadRecord> letters = deadLetters.received();
        assertThat(letters).hasSize(refusedIds.size());
        for (BadRecord bad : letters) {
            JsonNode tick = JSON.readTree(bad.value());
            assertThat(refusedIds).contains(tick.get("trade_id").asText());
            assertThat(tick.get("v").asInt()).isEqualTo(1);
            assertThat(tick.get("symbol").asText()).isEqualTo(symbol);
            assertThat(new String(bad.key(), StandardCharsets.UTF_8)).isEqualTo("kraken:" + symbol);
            assertThat(bad.stage()).isEqualTo("ticks-db-sink");
            assertThat(bad.reason())
                    .startsWith("refused by the database: ERROR: new row for relation")
                    .contains("it_refused_tick")
                    .endsWith("(SQLSTATE 23514)");
            assertThat(bad.partition()).isEqualTo(-1);
        }
    }

    @Test
    void refusedCandlesAndAnomaliesBecomeDeadLettersToo() throws Exception {
        String symbol = symbol();
        long bucket = System.currentTimeMillis() / 60_000 * 60_000 - 600_000;
        List<Candle> candles = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            candles.add(new Candle(
                    "binance",
                    symbol,
                    bucket + i * 60_000L,
                    "1.5",
                    "2",
                    "1",
                    "1.75",
                    new BigDecimal("12.000000001"),
                    i == 4 ? 666 : 10 + i));
        }
        List<Anomaly> anomalies = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            String tradeId = i == 7 ? REFUSED : "t" + i;
            anomalies.add(new Anomaly(
                    Anomaly.idFor(AnomalyType.PRICE_SPIKE, "binance", symbol, tradeId, bucket + i),
                    "binance",
                    symbol,
                    AnomalyType.PRICE_SPIKE,
                    bucket + i,
                    "2",
                    "1",
                    100.0,
                    60_000L,
                    null,
                    tradeId,
                    bucket + i,
                    bucket + i + 10,
                    null));
        }

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        CollectingSink<BadRecord> deadLetters = new CollectingSink<>();
        PostgresSinks.candles(config())
                .sink(env.fromData(TypeInformation.of(Candle.class), candles.toArray(Candle[]::new)), "candles-db-sink")
                .union(PostgresSinks.anomalies(config())
                        .sink(
                                env.fromData(TypeInformation.of(Anomaly.class), anomalies.toArray(Anomaly[]::new)),
                                "anomalies-db-sink"))
                .sinkTo(deadLetters);
        env.execute("table-writer-refusals-candles-anomalies");

        assertThat(count("SELECT count(*) FROM candles_1m WHERE symbol = ?", symbol))
                .isEqualTo(9);
        assertThat(count("SELECT count(*) FROM anomalies WHERE symbol = ?", symbol))
                .isEqualTo(9);
        List<BadRecord> letters = deadLetters.received();
        assertThat(letters)
                .extracting(BadRecord::stage)
                .containsExactlyInAnyOrder("candles-db-sink", "anomalies-db-sink");
        for (BadRecord bad : letters) {
            JsonNode row = JSON.readTree(bad.value());
            if (bad.stage().equals("candles-db-sink")) {
                assertThat(row.get("trades").asLong()).isEqualTo(666);
                assertThat(row.get("volume").asText()).isEqualTo("12.000000001");
                assertThat(bad.reason()).contains("it_refused_candle");
            } else {
                assertThat(row.get("trade_id").asText()).isEqualTo(REFUSED);
                assertThat(row.get("type").asText()).isEqualTo("PRICE_SPIKE");
                assertThat(bad.reason()).contains("it_refused_anomaly");
            }
        }
    }

    private static long count(String sql, String param) throws Exception {
        try (Connection c = stack.connect();
                PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, param);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** A tick of this test's instrument. */
    private static Tick tick(String symbol, int i, long ts) {
        return new Tick(
                "kraken",
                symbol,
                Integer.toString(i),
                Tick.NO_SEQUENCE,
                "67123.45",
                67123.45,
                "0.5",
                0.5,
                Side.BUY,
                ts + i,
                ts + i + 27);
    }

    private static OneInputStreamOperatorTestHarness<Tick, BadRecord> ticksSink() throws Exception {
        return new OneInputStreamOperatorTestHarness<>(ticksSinkFactory(), new TickSerializer());
    }

    private static TableSinkOperator.Factory<Tick> ticksSinkFactory() throws Exception {
        return new TableSinkOperator.Factory<>(
                new TickTable(), PostgresSinks.database(config()), new TableSinkOperator.Settings(500, 200, 500, 1));
    }

    private static long storedTicks(String symbol) throws Exception {
        try (Connection c = stack.connect();
                PreparedStatement ps =
                        c.prepareStatement("SELECT count(*), count(DISTINCT trade_id) FROM ticks WHERE symbol = ?")) {
            ps.setString(1, symbol);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                assertThat(rs.getLong(2)).as("each tick once").isEqualTo(rs.getLong(1));
                return rs.getLong(1);
            }
        }
    }

    /**
     * The ticks' sink shares the source's task, so a checkpoint that waited for the database held every trade on its
     * way to the detectors (alert latency). Here the table is locked against writes (SHARE mode: reads go on) while a batch of 500 is in flight and 200 more
     * wait: the checkpoint completes anyway, holding all 700; the operator then stops with the 200 never sent, and the
     * one restored from that checkpoint writes them — each tick once, the 500 committed meanwhile not twice.
     */
    @Test
    void aTicksCheckpointDoesNotWaitForTheDatabaseAndItsRestoreWritesTheTicksItHeld() throws Exception {
        String symbol = symbol();
        long ts = System.currentTimeMillis() - 60_000;
        OneInputStreamOperatorTestHarness<Tick, BadRecord> first = ticksSink();
        OperatorSubtaskState checkpoint = checkpointWhileTheTableIsLocked(first, symbol, ts);
        assertThat(listElements(checkpoint, TableSinkOperator.PENDING_ROWS_STATE))
                .as("the 700 rows held as one list element: the checkpoint's metadata records one offset, not 700")
                .isEqualTo(1);
        waitUntil(() -> storedTicks(symbol) == 500);
        // `first` now stands for a task that failed after the checkpoint: the 200 waiting are never sent by it.

        OneInputStreamOperatorTestHarness<Tick, BadRecord> restored = ticksSink();
        restored.initializeState(checkpoint);
        restored.open();
        restored.setProcessingTime(Long.MAX_VALUE / 2); // the batch interval passes: the held ticks are sent
        waitUntil(() -> storedTicks(symbol) == 700);
        restored.close();
        first.close(); // finishing, it writes its 200 too: already there, not stored twice
        assertThat(storedTicks(symbol)).isEqualTo(700);
    }

    /**
     * Opens {@code sink}, locks the ticks table against writes, gives the sink 700 ticks (a batch of 500 in flight, 200
     * waiting) and takes a checkpoint, which completes while the table is still locked; then lets the lock go.
     */
    private static OperatorSubtaskState checkpointWhileTheTableIsLocked(
            OneInputStreamOperatorTestHarness<Tick, BadRecord> sink, String symbol, long ts) throws Exception {
        sink.open();
        try (Connection locker = stack.connectAsSuperuser()) {
            locker.setAutoCommit(false);
            try (Statement s = locker.createStatement()) {
                s.execute("LOCK TABLE ticks IN SHARE MODE");
            }
            for (int i = 0; i < 700; i++) {
                sink.processElement(tick(symbol, i, ts), ts + i);
            }
            OperatorSubtaskState checkpoint = CompletableFuture.supplyAsync(() -> {
                        try {
                            sink.prepareSnapshotPreBarrier(1);
                            return sink.snapshot(1, ts);
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    })
                    .get(30, TimeUnit.SECONDS);
            assertThat(storedTicks(symbol))
                    .as("nothing committed while the table is locked")
                    .isZero();
            locker.rollback(); // the lock goes; the batch in flight commits
            return checkpoint;
        }
    }

    /**
     * A rescale hands the held rows, one list, whole to one of the new subtasks (Flink splits list elements among
     * them): restored at parallelism 2, the 200 rows not committed are written once, by one of them.
     */
    @Test
    void aCheckpointRestoredAtAnotherParallelismWritesEachHeldRowOnce() throws Exception {
        String symbol = symbol();
        long ts = System.currentTimeMillis() - 60_000;
        OneInputStreamOperatorTestHarness<Tick, BadRecord> first = ticksSink();
        List<OneInputStreamOperatorTestHarness<Tick, BadRecord>> subtasks = new ArrayList<>();
        try {
            OperatorSubtaskState checkpoint = checkpointWhileTheTableIsLocked(first, symbol, ts);
            waitUntil(() -> storedTicks(symbol) == 500);
            // `first` now stands for a task that failed after the checkpoint: the 200 waiting are never sent by it.
            for (int subtask = 0; subtask < 2; subtask++) {
                OneInputStreamOperatorTestHarness<Tick, BadRecord> sink = new OneInputStreamOperatorTestHarness<>(
                        ticksSinkFactory(), TickStreamJob.MAX_PARALLELISM, 2, subtask);
                subtasks.add(sink);
                sink.initializeState(AbstractStreamOperatorTestHarness.repartitionOperatorState(
                        checkpoint, TickStreamJob.MAX_PARALLELISM, 1, 2, subtask));
                sink.open();
                sink.setProcessingTime(Long.MAX_VALUE / 2); // the batch interval passes: held ticks are sent
            }
            waitUntil(() -> storedTicks(symbol) == 700);
        } finally {
            for (OneInputStreamOperatorTestHarness<Tick, BadRecord> sink : subtasks) {
                sink.close();
            }
            first.close(); // finishing, it writes its 200 too: already there, not stored twice
        }
        assertThat(storedTicks(symbol)).isEqualTo(700);
    }

    /**
     * Release 0.2 kept the rows not yet committed one list element per row, under another name: a savepoint of it
     * restores with those rows written, and the next checkpoint holds none of them in that layout.
     */
    @Test
    void aCheckpointOfRelease02RestoresWithTheRowsItHeldOneElementPerRow() throws Exception {
        String symbol = symbol();
        long ts = System.currentTimeMillis() - 60_000;
        OperatorSubtaskState release02;
        try (OneInputStreamOperatorTestHarness<Tick, BadRecord> old =
                new OneInputStreamOperatorTestHarness<>(new Release02PendingRows(), new TickSerializer())) {
            old.open();
            for (int i = 0; i < 300; i++) {
                old.processElement(tick(symbol, i, ts), ts + i);
            }
            release02 = old.snapshot(1, ts);
        }
        assertThat(listElements(release02, TableSinkOperator.PENDING_ROWS_STATE_PER_ROW))
                .isEqualTo(300);

        OperatorSubtaskState next;
        try (OneInputStreamOperatorTestHarness<Tick, BadRecord> restored = ticksSink()) {
            restored.initializeState(release02);
            restored.open();
            restored.setProcessingTime(Long.MAX_VALUE / 2); // the batch interval passes: the held ticks are sent
            waitUntil(() -> storedTicks(symbol) == 300);
            next = restored.snapshot(2, ts);
        }
        assertThat(listElements(next, TableSinkOperator.PENDING_ROWS_STATE_PER_ROW))
                .as("0.2's layout, emptied once read")
                .isZero();
    }

    /** The ticks sink's state as release 0.2 wrote it: each row not yet committed its own list element. */
    private static final class Release02PendingRows extends AbstractStreamOperator<BadRecord>
            implements OneInputStreamOperator<Tick, BadRecord> {
        private transient ListState<Tick> rows;

        @Override
        public void initializeState(StateInitializationContext context) throws Exception {
            super.initializeState(context);
            rows = context.getOperatorStateStore()
                    .getListState(new ListStateDescriptor<>(
                            TableSinkOperator.PENDING_ROWS_STATE_PER_ROW, new TickSerializer()));
        }

        @Override
        public void processElement(StreamRecord<Tick> element) throws Exception {
            rows.add(element.getValue());
        }
    }

    /** Elements of a named operator list state in a snapshot: one offset each in the checkpoint's metadata. */
    private static int listElements(OperatorSubtaskState snapshot, String state) {
        int elements = 0;
        for (OperatorStateHandle handle : snapshot.getManagedOperatorState()) {
            OperatorStateHandle.StateMetaInfo info =
                    handle.getStateNameToPartitionOffsets().get(state);
            if (info != null) {
                elements += info.getOffsets().length;
            }
        }
        return elements;
    }

    /**
     * While the database is slow with a batch (here: the table locked), the task goes on taking rows — up to the
     * writer's buffer, 1,500 rows, not just the next batch of 500 — and, once the write is done, sends all it took as
     * one batch. (A writer that waited for each batch of 500 would hold the task here, and with it the source.)
     */
    @Test
    void whileTheDatabaseIsBusyTheNextBatchGrowsInsteadOfStoppingTheTask() throws Exception {
        String symbol = symbol();
        long ts = System.currentTimeMillis() - 60_000;
        OneInputStreamOperatorTestHarness<Tick, BadRecord> sink = ticksSinkBufferingUpTo1500Rows();
        try (Connection locker = stack.connectAsSuperuser()) {
            locker.setAutoCommit(false);
            try (Statement s = locker.createStatement()) {
                s.execute("LOCK TABLE ticks IN SHARE MODE");
            }
            CompletableFuture.runAsync(() -> {
                        try {
                            for (int i = 0; i < 1999; i++) { // 500 in flight (blocked by the lock), 1,499 taken
                                sink.processElement(tick(symbol, i, ts), ts + i);
                            }
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    })
                    .get(30, TimeUnit.SECONDS);
            assertThat(storedTicks(symbol)).isZero();
            locker.rollback();
        }
        sink.close(); // finishing: the batch in flight commits, then the 1,499 go as one batch
        assertThat(storedTicks(symbol)).isEqualTo(1999);
        assertThat(rowsPerTransaction(symbol, ts)).as("rows per write").containsExactly(500L, 1499L);
    }

    /**
     * The buffer is a bound: with 500 rows in flight on a locked table, the row that fills the next batch to 1,500
     * makes the task wait (backpressure) until the write in flight is done, and the 1,500 then leave as one batch. The
     * task thread here is the test's (the operator's mailbox thread); a watcher releases the lock only once it has seen
     * that thread parked inside the 2,000th row's call, so a writer that did not stop there would never be seen
     * waiting.
     */
    @Test
    void aBatchThatReachesTheBufferBoundWhileTheLastIsWrittenMakesTheTaskWait() throws Exception {
        String symbol = symbol();
        long ts = System.currentTimeMillis() - 60_000;
        OneInputStreamOperatorTestHarness<Tick, BadRecord> sink = ticksSinkBufferingUpTo1500Rows();
        Thread task = Thread.currentThread();
        AtomicInteger rowsTaken = new AtomicInteger();
        CompletableFuture<Boolean> seenWaitingAtTheBound;
        try (Connection locker = stack.connectAsSuperuser()) {
            locker.setAutoCommit(false);
            try (Statement s = locker.createStatement()) {
                s.execute("LOCK TABLE ticks IN SHARE MODE");
            }
            seenWaitingAtTheBound = CompletableFuture.supplyAsync(() -> {
                try {
                    boolean waiting = false;
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                    while (!waiting && rowsTaken.get() < 2000 && System.nanoTime() < deadline) {
                        Thread.State state = task.getState();
                        waiting = rowsTaken.get() == 1999
                                && (state == Thread.State.WAITING || state == Thread.State.TIMED_WAITING);
                        Thread.sleep(10);
                    }
                    waiting &= storedTicks(symbol) == 0 && rowsTaken.get() == 1999;
                    locker.rollback(); // the lock goes; the 500 in flight commit
                    return waiting;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            for (int i = 0; i < 2000; i++) {
                sink.processElement(tick(symbol, i, ts), ts + i);
                rowsTaken.incrementAndGet();
            }
            assertThat(seenWaitingAtTheBound.get(30, TimeUnit.SECONDS))
                    .as("the task waited in the call that filled the buffer, until the write in flight was done")
                    .isTrue();
        }
        sink.close();
        assertThat(storedTicks(symbol)).isEqualTo(2000);
        assertThat(rowsPerTransaction(symbol, ts)).as("rows per write").containsExactly(500L, 1500L);
    }

    /** A ticks writer sending batches of 500 and taking up to 1,500 more while one is written; opened. */
    private static OneInputStreamOperatorTestHarness<Tick, BadRecord> ticksSinkBufferingUpTo1500Rows()
            throws Exception {
        OneInputStreamOperatorTestHarness<Tick, BadRecord> sink = new OneInputStreamOperatorTestHarness<>(
                new TableSinkOperator.Factory<>(
                        new TickTable(),
                        PostgresSinks.database(config()),
                        new TableSinkOperator.Settings(500, 200, 1500, 1)),
                new TickSerializer());
        sink.open();
        return sink;
    }

    /** How many of a symbol's rows each transaction committed, fewest first. */
    private static List<Long> rowsPerTransaction(String symbol, long since) throws Exception {
        try (Connection c = stack.connectAsSuperuser();
                PreparedStatement ps = c.prepareStatement(
                        // the time bound keeps old, compressed chunks (no xmin there) out of the scan
                        "SELECT count(*) FROM ticks WHERE symbol = ? AND time >= to_timestamp(? / 1000.0)"
                                + " GROUP BY xmin::text ORDER BY 1")) {
            ps.setString(1, symbol);
            ps.setLong(2, since);
            List<Long> rowsPerTransaction = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rowsPerTransaction.add(rs.getLong(1));
                }
            }
            return rowsPerTransaction;
        }
    }

    private interface Condition {
        boolean holds() throws Exception;
    }

    /** Waits for a condition the io thread brings about, up to 30 s. */
    private static void waitUntil(Condition condition) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.holds()) {
            assertThat(System.nanoTime()).as("condition reached within 30 s").isLessThan(deadline);
            Thread.sleep(50);
        }
    }
}
