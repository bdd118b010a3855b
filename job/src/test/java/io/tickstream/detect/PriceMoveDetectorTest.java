package io.tickstream.detect;

import static io.tickstream.testutils.TestTicks.T0;
import static io.tickstream.testutils.TestTicks.tick;
import static org.assertj.core.api.Assertions.assertThat;

import io.tickstream.model.Anomaly;
import io.tickstream.model.AnomalyType;
import io.tickstream.testutils.DetectorSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * The price detector on its own (a pure class fed trades and {@code now}): a move and its pullback are one episode,
 * the pullback recorded once as a PRICE_RETRACEMENT (an update of the move, not an alert of the opposite direction).
 */
class PriceMoveDetectorTest {
    private final PriceMoveDetector detector = new PriceMoveDetector(DetectorSettings.PRICE); // 1 %, 60 s window
    private final PriceMoveDetector.State state = detector.newState();
    private long seq = 1;
    private long t;

    /** Trades every 200 ms from the last price to {@code to} over {@code ms}, then held; the alerts raised. */
    private List<Anomaly> path(double from, double to, long moveMs, long holdMs) {
        List<Anomaly> alerts = new ArrayList<>();
        for (long dt = 0; dt < moveMs + holdMs; dt += 200, t += 200) {
            double p = dt < moveMs ? from + (to - from) * dt / moveMs : to;
            Anomaly a = detector.onTick(tick(seq++, T0 + t, String.format(Locale.ROOT, "%.2f", p)), state, 0L);
            if (a != null) {
                alerts.add(a);
            }
        }
        return alerts;
    }

    @Test
    void aSpikeThatGivesBackHalfOfItselfIsOneAlert() {
        assertThat(path(100, 100, 1_000, 60_000)).isEmpty();
        List<Anomaly> spike = path(100, 103, 4_000, 10_000); // +3 %
        assertThat(spike).singleElement().satisfies(a -> {
            assertThat(a.type()).isEqualTo(AnomalyType.PRICE_SPIKE);
            assertThat(a.refPrice()).isEqualTo("100");
        });
        // the pullback to 101.5 falls 1.46 % from the peak, more than the threshold: the same event, no PRICE_DROP,
        // recorded once when it passes 1 % from the peak (a third of the move given back)
        assertThat(path(103, 101.5, 30_000, 20_000)).singleElement().satisfies(a -> {
            assertThat(a.type()).isEqualTo(AnomalyType.PRICE_RETRACEMENT);
            assertThat(a.refPrice()).isEqualTo("103");
            assertThat(a.changePct()).isBetween(-1.02, -1.0);
            assertThat(a.details())
                    .startsWith("{\"move\":\"PRICE_SPIKE\",\"move_from\":100,\"extreme\":103,\"retraced\":0.34");
        });
        assertThat(state.inEpisode())
                .as("the window still holds the peak and the pullback")
                .isTrue();
        assertThat(path(101.5, 101.5, 0, 65_000)).isEmpty();
        assertThat(state.inEpisode())
                .as("the market settled: the episode is over")
                .isFalse();
    }

    @Test
    void aDropRetracingSeventyPercentIsOneAlertAndSoIsAnyLaterPullbackOfTheSameEpisode() {
        path(100, 100, 1_000, 60_000);
        assertThat(path(100, 96, 3_000, 8_000))
                .singleElement()
                .extracting(Anomaly::type)
                .isEqualTo(AnomalyType.PRICE_DROP);
        // +2.9 % from the low, still below where it started: the drop's retracement, recorded once
        assertThat(path(96, 98.8, 25_000, 5_000)).singleElement().satisfies(a -> {
            assertThat(a.type()).isEqualTo(AnomalyType.PRICE_RETRACEMENT);
            assertThat(a.refPrice()).isEqualTo("96");
            assertThat(a.changePct()).isBetween(1.0, 1.02);
            assertThat(a.details()).startsWith("{\"move\":\"PRICE_DROP\",\"move_from\":100,\"extreme\":96,");
        });
        assertThat(path(98.8, 97.5, 5_000, 5_000)).isEmpty(); // and down again: the same drop's window
    }

    @Test
    void aReversalThroughTheLevelTheMoveStartedFromIsAMoveOfItsOwn() {
        path(100, 100, 1_000, 60_000);
        assertThat(path(100, 103, 3_000, 5_000))
                .singleElement()
                .extracting(Anomaly::type)
                .isEqualTo(AnomalyType.PRICE_SPIKE);
        // back below 100 (where the spike started) and on to 98.5: a dump after the pump, alerted (after the
        // spike's retracement, recorded on the way down while the price was still above 100)
        List<Anomaly> dump = path(103, 98.5, 10_000, 5_000);
        assertThat(dump)
                .extracting(Anomaly::type)
                .containsExactly(AnomalyType.PRICE_RETRACEMENT, AnomalyType.PRICE_DROP);
        assertThat(Double.parseDouble(dump.get(0).price())).isGreaterThan(100.0);
        assertThat(Double.parseDouble(dump.get(1).price())).isLessThan(100.0);
    }

    @Test
    void aFallWhileTheMoveIsInTheWindowIsItsRetracementUnlessItCrossesTheStart() {
        path(100, 100, 1_000, 60_000);
        assertThat(path(100, 102, 2_000, 5_000)).hasSize(1);
        assertThat(path(102, 100.5, 3_000, 2_000)) // 1.47 % down from the peak, above the start
                .singleElement()
                .extracting(Anomaly::type)
                .isEqualTo(AnomalyType.PRICE_RETRACEMENT);
        assertThat(path(100.5, 99.8, 1_000, 1_000))
                .singleElement()
                .extracting(Anomaly::type)
                .isEqualTo(AnomalyType.PRICE_DROP); // through the start: a drop of its own
    }

    @Test
    void afterAPlateauAFallIsADropOfItsOwn() {
        path(100, 100, 1_000, 60_000);
        assertThat(path(100, 102, 2_000, 5_000)).hasSize(1);
        assertThat(path(102, 102, 0, 65_000)).isEmpty(); // a minute at the new level: settled
        assertThat(state.inEpisode()).isFalse();
        assertThat(path(102, 100.5, 3_000, 2_000))
                .singleElement()
                .extracting(Anomaly::type)
                .isEqualTo(AnomalyType.PRICE_DROP);
    }

    @Test
    void onceTheMoveHasLeftTheWindowTheNextSpikeIsNew() {
        path(100, 100, 1_000, 60_000);
        assertThat(path(100, 97, 2_000, 5_000)).hasSize(1);
        assertThat(path(97, 97.5, 5_000, 65_000)).isEmpty(); // settles within 1 % of the low
        assertThat(state.inEpisode()).isFalse();
        assertThat(path(97.5, 99, 3_000, 2_000))
                .singleElement()
                .extracting(Anomaly::type)
                .isEqualTo(AnomalyType.PRICE_SPIKE); // +1.5 %, below the drop's start (100): alerted all the same
    }
}
