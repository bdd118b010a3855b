package io.tickstream.detect;

import io.tickstream.model.Anomaly;
import io.tickstream.model.AnomalyType;
import io.tickstream.model.Tick;

import java.io.Serializable;

/**
 * VOLUME_SPIKE: the volume traded in the current event-time bucket reaches m times the exponentially
 * weighted average of past buckets, and its traded value reaches a minimum (so ten times nothing is not
 * an alert). It fires as soon as the running bucket crosses the line, not when the bucket ends, and once per
 * episode: buckets short enough that a burst fills at least one whole bucket (2 s by default), and after an
 * alert the next one waits until a bucket closes below half the multiple (hysteresis), so a burst spanning
 * several buckets raises one alert. Buckets with no trade count as zero: they are folded into the average in closed
 * form when the next trade arrives, so an idle instrument costs no timers.
 */
public final class VolumeSpikeDetector implements Serializable {
    private static final long serialVersionUID = 1L;

    public record Settings(long bucketMs, double multiplier, double halfLifeBuckets, double minNotional,
                           int warmupBuckets) implements Serializable {}

    /** Per-instrument state (a Flink POJO). */
    public static final class State {
        public long bucketStart = Long.MIN_VALUE;
        public double bucketVolume;
        public double bucketNotional;
        public boolean bucketAlerted;
        /** An alert was raised and no bucket has closed below half the multiple since. */
        public boolean episode;
        public double average;
        public long buckets;

        public State() {}
    }

    private final Settings settings;
    private final double alpha;

    public VolumeSpikeDetector(Settings settings) {
        this.settings = settings;
        this.alpha = 1.0 - Math.pow(0.5, 1.0 / settings.halfLifeBuckets());
    }

    public State newState() {
        return new State();
    }

    public Anomaly onTick(Tick tick, State state, long now) {
        long bucket = Math.floorDiv(tick.ts(), settings.bucketMs()) * settings.bucketMs();
        if (state.bucketStart == Long.MIN_VALUE) {
            state.bucketStart = bucket;
        } else if (bucket > state.bucketStart) {
            closeBuckets(state, bucket);
        }
        // A trade stamped slightly before the current bucket (trade order is not always time order) counts in it.
        state.bucketVolume += tick.sizeValue();
        state.bucketNotional += tick.sizeValue() * tick.priceValue();

        if (!state.bucketAlerted && !state.episode && state.buckets >= settings.warmupBuckets() && state.average > 0
                && state.bucketVolume >= settings.multiplier() * state.average
                && state.bucketNotional >= settings.minNotional()) {
            state.bucketAlerted = true;
            state.episode = true;
            double ratio = state.bucketVolume / state.average;
            String details = "{\"bucket_start\":" + state.bucketStart
                    + ",\"bucket_volume\":" + Decimals.round(state.bucketVolume, 8)
                    + ",\"average_volume\":" + Decimals.round(state.average, 8)
                    + ",\"ratio\":" + Decimals.round(ratio, 3) + "}";
            return new Anomaly(
                    Anomaly.idFor(AnomalyType.VOLUME_SPIKE, tick.exchange(), tick.symbol(), tick.tradeId(), tick.ts()),
                    tick.exchange(), tick.symbol(), AnomalyType.VOLUME_SPIKE, tick.ts(), tick.price(), null,
                    Decimals.round((ratio - 1.0) * 100.0, 2), settings.bucketMs(), null, tick.tradeId(),
                    tick.recvTs(), now, details);
        }
        return null;
    }

    /** Folds the finished bucket and the empty ones up to {@code bucket} into the average. */
    private void closeBuckets(State state, long bucket) {
        long empty = (bucket - state.bucketStart) / settings.bucketMs() - 1;
        if (state.episode && (empty > 0 || state.bucketVolume < settings.multiplier() / 2 * state.average)) {
            state.episode = false;
        }
        state.average = state.buckets == 0 ? state.bucketVolume
                : state.average + alpha * (state.bucketVolume - state.average);
        if (empty > 0) {
            state.average *= Math.pow(1.0 - alpha, empty);
        }
        state.buckets += 1 + empty;
        state.bucketStart = bucket;
        state.bucketVolume = 0;
        state.bucketNotional = 0;
        state.bucketAlerted = false;
    }
}
