package io.tickstream.model;

/** The `type` of an anomaly (anomaly JSON v1, docs/contracts.md). */
public enum AnomalyType {
    PRICE_SPIKE,
    PRICE_DROP,
    RETURN_ZSCORE,
    VOLUME_SPIKE,
    CROSS_VENUE_DIVERGENCE
}
