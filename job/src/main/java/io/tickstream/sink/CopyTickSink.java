package io.tickstream.sink;

import io.tickstream.model.Tick;

import org.apache.flink.api.common.operators.ProcessingTimeService;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The ticks table's sink: each batch is one COPY straight into the table, the database's cheapest ingest path
 * (see the benchmark's ceilings; binding eight parameters per row, the JDBC connector's way, was a fifth of the
 * TaskManager's time). A batch holding a row the table already has (a replay after a restart, a venue's
 * duplicate) fails that COPY as a whole on the unique key; it is then written again through a session-private
 * staging table and {@code INSERT ... SELECT ... ON CONFLICT DO NOTHING}, so a replay never duplicates a row.
 *
 * <p>At least once: every batch is written before a checkpoint completes ({@link SinkWriter#flush} runs on each
 * checkpoint), a failed batch is retried on a new connection, and after the retries the job restarts from its
 * last checkpoint and writes the rows again.
 */
public final class CopyTickSink implements Sink<Tick> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(CopyTickSink.class);

    public static final String COPY_TICKS =
            "COPY ticks (time, exchange, symbol, trade_id, price, size, side, recv_time) FROM STDIN";
    public static final String CREATE_STAGING =
            "CREATE TEMP TABLE IF NOT EXISTS tick_rows (LIKE ticks INCLUDING DEFAULTS) ON COMMIT DELETE ROWS";
    public static final String COPY_STAGING =
            "COPY tick_rows (time, exchange, symbol, trade_id, price, size, side, recv_time) FROM STDIN";
    public static final String INSERT_FROM_STAGING =
            "INSERT INTO ticks (time, exchange, symbol, trade_id, price, size, side, recv_time)"
            + " SELECT time, exchange, symbol, trade_id, price, size, side, recv_time FROM tick_rows"
            + " ON CONFLICT DO NOTHING";
    /** PostgreSQL's SQLSTATE for a unique key violation. */
    private static final String UNIQUE_VIOLATION = "23505";

    private final String url;
    private final String user;
    private final String password;
    private final int batchSize;
    private final long batchIntervalMs;
    private final int maxRetries;

    CopyTickSink(String url, String user, String password, int batchSize, long batchIntervalMs, int maxRetries) {
        this.url = url;
        this.user = user;
        this.password = password;
        this.batchSize = batchSize;
        this.batchIntervalMs = batchIntervalMs;
        this.maxRetries = maxRetries;
    }

    /**
     * Writes one batch and commits it: one COPY into the ticks table, or, when a row is already there, through the
     * staging table with {@code insertFromStaging} ({@link #INSERT_FROM_STAGING}), which skips the rows present.
     */
    static void write(Connection connection, CopyManager copy, PreparedStatement insertFromStaging, CopyRows rows)
            throws SQLException {
        if (!copy(connection, copy.copyIn(COPY_TICKS), rows)) {
            copy(connection, copy.copyIn(COPY_STAGING), rows);
            insertFromStaging.executeUpdate();
        }
        connection.commit();
    }

    /**
     * Writes {@code rows} into {@code in}, a COPY just begun ({@link #COPY_TICKS} or {@link #COPY_STAGING}); false when
     * a row violates the ticks' unique key (the transaction is then rolled back). Public so the ingest benchmark
     * writes exactly as the sink does.
     */
    public static boolean copy(Connection connection, CopyIn in, CopyRows rows) throws SQLException {
        try {
            in.writeToCopy(rows.bytes(), 0, rows.length());
            in.endCopy();
            return true;
        } catch (SQLException e) {
            if (in.isActive()) {
                in.cancelCopy();
            }
            if (UNIQUE_VIOLATION.equals(e.getSQLState())) {
                connection.rollback();
                return false;
            }
            throw e;
        }
    }

    @Override
    public SinkWriter<Tick> createWriter(WriterInitContext context) {
        return new Writer(context.getProcessingTimeService(), context.getTaskInfo().getIndexOfThisSubtask());
    }

    /**
     * Batches leave on a thread of their own, one at a time and in order, while the task goes on parsing into the
     * next batch: the task thread (the source's, as this sink is chained to it) waits for the database only when
     * a second batch is full before the first is written (backpressure) and on a checkpoint, whose rows must be
     * committed before it completes. Written synchronously, every COPY and commit held the source, and a slow
     * commit (a WAL flush) showed up as a half-second alert-latency outlier.
     */
    private final class Writer implements SinkWriter<Tick> {
        private final ProcessingTimeService time;
        private final ExecutorService io;
        private CopyRows filling = new CopyRows();
        private CopyRows spare = new CopyRows();
        private CopyRows sending;
        private Future<?> sent;
        // Used by the io thread only (and by close, once it has stopped).
        private Connection connection;
        private CopyManager copy;
        private PreparedStatement insert;

        Writer(ProcessingTimeService time, int subtask) {
            this.time = time;
            this.io = Executors.newSingleThreadExecutor(task -> {
                Thread thread = new Thread(task, "ticks-db-sink-io-" + subtask);
                thread.setDaemon(true);
                return thread;
            });
            scheduleFlush();
        }

        private void scheduleFlush() {
            time.registerTimer(time.getCurrentProcessingTime() + batchIntervalMs, ts -> {
                if (filling.count() > 0 && (sent == null || sent.isDone())) {
                    send();
                }
                scheduleFlush();
            });
        }

        @Override
        public void write(Tick t, Context context) throws IOException {
            filling.add(t);
            if (filling.count() >= batchSize) {
                send();
            }
        }

        /** On each checkpoint: every row written so far is committed when this returns. */
        @Override
        public void flush(boolean endOfInput) throws IOException {
            if (filling.count() > 0) {
                send();
            }
            awaitSent();
        }

        /** Hands the filling batch to the io thread, after the one before it is written. */
        private void send() throws IOException {
            awaitSent();
            CopyRows batch = filling;
            filling = spare;
            spare = null;
            sending = batch;
            sent = io.submit(() -> {
                writeBatch(batch);
                return null;
            });
        }

        private void awaitSent() throws IOException {
            if (sent == null) {
                return;
            }
            try {
                sent.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while writing tick rows");
            } catch (ExecutionException e) {
                throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
            } finally {
                sent = null;
            }
            sending.clear();
            spare = sending;
            sending = null;
        }

        private void writeBatch(CopyRows rows) throws IOException {
            for (int attempt = 0; ; attempt++) {
                try {
                    if (connection == null) {
                        connect();
                    }
                    CopyTickSink.write(connection, copy, insert, rows);
                    return;
                } catch (SQLException e) {
                    closeConnection();
                    if (attempt >= maxRetries) {
                        throw new IOException("writing " + rows.count() + " tick rows failed after " + attempt
                                + " retries", e);
                    }
                    LOG.warn("writing tick rows failed (attempt {} of {}), retrying on a new connection",
                            attempt + 1, maxRetries + 1, e);
                    try {
                        Thread.sleep(1000L * (attempt + 1));
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        throw new InterruptedIOException("interrupted while retrying");
                    }
                }
            }
        }

        private void connect() throws SQLException {
            closeConnection();
            connection = DriverManager.getConnection(url, user, password);
            connection.setAutoCommit(false);
            try (PreparedStatement create = connection.prepareStatement(CREATE_STAGING)) {
                create.execute();
            }
            connection.commit();
            copy = connection.unwrap(PGConnection.class).getCopyAPI();
            insert = connection.prepareStatement(INSERT_FROM_STAGING);
        }

        private void closeConnection() {
            if (connection != null) {
                try {
                    connection.close();
                } catch (SQLException e) {
                    LOG.debug("closing a broken connection", e);
                }
            }
            connection = null;
            copy = null;
            insert = null;
        }

        @Override
        public void close() throws InterruptedException {
            // Rows not yet written were not acknowledged by a checkpoint: the restart writes them again.
            io.shutdownNow();
            if (!io.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.warn("the tick rows' io thread did not stop within 10 s; closing its connection under it");
            }
            closeConnection();
        }
    }
}
