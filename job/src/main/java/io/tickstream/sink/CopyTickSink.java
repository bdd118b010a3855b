package io.tickstream.sink;

import io.tickstream.model.Tick;

import org.apache.flink.api.common.operators.ProcessingTimeService;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.StringReader;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;

/**
 * The ticks table's sink: rows go to PostgreSQL with COPY into a session-private staging table, then one
 * {@code INSERT ... SELECT ... ON CONFLICT DO NOTHING} per batch, so a replay never duplicates a row. Binding
 * eight parameters per row (the JDBC connector's way) was a fifth of the TaskManager's time, and COPY is the
 * database's cheapest ingest path (see the benchmark's ceilings).
 *
 * <p>At least once: every batch is written before a checkpoint completes ({@link SinkWriter#flush} runs on each
 * checkpoint), a failed batch is retried on a new connection, and after the retries the job restarts from its
 * last checkpoint and writes the rows again.
 */
public final class CopyTickSink implements Sink<Tick> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(CopyTickSink.class);

    public static final String CREATE_STAGING = "CREATE TEMP TABLE IF NOT EXISTS tick_rows (ts bigint, exchange text,"
            + " symbol text, trade_id text, price numeric, size numeric, side text, recv_ts bigint) ON COMMIT DELETE ROWS";
    public static final String COPY_STAGING = "COPY tick_rows FROM STDIN";
    public static final String INSERT_FROM_STAGING = "INSERT INTO ticks (time, exchange, symbol, trade_id, price, size, side,"
            + " recv_time) SELECT to_timestamp(ts / 1000.0), exchange, symbol, trade_id, price, size, side,"
            + " to_timestamp(recv_ts / 1000.0) FROM tick_rows"
            + " ON CONFLICT DO NOTHING";

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
     * One row of {@link #COPY_STAGING} in COPY's text format; every field was validated by the parser (no tabs,
     * newlines or backslashes). Public so the ingest benchmark sends exactly these rows.
     */
    public static void appendRow(StringBuilder rows, Tick t) {
        rows.append(t.ts()).append('\t').append(t.exchange()).append('\t').append(t.symbol()).append('\t')
                .append(t.tradeId()).append('\t').append(t.price()).append('\t').append(t.size()).append('\t')
                .append(t.side().json()).append('\t').append(t.recvTs()).append('\n');
    }

    @Override
    public SinkWriter<Tick> createWriter(WriterInitContext context) {
        return new Writer(context.getProcessingTimeService());
    }

    private final class Writer implements SinkWriter<Tick> {
        private final ProcessingTimeService time;
        private final StringBuilder rows = new StringBuilder(1 << 16);
        private int count;
        private Connection connection;
        private CopyManager copy;
        private PreparedStatement insert;

        Writer(ProcessingTimeService time) {
            this.time = time;
            scheduleFlush();
        }

        private void scheduleFlush() {
            time.registerTimer(time.getCurrentProcessingTime() + batchIntervalMs, ts -> {
                if (count > 0) {
                    writeBatch();
                }
                scheduleFlush();
            });
        }

        @Override
        public void write(Tick t, Context context) throws IOException {
            appendRow(rows, t);
            if (++count >= batchSize) {
                writeBatch();
            }
        }

        @Override
        public void flush(boolean endOfInput) throws IOException {
            if (count > 0) {
                writeBatch();
            }
        }

        private void writeBatch() throws IOException {
            for (int attempt = 0; ; attempt++) {
                try {
                    if (connection == null) {
                        connect();
                    }
                    copy.copyIn(COPY_STAGING, new StringReader(rows.toString()));
                    insert.executeUpdate();
                    connection.commit();
                    rows.setLength(0);
                    count = 0;
                    return;
                } catch (SQLException | IOException e) {
                    closeConnection();
                    if (attempt >= maxRetries) {
                        throw new IOException("writing " + count + " tick rows failed after " + attempt + " retries", e);
                    }
                    LOG.warn("writing tick rows failed (attempt {} of {}), retrying on a new connection",
                            attempt + 1, maxRetries + 1, e);
                    try {
                        Thread.sleep(1000L * (attempt + 1));
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        throw new IOException("interrupted while retrying", ie);
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
        public void close() {
            // Rows not yet written were not acknowledged by a checkpoint: the restart writes them again.
            closeConnection();
        }
    }
}
