package io.tickstream.detect;

import io.tickstream.metrics.JobMetrics;
import io.tickstream.model.Anomaly;
import io.tickstream.model.AnomalyType;
import io.tickstream.model.Tick;
import io.tickstream.serde.InstrumentDetectorStateSerializer;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;

/**
 * Drives the per-instrument detectors over ticks in trade order (as {@link TradeSequencer} releases them).
 * Their states travel together as one keyed value ({@link InstrumentDetectorState}, RocksDB in production,
 * written by {@link InstrumentDetectorStateSerializer}): a state access costs a JNI call, key serialization and
 * TTL bookkeeping, so one per trade instead of three.
 */
public final class AnomalyDetectors extends KeyedProcessFunction<String, Tick, Anomaly> {
    private static final long serialVersionUID = 1L;

    private final PriceMoveDetector priceMove;
    private final ReturnZScoreDetector returnZScore;
    private final VolumeSpikeDetector volumeSpike;
    private final Duration stateTtl;

    private transient ValueState<InstrumentDetectorState> detectorState;
    private transient Map<AnomalyType, Counter> anomalies;

    public AnomalyDetectors(PriceMoveDetector.Settings priceMove, ReturnZScoreDetector.Settings returnZScore,
                            VolumeSpikeDetector.Settings volumeSpike, Duration stateTtl) {
        this.priceMove = new PriceMoveDetector(priceMove);
        this.returnZScore = new ReturnZScoreDetector(returnZScore);
        this.volumeSpike = new VolumeSpikeDetector(volumeSpike);
        this.stateTtl = stateTtl;
    }

    @Override
    public void open(OpenContext openContext) {
        detectorState = getRuntimeContext().getState(StateTtl.expireAfter(
                new ValueStateDescriptor<>("detectors", InstrumentDetectorStateSerializer.INSTANCE), stateTtl));
        anomalies = new EnumMap<>(AnomalyType.class);
        for (AnomalyType type : AnomalyType.values()) {
            anomalies.put(type, JobMetrics.anomalies(getRuntimeContext().getMetricGroup(), type.name()));
        }
    }

    @Override
    public void processElement(Tick tick, Context ctx, Collector<Anomaly> out) throws Exception {
        long now = System.currentTimeMillis();

        InstrumentDetectorState state = detectorState.value();
        if (state == null) {
            state = new InstrumentDetectorState();
            state.priceMove = priceMove.newState();
            state.returnZScore = returnZScore.newState();
            state.volumeSpike = volumeSpike.newState();
        }
        emit(priceMove.onTick(tick, state.priceMove, now), out);
        emit(returnZScore.onTick(tick, state.returnZScore, now), out);
        emit(volumeSpike.onTick(tick, state.volumeSpike, now), out);
        detectorState.update(state);
    }

    private void emit(Anomaly anomaly, Collector<Anomaly> out) {
        if (anomaly != null) {
            anomalies.get(anomaly.type()).inc();
            out.collect(anomaly);
        }
    }
}
