package io.tickstream.sink;

import io.tickstream.config.JobConfig;
import io.tickstream.model.Anomaly;
import io.tickstream.model.BadRecord;
import io.tickstream.model.Candle;
import io.tickstream.model.Tick;
import org.apache.flink.api.common.typeinfo.TypeInformation;

/**
 * The database tables as the job's sinks: ticks by COPY ({@link TickTable}), candles upserted ({@link CandleTable}),
 * anomalies inserted once ({@link AnomalyTable}), each through a {@link TableSinkOperator}, which writes batches on an
 * io thread, retries on a new connection, and passes the rows the database refused on as dead letters. Every write is
 * idempotent (do-nothing or upsert on the table's unique key), so at-least-once writes never duplicate a row after a
 * restart or a replay. All SQL is constant: values are bound or streamed by COPY.
 */
public final class PostgresSinks {
    private PostgresSinks() {}

    public static RowSink<Tick> ticks(JobConfig config) {
        return table(new TickTable(), config, batched(config));
    }

    public static RowSink<Candle> candles(JobConfig config) {
        return table(new CandleTable(), config, batched(config));
    }

    /** Alerts are few and wanted at once: each leaves as soon as the write before it is done. */
    public static RowSink<Anomaly> anomalies(JobConfig config) {
        return table(
                new AnomalyTable(),
                config,
                new TableSinkOperator.Settings(
                        500, 0, Math.max(500, config.jdbcMaxBufferedRows), config.jdbcMaxRetries));
    }

    private static TableSinkOperator.Settings batched(JobConfig config) {
        return new TableSinkOperator.Settings(
                config.jdbcBatchSize,
                config.jdbcBatchInterval.toMillis(),
                config.jdbcMaxBufferedRows,
                config.jdbcMaxRetries);
    }

    private static <T> RowSink<T> table(TableWriter<T> writer, JobConfig config, TableSinkOperator.Settings settings) {
        Database database = database(config);
        return (rows, uid) -> rows.transform(
                        uid,
                        TypeInformation.of(BadRecord.class),
                        new TableSinkOperator.Factory<T>(writer, database, settings))
                .uid(uid);
    }

    public static Database database(JobConfig config) {
        return new Database(url(config), config.jdbcUser, config.jdbcPassword);
    }

    /** The JDBC URL the writers connect with: the configured one, named in pg_stat_activity. */
    public static String url(JobConfig config) {
        return config.jdbcUrl + (config.jdbcUrl.contains("?") ? "&" : "?") + "ApplicationName=tickstream-job";
    }
}
