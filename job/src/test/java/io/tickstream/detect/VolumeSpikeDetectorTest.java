package io.tickstream.detect;

import static io.tickstream.testutils.TestTicks.T0;
import static io.tickstream.testutils.TestTicks.tick;
import static org.assertj.core.api.Assertions.assertThat;

import io.tickstream.model.Anomaly;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * VOLUME_SPIKE on its own (a pure class fed trades and {@code now}) at the job's default settings, on heavy-tailed
 * sizes (Pareto, tail index 1.6, seeded) at 10 trades/s: the multiple means the same whether a burst is more trades
 * or larger ones. With the window's two largest trades left out (release 0.1), 4x the trades read as about 10x.
 */
class VolumeSpikeDetectorTest {
    private static final VolumeSpikeDetector.Settings DEFAULTS =
            new VolumeSpikeDetector.Settings(2_000, 500, 10, 300_000, 0, 60_000, 30_000);

    private final VolumeSpikeDetector detector = new VolumeSpikeDetector(DEFAULTS);
    private final VolumeSpikeDetector.State state = detector.newState();
    private long seq = 1;
    private long t;

    /** {@code seconds} of trading at {@code rate} trades/s with sizes times {@code sizeFactor}; the alerts raised. */
    private int trade(Random random, int seconds, int rate, double sizeFactor) {
        int alerts = 0;
        long step = 1000 / rate;
        for (long end = t + seconds * 1000L; t < end; t += step) {
            double size = Math.pow(1 - random.nextDouble(), -1 / 1.6) * sizeFactor;
            Anomaly a =
                    detector.onTick(tick(seq++, T0 + t, "100", String.format(Locale.ROOT, "%.4f", size)), state, 0L);
            alerts += a == null ? 0 : 1;
        }
        return alerts;
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
    void fourTimesTheVolumeIsNoSpikeWhetherMoreTradesOrLargerOnes(long seed) {
        Random random = new Random(seed);
        assertThat(trade(random, 600, 10, 1)).as("ten calm minutes").isZero();
        assertThat(trade(random, 10, 40, 1)).as("4x the trades").isZero();
        assertThat(trade(random, 120, 10, 1)).isZero();
        assertThat(trade(random, 10, 10, 4)).as("4x the size").isZero();
        assertThat(trade(random, 120, 10, 1)).isZero();
        assertThat(trade(random, 10, 20, 2)).as("2x the trades, 2x the size").isZero();
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
    void twentyTimesTheVolumeIsOneSpikeWhetherMoreTradesOrLargerOnes(long seed) {
        Random random = new Random(seed);
        trade(random, 600, 10, 1);
        assertThat(trade(random, 8, 50, 4)).as("5x the trades, 4x the size").isEqualTo(1);
        trade(random, 120, 10, 1);
        assertThat(trade(random, 8, 10, 20)).as("20x the size").isEqualTo(1);
        trade(random, 120, 10, 1);
        assertThat(trade(random, 8, 100, 2)).as("10x the trades, 2x the size").isEqualTo(1);
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3})
    void aBlockTradeIsNoSpike(long seed) {
        Random random = new Random(seed);
        trade(random, 600, 10, 1);
        // 100,000 times the median size (2^(1/1.6)) among a window's 20 trades
        assertThat(detector.onTick(tick(seq++, T0 + t, "100", "100000"), state, 0L))
                .isNull();
        t += 100;
        assertThat(trade(random, 60, 10, 1)).isZero();
    }
}
