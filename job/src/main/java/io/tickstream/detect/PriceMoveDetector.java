package io.tickstream.detect;

import io.tickstream.model.Anomaly;
import io.tickstream.model.AnomalyType;
import io.tickstream.model.Tick;
import java.io.IOException;
import java.io.Serializable;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * PRICE_SPIKE / PRICE_DROP: the price moves by at least the threshold against the minimum (spike) or
 * maximum (drop) of a sliding event-time window.
 *
 * <p>The window's extremes live in two monotonic deques of (slot, extreme) — slots of window / resolution,
 * 60 by default — ascending minima for spikes, descending maxima for drops. Their fronts are the window's
 * minimum and maximum; a slot whose extreme is beaten by a later one can never be an extreme again and is
 * dropped. So the state holds only the slots that can still matter (a handful in a random walk, at most one per
 * slot), which keeps the per-trade RocksDB read and write small. A trade stamped before the newest slot seen
 * counts in the newest slot: trades come in the venue's trade order, and its clock does not run backwards by
 * more than a few milliseconds.
 * One alert per episode: once raised, a direction stays quiet until the move falls back below the re-arm
 * level (hysteresis) and the cooldown has passed, so one move does not raise a storm of alerts. A move and its
 * retracement are one episode: until the market settles (no two prices of the window a threshold apart), the
 * pullback raises no opposite alert as long as the price has not crossed back through the level the move started
 * from (a spike that gives back 30-70 % of itself falls by more than the threshold from its peak, but it is the same
 * event); crossing that level is a move of its own and alerts. That pullback is recorded once per episode as a
 * PRICE_RETRACEMENT, an update of the move's incident (ref_price the move's extreme, change_pct the pullback from it,
 * details the move and the fraction of it given back), so a consumer sees the move's outcome without a new alert.
 */
public final class PriceMoveDetector implements Serializable {
    private static final long serialVersionUID = 1L;

    private static final long[] NO_SLOTS = new long[0];
    private static final double[] NO_VALUES = new double[0];

    public record Settings(double thresholdPct, long windowMs, long resolutionMs, double rearmPct, long cooldownMs)
            implements Serializable {}

    /**
     * A monotonic deque of (slot, extreme), slots ascending: minima ascending (for spikes) or maxima descending
     * (for drops), so the front is the window's extreme.
     */
    public static final class Extremes {
        public long[] slots = NO_SLOTS;
        public double[] values = NO_VALUES;

        public Extremes() {}

        void writeTo(DataOutputView out) throws IOException {
            out.writeInt(slots.length);
            for (int i = 0; i < slots.length; i++) {
                out.writeLong(slots[i]);
                out.writeDouble(values[i]);
            }
        }

        static Extremes readFrom(DataInputView in) throws IOException {
            Extremes e = new Extremes();
            int n = in.readInt();
            if (n > 0) { // else the shared empty arrays
                e.slots = new long[n];
                e.values = new double[n];
                for (int i = 0; i < n; i++) {
                    e.slots[i] = in.readLong();
                    e.values[i] = in.readDouble();
                }
            }
            return e;
        }

        int firstLive(long oldestLive) {
            int i = 0;
            while (i < slots.length && slots[i] < oldestLive) {
                i++;
            }
            return i;
        }

        /** Drops entries before {@code from} (expired) and those {@code price} beats, then appends it. */
        void insert(int from, long slot, double price, boolean minima) {
            int keep = slots.length;
            while (keep > from && (minima ? values[keep - 1] >= price : values[keep - 1] <= price)) {
                keep--;
            }
            boolean append = !(keep > from && slots[keep - 1] == slot); // else this slot already has a better extreme
            if (from == 0 && keep == slots.length && !append) {
                return;
            }
            int n = keep - from + (append ? 1 : 0);
            long[] slotsOut = new long[n];
            double[] valuesOut = new double[n];
            System.arraycopy(slots, from, slotsOut, 0, keep - from);
            System.arraycopy(values, from, valuesOut, 0, keep - from);
            if (append) {
                slotsOut[n - 1] = slot;
                valuesOut[n - 1] = price;
            }
            slots = slotsOut;
            values = valuesOut;
        }
    }

    /** Per-instrument state: part of the instrument's one RocksDB value (InstrumentDetectorStateSerializer). */
    public static final class State {
        public Extremes minima = new Extremes();
        public Extremes maxima = new Extremes();
        public long newestSlot = Long.MIN_VALUE;
        public boolean spikeActive;
        public boolean dropActive;
        public long lastSpikeAlertTs = Long.MIN_VALUE;
        public long lastDropAlertTs = Long.MIN_VALUE;
        /** The open episode: +1 after a spike alert, -1 after a drop alert, 0 when none is open. */
        public int episode;
        /** The level the episode's move started from (the window's minimum for a spike, maximum for a drop). */
        public double episodeReference;
        /** The open episode's pullback was recorded (PRICE_RETRACEMENT): once per episode. */
        public boolean episodeRetraced;

        public State() {}

        /** Whether an alerted move is still in the window. */
        public boolean inEpisode() {
            return episode != 0;
        }

        public void writeTo(DataOutputView out) throws IOException {
            minima.writeTo(out);
            maxima.writeTo(out);
            out.writeLong(newestSlot);
            out.writeBoolean(spikeActive);
            out.writeBoolean(dropActive);
            out.writeLong(lastSpikeAlertTs);
            out.writeLong(lastDropAlertTs);
            out.writeInt(episode);
            out.writeDouble(episodeReference);
            out.writeBoolean(episodeRetraced);
        }

        /** Reads the state as detector-state format {@code format} wrote it (3: release 0.1, no episodes yet). */
        public static State readFrom(DataInputView in, int format) throws IOException {
            State p = new State();
            p.minima = Extremes.readFrom(in);
            p.maxima = Extremes.readFrom(in);
            p.newestSlot = in.readLong();
            p.spikeActive = in.readBoolean();
            p.dropActive = in.readBoolean();
            p.lastSpikeAlertTs = in.readLong();
            p.lastDropAlertTs = in.readLong();
            if (format > 3) {
                p.episode = in.readInt();
                p.episodeReference = in.readDouble();
                p.episodeRetraced = in.readBoolean();
            }
            return p;
        }
    }

    private final Settings settings;
    private final int slots;

    public PriceMoveDetector(Settings settings) {
        this.settings = settings;
        this.slots = (int) (settings.windowMs() / settings.resolutionMs());
    }

    public State newState() {
        return new State();
    }

    /** Feeds one tick (in trade order); returns the alert it raises, or null. */
    public Anomaly onTick(Tick tick, State state, long now) {
        long slot = Math.max(Math.floorDiv(tick.ts(), settings.resolutionMs()), state.newestSlot);
        double price = tick.priceValue();
        long oldestLive = slot - slots + 1;

        // The window's extremes before this tick.
        int minFrom = state.minima.firstLive(oldestLive);
        int maxFrom = state.maxima.firstLive(oldestLive);
        double min = minFrom < state.minima.slots.length ? state.minima.values[minFrom] : Double.POSITIVE_INFINITY;
        double max = maxFrom < state.maxima.slots.length ? state.maxima.values[maxFrom] : Double.NEGATIVE_INFINITY;

        // the episode is over once the market has settled: no two prices of the window a threshold apart
        if (state.episode != 0 && !((max / min - 1.0) * 100.0 >= settings.thresholdPct())) {
            state.episode = 0;
        }
        Anomaly alert = null;
        if (min != Double.POSITIVE_INFINITY) {
            double risePct = (price / min - 1.0) * 100.0;
            double fallPct = (1.0 - price / max) * 100.0;
            if (state.spikeActive && risePct < settings.rearmPct()) {
                state.spikeActive = false;
            }
            if (state.dropActive && fallPct < settings.rearmPct()) {
                state.dropActive = false;
            }
            if (risePct >= settings.thresholdPct()
                    && !state.spikeActive
                    && cooledDown(tick.ts(), state.lastSpikeAlertTs)
                    && !(state.episode < 0 && price <= state.episodeReference)) {
                state.spikeActive = true;
                state.lastSpikeAlertTs = tick.ts();
                state.episode = 1;
                state.episodeReference = min;
                state.episodeRetraced = false;
                alert = alert(AnomalyType.PRICE_SPIKE, tick, min, risePct, now).build();
            } else if (fallPct >= settings.thresholdPct()
                    && !state.dropActive
                    && cooledDown(tick.ts(), state.lastDropAlertTs)
                    && !(state.episode > 0 && price >= state.episodeReference)) {
                state.dropActive = true;
                state.lastDropAlertTs = tick.ts();
                state.episode = -1;
                state.episodeReference = max;
                state.episodeRetraced = false;
                alert = alert(AnomalyType.PRICE_DROP, tick, max, -fallPct, now).build();
            } else if (!state.episodeRetraced
                    && (state.episode > 0 ? fallPct : state.episode < 0 ? risePct : 0) >= settings.thresholdPct()) {
                // the pullback the episode keeps quiet: recorded once, as an update of the move
                state.episodeRetraced = true;
                boolean afterSpike = state.episode > 0;
                double extreme = afterSpike ? max : min;
                double retraced = (extreme - price) / (extreme - state.episodeReference);
                alert = alert(AnomalyType.PRICE_RETRACEMENT, tick, extreme, afterSpike ? -fallPct : risePct, now)
                        .detail("move", (afterSpike ? AnomalyType.PRICE_SPIKE : AnomalyType.PRICE_DROP).name())
                        .detail("move_from", Decimals.decimal(state.episodeReference))
                        .detail("extreme", Decimals.decimal(extreme))
                        .detail("retraced", Decimals.round(retraced, 4))
                        .build();
            }
        }

        state.minima.insert(minFrom, slot, price, true);
        state.maxima.insert(maxFrom, slot, price, false);
        state.newestSlot = slot;
        return alert;
    }

    private boolean cooledDown(long ts, long lastAlertTs) {
        return lastAlertTs == Long.MIN_VALUE || ts - lastAlertTs >= settings.cooldownMs();
    }

    private Anomaly.Builder alert(AnomalyType type, Tick tick, double reference, double changePct, long now) {
        return Anomaly.raisedBy(type, tick, now)
                .refPrice(Decimals.toPlainString(reference))
                .changePct(Decimals.round(changePct, 4))
                .windowMs(settings.windowMs());
    }
}
