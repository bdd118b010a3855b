package io.tickstream.detect;

/**
 * The per-instrument detectors' state, and the quote pending for the cross-venue detector, as one keyed value: one
 * RocksDB read and one write per trade instead of one per part. Written by
 * {@link io.tickstream.serde.InstrumentDetectorStateSerializer}, which a new field in any part must join.
 */
public final class InstrumentDetectorState {
    public PriceMoveDetector.State priceMove;
    public ReturnZScoreDetector.State returnZScore;
    public VolumeSpikeDetector.State volumeSpike;
    public QuoteSampler.State quote;

    public InstrumentDetectorState() {}
}
