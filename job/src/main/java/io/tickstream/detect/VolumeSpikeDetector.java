package io.tickstream.detect;

import io.tickstream.model.Anomaly;
import io.tickstream.model.AnomalyType;
import io.tickstream.model.Tick;
import io.tickstream.state.StateSerializer;
import java.io.IOException;
import java.io.Serializable;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * VOLUME_SPIKE: the volume traded in the last {@code window} of event time is at least m times what a normal window
 * holds — the exponentially weighted average of the same statistic over the windows before (a window counts into it
 * at most {@link #FOLD_CAP} times the average, so a burst does not raise its own baseline) — and its traded value
 * reaches a minimum (so ten times nothing is not an alert). Window and baseline count every trade the same way: at
 * most {@code tradeCap} times the instrument's median trade size (a running estimate), so one block trade — sizes
 * are heavy-tailed — is not a burst, and the multiple means the same whether a burst is more trades or larger ones.
 * (Leaving each window's few largest trades out instead made the statistic grow faster than the volume: with 20
 * trades a window the two largest are half of it, with 100 a fifth, so a 4x burst of trades read as 10x.)
 * The window slides by {@code step}: it is the last window/step steps, the running one included, so a burst is seen
 * whole wherever it starts. It fires as soon as the window crosses the line, and once per episode: after an alert
 * the next one waits until a window closes below half the multiple (hysteresis) and the cooldown has passed. Steps
 * with no trade count as zero: they are folded into the average when the next trade arrives, so an idle instrument
 * costs no timers.
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
            double tradeCap)
            implements Serializable {
        public int steps() {
            return (int) (windowMs / stepMs);
        }
    }

    /** Per-instrument state: part of the instrument's one RocksDB value (InstrumentDetectorStateSerializer). */
    public static final class State {
        /** Start of the running step; Long.MIN_VALUE before the first trade. */
        public long stepStart = Long.MIN_VALUE;
        /** Per step of the window, a ring indexed by step number: volume, counted volume (trades capped), value. */
        public double[] volume;

        public double[] counted;
        public double[] notional;
        /** Running estimate of the log of the median trade size; -infinity before the first trade. */
        public double logMedianSize = Double.NEGATIVE_INFINITY;
        /** An alert was raised and no window has closed below half the multiple since. */
        public boolean episode;

        public long lastAlertTs = Long.MIN_VALUE;
        /** EWMA of the counted volume of the windows closed so far (one per step). */
        public double average;

        public long steps;

        public State() {}

        public void writeTo(DataOutputView out) throws IOException {
            out.writeLong(stepStart);
            StateSerializer.writeDoubles(volume, out);
            StateSerializer.writeDoubles(counted, out);
            StateSerializer.writeDoubles(notional, out);
            out.writeBoolean(episode);
            out.writeLong(lastAlertTs);
            out.writeDouble(average);
            out.writeLong(steps);
            out.writeDouble(logMedianSize);
        }

        /** Reads the state as detector-state format {@code format} wrote it (3: release 0.1, migrated). */
        public static State readFrom(DataInputView in, int format) throws IOException {
            State v = new State();
            v.stepStart = in.readLong();
            v.volume = StateSerializer.readDoubles(in);
            if (format == 3) {
                // 0.1 left each window's largest trades out instead of capping each trade: the steps count whole,
                // and the median trade size is learnt again from the next trade (its average is kept: the baseline
                // stays warm)
                v.notional = StateSerializer.readDoubles(in);
                StateSerializer.readDoubles(in);
                v.counted = v.volume == null ? null : v.volume.clone();
            } else {
                v.counted = StateSerializer.readDoubles(in);
                v.notional = StateSerializer.readDoubles(in);
            }
            v.episode = in.readBoolean();
            v.lastAlertTs = in.readLong();
            v.average = in.readDouble();
            v.steps = in.readLong();
            if (format > 3) {
                v.logMedianSize = in.readDouble();
            }
            return v;
        }
    }

    private final Settings settings;
    /**
     * How far the median estimate moves per trade, in log size: a stochastic-approximation median (up when a trade
     * is larger, down when smaller), so it follows the instrument within a few hundred trades, in O(1) state.
     */
    public static final double MEDIAN_STEP = 0.01;

    private final int windowSteps;
    private final double alpha;
    private final long warmupSteps;
    private final double logTradeCap;

    public VolumeSpikeDetector(Settings settings) {
        this.settings = settings;
        this.windowSteps = settings.steps();
        this.logTradeCap = Math.log(settings.tradeCap());
        this.alpha = 1.0 - Math.pow(0.5, (double) settings.stepMs() / settings.halfLifeMs());
        this.warmupSteps = settings.warmupMs() / settings.stepMs();
    }

    public State newState() {
        State state = new State();
        state.volume = new double[windowSteps];
        state.counted = new double[windowSteps];
        state.notional = new double[windowSteps];
        return state;
    }

    public Anomaly onTick(Tick tick, State state, long now) {
        if (state.volume == null
                || state.volume.length != windowSteps
                || state.counted == null
                || state.counted.length != windowSteps) {
            // The window's length changed since the state was written (restored from a release with another
            // default, or --volume-window changed): the ring starts empty, and the average of the old windows,
            // scaled to the new length (volume grows with the window), keeps the baseline warm.
            int oldSteps = state.volume == null ? 0 : state.volume.length;
            State fresh = newState();
            state.volume = fresh.volume;
            state.counted = fresh.counted;
            state.notional = fresh.notional;
            state.stepStart = Long.MIN_VALUE;
            state.episode = false;
            if (oldSteps > 0 && state.average > 0) {
                state.average = state.average * windowSteps / oldSteps;
            } else {
                state.average = 0;
                state.steps = 0;
            }
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
        state.counted[slot] += counted(size, state);
        state.notional[slot] += size * tick.priceValue();
        double counted = sum(state.counted);

        if (!state.episode
                && state.steps >= warmupSteps
                && state.average > 0
                && counted >= settings.multiplier() * state.average
                && sum(state.notional) >= settings.minNotional()
                && (state.lastAlertTs == Long.MIN_VALUE || tick.ts() >= state.lastAlertTs + settings.cooldownMs())) {
            state.episode = true;
            state.lastAlertTs = tick.ts();
            double ratio = counted / state.average;
            return Anomaly.raisedBy(AnomalyType.VOLUME_SPIKE, tick, now)
                    .changePct(Decimals.round((ratio - 1.0) * 100.0, 2))
                    .windowMs(settings.windowMs())
                    .detail("window_start", state.stepStart - (windowSteps - 1) * settings.stepMs())
                    .detail("window_volume", Decimals.round(sum(state.volume), 8))
                    .detail("counted_volume", Decimals.round(counted, 8))
                    .detail("median_trade_size", Decimals.round(Math.exp(state.logMedianSize), 8))
                    .detail("average_volume", Decimals.round(state.average, 8))
                    .detail("ratio", Decimals.round(ratio, 3))
                    .build();
        }
        return null;
    }

    private int slot(long stepStart) {
        return (int) Math.floorMod(Math.floorDiv(stepStart, settings.stepMs()), (long) windowSteps);
    }

    /**
     * The trade's size as counted (at most tradeCap times the median trade size so far), then the median estimate
     * moved towards it. A size of zero or less counts as nothing and leaves the estimate alone.
     */
    private double counted(double size, State state) {
        if (!(size > 0)) {
            return 0;
        }
        double logSize = Math.log(size);
        if (state.logMedianSize == Double.NEGATIVE_INFINITY) {
            state.logMedianSize = logSize;
        }
        double counted = Math.min(size, Math.exp(state.logMedianSize + logTradeCap));
        state.logMedianSize +=
                logSize > state.logMedianSize ? MEDIAN_STEP : logSize < state.logMedianSize ? -MEDIAN_STEP : 0;
        return counted;
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
            double counted = sum(state.counted);
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
            state.counted[slot] = 0;
            state.notional[slot] = 0;
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
