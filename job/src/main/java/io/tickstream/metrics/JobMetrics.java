package io.tickstream.metrics;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

/**
 * The job's own metrics, all in the user group {@code tickstream} (docs/contracts.md). Flink's PrometheusReporter
 * exports them as {@code flink_taskmanager_job_task_operator_tickstream_<name>}.
 */
public final class JobMetrics {
    public static final String GROUP = "tickstream";

    public static final String RECORDS_IN = "records_in";
    public static final String BAD_RECORDS = "bad_records";
    /** Ticks that arrived after event time passed them: not fed to the detectors (they are still stored). */
    public static final String LATE_RECORDS = "late_records";
    /** Ticks later than the allowed lateness of their 1-minute candle. */
    public static final String LATE_CANDLE_RECORDS = "late_candle_records";
    /** Ticks seen twice (same instrument and trade id), dropped before the detectors and candles. */
    public static final String DUPLICATE_RECORDS = "duplicate_records";
    /** Rows a database table refused for their content (they went to the dead-letter topic), per table writer. */
    public static final String REFUSED_ROWS = "refused_rows";
    /** Counter per anomaly type, label {@code type}. */
    public static final String ANOMALIES = "anomalies";
    /** Milliseconds from a tick's {@code recv_ts} (producer) to its arrival at the database sink. */
    public static final String LATENCY_MS = "end_to_end_latency_ms";

    private static final int LATENCY_WINDOW = 10_000;

    private JobMetrics() {}

    public static MetricGroup group(MetricGroup operatorGroup) {
        return operatorGroup.addGroup(GROUP);
    }

    public static Counter counter(MetricGroup operatorGroup, String name) {
        return group(operatorGroup).counter(name);
    }

    public static Counter anomalies(MetricGroup operatorGroup, String type) {
        return group(operatorGroup).addGroup("type", type).counter(ANOMALIES);
    }

    public static Histogram latency(MetricGroup operatorGroup) {
        return group(operatorGroup).histogram(LATENCY_MS, new DescriptiveStatisticsHistogram(LATENCY_WINDOW));
    }
}
