package io.tickstream.detect;

import io.tickstream.metrics.JobMetrics;
import io.tickstream.model.Anomaly;
import io.tickstream.model.AnomalyType;
import io.tickstream.model.Tick;

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
 * Each detector keeps its own keyed state (RocksDB in production), so one can change without touching the
 * others' savepoint state.
 */
public final class AnomalyDetectors extends KeyedProcessFunction<String, Tick, Anomaly> {
    private static final long serialVersionUID = 1L;

    private final PriceMoveDetector priceMove;
    private final ReturnZScoreDetector returnZScore;
    private final VolumeSpikeDetector volumeSpike;
    private final Duration stateTtl;

    private transient ValueState<PriceMoveDetector.State> priceMoveState;
    private transient ValueState<ReturnZScoreDetector.State> returnZScoreState;
    private transient ValueState<VolumeSpikeDetector.State> volumeSpikeState;
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
        priceMoveState = getRuntimeContext().getState(StateTtl.expireAfter(
                new ValueStateDescriptor<>("price-move", PriceMoveDetector.State.class), stateTtl));
        returnZScoreState = getRuntimeContext().getState(StateTtl.expireAfter(
                new ValueStateDescriptor<>("return-zscore", ReturnZScoreDetector.State.class), stateTtl));
        volumeSpikeState = getRuntimeContext().getState(StateTtl.expireAfter(
                new ValueStateDescriptor<>("volume-spike", VolumeSpikeDetector.State.class), stateTtl));
        anomalies = new EnumMap<>(AnomalyType.class);
        for (AnomalyType type : AnomalyType.values()) {
            anomalies.put(type, JobMetrics.anomalies(getRuntimeContext().getMetricGroup(), type.name()));
        }
    }

    @Override
    public void processElement(Tick tick, Context ctx, Collector<Anomaly> out) throws Exception {
        long now = System.currentTimeMillis();

        PriceMoveDetector.State pm = priceMoveState.value();
        if (pm == null) {
            pm = priceMove.newState();
        }
        emit(priceMove.onTick(tick, pm, now), out);
        priceMoveState.update(pm);

        ReturnZScoreDetector.State rz = returnZScoreState.value();
        if (rz == null) {
            rz = returnZScore.newState();
        }
        emit(returnZScore.onTick(tick, rz, now), out);
        returnZScoreState.update(rz);

        VolumeSpikeDetector.State vs = volumeSpikeState.value();
        if (vs == null) {
            vs = volumeSpike.newState();
        }
        emit(volumeSpike.onTick(tick, vs, now), out);
        volumeSpikeState.update(vs);
    }

    private void emit(Anomaly anomaly, Collector<Anomaly> out) {
        if (anomaly != null) {
            anomalies.get(anomaly.type()).inc();
            out.collect(anomaly);
        }
    }
}
