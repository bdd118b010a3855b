package io.tickstream.detect;

import io.tickstream.model.Anomaly;
import io.tickstream.model.AnomalyType;
import io.tickstream.model.Tick;

import java.io.Serializable;
import java.util.Arrays;

/**
 * VOLUME_SPIKE: the volume traded in the current event-time bucket reaches m times the exponentially
 * weighted average of past buckets, and its traded value reaches a minimum (so ten times nothing is not
 * an alert). The bucket's few largest trades ({@code ignoreLargest}, 1 by default) are left out of both sides:
 * a burst of trading is what this reports, and single block trades — trade sizes are heavy-tailed — were most
 * of its false alerts. It fires as soon as the running bucket crosses the line, not when the bucket ends, and
 * once per episode: buckets short enough that a burst fills at least one whole bucket (2 s by default), and
 * after an alert the next one waits until a bucket closes below half the multiple (hysteresis) and the cooldown
 * has passed, so a burst spanning several buckets — thin or empty ones inside it too — raises one alert.
 * Buckets with no trade count as zero: they are folded into the average when the next trade arrives, so an
 * idle instrument costs no timers.
 */
public final class VolumeSpikeDetector implements Serializable {
    private static final long serialVersionUID = 1L;

    public record Settings(long bucketMs, double multiplier, double halfLifeBuckets, double minNotional,
                           int warmupBuckets, long cooldownMs, int ignoreLargest) implements Serializable {}

    /** Per-instrument state (written by InstrumentDetectorStateSerializer). */
    public static final class State {
        public long bucketStart = Long.MIN_VALUE;
        public double bucketVolume;
        public double bucketNotional;
        /** The bucket's largest trade sizes, largest first ({@code ignoreLargest} of them). */
        public double[] largest;
        public boolean bucketAlerted;
        /** An alert was raised and no bucket has closed below half the multiple since. */
        public boolean episode;
        public long lastAlertTs = Long.MIN_VALUE;
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
        State state = new State();
        state.largest = new double[settings.ignoreLargest()];
        return state;
    }

    public Anomaly onTick(Tick tick, State state, long now) {
        if (state.largest == null || state.largest.length != settings.ignoreLargest()) {
            state.largest = new double[settings.ignoreLargest()]; // the setting changed since a restore
        }
        long bucket = Math.floorDiv(tick.ts(), settings.bucketMs()) * settings.bucketMs();
        if (state.bucketStart == Long.MIN_VALUE) {
            state.bucketStart = bucket;
        } else if (bucket > state.bucketStart) {
            closeBuckets(state, bucket);
        }
        // A trade stamped slightly before the current bucket (trade order is not always time order) counts in it.
        double size = tick.sizeValue();
        state.bucketVolume += size;
        state.bucketNotional += size * tick.priceValue();
        keepIfLargest(state.largest, size);
        double counted = countedVolume(state);

        if (!state.bucketAlerted && !state.episode && state.buckets >= settings.warmupBuckets() && state.average > 0
                && counted >= settings.multiplier() * state.average
                && state.bucketNotional >= settings.minNotional()
                && (state.lastAlertTs == Long.MIN_VALUE || tick.ts() >= state.lastAlertTs + settings.cooldownMs())) {
            state.bucketAlerted = true;
            state.episode = true;
            state.lastAlertTs = tick.ts();
            double ratio = counted / state.average;
            String details = "{\"bucket_start\":" + state.bucketStart
                    + ",\"bucket_volume\":" + Decimals.round(state.bucketVolume, 8)
                    + ",\"counted_volume\":" + Decimals.round(counted, 8)
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

    /** Keeps {@code size} among the largest sizes (sorted, largest first) if it is one of them. */
    private static void keepIfLargest(double[] largest, double size) {
        for (int i = 0; i < largest.length; i++) {
            if (size > largest[i]) {
                System.arraycopy(largest, i, largest, i + 1, largest.length - i - 1);
                largest[i] = size;
                return;
            }
        }
    }

    /** The bucket's volume without its largest trades. */
    private static double countedVolume(State state) {
        double counted = state.bucketVolume;
        for (double size : state.largest) {
            counted -= size;
        }
        return Math.max(0, counted);
    }

    /** Folds the finished bucket and the empty ones up to {@code bucket} into the average. */
    private void closeBuckets(State state, long bucket) {
        long empty = (bucket - state.bucketStart) / settings.bucketMs() - 1;
        double counted = countedVolume(state);
        if (state.episode && (empty > 0 || counted < settings.multiplier() / 2 * state.average)) {
            state.episode = false;
        }
        // While the average is young it is the plain mean of the buckets so far (weight 1/n rather than the
        // EWMA's): an EWMA started from one bucket would stay near that bucket's luck for minutes.
        state.average += Math.max(alpha, 1.0 / (state.buckets + 1)) * (counted - state.average);
        state.buckets++;
        while (empty > 0 && 1.0 / (state.buckets + 1) > alpha) {
            state.average -= state.average / (state.buckets + 1);
            state.buckets++;
            empty--;
        }
        if (empty > 0) {
            state.average *= Math.pow(1.0 - alpha, empty);
            state.buckets += empty;
        }
        state.bucketStart = bucket;
        state.bucketVolume = 0;
        state.bucketNotional = 0;
        Arrays.fill(state.largest, 0);
        state.bucketAlerted = false;
    }
}
