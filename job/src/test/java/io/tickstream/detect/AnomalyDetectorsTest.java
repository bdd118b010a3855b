package io.tickstream.detect;

import static io.tickstream.testutils.TestTicks.T0;
import static io.tickstream.testutils.TestTicks.tick;
import static org.assertj.core.api.Assertions.assertThat;

import io.tickstream.candles.CandleAccumulator;
import io.tickstream.model.Anomaly;
import io.tickstream.model.AnomalyType;
import io.tickstream.model.Tick;
import io.tickstream.testutils.DetectorSettings;
import io.tickstream.testutils.Harnesses;
import io.tickstream.testutils.Harnesses.CapturedMetrics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The detectors as the job runs them: a keyed process function in Flink's operator test harness. */
class AnomalyDetectorsTest {
    /**
     * Round test settings in the shape of the job's defaults (JobParameter); VOLUME's window is one 10 s step
     * (a sliding window is tested on its own) and counts every trade whole (a trade cap of 1e9), so window volumes read
     * straight off the sizes fed.
     */
    static final PriceMoveDetector.Settings PRICE = DetectorSettings.PRICE;

    static final ReturnZScoreDetector.Settings ZSCORE = DetectorSettings.ZSCORE;
    static final VolumeSpikeDetector.Settings VOLUME = DetectorSettings.VOLUME;
    static final Duration TTL = DetectorSettings.TTL;

    private final List<KeyedOneInputStreamOperatorTestHarness<String, Tick, Anomaly>> open = new ArrayList<>();
    private long seq = 1_000;

    @AfterEach
    void closeHarnesses() throws Exception {
        for (var h : open) {
            h.close();
        }
    }

    private KeyedOneInputStreamOperatorTestHarness<String, Tick, Anomaly> harness(CapturedMetrics metrics)
            throws Exception {
        var h = Harnesses.keyed(new AnomalyDetectors(PRICE, ZSCORE, VOLUME, TTL), metrics);
        open.add(h);
        return h;
    }

    /** Sets the processing time, as the state's time-to-live and the operator (its heap copy of the state) count it. */
    private static void processingTime(KeyedOneInputStreamOperatorTestHarness<String, Tick, Anomaly> h, long ms)
            throws Exception {
        h.setStateTtlProcessingTime(ms);
        h.setProcessingTime(ms);
    }

    private KeyedOneInputStreamOperatorTestHarness<String, Tick, Anomaly> harness() throws Exception {
        return harness(new CapturedMetrics());
    }

    /** Feeds a BTC-USDT trade of size 1 at T0 + offset; returns the alerts it raised. */
    private List<Anomaly> feed(
            KeyedOneInputStreamOperatorTestHarness<String, Tick, Anomaly> h, long offsetMs, String price)
            throws Exception {
        return feed(h, tick(seq++, T0 + offsetMs, price));
    }

    private static List<Anomaly> feed(KeyedOneInputStreamOperatorTestHarness<String, Tick, Anomaly> h, Tick t)
            throws Exception {
        int before = h.extractOutputValues().size();
        h.processElement(new StreamRecord<>(t, t.ts()));
        List<Anomaly> all = h.extractOutputValues();
        return new ArrayList<>(all.subList(before, all.size()));
    }

    private static List<Anomaly> ofType(List<Anomaly> alerts, AnomalyType type) {
        return alerts.stream().filter(a -> a.type() == type).toList();
    }

    /** Ten seconds of trades at 100, one a second (T0 .. T0+9 s). */
    private void flatAt100(KeyedOneInputStreamOperatorTestHarness<String, Tick, Anomaly> h) throws Exception {
        for (int s = 0; s < 10; s++) {
            assertThat(feed(h, s * 1000L, "100")).isEmpty();
        }
    }

    // ---- PRICE_SPIKE / PRICE_DROP ----------------------------------------------------------------------------

    @Test
    void aPullbackIsRecordedOnceAsAnUpdateOfTheSpikesIncident() throws Exception {
        var h = harness();
        flatAt100(h);
        Anomaly spike = ofType(feed(h, 10_000, "102"), AnomalyType.PRICE_SPIKE).get(0);
        assertThat(feed(h, 11_000, "102")).isEmpty();
        // 1.18 % under the peak, above where the spike started: no PRICE_DROP, a retracement of the spike
        assertThat(feed(h, 30_000, "100.8")).singleElement().satisfies(a -> {
            assertThat(a.type()).isEqualTo(AnomalyType.PRICE_RETRACEMENT);
            assertThat(a.incidentId()).isEqualTo(spike.incidentId());
            assertThat(a.id()).isNotEqualTo(spike.id());
            assertThat(a.refPrice()).isEqualTo("102");
            assertThat(a.changePct()).isEqualTo(-1.1765);
            assertThat(a.details())
                    .isEqualTo("{\"move\":\"PRICE_SPIKE\",\"move_from\":100,\"extreme\":102,\"retraced\":0.6}");
        });
        assertThat(feed(h, 31_000, "100.5")).as("once per episode").isEmpty();
    }

    @Test
    void priceSpikeOnAOnePercentRiseOverTheWindowMinimum() throws Exception {
        CapturedMetrics metrics = new CapturedMetrics();
        var h = harness(metrics);
        flatAt100(h);

        Tick spike = tick(seq++, T0 + 10_000, "101.00");
        List<Anomaly> alerts = feed(h, spike);

        assertThat(alerts).singleElement().satisfies(a -> {
            assertThat(a.type()).isEqualTo(AnomalyType.PRICE_SPIKE);
            assertThat(a.exchange()).isEqualTo("binance");
            assertThat(a.symbol()).isEqualTo("BTC-USDT");
            assertThat(a.ts()).isEqualTo(spike.ts());
            assertThat(a.price()).isEqualTo("101.00"); // the trade's own text
            assertThat(a.refPrice()).isEqualTo("100");
            assertThat(a.changePct()).isEqualTo(1.0);
            assertThat(a.windowMs()).isEqualTo(60_000L);
            assertThat(a.zscore()).isNull();
            assertThat(a.tradeId()).isEqualTo(spike.tradeId());
            assertThat(a.recvTs()).isEqualTo(spike.recvTs());
            assertThat(a.id())
                    .isEqualTo(
                            Anomaly.idFor(AnomalyType.PRICE_SPIKE, "binance", "BTC-USDT", spike.tradeId(), spike.ts()));
        });
        assertThat(metrics.count("anomalies{PRICE_SPIKE}")).isEqualTo(1);
        assertThat(metrics.count("anomalies{PRICE_DROP}")).isZero();
    }

    @Test
    void noAlertForAMoveBelowTheThreshold() throws Exception {
        var h = harness();
        flatAt100(h);
        assertThat(feed(h, 10_000, "100.9")).isEmpty();
        assertThat(feed(h, 11_000, "100.95")).isEmpty();
        assertThat(feed(h, 12_000, "100.5")).isEmpty();
    }

    @Test
    void oneSpikeAlertPerEpisodeWhilePriceStaysHigh() throws Exception {
        var h = harness();
        flatAt100(h);
        List<Anomaly> alerts = new ArrayList<>(feed(h, 10_000, "101"));
        // 45 s more above the threshold (past the 30 s cooldown), still within the window of the 100s
        for (int s = 11; s <= 55; s++) {
            alerts.addAll(feed(h, s * 1000L, s % 2 == 0 ? "101.5" : "102"));
        }
        assertThat(ofType(alerts, AnomalyType.PRICE_SPIKE)).hasSize(1);
        assertThat(alerts).allMatch(a -> a.type() == AnomalyType.PRICE_SPIKE);
    }

    @Test
    void spikeRearmsAfterFallingBelowRearmLevelAndCooldown() throws Exception {
        var h = harness();
        flatAt100(h);
        assertThat(ofType(feed(h, 10_000, "101"), AnomalyType.PRICE_SPIKE)).hasSize(1);
        // back below the re-arm level (0.5 % over the minimum of 100) ...
        assertThat(feed(h, 15_000, "100.2")).isEmpty();
        // ... but within the cooldown: a new rise stays quiet
        assertThat(feed(h, 20_000, "101.2")).isEmpty();
        assertThat(feed(h, 39_999, "101.2")).isEmpty();
        // cooldown (30 s since the first alert) over, move still >= 1 %: the new episode alerts once
        List<Anomaly> second = feed(h, 40_000, "101.3");
        assertThat(second).singleElement().satisfies(a -> {
            assertThat(a.type()).isEqualTo(AnomalyType.PRICE_SPIKE);
            assertThat(a.refPrice()).isEqualTo("100");
            assertThat(a.changePct()).isEqualTo(1.3);
        });
        assertThat(feed(h, 41_000, "101.4")).isEmpty();
    }

    @Test
    void spikeDoesNotRearmWithoutFallingBelowRearmLevel() throws Exception {
        var h = harness();
        flatAt100(h);
        assertThat(feed(h, 10_000, "101")).hasSize(1);
        // dips to 0.6 % above the minimum: under the threshold but above the re-arm level
        assertThat(feed(h, 15_000, "100.6")).isEmpty();
        assertThat(feed(h, 45_000, "101.5")).isEmpty();
    }

    @Test
    void priceDropIsSymmetric() throws Exception {
        CapturedMetrics metrics = new CapturedMetrics();
        var h = harness(metrics);
        flatAt100(h);

        List<Anomaly> first = feed(h, 10_000, "99");
        assertThat(first).singleElement().satisfies(a -> {
            assertThat(a.type()).isEqualTo(AnomalyType.PRICE_DROP);
            assertThat(a.price()).isEqualTo("99");
            assertThat(a.refPrice()).isEqualTo("100");
            assertThat(a.changePct()).isEqualTo(-1.0);
            assertThat(a.windowMs()).isEqualTo(60_000L);
        });
        // no storm while it stays low
        for (int s = 11; s <= 30; s++) {
            assertThat(feed(h, s * 1000L, s % 2 == 0 ? "99" : "99.05")).isEmpty();
        }
        // back within the re-arm band (0.4 % under the maximum), then after the cooldown down again: a second drop
        assertThat(feed(h, 31_000, "99.6")).isEmpty();
        assertThat(feed(h, 40_000, "98.9"))
                .singleElement()
                .extracting(Anomaly::type)
                .isEqualTo(AnomalyType.PRICE_DROP);
        assertThat(metrics.count("anomalies{PRICE_DROP}")).isEqualTo(2);
        assertThat(metrics.count("anomalies{PRICE_SPIKE}")).isZero();
    }

    @Test
    void noDropForAMoveBelowTheThreshold() throws Exception {
        var h = harness();
        flatAt100(h);
        assertThat(feed(h, 10_000, "99.01")).isEmpty();
    }

    @Test
    void lowStillInsideTheWindowCounts() throws Exception {
        var h = harness();
        assertThat(feed(h, 0, "99")).isEmpty();
        for (int s = 1; s < 59; s++) {
            assertThat(feed(h, s * 1000L, "99.8")).isEmpty();
        }
        // 59.999 s after the low: still in the 60 s window, 1.01 % above it
        assertThat(feed(h, 59_999, "100")).singleElement().satisfies(a -> {
            assertThat(a.type()).isEqualTo(AnomalyType.PRICE_SPIKE);
            assertThat(a.refPrice()).isEqualTo("99");
        });
    }

    @Test
    void lowOlderThanTheWindowNoLongerCounts() throws Exception {
        var h = harness();
        assertThat(feed(h, 0, "99")).isEmpty();
        for (int s = 1; s < 60; s++) {
            assertThat(feed(h, s * 1000L, "99.8")).isEmpty();
        }
        // 60 s after the low: the window's minimum is now 99.8, and 100 is only 0.2 % above it
        assertThat(feed(h, 60_000, "100")).isEmpty();
        assertThat(feed(h, 61_000, "100.5")).isEmpty();
    }

    @Test
    void windowSlidesAcrossALongQuietGap() throws Exception {
        var h = harness();
        flatAt100(h);
        // ten minutes later: the old trades are out of the ring; nothing to compare with, no alert
        assertThat(feed(h, 600_000, "150")).isEmpty();
        assertThat(feed(h, 601_000, "151")).isEmpty();
    }

    // ---- RETURN_ZSCORE ---------------------------------------------------------------------------------------

    /** {@code returns} trade-to-trade returns of about +-1 bp (1 + returns trades, 100 ms apart). */
    private long quietReturns(KeyedOneInputStreamOperatorTestHarness<String, Tick, Anomaly> h, int returns)
            throws Exception {
        long t = 0;
        for (int i = 0; i <= returns; i++, t += 100) {
            assertThat(feed(h, t, i % 2 == 0 ? "100" : "100.01")).isEmpty();
        }
        return t;
    }

    @Test
    void returnZScoreOnAHugeJumpAfterWarmup() throws Exception {
        CapturedMetrics metrics = new CapturedMetrics();
        var h = harness(metrics);
        long t = quietReturns(h, 100); // exactly the warm-up: 100 returns seen

        Tick jump = tick(seq++, T0 + t, "100.5");
        List<Anomaly> z = ofType(feed(h, jump), AnomalyType.RETURN_ZSCORE);

        assertThat(z).singleElement().satisfies(a -> {
            assertThat(a.zscore()).isGreaterThan(8.0);
            assertThat(a.price()).isEqualTo("100.5");
            assertThat(a.refPrice()).isEqualTo("100"); // the previous trade's text
            assertThat(a.changePct()).isEqualTo(0.5);
            assertThat(a.windowMs()).isNull();
            assertThat(a.tradeId()).isEqualTo(jump.tradeId());
            assertThat(a.id())
                    .isEqualTo(
                            Anomaly.idFor(AnomalyType.RETURN_ZSCORE, "binance", "BTC-USDT", jump.tradeId(), jump.ts()));
        });
        assertThat(metrics.count("anomalies{RETURN_ZSCORE}")).isEqualTo(1);
    }

    @Test
    void returnZScoreNegativeForAHugeFall() throws Exception {
        var h = harness();
        long t = quietReturns(h, 150);
        assertThat(ofType(feed(h, t, "99.5"), AnomalyType.RETURN_ZSCORE))
                .singleElement()
                .satisfies(a -> assertThat(a.zscore()).isLessThan(-8.0));
    }

    @Test
    void noReturnZScoreDuringWarmup() throws Exception {
        var h = harness();
        long t = quietReturns(h, 99); // the jump would be the 100th return: still warming up
        assertThat(ofType(feed(h, t, "100.5"), AnomalyType.RETURN_ZSCORE)).isEmpty();
    }

    @Test
    void returnZScoreCooldownKeepsABurstToOneAlert() throws Exception {
        var h = harness();
        long t = quietReturns(h, 120);
        List<Anomaly> alerts = new ArrayList<>(feed(h, t, "100.5"));
        alerts.addAll(feed(h, t + 100, "100"));
        alerts.addAll(feed(h, t + 200, "100.5"));
        assertThat(ofType(alerts, AnomalyType.RETURN_ZSCORE)).hasSize(1);
    }

    @Test
    void smallMovesAfterAFlatRunAreNotOutliersThanksToTheStddevFloor() throws Exception {
        var h = harness();
        long t = 0;
        for (int i = 0; i <= 200; i++, t += 100) {
            assertThat(feed(h, t, "100")).isEmpty();
        }
        // one tick of 0.01 (1 bp): z = 1e-4 / 5e-5 = 2 with the floor, not an outlier
        assertThat(feed(h, t, "100.01")).isEmpty();
    }

    // ---- VOLUME_SPIKE ----------------------------------------------------------------------------------------

    /** One trade of size 1 per second from T0 for {@code buckets} 10-second buckets. */
    private long steadyVolume(
            KeyedOneInputStreamOperatorTestHarness<String, Tick, Anomaly> h, int buckets, String price)
            throws Exception {
        long t = 0;
        for (; t < buckets * 10_000L; t += 1000) {
            assertThat(feed(h, tick(seq++, T0 + t, price, "1"))).isEmpty();
        }
        return t;
    }

    @Test
    void volumeSpikeWhenAWindowReachesTenTimesTheAverageAndTheMinimumNotional() throws Exception {
        CapturedMetrics metrics = new CapturedMetrics();
        var h = harness(metrics);
        long t = steadyVolume(h, 8, "100"); // average 10 per bucket: 10 trades of 1

        assertThat(feed(h, tick(seq++, T0 + t, "100", "40"))).isEmpty(); // 4x
        // the bucket now holds 2 trades of geometric mean size 60 (sqrt(40 x 90)): 120 = 12x, notional 13 000
        Tick big = tick(seq++, T0 + t + 1000, "100", "90");
        List<Anomaly> alerts = feed(h, big);

        assertThat(alerts).singleElement().satisfies(a -> {
            assertThat(a.type()).isEqualTo(AnomalyType.VOLUME_SPIKE);
            assertThat(a.ts()).isEqualTo(big.ts());
            assertThat(a.price()).isEqualTo("100");
            assertThat(a.refPrice()).isNull();
            assertThat(a.windowMs()).isEqualTo(10_000L);
            assertThat(a.changePct()).isEqualTo(1100.0); // 12x the average is +1100 %
            assertThat(a.details())
                    .contains("\"window_start\":" + (T0 + t))
                    .contains("\"window_volume\":130.0")
                    .contains("\"window_trades\":2")
                    .contains("\"typical_trade_size\":60.0")
                    .contains("\"typical_volume\":120.0")
                    .contains("\"average_volume\":10.0")
                    .contains("\"ratio\":12.0");
        });
        // once per episode
        assertThat(feed(h, tick(seq++, T0 + t + 2000, "100", "100"))).isEmpty();
        assertThat(metrics.count("anomalies{VOLUME_SPIKE}")).isEqualTo(1);
    }

    @Test
    void oneVolumeAlertPerBurstEvenWithAnEmptyBucketInsideIt() throws Exception {
        var h = harness();
        long t = steadyVolume(h, 8, "100"); // average 10 per bucket
        assertThat(feed(h, tick(seq++, T0 + t, "100", "110"))).hasSize(1);
        // the next bucket is empty (that ends the episode), the one after is 20x: still within the 30 s cooldown
        assertThat(feed(h, tick(seq++, T0 + t + 20_000, "100", "200"))).isEmpty();
        // 40 s after the first alert, past an empty bucket: a new burst alerts again
        assertThat(feed(h, tick(seq++, T0 + t + 40_000, "100", "400")))
                .singleElement()
                .extracting(Anomaly::type)
                .isEqualTo(AnomalyType.VOLUME_SPIKE);
    }

    @Test
    void aBlockTradeAmongOrdinaryOnesIsNoBurstButTenTimesTheTradesIs() throws Exception {
        var h = harness();
        long t = steadyVolume(h, 8, "100"); // 10 trades of 1 per bucket: average 10
        for (int i = 0; i < 9; i++) {
            assertThat(feed(h, tick(seq++, T0 + t + i, "100", "1"))).isEmpty();
        }
        // a block trade of 500 among 9 of 1: 10 trades of geometric mean size 500^(1/10) = 1.86, 18.6 (509 summed)
        assertThat(feed(h, tick(seq++, T0 + t + 9, "100", "500"))).isEmpty();
        // the next bucket: ten times the trades, each ordinary, is a burst (the average is now (8 x 10 + 18.6) / 9)
        t += 10_000;
        for (int i = 0; i < 109; i++) {
            assertThat(feed(h, tick(seq++, T0 + t + i, "100", "1"))).isEmpty();
        }
        assertThat(feed(h, tick(seq++, T0 + t + 109, "100", "1")))
                .singleElement()
                .satisfies(a -> assertThat(a.details())
                        .contains("\"window_volume\":110.0")
                        .contains("\"window_trades\":110")
                        .contains("\"typical_trade_size\":1.0")
                        .contains("\"average_volume\":10.95738396"));
    }

    @Test
    void aYoungVolumeAverageIsThePlainMeanOfTheWindowsSoFar() throws Exception {
        var settings = new VolumeSpikeDetector.Settings(10_000, 10_000, 10, 300_000, 0, 60_000, 30_000);
        var h = Harnesses.keyed(new AnomalyDetectors(PRICE, ZSCORE, settings, TTL), new CapturedMetrics());
        assertThat(feed(h, tick(seq++, T0, "100", "1"))).isEmpty(); // a thin first bucket: volume 1
        long t = 10_000;
        for (; t < 70_000; t += 1000) { // then six buckets of 10
            assertThat(feed(h, tick(seq++, T0 + t, "100", "1"))).isEmpty();
        }
        // mean (1 + 6 x 10) / 7 = 8.71; an EWMA started at 1 would be 2.16 and call 60 a 28x spike (60 and 40 are
        // 2 trades of geometric mean size 49: 98, 11.2x)
        assertThat(feed(h, tick(seq++, T0 + t, "100", "60"))).isEmpty();
        assertThat(feed(h, tick(seq++, T0 + t + 1000, "100", "40")))
                .singleElement()
                .satisfies(a -> assertThat(a.details()).contains("\"average_volume\":8.71428571"));
    }

    /** The job's default shape: a 2 s window sliding by 500 ms. */
    private static final VolumeSpikeDetector.Settings SLIDING =
            new VolumeSpikeDetector.Settings(2_000, 500, 10, 300_000, 10_000, 60_000, 30_000);

    /** Four trades of 1 per second (two per step, at +0 and +250 ms) for {@code seconds}, price 200. */
    private long steadyTrades(KeyedOneInputStreamOperatorTestHarness<String, Tick, Anomaly> h, int seconds)
            throws Exception {
        long t = 0;
        for (; t < seconds * 1000L; t += 250) {
            assertThat(feed(h, tick(seq++, T0 + t, "200", "1"))).isEmpty();
        }
        return t;
    }

    @Test
    void aBurstAcrossAFixedBucketEdgeIsSeenWholeByTheSlidingWindow() throws Exception {
        var h = Harnesses.keyed(new AnomalyDetectors(PRICE, ZSCORE, SLIDING, TTL), new CapturedMetrics());
        long t = steadyTrades(h, 90); // 8 trades of 1 per window: an average just below 8
        // Ten trades of 15 in one second across a 2 s edge (T0 + t is a multiple of 2 s). Fixed 2 s buckets
        // would hold 8 of 1 and 5 of 15, then 5 of 15: 13 x 15^(5/13) = 36.8 and 75, neither 10x. The sliding window
        // sees the burst whole, and alerts on its tenth trade: 6 of 1 and 10 of 15, 16 x 15^(10/16) = 86.9 (the
        // ninth: 15 x 15^(9/15) = 76.2).
        for (long dt = -500; dt < 400; dt += 100) {
            assertThat(feed(h, tick(seq++, T0 + t + dt, "200", "15"))).isEmpty();
        }
        Tick tenth = tick(seq++, T0 + t + 400, "200", "15");
        assertThat(feed(h, tenth)).singleElement().satisfies(a -> {
            assertThat(a.type()).isEqualTo(AnomalyType.VOLUME_SPIKE);
            assertThat(a.ts()).isEqualTo(tenth.ts());
            assertThat(a.windowMs()).isEqualTo(2_000L);
            // steps t-1500 ... t: 6 trades of 1 and 10 of 15
            assertThat(a.details())
                    .contains("\"window_start\":" + (T0 + t - 1500))
                    .contains("\"window_volume\":156.0")
                    .contains("\"window_trades\":16")
                    .contains("\"typical_volume\":86.9314692");
        });
    }

    @Test
    void twoBlockTradesInDifferentStepsOfOneWindowAreNoBurst() throws Exception {
        var h = Harnesses.keyed(new AnomalyDetectors(PRICE, ZSCORE, SLIDING, TTL), new CapturedMetrics());
        long t = steadyTrades(h, 90); // 8 trades of 1 a window: an average just below 8
        // 4 trades of 1, 500 and 400 in the window at t + 600: 904 summed (113x), but 6 trades of geometric mean
        // size (500 x 400)^(1/6) = 7.65, 45.9 (5.7x): two block trades are not a burst of trading
        assertThat(feed(h, tick(seq++, T0 + t, "200", "500"))).isEmpty();
        assertThat(feed(h, tick(seq++, T0 + t + 600, "200", "400"))).isEmpty();
    }

    @Test
    void aWindowSettingChangedSinceARestoreKeepsTheAverageScaledToTheNewWindow() {
        var detector = new VolumeSpikeDetector(SLIDING);
        VolumeSpikeDetector.State state = new VolumeSpikeDetector(VOLUME).newState(); // one 10 s step, none left out
        state.average = 1_000;
        state.steps = 500;
        state.stepStart = T0;
        assertThat(detector.onTick(tick(seq++, T0 + 500, "100", "1"), state, 0)).isNull();
        assertThat(state.volume).hasSize(4);
        assertThat(state.trades).hasSize(4);
        assertThat(state.logSizes).hasSize(4);
        // release 0.1's savepoints hold 2 s windows where 0.2 has 4 s ones: the baseline stays warm, per window length
        assertThat(state.steps).as("still warm").isEqualTo(500);
        assertThat(state.average)
                .as("the average of a 1-step window, for a 4-step one")
                .isEqualTo(4_000);
    }

    @Test
    void aBurstJustUnderTheMultipleBarelyRaisesItsOwnBaseline() throws Exception {
        var h = harness();
        long t = steadyVolume(h, 8, "100"); // average 10 per window, still a plain mean
        assertThat(feed(h, tick(seq++, T0 + t, "100", "90"))).isEmpty(); // 9x: no alert
        // The 90 window counts into the average as 3 x 10 = 30 only: (8 x 10 + 30) / 9 = 12.2, so 130 is 10.6x.
        // Uncapped it would count 90, (8 x 10 + 90) / 9 = 18.9, and 130 would be 6.9x. (One trade a window: its
        // typical volume is its size.)
        assertThat(feed(h, tick(seq++, T0 + t + 10_000, "100", "130")))
                .singleElement()
                .satisfies(a -> assertThat(a.details())
                        .contains("\"typical_volume\":130.0")
                        .contains("\"average_volume\":12.22222222"));
    }

    @Test
    void noVolumeSpikeBelowTheMinimumNotional() throws Exception {
        var h = harness();
        long t = steadyVolume(h, 8, "1"); // price 1: ten times the volume is still only 150 in value
        assertThat(feed(h, tick(seq++, T0 + t, "1", "150"))).isEmpty();
    }

    @Test
    void noVolumeSpikeDuringWarmup() throws Exception {
        var h = harness();
        long t = steadyVolume(h, 5, "100"); // 5 buckets closed, warm-up is 6
        assertThat(feed(h, tick(seq++, T0 + t, "100", "500"))).isEmpty();
    }

    @Test
    void volumeSpikeRightAfterWarmup() throws Exception {
        var h = harness();
        long t = steadyVolume(h, 6, "100");
        assertThat(feed(h, tick(seq++, T0 + t, "100", "500")))
                .singleElement()
                .extracting(Anomaly::type)
                .isEqualTo(AnomalyType.VOLUME_SPIKE);
    }

    // ---- determinism, keys, state expiry ---------------------------------------------------------------------

    /** A scenario raising every type of alert. */
    private List<Tick> everyKindOfAlert() {
        List<Tick> ticks = new ArrayList<>();
        long s = 5_000;
        long t = 0;
        for (int i = 0; i <= 120; i++, t += 700) {
            // a 0.5 % jump is a z-score outlier, not a price move
            ticks.add(tick(s++, T0 + t, i == 105 ? "100.5" : i % 2 == 0 ? "100" : "100.01", "1"));
        }
        // spike and volume at once (its z-score outlier is the spike again: not an alert of its own)
        t += 700;
        for (int i = 0; i < 50; i++, t += 700) {
            ticks.add(tick(s++, T0 + t, "101.5", "1"));
        }
        ticks.add(tick(s++, T0 + t, "101.5", "400"));
        t += 700;
        for (int i = 0; i < 50; i++, t += 700) {
            ticks.add(tick(s++, T0 + t, "101.5", "1"));
        }
        ticks.add(tick(s++, T0 + t, "99.8", "1")); // drop, through the level the spike started from
        return ticks;
    }

    private static Anomaly withoutWallClock(Anomaly a) {
        return new Anomaly(
                a.id(),
                a.exchange(),
                a.symbol(),
                a.type(),
                a.ts(),
                a.price(),
                a.refPrice(),
                a.changePct(),
                a.windowMs(),
                a.zscore(),
                a.tradeId(),
                a.recvTs(),
                0L,
                a.details(),
                a.incidentId());
    }

    private List<Anomaly> run(List<Tick> ticks) throws Exception {
        var h = harness();
        for (Tick t : ticks) {
            feed(h, t);
        }
        return h.extractOutputValues().stream()
                .map(AnomalyDetectorsTest::withoutWallClock)
                .toList();
    }

    @Test
    void sameInputGivesTheSameAlertsWithTheSameIds() throws Exception {
        List<Anomaly> first = run(everyKindOfAlert());
        List<Anomaly> second = run(everyKindOfAlert());

        assertThat(first)
                .extracting(Anomaly::type)
                .containsExactly(
                        AnomalyType.RETURN_ZSCORE,
                        AnomalyType.PRICE_SPIKE,
                        AnomalyType.VOLUME_SPIKE,
                        AnomalyType.PRICE_DROP);
        // each less than the price window after the one before: one incident, named after its first alert
        assertThat(first)
                .extracting(Anomaly::incidentId)
                .containsOnly(first.get(0).id());
        assertThat(second).isEqualTo(first);
        assertThat(first).extracting(Anomaly::id).doesNotHaveDuplicates();
        assertThat(first)
                .allSatisfy(a -> assertThat(a.id())
                        .isEqualTo(Anomaly.idFor(a.type(), a.exchange(), a.symbol(), a.tradeId(), a.ts())));
    }

    @Test
    void instrumentsKeepSeparateStateAndASilentOneDoesNotAffectAnother() throws Exception {
        List<Anomaly> alone = run(everyKindOfAlert());

        // ETH on kraken trades far away in price at first, then goes silent while BTC raises its alerts
        List<Tick> mixed = new ArrayList<>();
        List<Tick> btc = everyKindOfAlert();
        for (int i = 0; i < btc.size(); i++) {
            if (i < 30) {
                mixed.add(tick(
                        "kraken",
                        "ETH-EUR",
                        Integer.toString(900 + i),
                        btc.get(i).ts(),
                        i % 2 == 0 ? "3000" : "2000",
                        "500"));
            }
            mixed.add(btc.get(i));
        }
        List<Anomaly> together = run(mixed);

        List<Anomaly> btcAlerts =
                together.stream().filter(a -> a.symbol().equals("BTC-USDT")).toList();
        assertThat(btcAlerts).isEqualTo(alone);
        // and ETH's own wild swings were judged against ETH only (its swings back up to 3000 are the first drop's
        // retracement: they never cross the level the drop started from, so they are that episode, not spikes)
        assertThat(together)
                .filteredOn(a -> a.symbol().equals("ETH-EUR"))
                .allMatch(a -> a.exchange().equals("kraken"))
                .extracting(Anomaly::type)
                .contains(AnomalyType.PRICE_DROP)
                .doesNotContain(AnomalyType.PRICE_SPIKE);
    }

    @Test
    void stateExpiresAfterTheTtlOfSilenceAndTheDetectorStartsFresh() throws Exception {
        var h = harness();
        processingTime(h, 0);
        flatAt100(h);
        h.snapshot(1, 1); // a checkpoint: the state held on the heap reaches the backend
        assertThat(h.numKeyedStateEntries()).isEqualTo(1); // the three detectors' state, as one value

        processingTime(h, TTL.toMillis() + 1);
        // the window of 100s is forgotten: 101 is the first price of a new window, not a 1 % spike
        assertThat(feed(h, 10_000, "101")).isEmpty();
        assertThat(feed(h, 11_000, "101")).isEmpty();
    }

    @Test
    void stateDoesNotExpireBeforeTheTtl() throws Exception {
        var h = harness();
        processingTime(h, 0);
        flatAt100(h);
        processingTime(h, TTL.toMillis() - 1);
        assertThat(feed(h, 10_000, "101")).hasSize(1);
    }

    @Test
    void everyTradeRefreshesTheTtl() throws Exception {
        var h = harness();
        processingTime(h, 0);
        flatAt100(h);
        processingTime(h, TTL.toMillis() / 2);
        assertThat(feed(h, 10_000, "100")).isEmpty();
        processingTime(h, TTL.toMillis() + TTL.toMillis() / 4); // > TTL since the start, < TTL since the last
        assertThat(feed(h, 11_000, "101"))
                .singleElement()
                .extracting(Anomaly::type)
                .isEqualTo(AnomalyType.PRICE_SPIKE);
    }

    // ---- quotes for the cross-venue detector ------------------------------------------------------------------

    private static List<Tick> quotes(KeyedOneInputStreamOperatorTestHarness<String, Tick, Anomaly> h) {
        var quotes = h.getSideOutput(AnomalyDetectors.QUOTES);
        return quotes == null
                ? List.of()
                : quotes.stream().map(StreamRecord::getValue).toList();
    }

    private static List<CandleAccumulator> candleParts(
            KeyedOneInputStreamOperatorTestHarness<String, Tick, Anomaly> h) {
        var parts = h.getSideOutput(AnomalyDetectors.CANDLE_PARTS);
        return parts == null
                ? List.of()
                : parts.stream().map(StreamRecord::getValue).toList();
    }

    @Test
    void eachIntervalLeavesAsItsLastTradeAndPartialCandleWhenTheNextIntervalStarts() throws Exception {
        var h = harness();
        Tick first = tick(1, T0 + 10, "100", "2");
        Tick last = tick(2, T0 + 90, "100.5", "0.5");
        Tick next = tick(3, T0 + 150, "101");
        feed(h, first);
        feed(h, last);
        assertThat(quotes(h)).isEmpty();
        assertThat(candleParts(h)).isEmpty();

        feed(h, next);
        assertThat(quotes(h)).containsExactly(last);
        CandleAccumulator part = candleParts(h).get(0);
        assertThat(candleParts(h)).hasSize(1);
        assertThat(List.of(part.instrument, part.open, part.high, part.low, part.close, part.volume.toPlainString()))
                .containsExactly(first.instrument(), "100", "100.5", "100", "100.5", "2.5");
        assertThat(part.trades).isEqualTo(2);
    }

    @Test
    void aQuietInstrumentsQuoteLeavesWhenTheWatermarkPassesItsInterval() throws Exception {
        var h = harness();
        Tick only = tick(1, T0 + 120, "100");
        feed(h, only);
        h.processWatermark(T0 + 198);
        assertThat(quotes(h)).isEmpty();

        h.processWatermark(T0 + 199);
        assertThat(quotes(h)).containsExactly(only);
        assertThat(candleParts(h)).singleElement().extracting(p -> p.trades).isEqualTo(1L);
        assertThat(quotes(h).get(0).instrument()).isSameAs(only.instrument());
        h.processWatermark(T0 + 10_000);
        assertThat(quotes(h)).hasSize(1); // sent once
    }

    @Test
    void theQuotePendingAtACheckpointIsRestored() throws Exception {
        var h = harness();
        Tick pending = tick(1, T0 + 20, "100");
        feed(h, pending);
        var snapshot = h.snapshot(1, 1);

        var restored = Harnesses.restored(new AnomalyDetectors(PRICE, ZSCORE, VOLUME, TTL), snapshot);
        open.add(restored);
        feed(restored, tick(2, T0 + 250, "100"));
        assertThat(quotes(restored)).containsExactly(pending);
    }
}
