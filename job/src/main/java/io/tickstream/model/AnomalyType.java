package io.tickstream.model;

/** The `type` of an anomaly (DESIGN.md anomaly JSON v1). */
public enum AnomalyType {
    PRICE_SPIKE,
    PRICE_DROP,
    RETURN_ZSCORE,
    VOLUME_SPIKE,
    CROSS_VENUE_DIVERGENCE
}
