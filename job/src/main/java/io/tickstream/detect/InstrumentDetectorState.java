package io.tickstream.detect;

import io.tickstream.candles.IntervalSampler;

/**
 * The per-instrument detectors' state, and the trades' pending 100 ms summary (quote and partial candle), as one
 * keyed value: one RocksDB value instead of one per part (on the heap between checkpoints, CachedValueState). Each part writes and reads itself;
 * {@link io.tickstream.detect.InstrumentDetectorStateSerializer} puts them in order and versions the format.
 */
public final class InstrumentDetectorState {
    public PriceMoveDetector.State priceMove;
    public ReturnZScoreDetector.State returnZScore;
    public VolumeSpikeDetector.State volumeSpike;
    public IntervalSampler.State sample;
    /** The instrument's open incident: the id its alerts share, and the trade time of its last alert. */
    public String incidentId;

    public long incidentLastTs = Long.MIN_VALUE;

    public InstrumentDetectorState() {}
}
