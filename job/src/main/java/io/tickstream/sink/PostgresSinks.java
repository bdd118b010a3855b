package io.tickstream.sink;

import io.tickstream.config.JobConfig;
import io.tickstream.model.Anomaly;
import io.tickstream.model.Candle;
import io.tickstream.model.Tick;

import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.connector.jdbc.JdbcConnectionOptions;
import org.apache.flink.connector.jdbc.JdbcExecutionOptions;
import org.apache.flink.connector.jdbc.core.datastream.sink.JdbcSink;

import java.sql.Timestamp;
import java.sql.Types;

/**
 * The database sinks: ticks with COPY ({@link CopyTickSink}), candles and anomalies with the JDBC connector.
 * Every write is idempotent (do-nothing or upsert on the table's unique key), so at-least-once sinks — batches
 * flushed on every checkpoint, failed batches retried on a new connection — never duplicate a row after a
 * restart or a replay. All SQL is prepared; values are bound or streamed by COPY.
 */
public final class PostgresSinks {
    static final String UPSERT_CANDLE = "INSERT INTO candles_1m (bucket, exchange, symbol, open, high, low, close, volume, trades)"
            + " VALUES (?, ?, ?, ?::numeric, ?::numeric, ?::numeric, ?::numeric, ?, ?)"
            + " ON CONFLICT (exchange, symbol, bucket) DO UPDATE SET open = EXCLUDED.open, high = EXCLUDED.high,"
            + " low = EXCLUDED.low, close = EXCLUDED.close, volume = EXCLUDED.volume, trades = EXCLUDED.trades";

    static final String INSERT_ANOMALY = "INSERT INTO anomalies (time, id, exchange, symbol, type, price, ref_price,"
            + " change_pct, zscore, window_ms, trade_id, detected_at, details)"
            + " VALUES (?, ?, ?, ?, ?, ?::numeric, ?::numeric, ?, ?, ?, ?, ?, ?::jsonb) ON CONFLICT DO NOTHING";

    private PostgresSinks() {}

    /** Ticks go in with COPY (see {@link CopyTickSink}): the statement-per-row path cost a fifth of the TaskManager. */
    public static Sink<Tick> ticks(JobConfig config) {
        return new CopyTickSink(url(config, false), config.jdbcUser, config.jdbcPassword, config.jdbcBatchSize,
                config.jdbcBatchInterval.toMillis(), config.jdbcMaxRetries);
    }

    public static Sink<Candle> candles(JobConfig config) {
        return closeSafe(JdbcSink.<Candle>builder()
                .withQueryStatement(UPSERT_CANDLE, (ps, c) -> {
                    ps.setTimestamp(1, new Timestamp(c.bucket()));
                    ps.setString(2, c.exchange());
                    ps.setString(3, c.symbol());
                    ps.setString(4, c.open());
                    ps.setString(5, c.high());
                    ps.setString(6, c.low());
                    ps.setString(7, c.close());
                    ps.setBigDecimal(8, c.volume());
                    ps.setLong(9, c.trades());
                })
                .withExecutionOptions(execution(config))
                // Not rewritten: one batch may update the same candle twice (a late trade), which a single
                // multi-row INSERT ... ON CONFLICT DO UPDATE refuses.
                .buildAtLeastOnce(connection(config, false)));
    }

    public static Sink<Anomaly> anomalies(JobConfig config) {
        return closeSafe(JdbcSink.<Anomaly>builder()
                .withQueryStatement(INSERT_ANOMALY, (ps, a) -> {
                    ps.setTimestamp(1, new Timestamp(a.ts()));
                    ps.setString(2, a.id());
                    ps.setString(3, a.exchange());
                    ps.setString(4, a.symbol());
                    ps.setString(5, a.type().name());
                    ps.setString(6, a.price());
                    ps.setString(7, a.refPrice());
                    setDouble(ps, 8, a.changePct());
                    setDouble(ps, 9, a.zscore());
                    if (a.windowMs() == null) {
                        ps.setNull(10, Types.BIGINT);
                    } else {
                        ps.setLong(10, a.windowMs());
                    }
                    ps.setString(11, a.tradeId());
                    ps.setTimestamp(12, new Timestamp(a.detectedAt()));
                    ps.setString(13, a.details());
                })
                // Alerts are few and wanted at once: each is written as it comes (a batch of one; with an
                // interval of 0 and a larger batch they would wait for the next checkpoint).
                .withExecutionOptions(JdbcExecutionOptions.builder()
                        .withBatchSize(1)
                        .withBatchIntervalMs(0)
                        .withMaxRetries(config.jdbcMaxRetries)
                        .build())
                .buildAtLeastOnce(connection(config, true)));
    }

    private static <T> Sink<T> closeSafe(JdbcSink<T> sink) {
        return new CloseSafeJdbcSink<>(sink);
    }

    private static void setDouble(java.sql.PreparedStatement ps, int index, Double value) throws java.sql.SQLException {
        if (value == null) {
            ps.setNull(index, Types.DOUBLE);
        } else {
            ps.setDouble(index, value);
        }
    }

    private static JdbcExecutionOptions execution(JobConfig config) {
        return JdbcExecutionOptions.builder()
                .withBatchSize(config.jdbcBatchSize)
                .withBatchIntervalMs(config.jdbcBatchInterval.toMillis())
                .withMaxRetries(config.jdbcMaxRetries)
                .build();
    }

    /** The JDBC URL the sinks connect with (batched-insert rewriting on or off). */
    public static String url(JobConfig config, boolean rewriteBatchedInserts) {
        return config.jdbcUrl + (config.jdbcUrl.contains("?") ? "&" : "?")
                + "reWriteBatchedInserts=" + rewriteBatchedInserts + "&ApplicationName=tickstream-job";
    }

    static JdbcConnectionOptions connection(JobConfig config, boolean rewriteBatchedInserts) {
        return new JdbcConnectionOptions.JdbcConnectionOptionsBuilder()
                .withUrl(url(config, rewriteBatchedInserts))
                .withDriverName("org.postgresql.Driver")
                .withUsername(config.jdbcUser)
                .withPassword(config.jdbcPassword)
                .withConnectionCheckTimeoutSeconds(10)
                .build();
    }
}
