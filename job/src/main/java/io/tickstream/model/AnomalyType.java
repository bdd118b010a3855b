package io.tickstream.model;

/** The `type` of an anomaly (anomaly JSON v1, docs/contracts.md). */
public enum AnomalyType {
    PRICE_SPIKE,
    PRICE_DROP,
    RETURN_ZSCORE,
    VOLUME_SPIKE,
    CROSS_VENUE_DIVERGENCE,
    /**
     * Not a new event: an update of the open price incident — the move alerted as PRICE_SPIKE or PRICE_DROP has given
     * back at least the threshold from its extreme without crossing back through the level it started from.
     */
    PRICE_RETRACEMENT
}
