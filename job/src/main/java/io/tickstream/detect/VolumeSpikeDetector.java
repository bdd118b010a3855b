package io.tickstream.detect;

import io.tickstream.model.Anomaly;
import io.tickstream.model.AnomalyType;
import io.tickstream.model.Tick;
import java.io.Serializable;
import java.util.Arrays;

/**
 * VOLUME_SPIKE: the volume traded in the last {@code window} of event time reaches m times the exponentially
 * weighted average of that window's volume (a window counts into it at most {@link #FOLD_CAP} times the average,
 * so a burst does not raise its own baseline), and its traded value reaches a minimum (so ten times nothing is not an
 * alert). The window slides by {@code step}: it is the last window/step steps, the running one included, so a
 * burst is seen whole wherever it starts (fixed buckets cut a burst in two at a bucket edge and missed bursts a
 * little above the multiple). The window's few largest trades ({@code ignoreLargest}) are left out of both sides:
 * a burst of trading is what this reports, and single block trades — trade sizes are heavy-tailed — were most of
 * its false alerts. It fires as soon as the window crosses the line, and once per episode: after an alert the next
 * one waits until a window closes below half the multiple (hysteresis) and the cooldown has passed. Steps with no
 * trade count as zero: they are folded into the average when the next trade arrives, so an idle instrument costs
 * no timers.
 */
public final class VolumeSpikeDetector implements Serializable {
    private static final long serialVersionUID = 2L;

    /** At most this many steps per window: the state holds a few numbers per step. */
    public static final int MAX_STEPS = 64;
    /**
     * After the warm-up a window counts into the average at most this many times the average, so a burst barely
     * raises the baseline it is measured against: while the average is still a plain mean (its first minutes) an
     * uncapped burst window just under the multiple raised it by a few percent per step, and a burst 1.2 times the
     * multiple then peaked at 9.5 times the risen average (a missed label in the evaluation).
     */
    static final double FOLD_CAP = 3;

    public record Settings(
            long windowMs,
            long stepMs,
            double multiplier,
            long halfLifeMs,
            double minNotional,
            long warmupMs,
            long cooldownMs,
            int ignoreLargest)
            implements Serializable {
        public int steps() {
            return (int) (windowMs / stepMs);
        }
    }

    /** Per-instrument state (written by InstrumentDetectorStateSerializer). */
    public static final class State {
        /** Start of the running step; Long.MIN_VALUE before the first trade. */
        public long stepStart = Long.MIN_VALUE;
        /** Per step of the window, a ring indexed by step number: volume, traded value, largest sizes. */
        public double[] volume;

        public double[] notional;
        /** {@code ignoreLargest} sizes per step, largest first. */
        public double[] largest;
        /** An alert was raised and no window has closed below half the multiple since. */
        public boolean episode;

        public long lastAlertTs = Long.MIN_VALUE;
        /** EWMA of the counted volume of the windows closed so far (one per step). */
        public double average;

        public long steps;

        public State() {}
    }

    private final Settings settings;
    private final int windowSteps;
    private final int keep;
    private final double alpha;
    private final long warmupSteps;
    /** Scratch for the window's largest sizes (the operator calls this detector from one thread). */
    private transient double[] top;

    public VolumeSpikeDetector(Settings settings) {
        this.settings = settings;
        this.windowSteps = settings.steps();
        this.keep = settings.ignoreLargest();
        this.alpha = 1.0 - Math.pow(0.5, (double) settings.stepMs() / settings.halfLifeMs());
        this.warmupSteps = settings.warmupMs() / settings.stepMs();
    }

    public State newState() {
        State state = new State();
        state.volume = new double[windowSteps];
        state.notional = new double[windowSteps];
        state.largest = new double[windowSteps * keep];
        return state;
    }

    public Anomaly onTick(Tick tick, State state, long now) {
        if (state.volume == null
                || state.volume.length != windowSteps
                || state.largest == null
                || state.largest.length != windowSteps * keep) {
            State fresh = newState(); // the window or its largest trades changed since a restore: start over
            state.volume = fresh.volume;
            state.notional = fresh.notional;
            state.largest = fresh.largest;
            state.stepStart = Long.MIN_VALUE;
            state.average = 0;
            state.steps = 0;
        }
        long step = Math.floorDiv(tick.ts(), settings.stepMs()) * settings.stepMs();
        if (state.stepStart == Long.MIN_VALUE) {
            state.stepStart = step;
        } else if (step > state.stepStart) {
            closeSteps(state, step);
        }
        // A trade stamped slightly before the running step (trade order is not always time order) counts in it.
        int slot = slot(state.stepStart);
        double size = tick.sizeValue();
        state.volume[slot] += size;
        state.notional[slot] += size * tick.priceValue();
        keepIfLargest(state.largest, slot * keep, size);
        double counted = countedVolume(state);

        if (!state.episode
                && state.steps >= warmupSteps
                && state.average > 0
                && counted >= settings.multiplier() * state.average
                && sum(state.notional) >= settings.minNotional()
                && (state.lastAlertTs == Long.MIN_VALUE || tick.ts() >= state.lastAlertTs + settings.cooldownMs())) {
            state.episode = true;
            state.lastAlertTs = tick.ts();
            double ratio = counted / state.average;
            String details = "{\"window_start\":" + (state.stepStart - (windowSteps - 1) * settings.stepMs())
                    + ",\"window_volume\":" + Decimals.round(sum(state.volume), 8)
                    + ",\"counted_volume\":" + Decimals.round(counted, 8)
                    + ",\"average_volume\":" + Decimals.round(state.average, 8)
                    + ",\"ratio\":" + Decimals.round(ratio, 3) + "}";
            return new Anomaly(
                    Anomaly.idFor(AnomalyType.VOLUME_SPIKE, tick.exchange(), tick.symbol(), tick.tradeId(), tick.ts()),
                    tick.exchange(),
                    tick.symbol(),
                    AnomalyType.VOLUME_SPIKE,
                    tick.ts(),
                    tick.price(),
                    null,
                    Decimals.round((ratio - 1.0) * 100.0, 2),
                    settings.windowMs(),
                    null,
                    tick.tradeId(),
                    tick.recvTs(),
                    now,
                    details);
        }
        return null;
    }

    private int slot(long stepStart) {
        return (int) Math.floorMod(Math.floorDiv(stepStart, settings.stepMs()), (long) windowSteps);
    }

    /** Keeps {@code size} among the step's largest sizes (sorted, largest first, from {@code from}). */
    private void keepIfLargest(double[] largest, int from, double size) {
        for (int i = from; i < from + keep; i++) {
            if (size > largest[i]) {
                System.arraycopy(largest, i, largest, i + 1, from + keep - i - 1);
                largest[i] = size;
                return;
            }
        }
    }

    /** The window's volume without its {@code ignoreLargest} largest trades. */
    private double countedVolume(State state) {
        if (keep == 0) {
            return sum(state.volume);
        }
        if (top == null) {
            top = new double[keep];
        }
        Arrays.fill(top, 0);
        for (int s = 0; s < windowSteps; s++) {
            for (int i = s * keep; i < (s + 1) * keep && state.largest[i] > top[keep - 1]; i++) {
                keepIfLargest(top, 0, state.largest[i]);
            }
        }
        return Math.max(0, sum(state.volume) - sum(top));
    }

    private static double sum(double[] values) {
        double sum = 0;
        for (double v : values) {
            sum += v;
        }
        return sum;
    }

    /**
     * Closes the running step and the empty ones up to {@code step}: each closes a window, whose counted volume
     * is folded into the average. Once the whole window is empty the rest are zeros, folded at once.
     */
    private void closeSteps(State state, long step) {
        long closing = (step - state.stepStart) / settings.stepMs();
        long withTrades = Math.min(closing, windowSteps);
        for (long i = 0; i < withTrades; i++) {
            double counted = countedVolume(state);
            if (state.episode && counted < settings.multiplier() / 2 * state.average) {
                state.episode = false;
            }
            fold(
                    state,
                    state.steps >= warmupSteps && state.average > 0
                            ? Math.min(counted, FOLD_CAP * state.average)
                            : counted);
            state.stepStart += settings.stepMs();
            int slot = slot(state.stepStart);
            state.volume[slot] = 0;
            state.notional[slot] = 0;
            Arrays.fill(state.largest, slot * keep, (slot + 1) * keep, 0);
        }
        long empty = closing - withTrades;
        if (empty > 0) {
            state.episode = false;
            // While the average is young it is the plain mean of the windows so far (weight 1/n rather than the
            // EWMA's): an EWMA started from one window would stay near that window's luck for minutes.
            while (empty > 0 && 1.0 / (state.steps + 1) > alpha) {
                fold(state, 0);
                empty--;
            }
            if (empty > 0) {
                state.average *= Math.pow(1.0 - alpha, empty);
                state.steps += empty;
            }
        }
        state.stepStart = step;
    }

    private void fold(State state, double counted) {
        state.average += Math.max(alpha, 1.0 / (state.steps + 1)) * (counted - state.average);
        state.steps++;
    }
}
