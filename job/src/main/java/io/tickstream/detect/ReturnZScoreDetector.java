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
 * RETURN_ZSCORE: the trade-to-trade log return is an outlier, |z| >= k, against an exponentially weighted
 * mean and variance of past returns (West's incremental EW variance: O(1) state). No alert before the
 * warm-up; the standard deviation has a floor so a long run of unchanged prices does not turn the next
 * one-tick move into an outlier; a cooldown keeps one burst to one alert.
 */
public final class ReturnZScoreDetector implements Serializable {
    private static final long serialVersionUID = 1L;

    public record Settings(
            double threshold, double halfLifeTrades, int warmupReturns, double minStddev, long cooldownMs)
            implements Serializable {}

    /** Per-instrument state (written by InstrumentDetectorStateSerializer). */
    public static final class State {
        public double lastPrice;
        public String lastPriceText;
        public double mean;
        public double variance;
        public long returns;
        public long lastAlertTs = Long.MIN_VALUE;

        public State() {}

        public void writeTo(DataOutputView out) throws IOException {
            out.writeDouble(lastPrice);
            StateSerializer.writeString(lastPriceText, out);
            out.writeDouble(mean);
            out.writeDouble(variance);
            out.writeLong(returns);
            out.writeLong(lastAlertTs);
        }

        /** The same layout in every detector-state format so far (3, 4). */
        public static State readFrom(DataInputView in) throws IOException {
            State z = new State();
            z.lastPrice = in.readDouble();
            z.lastPriceText = StateSerializer.readString(in);
            z.mean = in.readDouble();
            z.variance = in.readDouble();
            z.returns = in.readLong();
            z.lastAlertTs = in.readLong();
            return z;
        }
    }

    private final Settings settings;
    private final double alpha;

    public ReturnZScoreDetector(Settings settings) {
        this.settings = settings;
        this.alpha = 1.0 - Math.pow(0.5, 1.0 / settings.halfLifeTrades());
    }

    public State newState() {
        return new State();
    }

    public Anomaly onTick(Tick tick, State state, long now) {
        double price = tick.priceValue();
        Anomaly alert = null;
        if (state.lastPrice > 0) {
            double r = Math.log(price / state.lastPrice);
            if (state.returns >= settings.warmupReturns()) {
                double stddev = Math.max(Math.sqrt(state.variance), settings.minStddev());
                double z = (r - state.mean) / stddev;
                if (Math.abs(z) >= settings.threshold()
                        && (state.lastAlertTs == Long.MIN_VALUE
                                || tick.ts() - state.lastAlertTs >= settings.cooldownMs())) {
                    state.lastAlertTs = tick.ts();
                    alert = Anomaly.raisedBy(AnomalyType.RETURN_ZSCORE, tick, now)
                            .refPrice(state.lastPriceText)
                            .changePct(Decimals.round((price / state.lastPrice - 1.0) * 100.0, 4))
                            .zscore(Decimals.round(z, 3))
                            .build();
                }
            }
            double diff = r - state.mean;
            double increment = alpha * diff;
            state.mean += increment;
            state.variance = (1.0 - alpha) * (state.variance + diff * increment);
            state.returns++;
        }
        state.lastPrice = price;
        state.lastPriceText = tick.price();
        return alert;
    }
}
