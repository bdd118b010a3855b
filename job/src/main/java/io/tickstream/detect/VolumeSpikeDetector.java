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
 * holds, volume measured as the window's trade count times its typical trade size (the geometric mean of the
 * sizes) — the same statistic in the window and in the baseline, the exponentially weighted average of it over the
 * windows before (a window counts into it at most {@link #FOLD_CAP} times the average, so a burst does not raise its
 * own baseline) — and its traded value reaches a minimum (so ten times nothing is not an alert). For trades of one
 * size it is the plain volume; it grows as the volume does whether a burst is more trades or larger ones, and one
 * block trade (sizes are heavy-tailed) does not make a burst: a trade 1,000 times the size of 20 others raises it by
 * half (21 x 1000^(1/21) against 20). (Summing the sizes — each capped at 200 median trades — varied by +-40 % over 4 s of calm log-normal
 * trades, so a burst 1.2 times the multiple stayed under it in every window; leaving each window's few largest
 * trades out, as release 0.1 did, made the statistic grow faster than the volume: 4x the trades read as 10x.)
 * The window slides by {@code step}: it is the last window/step steps, the running one included, so a burst is seen
 * whole wherever it starts. It fires as soon as the window crosses the line, and once per episode: after an alert
 * the next one waits until a window closes below half the multiple (hysteresis) and the cooldown has passed. Steps
 * with no trade count as zero: they are folded into the average when the next trade arrives, so an idle instrument
 * costs no timers.
 */
public final class VolumeSpikeDetector implements Serializable {
    private static final long serialVersionUID = 3L;

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
            long cooldownMs)
            implements Serializable {
        public int steps() {
            return (int) (windowMs / stepMs);
        }
    }

    /** Per-instrument state: part of the instrument's one RocksDB value (InstrumentDetectorStateSerializer). */
    public static final class State {
        /** Start of the running step; Long.MIN_VALUE before the first trade. */
        public long stepStart = Long.MIN_VALUE;
        /**
         * Per step of the window, a ring indexed by step number: volume, trades, the sum of the natural logs of
         * their sizes, traded value.
         */
        public double[] volume;

        public int[] trades;
        public double[] logSizes;
        public double[] notional;
        /** An alert was raised and no window has closed below half the multiple since. */
        public boolean episode;

        public long lastAlertTs = Long.MIN_VALUE;
        /** EWMA of the typical volume (trades x geometric mean size) of the windows closed so far (one per step). */
        public double average;

        public long steps;

        public State() {}

        public void writeTo(DataOutputView out) throws IOException {
            out.writeLong(stepStart);
            StateSerializer.writeDoubles(volume, out);
            StateSerializer.writeInts(trades, out);
            StateSerializer.writeDoubles(logSizes, out);
            StateSerializer.writeDoubles(notional, out);
            out.writeBoolean(episode);
            out.writeLong(lastAlertTs);
            out.writeDouble(average);
            out.writeLong(steps);
        }

        /** Reads the state as detector-state format {@code format} wrote it (3: release 0.1, migrated). */
        public static State readFrom(DataInputView in, int format) throws IOException {
            State v = new State();
            v.stepStart = in.readLong();
            v.volume = StateSerializer.readDoubles(in);
            if (format == 3) {
                // 0.1 summed each window without its largest trades, and kept no trade count: the steps' trades and
                // sizes are unknown (null: the detector starts the ring again on the next trade), the average is
                // kept (the baseline stays warm)
                v.notional = StateSerializer.readDoubles(in);
                StateSerializer.readDoubles(in);
            } else {
                v.trades = StateSerializer.readInts(in);
                v.logSizes = StateSerializer.readDoubles(in);
                v.notional = StateSerializer.readDoubles(in);
            }
            v.episode = in.readBoolean();
            v.lastAlertTs = in.readLong();
            v.average = in.readDouble();
            v.steps = in.readLong();
            return v;
        }
    }

    private final Settings settings;

    private final int windowSteps;
    private final double alpha;
    private final long warmupSteps;

    public VolumeSpikeDetector(Settings settings) {
        this.settings = settings;
        this.windowSteps = settings.steps();
        this.alpha = 1.0 - Math.pow(0.5, (double) settings.stepMs() / settings.halfLifeMs());
        this.warmupSteps = settings.warmupMs() / settings.stepMs();
    }

    public State newState() {
        State state = new State();
        state.volume = new double[windowSteps];
        state.trades = new int[windowSteps];
        state.logSizes = new double[windowSteps];
        state.notional = new double[windowSteps];
        return state;
    }

    public Anomaly onTick(Tick tick, State state, long now) {
        if (state.volume == null
                || state.volume.length != windowSteps
                || state.trades == null
                || state.trades.length != windowSteps
                || state.logSizes == null
                || state.logSizes.length != windowSteps) {
            // The window's length changed since the state was written (restored from a release with another
            // default, or --volume-window changed): the ring starts empty, and the average of the old windows,
            // scaled to the new length (volume grows with the window), keeps the baseline warm.
            int oldSteps = state.volume == null ? 0 : state.volume.length;
            State fresh = newState();
            state.volume = fresh.volume;
            state.trades = fresh.trades;
            state.logSizes = fresh.logSizes;
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
        if (size > 0) { // a size of zero (or less) trades nothing
            state.volume[slot] += size;
            state.trades[slot]++;
            state.logSizes[slot] += Math.log(size);
            state.notional[slot] += size * tick.priceValue();
        }
        double typical = typicalVolume(state);

        if (!state.episode
                && state.steps >= warmupSteps
                && state.average > 0
                && typical >= settings.multiplier() * state.average
                && sum(state.notional) >= settings.minNotional()
                && (state.lastAlertTs == Long.MIN_VALUE || tick.ts() >= state.lastAlertTs + settings.cooldownMs())) {
            state.episode = true;
            state.lastAlertTs = tick.ts();
            double ratio = typical / state.average;
            int trades = trades(state);
            return Anomaly.raisedBy(AnomalyType.VOLUME_SPIKE, tick, now)
                    .changePct(Decimals.round((ratio - 1.0) * 100.0, 2))
                    .windowMs(settings.windowMs())
                    .detail("window_start", state.stepStart - (windowSteps - 1) * settings.stepMs())
                    .detail("window_volume", Decimals.round(sum(state.volume), 8))
                    .detail("window_trades", (long) trades)
                    .detail("typical_trade_size", Decimals.round(typical / trades, 8))
                    .detail("typical_volume", Decimals.round(typical, 8))
                    .detail("average_volume", Decimals.round(state.average, 8))
                    .detail("ratio", Decimals.round(ratio, 3))
                    .build();
        }
        return null;
    }

    private int slot(long stepStart) {
        return (int) Math.floorMod(Math.floorDiv(stepStart, settings.stepMs()), (long) windowSteps);
    }

    /** The window's trade count times their geometric mean size (0 without a trade). */
    private static double typicalVolume(State state) {
        int trades = trades(state);
        return trades == 0 ? 0 : trades * Math.exp(sum(state.logSizes) / trades);
    }

    private static int trades(State state) {
        int trades = 0;
        for (int n : state.trades) {
            trades += n;
        }
        return trades;
    }

    private static double sum(double[] values) {
        double sum = 0;
        for (double v : values) {
            sum += v;
        }
        return sum;
    }

    /**
     * Closes the running step and the empty ones up to {@code step}: each closes a window, whose typical volume
     * is folded into the average. Once the whole window is empty the rest are zeros, folded at once.
     */
    private void closeSteps(State state, long step) {
        long closing = (step - state.stepStart) / settings.stepMs();
        long withTrades = Math.min(closing, windowSteps);
        for (long i = 0; i < withTrades; i++) {
            double typical = typicalVolume(state);
            if (state.episode && typical < settings.multiplier() / 2 * state.average) {
                state.episode = false;
            }
            fold(
                    state,
                    state.steps >= warmupSteps && state.average > 0
                            ? Math.min(typical, FOLD_CAP * state.average)
                            : typical);
            state.stepStart += settings.stepMs();
            int slot = slot(state.stepStart);
            state.volume[slot] = 0;
            state.trades[slot] = 0;
            state.logSizes[slot] = 0;
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

    private void fold(State state, double typical) {
        state.average += Math.max(alpha, 1.0 / (state.steps + 1)) * (typical - state.average);
        state.steps++;
    }
}
