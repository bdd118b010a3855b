package io.tickstream.sink;

import io.tickstream.metrics.JobMetrics;
import io.tickstream.model.BadRecord;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.OperatorStateStore;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.base.ListSerializer;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.AbstractStreamOperatorFactory;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperatorFactory;
import org.apache.flink.streaming.api.operators.StreamOperator;
import org.apache.flink.streaming.api.operators.StreamOperatorParameters;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a stream of rows into one table in batches, and passes on, as dead letters, the rows the database refused for
 * what they hold — so no row can stop the job, and none is lost.
 *
 * <p>Batches are written on a thread of their own, one at a time and in order, while the task fills the next. A batch
 * leaves when it holds {@code batchSize} rows or its oldest row is {@code batchIntervalMs} old, unless the last one is
 * still being written: then it grows until that write is done and leaves whole, so a database that slows down for a
 * moment (a slow commit, its own checkpoint) gets larger batches instead of stopping the task — the ticks' writer shares
 * the source's task, and a stopped source would delay every alert of its partitions. The task waits for the database
 * only when a batch reaches {@code maxBufferedRows} before the last one is written (backpressure). A
 * completed checkpoint never leaves a row behind (at least once; every write is idempotent): either its rows are
 * committed before its barrier passes ({@link #prepareSnapshotPreBarrier}), or — for a table whose writer names a
 * {@link TableWriter#pendingRowsSerializer}, the ticks, whose sink shares the source's task — the rows not yet
 * committed are part of the checkpoint ({@link #snapshotState}) and written again after a restore, so the barrier and
 * the source never wait for the database. A write that fails for the
 * database's condition (connection lost, timeout) is retried on a new connection, {@code maxRetries} times, and then
 * fails the task: the job restarts from its last checkpoint. A write refused for the rows' content ({@link SqlErrors})
 * is split in halves, recursively, until the refused rows stand alone: the rest is written, and each refused row leaves
 * the operator as a dead letter with the database's reason, emitted on the task thread before the next checkpoint
 * barrier, so the dead-letter topic takes it in the same checkpoint.
 */
public final class TableSinkOperator<T> extends AbstractStreamOperator<BadRecord>
        implements OneInputStreamOperator<T, BadRecord> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(TableSinkOperator.class);
    /**
     * Operator state of the rows a checkpoint holds for a restore to write (see the class comment): one element, the
     * list of them. A checkpoint's metadata records an offset per list element, which the JobManager writes to the
     * checkpoint's metadata file one at a time: as one element per row, a sink 250,000 rows behind made every
     * checkpoint write 250,000 offsets — most of the JobManager's CPU while the job caught up.
     */
    static final String PENDING_ROWS_STATE = "uncommitted-rows";
    /** Release 0.2's layout of the same rows, one list element per row: read on restore, then cleared. */
    static final String PENDING_ROWS_STATE_PER_ROW = "rows-not-yet-committed";

    /**
     * Settings of a writer; a batch interval of zero sends rows as soon as the last batch is written.
     * {@code maxBufferedRows} (at least {@code batchSize}) bounds a batch that grows while the last one is written.
     */
    public record Settings(int batchSize, long batchIntervalMs, int maxBufferedRows, int maxRetries)
            implements java.io.Serializable {
        public Settings {
            if (batchSize < 1 || maxBufferedRows < batchSize || batchIntervalMs < 0 || maxRetries < 0) {
                // the parameters, not `this`: a compact constructor assigns the fields only after its body
                throw new IllegalArgumentException("invalid writer settings: batchSize " + batchSize
                        + ", batchIntervalMs " + batchIntervalMs + ", maxBufferedRows " + maxBufferedRows
                        + ", maxRetries " + maxRetries);
            }
        }
    }

    private final TableWriter<T> writer;
    private final Database database;
    private final Settings settings;
    private final transient MailboxExecutor mailbox;

    private transient String stage;
    private transient ExecutorService io;
    private transient Batch<T> filling;
    private transient Batch<T> spare;
    private transient Batch<T> inFlight;
    private transient boolean sending;
    private transient Counter refusedRows;
    /** The checkpointed rows not yet committed, or null when a checkpoint waits for them instead. */
    private transient ListState<List<T>> pendingRows;

    private transient List<T> restoredRows;
    // Used by the io thread only (and by close, once it has stopped).
    private transient Connection connection;

    private TableSinkOperator(
            StreamOperatorParameters<BadRecord> parameters,
            TableWriter<T> writer,
            Database database,
            Settings settings) {
        super(parameters);
        this.writer = writer;
        this.database = database;
        this.settings = settings;
        this.mailbox = parameters.getMailboxExecutor();
    }

    /** A batch of rows and, once written, what the database refused of it (or the error that stopped the write). */
    private static final class Batch<T> {
        final List<T> rows;
        final List<BadRecord> refused = new ArrayList<>();
        Throwable error;

        Batch(int capacity) {
            rows = new ArrayList<>(capacity);
        }

        void clear() {
            rows.clear();
            refused.clear();
            error = null;
        }
    }

    @Override
    public void open() throws Exception {
        super.open();
        stage = getOperatorConfig().getOperatorName();
        int subtask = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
        io = Executors.newSingleThreadExecutor(task -> {
            Thread thread = new Thread(task, stage + "-io-" + subtask);
            thread.setDaemon(true);
            return thread;
        });
        filling = new Batch<>(settings.batchSize());
        spare = new Batch<>(settings.batchSize());
        if (restoredRows != null) {
            filling.rows.addAll(restoredRows); // written first, in the next batch
            restoredRows = null;
        }
        refusedRows = JobMetrics.counter(getMetricGroup(), JobMetrics.REFUSED_ROWS);
        if (settings.batchIntervalMs() > 0) {
            scheduleFlush();
        } else if (!filling.rows.isEmpty()) {
            send(); // restored rows; from now on a row leaves at once, or as soon as the batch in flight is written
        }
    }

    private void scheduleFlush() {
        long interval = settings.batchIntervalMs();
        getProcessingTimeService()
                .registerTimer(getProcessingTimeService().getCurrentProcessingTime() + interval, ts -> {
                    if (!filling.rows.isEmpty() && inFlight == null && !sending) {
                        send();
                    }
                    scheduleFlush();
                });
    }

    @Override
    public void processElement(StreamRecord<T> element) throws Exception {
        filling.rows.add(element.getValue());
        int rows = filling.rows.size();
        if (inFlight == null
                ? rows >= settings.batchSize() || settings.batchIntervalMs() == 0
                : rows >= settings.maxBufferedRows()) {
            send(); // waits for the write in flight only in the second case
        }
    }

    /**
     * Every row received so far is committed, and its refused rows emitted, before the barrier — unless the checkpoint
     * keeps the rows not yet written ({@link #snapshotState}).
     */
    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        super.prepareSnapshotPreBarrier(checkpointId);
        if (pendingRows == null) {
            drain();
        }
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        TypeSerializer<T> serializer = writer.pendingRowsSerializer();
        if (serializer != null) {
            OperatorStateStore store = context.getOperatorStateStore();
            restoredRows = new ArrayList<>();
            if (store.getRegisteredStateNames().contains(PENDING_ROWS_STATE_PER_ROW)) {
                ListState<T> perRow =
                        store.getListState(new ListStateDescriptor<>(PENDING_ROWS_STATE_PER_ROW, serializer));
                for (T row : perRow.get()) {
                    restoredRows.add(row);
                }
                perRow.clear();
            }
            pendingRows =
                    store.getListState(new ListStateDescriptor<>(PENDING_ROWS_STATE, new ListSerializer<>(serializer)));
            for (List<T> rows : pendingRows.get()) {
                restoredRows.addAll(rows);
            }
        }
    }

    /** The rows in flight and those filling the next batch: what a restore must write again. */
    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        if (pendingRows != null) {
            List<T> notCommitted = new ArrayList<>(filling.rows.size() + (inFlight == null ? 0 : inFlight.rows.size()));
            if (inFlight != null) {
                notCommitted.addAll(inFlight.rows);
            }
            notCommitted.addAll(filling.rows);
            pendingRows.update(notCommitted.isEmpty() ? List.of() : List.of(notCommitted));
        }
    }

    @Override
    public void finish() throws Exception {
        drain();
        super.finish();
    }

    private void drain() throws Exception {
        if (!filling.rows.isEmpty()) {
            send();
        }
        while (inFlight != null) {
            mailbox.yield();
        }
    }

    /** Hands the filling batch to the io thread, once the one before it is written. */
    private void send() throws Exception {
        sending = true;
        try {
            while (inFlight != null) {
                mailbox.yield(); // runs the mail of the batch in flight, among others
            }
            Batch<T> batch = filling;
            filling = spare;
            spare = null;
            inFlight = batch;
            io.execute(() -> {
                try {
                    write(batch);
                } catch (Throwable t) {
                    batch.error = t;
                }
                try {
                    mailbox.execute(() -> written(batch), "%s: batch written", stage);
                } catch (RejectedExecutionException e) {
                    LOG.debug(
                            "{}: the task is closing; a batch's outcome is dropped (it is written again after a "
                                    + "restart)",
                            stage);
                }
            });
        } finally {
            sending = false;
        }
    }

    /** On the task thread, after the io thread wrote a batch: its refused rows leave, its buffer is reused. */
    private void written(Batch<T> batch) throws Exception {
        inFlight = null;
        if (batch.error != null) {
            throw new IOException(
                    stage + ": writing " + batch.rows.size() + " rows to " + writer.table() + " failed after "
                            + settings.maxRetries() + " retries",
                    batch.error);
        }
        for (BadRecord refused : batch.refused) {
            refusedRows.inc();
            output.collect(new StreamRecord<>(refused));
        }
        batch.clear();
        spare = batch;
        if (!sending
                && !filling.rows.isEmpty()
                && (settings.batchIntervalMs() == 0 || filling.rows.size() >= settings.batchSize())) {
            send();
        }
    }

    // --- the io thread ---------------------------------------------------------------------------------------------

    private void write(Batch<T> batch) throws IOException {
        for (int attempt = 0; ; attempt++) {
            try {
                if (connection == null) {
                    connection = database.connect();
                    writer.prepare(connection);
                }
                batch.refused.clear();
                writeIsolatingRefused(writer, connection, batch.rows, batch.refused, stage);
                return;
            } catch (SQLException e) {
                closeConnection();
                if (attempt >= settings.maxRetries()) {
                    throw new IOException(writer.table() + ": writing " + batch.rows.size() + " rows failed", e);
                }
                LOG.warn(
                        "{}: writing {} rows failed (attempt {} of {}), retrying on a new connection",
                        stage,
                        batch.rows.size(),
                        attempt + 1,
                        settings.maxRetries() + 1,
                        e);
                try {
                    Thread.sleep(1000L * (attempt + 1));
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException(stage + ": interrupted while retrying");
                }
            }
        }
    }

    /**
     * Writes {@code rows}; when the database refuses them for their content, writes each half the same way, down to
     * single rows, which become dead letters in {@code refused}. A refused batch of n rows with one bad row costs about
     * 2·log2(n) writes. Errors that are not about the rows' content are thrown (the caller retries).
     */
    static <T> void writeIsolatingRefused(
            TableWriter<T> writer, Connection connection, List<T> rows, List<BadRecord> refused, String stage)
            throws SQLException {
        try {
            writer.write(connection, rows);
        } catch (SQLException e) {
            try {
                connection.rollback();
            } catch (SQLException rollback) {
                e.addSuppressed(rollback);
                throw e;
            }
            if (!SqlErrors.refusesTheRows(e)) {
                throw e;
            }
            if (rows.size() == 1) {
                refused.add(writer.deadLetter(rows.get(0), SqlErrors.reason(e), stage));
                return;
            }
            int half = rows.size() / 2;
            writeIsolatingRefused(writer, connection, rows.subList(0, half), refused, stage);
            writeIsolatingRefused(writer, connection, rows.subList(half, rows.size()), refused, stage);
        }
    }

    private void closeConnection() {
        writer.release();
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException e) {
                LOG.debug("{}: closing a broken connection", stage, e);
            }
        }
        connection = null;
    }

    @Override
    public void close() throws Exception {
        try {
            // Rows not yet written were not acknowledged by a checkpoint: the restart writes them again.
            if (io != null) {
                io.shutdownNow();
                if (!io.awaitTermination(10, TimeUnit.SECONDS)) {
                    LOG.warn("{}: the io thread did not stop within 10 s; closing its connection under it", stage);
                }
            }
            closeConnection();
        } finally {
            super.close();
        }
    }

    /** Builds the operator with the task's mailbox, through which the io thread hands back each written batch. */
    public static final class Factory<T> extends AbstractStreamOperatorFactory<BadRecord>
            implements OneInputStreamOperatorFactory<T, BadRecord> {
        private static final long serialVersionUID = 1L;

        private final TableWriter<T> writer;
        private final Database database;
        private final Settings settings;

        public Factory(TableWriter<T> writer, Database database, Settings settings) {
            this.writer = writer;
            this.database = database;
            this.settings = settings;
        }

        @Override
        @SuppressWarnings("unchecked")
        public <O extends StreamOperator<BadRecord>> O createStreamOperator(
                StreamOperatorParameters<BadRecord> parameters) {
            return (O) new TableSinkOperator<>(parameters, writer, database, settings);
        }

        @Override
        @SuppressWarnings("rawtypes")
        public Class<? extends StreamOperator> getStreamOperatorClass(ClassLoader classLoader) {
            return TableSinkOperator.class;
        }
    }
}
