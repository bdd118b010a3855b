package io.tickstream.detect;

import static io.tickstream.testutils.TestTicks.T0;
import static io.tickstream.testutils.TestTicks.tick;
import static org.assertj.core.api.Assertions.assertThat;

import io.tickstream.model.Anomaly;
import io.tickstream.model.AnomalyType;
import io.tickstream.model.Tick;
import io.tickstream.testutils.Harnesses.CapturedMetrics;
import io.tickstream.testutils.KeyedTwoInputHarness;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * CROSS_VENUE_DIVERGENCE as the job runs it: keyed by asset in Flink's operator test harness, watermark-driven, beside
 * the per-instrument alerts whose incidents a divergence joins.
 */
class CrossVenueDivergenceDetectorTest {
    /** The job's defaults (JobParameter). */
    static final CrossVenueDivergence.Settings DEFAULTS =
            new CrossVenueDivergence.Settings(0.5, 0.25, 5_000, 10_000, Map.of("USDT", "USD", "USDC", "USD"));

    static final long BOUND_MS = 2_000;
    /** The job's incident gap: the default price window. */
    static final long INCIDENT_GAP_MS = 60_000;

    private final List<KeyedTwoInputHarness<Tick, Anomaly, Anomaly>> open = new ArrayList<>();
    private final CapturedMetrics metrics = new CapturedMetrics();
    private long seqA = 1_000, seqB = 5_000;

    @AfterEach
    void closeHarnesses() throws Exception {
        for (var h : open) {
            h.close();
        }
    }

    private KeyedTwoInputHarness<Tick, Anomaly, Anomaly> harness() throws Exception {
        var h = KeyedTwoInputHarness.open(
                new CrossVenueDivergenceDetector(DEFAULTS, INCIDENT_GAP_MS, Duration.ofHours(6)),
                CrossVenueDivergenceDetector.assetKey(DEFAULTS),
                CrossVenueDivergenceDetector.alertAssetKey(DEFAULTS),
                metrics);
        open.add(h);
        return h;
    }

    private Tick a(long offsetMs, String price) {
        return tick("binance", "BTC-USDT", Long.toString(seqA++), T0 + offsetMs, price, "0.1");
    }

    private Tick b(long offsetMs, String price) {
        return tick("coinbase", "BTC-USD", Long.toString(seqB++), T0 + offsetMs, price, "0.1");
    }

    /** Both venues trade every 500 ms in [from, to): binance at {@code priceA}, coinbase 250 ms later at {@code priceB}. */
    private List<Tick> market(long fromMs, long toMs, String priceA, String priceB) {
        List<Tick> out = new ArrayList<>();
        for (long t = fromMs; t < toMs; t += 500) {
            if (priceA != null) {
                out.add(a(t, priceA));
            }
            if (priceB != null) {
                out.add(b(t + 250, priceB));
            }
        }
        return out;
    }

    /** Feeds trades in this order, the watermark trailing the newest trade time by the bound, then closes the input. */
    private static List<Anomaly> run(KeyedTwoInputHarness<Tick, Anomaly, Anomaly> h, List<Tick> trades)
            throws Exception {
        return run(h, trades, List.of(), false);
    }

    /**
     * The same, with the per-instrument detectors' alerts on the second input: all of them before the first trade
     * ({@code alertsFirst}, as if the detectors were far ahead), or each as late as the job allows — just before the
     * watermark passes its trade.
     */
    private static List<Anomaly> run(
            KeyedTwoInputHarness<Tick, Anomaly, Anomaly> h,
            List<Tick> trades,
            List<Anomaly> alerts,
            boolean alertsFirst)
            throws Exception {
        List<Anomaly> waiting = new ArrayList<>(alerts);
        waiting.sort(Comparator.comparingLong(Anomaly::ts));
        if (alertsFirst) {
            for (Anomaly a : waiting) {
                h.processElement2(a, a.ts());
            }
            waiting.clear();
        }
        long newest = Long.MIN_VALUE;
        for (Tick t : trades) {
            h.processElement1(t, t.ts());
            newest = Math.max(newest, t.ts());
            while (!waiting.isEmpty() && waiting.get(0).ts() <= newest - BOUND_MS) {
                Anomaly a = waiting.remove(0);
                h.processElement2(a, a.ts());
            }
            h.processWatermark(newest - BOUND_MS);
        }
        for (Anomaly a : waiting) {
            h.processElement2(a, a.ts());
        }
        h.processWatermark(Long.MAX_VALUE);
        return h.extractOutputValues();
    }

    @SafeVarargs
    private static List<Tick> concat(List<Tick>... parts) {
        List<Tick> out = new ArrayList<>();
        for (List<Tick> p : parts) {
            out.addAll(p);
        }
        out.sort(Comparator.comparingLong(Tick::ts));
        return out;
    }

    @Test
    void aGapHeldShorterThanTheMinimumDurationRaisesNothing() throws Exception {
        List<Anomaly> alerts = run(
                harness(),
                concat(
                        market(0, 10_000, "67000", "67010"),
                        market(10_000, 14_000, "67000", "67500"), // 0.75 % for 4 s
                        market(14_000, 30_000, "67000", "67005")));
        assertThat(alerts).isEmpty();
    }

    @Test
    void aGapHeldLongerRaisesOneAlertWithBothVenuesAndPrices() throws Exception {
        List<Anomaly> alerts = run(
                harness(),
                concat(
                        market(0, 10_000, "67000", "67010"),
                        market(10_000, 25_000, "67000", "67500"), // 0.75 % for 15 s
                        market(25_000, 40_000, "67000", "67005")));

        assertThat(alerts).hasSize(1);
        Anomaly alert = alerts.get(0);
        assertThat(alert.type()).isEqualTo(AnomalyType.CROSS_VENUE_DIVERGENCE);
        // The first trade at least 5 s after the episode began (coinbase at 10.25 s): coinbase at 15.25 s.
        assertThat(alert.ts()).isEqualTo(T0 + 15_250);
        assertThat(alert.instrument()).isEqualTo("coinbase:BTC-USD");
        assertThat(alert.price()).isEqualTo("67500");
        assertThat(alert.refPrice()).isEqualTo("67000");
        assertThat(alert.changePct()).isEqualTo(0.7463);
        assertThat(alert.windowMs()).isEqualTo(5_000L);
        assertThat(alert.id())
                .isEqualTo(Anomaly.idFor(
                        AnomalyType.CROSS_VENUE_DIVERGENCE, "coinbase", "BTC-USD", alert.tradeId(), alert.ts()));
        assertThat(alert.details())
                .isEqualTo("{\"asset\":\"BTC-USD\",\"venue_a\":\"coinbase\",\"symbol_a\":\"BTC-USD\","
                        + "\"price_a\":\"67500\",\"venue_b\":\"binance\",\"symbol_b\":\"BTC-USDT\",\"price_b\":\"67000\","
                        + "\"divergence_pct\":0.7463,\"venues\":2,\"since\":" + (T0 + 10_250) + "}");
        assertThat(metrics.count("anomalies{CROSS_VENUE_DIVERGENCE}")).isEqualTo(1);
    }

    private long seqC = 9_000;

    private Tick c(long offsetMs, String price) {
        return tick("kraken", "BTC-USD", Long.toString(seqC++), T0 + offsetMs, price, "0.1");
    }

    /**
     * Three venues, one out of line: the alert names it, with its own price against the median of the others — not the
     * venue whose trade happened to complete the divergence (kraken here, in line with coinbase: blamed before, with
     * binance's and coinbase's gap as its "change").
     */
    @ParameterizedTest(name = "binance {0}, coinbase {1}, kraken {2}")
    @CsvSource({"67670, 67000, 67300, 67150, 0.7744", "67670, 67000, 67100, 67050, 0.9247"})
    void withThreeVenuesTheAlertNamesTheVenueOutOfLineWithTheOthers(
            String binance, String coinbase, String kraken, String median, double changePct) throws Exception {
        List<Tick> trades = new ArrayList<>();
        for (long t = 0; t < 20_000; t += 500) {
            boolean diverged = t >= 5_000;
            trades.add(a(t, diverged ? binance : coinbase));
            trades.add(b(t + 150, coinbase));
            trades.add(c(t + 300, diverged ? kraken : coinbase));
        }
        List<Anomaly> alerts = run(harness(), trades);

        assertThat(alerts).singleElement().satisfies(alert -> {
            assertThat(alert.instrument()).isEqualTo("binance:BTC-USDT");
            assertThat(alert.price()).isEqualTo(binance);
            assertThat(alert.refPrice()).isEqualTo(median);
            assertThat(alert.changePct()).isEqualTo(changePct);
            assertThat(alert.tradeId()).as("binance's last trade").isNotNull();
            assertThat(alert.id())
                    .isEqualTo(Anomaly.idFor(
                            AnomalyType.CROSS_VENUE_DIVERGENCE, "binance", "BTC-USDT", alert.tradeId(), alert.ts()));
            assertThat(alert.details()).contains("\"venues\":3", "\"venue_a\":\"binance\"", "\"venue_b\":\"coinbase\"");
        });
    }

    @Test
    void aSilentVenueIsLeftOutAndRaisesNothing() throws Exception {
        List<Anomaly> alerts = run(
                harness(),
                concat(
                        market(0, 10_000, "67000", "67010"),
                        market(10_000, 60_000, "68000", null), // coinbase silent while binance moves 1.5 %
                        market(60_000, 80_000, "68000", "68010"))); // coinbase back, at the market
        assertThat(alerts).isEmpty();
    }

    @Test
    void aVenueLaggingBehindAFastMoveCatchesUpWithItsNextTradeAndRaisesNothing() throws Exception {
        List<Tick> trades = new ArrayList<>(market(0, 10_000, "67000", "67010"));
        // binance climbs 2 % over 10 s, trading every 500 ms; coinbase trades every 3 s, each at the current price.
        for (long t = 10_000; t < 20_000; t += 500) {
            trades.add(a(t, Long.toString(67000 + (t - 10_000) * 134 / 1000)));
            if ((t - 10_000) % 3_000 == 0) {
                trades.add(b(t + 100, Long.toString(67000 + (t + 100 - 10_000) * 134 / 1000)));
            }
        }
        trades.addAll(market(20_000, 30_000, "68340", "68345"));
        trades.sort(Comparator.comparingLong(Tick::ts));
        assertThat(run(harness(), trades)).isEmpty();
    }

    @Test
    void afterRecoveryASecondEpisodeRaisesASecondAlertAndWigglesAboveTheRearmLevelDoNot() throws Exception {
        List<Anomaly> alerts = run(
                harness(),
                concat(
                        market(0, 10_000, "67000", "67010"),
                        market(10_000, 20_000, "67000", "67500"), // episode 1: 0.75 %
                        market(20_000, 25_000, "67000", "67250"), // 0.37 %: above the re-arm level, same episode
                        market(25_000, 35_000, "67000", "67600"), // still episode 1
                        market(35_000, 45_000, "67000", "67020"), // recovered (0.03 %)
                        market(45_000, 60_000, "67400", "67000"))); // episode 2, the other way round
        assertThat(alerts).extracting(Anomaly::ts).containsExactly(T0 + 15_250, T0 + 50_000);
        assertThat(alerts.get(1).details())
                .contains(
                        "\"venue_a\":\"binance\"",
                        "\"price_a\":\"67400\"",
                        "\"venue_b\":\"coinbase\"",
                        "\"price_b\":\"67000\"");
    }

    @Test
    void quotesOfOneClassAreOneAssetAndOtherQuotesAreNot() throws Exception {
        var h = harness();
        List<Tick> trades = concat(
                market(0, 20_000, "67000", null), List.of(tick("kraken", "BTC-EUR", "1", T0 + 100, "62000", "0.1")));
        for (long t = 0; t < 20_000; t += 500) {
            trades.add(tick("kraken", "BTC-EUR", Long.toString(2 + t), T0 + t + 300, "62000", "0.1"));
        }
        trades.sort(Comparator.comparingLong(Tick::ts));
        assertThat(run(h, trades)).isEmpty(); // EUR is its own class: 8 % apart yet no divergence
        assertThat(DEFAULTS.assetOf("BTC-USDT"))
                .isEqualTo(DEFAULTS.assetOf("BTC-USDC"))
                .isEqualTo("BTC-USD");
        assertThat(DEFAULTS.assetOf("BTC-EUR")).isEqualTo("BTC-EUR");
    }

    @Test
    void arrivalOrderWithinTheBoundDoesNotChangeTheAlerts() throws Exception {
        List<Tick> ordered = concat(
                market(0, 10_000, "67000", "67010"),
                market(10_000, 25_000, "67000", "67500"),
                market(25_000, 40_000, "67000", "67005"),
                market(40_000, 50_000, "66500", "67000"));
        List<Tick> shuffled = new ArrayList<>(ordered);
        Random random = new Random(3);
        List<long[]> keys = new ArrayList<>();
        for (int i = 0; i < shuffled.size(); i++) {
            keys.add(new long[] {shuffled.get(i).ts() + (long) (random.nextDouble() * (BOUND_MS - 1)), i});
        }
        keys.sort(Comparator.comparingLong((long[] k) -> k[0]));
        List<Tick> arrivals = new ArrayList<>();
        for (long[] k : keys) {
            arrivals.add(ordered.get((int) k[1]));
        }
        assertThat(arrivals).isNotEqualTo(ordered);

        List<String> inOrder = run(harness(), ordered).stream().map(Anomaly::id).toList();
        List<String> outOfOrder =
                run(harness(), arrivals).stream().map(Anomaly::id).toList();
        assertThat(inOrder).hasSize(2);
        assertThat(outOfOrder).isEqualTo(inOrder);
    }

    @Test
    void stateIsOneEntryPerAssetOnceTheWatermarkPassedEveryTrade() throws Exception {
        var h = harness();
        run(h, concat(market(0, 10_000, "67000", "67010"), market(10_000, 40_000, "67000", null)));
        assertThat(h.numKeyedStateEntries()).isEqualTo(1); // the venues' quotes; nothing pending
    }

    // ---- one incident per market event ------------------------------------------------------------------------

    /** 0.75 % apart from 10 s on: coinbase's divergence is raised on its trade at 15.25 s. */
    private List<Tick> coinbaseStepsAway() {
        return concat(
                market(0, 10_000, "67000", "67010"),
                market(10_000, 25_000, "67000", "67500"),
                market(25_000, 40_000, "67000", "67005"));
    }

    /** An alert of the per-instrument detectors, on this trade, in this incident. */
    private static Anomaly alertOn(Tick trade, String incident) {
        return Anomaly.raisedBy(AnomalyType.PRICE_SPIKE, trade, 0)
                .refPrice("67000")
                .build()
                .withIncident(incident);
    }

    private Tick coinbaseAt(long offsetMs) {
        return tick("coinbase", "BTC-USD", "alerted-" + offsetMs, T0 + offsetMs, "67500", "0.1");
    }

    private Tick binanceAt(long offsetMs) {
        return tick("binance", "BTC-USDT", "alerted-" + offsetMs, T0 + offsetMs, "67000", "0.1");
    }

    /** The divergence's incident with these alerts, fed early and fed late: the same either way. */
    private String incidentOfTheDivergence(List<Anomaly> alerts) throws Exception {
        List<Tick> trades = coinbaseStepsAway();
        Anomaly early = run(harness(), trades, alerts, true).get(0);
        Anomaly late = run(harness(), trades, alerts, false).get(0);
        assertThat(late.id()).isEqualTo(early.id());
        assertThat(late.incident()).isEqualTo(early.incident());
        assertThat(early.type()).isEqualTo(AnomalyType.CROSS_VENUE_DIVERGENCE);
        assertThat(early.ts()).isEqualTo(T0 + 15_250);
        return early.incident();
    }

    @Test
    void aDivergenceJoinsTheOpenIncidentOfTheVenueItNamesOutOfLine() throws Exception {
        assertThat(incidentOfTheDivergence(List.of(alertOn(coinbaseAt(10_250), "coinbase-spike"))))
                .isEqualTo("coinbase-spike");
    }

    @Test
    void theOutOfLineVenuesIncidentIsPreferredToAMoreRecentOneOfTheOtherVenue() throws Exception {
        assertThat(incidentOfTheDivergence(List.of(
                        alertOn(coinbaseAt(10_250), "coinbase-spike"), alertOn(binanceAt(14_000), "binance-drop"))))
                .isEqualTo("coinbase-spike");
    }

    @Test
    void withoutOneOfItsOwnItJoinsTheOtherVenuesOpenIncident() throws Exception {
        assertThat(incidentOfTheDivergence(List.of(alertOn(binanceAt(9_000), "binance-drop"))))
                .isEqualTo("binance-drop");
    }

    @Test
    void anAlertAfterTheDivergencesTradeOrAGapBeforeItLeavesItAnIncidentOfItsOwn() throws Exception {
        String own = incidentOfTheDivergence(List.of(
                alertOn(coinbaseAt(15_251), "after-the-divergence"),
                alertOn(tick("coinbase", "BTC-USD", "old", T0 + 15_250 - INCIDENT_GAP_MS, "67000", "0.1"), "closed")));
        assertThat(own).isNotIn("after-the-divergence", "closed");
    }

    @Test
    void alertsOfAnotherAssetAreNotItsIncident() throws Exception {
        Anomaly ethSpike = alertOn(tick("coinbase", "ETH-USD", "1", T0 + 10_250, "3500", "0.1"), "eth-spike");
        assertThat(incidentOfTheDivergence(List.of(ethSpike))).isNotEqualTo("eth-spike");
    }
}
