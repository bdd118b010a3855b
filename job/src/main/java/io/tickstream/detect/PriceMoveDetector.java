package io.tickstream.detect;

import io.tickstream.model.Anomaly;
import io.tickstream.model.AnomalyType;
import io.tickstream.model.Tick;

import java.io.Serializable;

/**
 * PRICE_SPIKE / PRICE_DROP: the price moves by at least the threshold against the minimum (spike) or
 * maximum (drop) of a sliding event-time window.
 *
 * <p>The window's extremes live in a ring of fixed slots (window / resolution of them, 60 by default), each
 * holding the min and max of its slot: O(1) state per instrument whatever the trade rate, O(slots) per tick.
 * One alert per episode: once raised, a direction stays quiet until the move falls back below the re-arm
 * level (hysteresis) and the cooldown has passed, so one move does not raise a storm of alerts.
 */
public final class PriceMoveDetector implements Serializable {
    private static final long serialVersionUID = 1L;

    public record Settings(double thresholdPct, long windowMs, long resolutionMs, double rearmPct, long cooldownMs)
            implements Serializable {}

    /** Per-instrument state (a Flink POJO: public fields, no-arg constructor). */
    public static final class State {
        /** Slot number (ts / resolution) each ring position holds, or -1 when empty. */
        public long[] slotIds;
        public double[] slotMin;
        public double[] slotMax;
        public boolean spikeActive;
        public boolean dropActive;
        public long lastSpikeAlertTs = Long.MIN_VALUE;
        public long lastDropAlertTs = Long.MIN_VALUE;

        public State() {}

        State(int slots) {
            slotIds = new long[slots];
            slotMin = new double[slots];
            slotMax = new double[slots];
            java.util.Arrays.fill(slotIds, -1L);
        }
    }

    private final Settings settings;
    private final int slots;

    public PriceMoveDetector(Settings settings) {
        this.settings = settings;
        this.slots = (int) (settings.windowMs() / settings.resolutionMs());
    }

    public State newState() {
        return new State(slots);
    }

    /** Feeds one tick (in trade order); returns the alert it raises, or null. */
    public Anomaly onTick(Tick tick, State state, long now) {
        long slot = Math.floorDiv(tick.ts(), settings.resolutionMs());
        double price = tick.priceValue();

        // The window's extremes before this tick: slots within the last `slots` slot numbers.
        double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < slots; i++) {
            long id = state.slotIds[i];
            if (id >= 0 && id > slot - slots && id <= slot) {
                min = Math.min(min, state.slotMin[i]);
                max = Math.max(max, state.slotMax[i]);
            }
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
            if (risePct >= settings.thresholdPct() && !state.spikeActive
                    && cooledDown(tick.ts(), state.lastSpikeAlertTs)) {
                state.spikeActive = true;
                state.lastSpikeAlertTs = tick.ts();
                alert = alert(AnomalyType.PRICE_SPIKE, tick, min, risePct, now);
            } else if (fallPct >= settings.thresholdPct() && !state.dropActive
                    && cooledDown(tick.ts(), state.lastDropAlertTs)) {
                state.dropActive = true;
                state.lastDropAlertTs = tick.ts();
                alert = alert(AnomalyType.PRICE_DROP, tick, max, -fallPct, now);
            }
        }

        int pos = (int) Math.floorMod(slot, (long) slots);
        if (state.slotIds[pos] != slot) {
            if (state.slotIds[pos] > slot) {
                return alert; // a trade older than the window's oldest slot cannot move its extremes
            }
            state.slotIds[pos] = slot;
            state.slotMin[pos] = price;
            state.slotMax[pos] = price;
        } else {
            state.slotMin[pos] = Math.min(state.slotMin[pos], price);
            state.slotMax[pos] = Math.max(state.slotMax[pos], price);
        }
        return alert;
    }

    private boolean cooledDown(long ts, long lastAlertTs) {
        return lastAlertTs == Long.MIN_VALUE || ts - lastAlertTs >= settings.cooldownMs();
    }

    private Anomaly alert(AnomalyType type, Tick tick, double reference, double changePct, long now) {
        return new Anomaly(
                Anomaly.idFor(type, tick.exchange(), tick.symbol(), tick.tradeId(), tick.ts()),
                tick.exchange(), tick.symbol(), type, tick.ts(), tick.price(), Decimals.toPlainString(reference),
                Decimals.round(changePct, 4), settings.windowMs(), null, tick.tradeId(), tick.recvTs(), now, null);
    }
}
