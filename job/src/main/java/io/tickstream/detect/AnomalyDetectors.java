package io.tickstream.detect;

import io.tickstream.candles.CandleAccumulator;
import io.tickstream.candles.IntervalSampler;
import io.tickstream.metrics.JobMetrics;
import io.tickstream.model.Anomaly;
import io.tickstream.model.AnomalyType;
import io.tickstream.model.Tick;
import io.tickstream.state.CachedValueState;
import io.tickstream.state.StateTtl;
import io.tickstream.state.WriteBackKeyedProcessFunction;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Drives the per-instrument detectors over ticks in trade order (as {@link TradeSequencer} releases them), and
 * sums the trades up per 100 ms ({@link IntervalSampler}) for the cross-venue detector (side output
 * {@link #QUOTES}) and the candles ({@link #CANDLE_PARTS}). Their states travel together as one keyed value
 * ({@link InstrumentDetectorState}, RocksDB in production, written by {@link InstrumentDetectorStateSerializer}):
 * a state access costs a JNI call, key serialization and TTL bookkeeping, so one value instead of four; the recently
 * traded instruments' values are read and changed on the heap and written to RocksDB at checkpoints
 * ({@link CachedValueState}).
 * One market event is one incident: a RETURN_ZSCORE outlier inside an open price episode is not raised (it is the
 * move already alerted), alerts of the instrument less than the price window apart share an incident id, and a
 * PRICE_RETRACEMENT (an update of the price move) is always in the move's incident.
 */
public final class AnomalyDetectors extends WriteBackKeyedProcessFunction<String, Tick, Anomaly> {
    private static final long serialVersionUID = 1L;

    /** Each instrument's last trade per {@link IntervalSampler#INTERVAL_MS}, in trade order. */
    public static final OutputTag<Tick> QUOTES = new OutputTag<>("venue-quotes", TypeInformation.of(Tick.class));
    /** Each instrument's partial candle per {@link IntervalSampler#INTERVAL_MS}. */
    public static final OutputTag<CandleAccumulator> CANDLE_PARTS =
            new OutputTag<>("candle-parts", TypeInformation.of(CandleAccumulator.class));

    private final PriceMoveDetector priceMove;
    private final ReturnZScoreDetector returnZScore;
    private final VolumeSpikeDetector volumeSpike;
    private final Duration stateTtl;
    private final long incidentGapMs;

    /** Instruments whose detector state a subtask keeps on the heap too (a few KiB each; {@link CachedValueState}). */
    static final int CACHED_INSTRUMENTS = 4096;

    private transient CachedValueState<String, InstrumentDetectorState> detectorState;

    private transient Map<AnomalyType, Counter> anomalies;

    public AnomalyDetectors(
            PriceMoveDetector.Settings priceMove,
            ReturnZScoreDetector.Settings returnZScore,
            VolumeSpikeDetector.Settings volumeSpike,
            Duration stateTtl) {
        this.priceMove = new PriceMoveDetector(priceMove);
        this.returnZScore = new ReturnZScoreDetector(returnZScore);
        this.volumeSpike = new VolumeSpikeDetector(volumeSpike);
        this.stateTtl = stateTtl;
        this.incidentGapMs = priceMove.windowMs();
    }

    @Override
    public void open(OpenContext openContext) {
        ValueState<InstrumentDetectorState> stored = getRuntimeContext()
                .getState(StateTtl.expireAfter(
                        new ValueStateDescriptor<>("detectors", InstrumentDetectorStateSerializer.INSTANCE), stateTtl));
        detectorState = cachedValueState(stored, stateTtl, CACHED_INSTRUMENTS);
        anomalies = new EnumMap<>(AnomalyType.class);
        for (AnomalyType type : AnomalyType.values()) {
            anomalies.put(type, JobMetrics.anomalies(getRuntimeContext().getMetricGroup(), type.name()));
        }
    }

    @Override
    public void processElement(Tick tick, Context ctx, Collector<Anomaly> out) throws Exception {
        long now = System.currentTimeMillis();

        String instrument = ctx.getCurrentKey();
        long processingTime = ctx.timerService().currentProcessingTime(); // the clock of the state's time-to-live
        InstrumentDetectorState state = detectorState.value(instrument, processingTime);
        if (state == null) {
            state = new InstrumentDetectorState();
            state.priceMove = priceMove.newState();
            state.returnZScore = returnZScore.newState();
            state.volumeSpike = volumeSpike.newState();
            state.sample = new IntervalSampler.State();
        }
        emit(priceMove.onTick(tick, state.priceMove, now), state, out);
        Anomaly outlier = returnZScore.onTick(tick, state.returnZScore, now);
        // a trade-to-trade outlier inside a price move already alerted is that move again (its statistics still learn)
        emit(state.priceMove.inEpisode() ? null : outlier, state, out);
        emit(volumeSpike.onTick(tick, state.volumeSpike, now), state, out);

        if (IntervalSampler.completes(tick, state.sample)) {
            emitInterval(state.sample, tick.exchange(), tick.symbol(), tick.instrument(), ctx);
        }
        if (IntervalSampler.add(tick, state.sample)) {
            ctx.timerService().registerEventTimeTimer(IntervalSampler.dueAt(state.sample.interval));
        }
        detectorState.update(instrument, state, processingTime);
    }

    /** The watermark passed an interval's end: a quiet instrument's last interval leaves now. */
    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<Anomaly> out) throws Exception {
        long processingTime = ctx.timerService().currentProcessingTime();
        String instrument = ctx.getCurrentKey();
        InstrumentDetectorState state = detectorState.value(instrument, processingTime);
        if (state != null && IntervalSampler.dueAt(timestamp, state.sample)) {
            int colon = instrument.indexOf(':');
            emitInterval(
                    state.sample, instrument.substring(0, colon), instrument.substring(colon + 1), instrument, ctx);
            IntervalSampler.clear(state.sample);
            detectorState.update(instrument, state, processingTime);
        }
    }

    private static void emitInterval(
            IntervalSampler.State sample, String exchange, String symbol, String instrument, Context ctx) {
        ctx.output(QUOTES, IntervalSampler.quote(sample, exchange, symbol, instrument));
        ctx.output(CANDLE_PARTS, sample.candle);
    }

    /**
     * Emits the alert in the instrument's open incident — one whose last alert is less than the price window
     * ({@code --spike-window}) before it — or opens one named after it.
     */
    private void emit(Anomaly anomaly, InstrumentDetectorState state, Collector<Anomaly> out) {
        if (anomaly != null) {
            boolean update = anomaly.type() == AnomalyType.PRICE_RETRACEMENT && state.incidentId != null;
            if (!update && (state.incidentId == null || anomaly.ts() - state.incidentLastTs >= incidentGapMs)) {
                state.incidentId = anomaly.id();
            }
            state.incidentLastTs = Math.max(state.incidentLastTs, anomaly.ts());
            anomalies.get(anomaly.type()).inc();
            out.collect(anomaly.withIncident(state.incidentId));
        }
    }
}
