package io.tickstream.bench;

import io.tickstream.config.JobConfig;
import io.tickstream.model.Side;
import io.tickstream.model.Tick;
import io.tickstream.sink.CopyRows;
import io.tickstream.sink.PostgresSinks;
import io.tickstream.sink.TickTable;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Timestamp;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

/**
 * The database's own ceiling for tick rows on this machine: along the job's tick sink path (one COPY into the
 * ticks table per batch of --jdbc-batch-size, the rows the sink writes) and, for comparison, along the sink's
 * replay path (COPY into a staging table, then INSERT ... SELECT ... ON CONFLICT DO NOTHING) and with a prepared
 * INSERT per row (batched, reWriteBatchedInserts: the path COPY replaced). Prints one JSON line per method. Not
 * a test: run by deploy/benchmark.
 *
 * <p>Arguments: jdbc-url rows symbol-prefix; password from TICKSTREAM_JDBC_PASSWORD.
 */
public final class PostgresIngestCeiling {
    static final String INSERT_TICK =
            "INSERT INTO ticks (time, exchange, symbol, trade_id, price, size, side, recv_time)"
                    + " VALUES (?, ?, ?, ?, ?::numeric, ?::numeric, ?, ?) ON CONFLICT DO NOTHING";

    /** Binds a tick to {@link #INSERT_TICK}: the statement-per-row path the job's tick sink used before COPY. */
    static void bind(PreparedStatement ps, Tick t) throws java.sql.SQLException {
        ps.setTimestamp(1, new Timestamp(t.ts()));
        ps.setString(2, t.exchange());
        ps.setString(3, t.symbol());
        ps.setString(4, t.tradeId());
        ps.setString(5, t.price());
        ps.setString(6, t.size());
        ps.setString(7, t.side().json());
        ps.setTimestamp(8, new Timestamp(t.recvTs()));
    }

    public static void main(String[] args) throws Exception {
        String jdbcUrl = args[0];
        int rows = Integer.parseInt(args[1]);
        String prefix = args[2];
        JobConfig config = JobConfig.parse(new String[] {"--jdbc-url", jdbcUrl}, System.getenv());
        long now = System.currentTimeMillis();

        try (Connection c = DriverManager.getConnection(
                PostgresSinks.url(config) + "&reWriteBatchedInserts=true", config.jdbcUser, config.jdbcPassword)) {
            c.setAutoCommit(true);
            long start = System.nanoTime();
            try (PreparedStatement ps = c.prepareStatement(INSERT_TICK)) {
                int inBatch = 0;
                for (int i = 0; i < rows; i++) {
                    bind(ps, tick(prefix + "I", i, now));
                    ps.addBatch();
                    if (++inBatch == config.jdbcBatchSize) {
                        ps.executeBatch();
                        inBatch = 0;
                    }
                }
                ps.executeBatch();
            }
            report("jdbc-batched-insert", rows, System.nanoTime() - start);

            CopyManager copy = ((PGConnection) c.unwrap(PGConnection.class)).getCopyAPI();
            c.setAutoCommit(false);
            CopyRows batch = new CopyRows();

            // The job's tick sink: one COPY into the ticks table per batch.
            start = System.nanoTime();
            for (int i = 0; i < rows; i++) {
                batch.add(tick(prefix + "C", i, now));
                if (batch.count() == config.jdbcBatchSize || i == rows - 1) {
                    if (!TickTable.copy(c, copy.copyIn(TickTable.COPY_TICKS), batch)) {
                        throw new IllegalStateException("the benchmark's rows conflict with rows already there");
                    }
                    c.commit();
                    batch.clear();
                }
            }
            report("copy-direct", rows, System.nanoTime() - start);

            // The sink's path for a batch holding rows already written (a replay): COPY into the staging table,
            // INSERT ... SELECT ... ON CONFLICT DO NOTHING.
            try (PreparedStatement create = c.prepareStatement(TickTable.CREATE_STAGING)) {
                create.execute();
            }
            c.commit();
            start = System.nanoTime();
            try (PreparedStatement insert = c.prepareStatement(TickTable.INSERT_FROM_STAGING)) {
                for (int i = 0; i < rows; i++) {
                    batch.add(tick(prefix + "S", i, now));
                    if (batch.count() == config.jdbcBatchSize || i == rows - 1) {
                        TickTable.copy(c, copy.copyIn(TickTable.COPY_STAGING), batch);
                        insert.executeUpdate();
                        c.commit();
                        batch.clear();
                    }
                }
            }
            report("copy-staging-insert", rows, System.nanoTime() - start);
        }
    }

    private static Tick tick(String symbolBase, int i, long now) {
        String price = "50000." + (10 + i % 90);
        return new Tick(
                "synthetic",
                symbolBase + "-USD",
                Integer.toString(i),
                i,
                price,
                50000.5,
                "0.00125",
                0.00125,
                i % 2 == 0 ? Side.BUY : Side.SELL,
                now - 60_000L + i % 60_000,
                now);
    }

    private static void report(String method, int rows, long nanos) {
        System.out.println(String.format(
                "{\"method\":\"%s\",\"rows\":%d,\"seconds\":%.3f,\"rows_per_s\":%.0f}",
                method, rows, nanos / 1e9, rows / (nanos / 1e9)));
    }

    private PostgresIngestCeiling() {}
}
