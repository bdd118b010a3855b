package io.tickstream;

/**
 * Every operator's uid, in one list to audit: savepoints map state by these, so a uid never changes once
 * released (rename the operator's name instead). Names shown in the Flink web UI are the same strings.
 */
public final class Uids {
    public static final String TICKS_SOURCE = "ticks-source";
    public static final String SPLIT_BAD_RECORDS = "split-bad-records";
    public static final String DEAD_LETTER_SINK = "dead-letter-sink";
    public static final String LATENCY_METER = "latency-meter";
    public static final String TICKS_DB_SINK = "ticks-db-sink";
    public static final String TRADE_SEQUENCER = "trade-sequencer";
    public static final String ANOMALY_DETECTORS = "anomaly-detectors";
    public static final String CROSS_VENUE_DIVERGENCE = "cross-venue-divergence";
    public static final String ANOMALIES_DB_SINK = "anomalies-db-sink";
    public static final String ANOMALIES_KAFKA_SINK = "anomalies-kafka-sink";
    public static final String DIVERGENCES_KAFKA_SINK = "divergences-kafka-sink";
    public static final String CANDLES_1M = "candles-1m";
    public static final String CANDLES_DB_SINK = "candles-db-sink";
    public static final String LATE_TRADE_CANDLES = "late-trade-candles";
    public static final String LATE_CANDLE_TRADES = "late-candle-trades";
    public static final String LATE_CANDLE_TRADES_SINK = "late-candle-trades-sink";

    private Uids() {}
}
