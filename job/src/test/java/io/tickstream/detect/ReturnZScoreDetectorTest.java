package io.tickstream.detect;

import static io.tickstream.testutils.TestTicks.T0;
import static io.tickstream.testutils.TestTicks.tick;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.tickstream.model.Anomaly;
import io.tickstream.model.AnomalyType;
import io.tickstream.testutils.DetectorSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The return z-score detector on its own (a pure class fed trades and {@code now}); settings of the harness tests:
 * |z| >= 8, half-life 500 trades, 100 returns of warm-up, a standard deviation floor of 0.5 bp, a 10 s cooldown.
 */
class ReturnZScoreDetectorTest {
    private final ReturnZScoreDetector detector = new ReturnZScoreDetector(DetectorSettings.ZSCORE);
    private final ReturnZScoreDetector.State state = detector.newState();
    private final SplittableRandom random = new SplittableRandom(20261202L);
    private long seq = 1;
    private long t;
    private double price = 100.0;

    /** One trade every 100 ms at the given price; its alert, if any. */
    private Anomaly trade(double p) {
        price = p;
        t += 100;
        return detector.onTick(tick(seq++, T0 + t, String.format(Locale.ROOT, "%.6f", p)), state, T0 + t + 5);
    }

    /** {@code n} trades of a random walk with returns of {@code bp} basis points' standard deviation; the alerts. */
    private List<Anomaly> walk(int n, double bp) {
        List<Anomaly> alerts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Anomaly a = trade(price * Math.exp(gaussian() * bp / 10_000));
            if (a != null) {
                alerts.add(a);
            }
        }
        return alerts;
    }

    private double gaussian() {
        // Box-Muller from the seeded generator, so the walk is the same on every run
        return Math.sqrt(-2 * Math.log(1 - random.nextDouble())) * Math.cos(2 * Math.PI * random.nextDouble());
    }

    @Test
    void nothingBeforeTheWarmUpEvenForAHugeReturn() {
        assertThat(walk(98, 1)).isEmpty(); // 97 returns
        assertThat(trade(price * 1.05)).as("the 98th return, +5 %").isNull();
    }

    @Test
    void aJumpFarOutsideTheReturnsSoFarAlertsOnceWithItsZAndTheTradeBefore() {
        assertThat(walk(300, 1)).isEmpty();
        String before = String.format(Locale.ROOT, "%.6f", price);
        Anomaly alert = trade(price * 1.01); // +1 %: about a hundred standard deviations
        assertThat(alert).isNotNull();
        assertThat(alert.type()).isEqualTo(AnomalyType.RETURN_ZSCORE);
        assertThat(alert.refPrice()).isEqualTo(before);
        assertThat(alert.changePct()).isCloseTo(1.0, within(0.001));
        assertThat(alert.zscore()).isGreaterThan(8.0);
        assertThat(alert.detectedAt()).isEqualTo(T0 + t + 5);
        assertThat(trade(price * 0.99)).as("another jump inside the cooldown").isNull();
        assertThat(walk(100, 1)).as("10 s of ordinary returns after it").isEmpty();
        assertThat(trade(price * 0.985))
                .as("a jump after the cooldown")
                .isNotNull()
                .satisfies(a -> assertThat(a.zscore()).isLessThan(-8.0));
    }

    @Test
    void theStandardDeviationFloorKeepsAOneBasisPointMoveAfterFlatPricesQuiet() {
        for (int i = 0; i < 300; i++) {
            assertThat(trade(100.0)).isNull();
        }
        assertThat(state.variance).isZero();
        assertThat(trade(100.01)).as("+1 bp: z 2 against the 0.5 bp floor").isNull();
        assertThat(trade(100.01 * 1.001))
                .as("+10 bp: z about 20 against the floor")
                .isNotNull();
    }

    @Test
    void aLongCalmRandomWalkNeverAlerts() {
        // 20,000 returns of 1 bp: an 8-sigma return has a probability of about 1e-15 each
        assertThat(walk(20_000, 1)).isEmpty();
        assertThat(state.returns).isEqualTo(19_999);
    }
}
