package io.tickstream.sequence;

import static io.tickstream.testutils.TestTicks.T0;
import static io.tickstream.testutils.TestTicks.tick;
import static org.assertj.core.api.Assertions.assertThat;

import io.tickstream.detect.AnomalyDetectors;
import io.tickstream.model.Anomaly;
import io.tickstream.model.AnomalyType;
import io.tickstream.model.Tick;
import io.tickstream.testutils.DetectorSettings;
import io.tickstream.testutils.Harnesses;
import io.tickstream.testutils.Harnesses.CapturedMetrics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The sequencer as the job runs it: a keyed process function in Flink's operator test harness. */
class TradeSequencerTest {
    /** Allowed lateness (2 min) plus the out-of-orderness bound (2 s), as the job passes it. */
    static final Duration GAP_MEMORY = Duration.ofSeconds(122);

    static final Duration TTL = Duration.ofHours(6);
    static final long BOUND_MS = 2_000;

    private final List<KeyedOneInputStreamOperatorTestHarness<String, Tick, ?>> open = new ArrayList<>();
    private CapturedMetrics metrics;
    private KeyedOneInputStreamOperatorTestHarness<String, Tick, Tick> h;

    @BeforeEach
    void setUp() throws Exception {
        metrics = new CapturedMetrics();
        h = Harnesses.keyed(new TradeSequencer(GAP_MEMORY, TTL), metrics);
        open.add(h);
    }

    @AfterEach
    void closeHarnesses() throws Exception {
        for (var x : open) {
            x.close();
        }
    }

    private void in(Tick... ticks) throws Exception {
        for (Tick t : ticks) {
            h.processElement(new StreamRecord<>(t, t.ts()));
        }
    }

    private List<String> released() {
        return h.extractOutputValues().stream().map(Tick::tradeId).toList();
    }

    private List<String> late() {
        return h.getSideOutput(TradeSequencer.LATE) == null
                ? List.of()
                : h.getSideOutput(TradeSequencer.LATE).stream()
                        .map(r -> r.getValue().tradeId())
                        .toList();
    }

    private static Tick btc(long seq, long offsetMs) {
        return tick(seq, T0 + offsetMs, "100");
    }

    private static Tick coinbase(String id, long offsetMs) {
        return tick("coinbase", "BTC-USD", id, T0 + offsetMs, "100", "1");
    }

    /** Releases trade 100 so the instrument has a position in its sequence. */
    private void startAt100() throws Exception {
        in(btc(100, 0));
        h.processWatermark(T0);
        assertThat(released()).containsExactly("100");
    }

    private long checkpoints;

    /** Keyed state entries at a checkpoint, when the progress held on the heap has reached the backend. */
    private int stateEntriesAtACheckpoint() throws Exception {
        checkpoints++;
        h.snapshot(checkpoints, checkpoints);
        return h.numKeyedStateEntries();
    }

    @Test
    void firstTradeOfAnInstrumentWaitsForTheWatermark() throws Exception {
        in(btc(100, 0), btc(101, 10));
        assertThat(released()).isEmpty();
        h.processWatermark(T0 - 1);
        assertThat(released()).isEmpty();
        h.processWatermark(T0);
        assertThat(released()).containsExactly("100", "101");
    }

    @Test
    void inOrderSequentialTradesAreReleasedImmediately() throws Exception {
        startAt100();
        in(btc(101, 10));
        assertThat(released()).containsExactly("100", "101");
        in(btc(102, 20), btc(103, 20), btc(104, 5)); // trade order, even when the venue's times are not monotonic
        assertThat(released()).containsExactly("100", "101", "102", "103", "104");
        assertThat(late()).isEmpty();
        assertThat(stateEntriesAtACheckpoint())
                .as("only the progress, nothing held")
                .isEqualTo(1);
    }

    @Test
    void outOfOrderTradesAreReleasedInTradeOrderOnceTheGapFills() throws Exception {
        startAt100();
        in(btc(103, 30), btc(102, 20));
        assertThat(released()).containsExactly("100");
        assertThat(stateEntriesAtACheckpoint()).as("progress and held trades").isEqualTo(2);

        in(btc(101, 10));
        assertThat(released()).containsExactly("100", "101", "102", "103");
        assertThat(stateEntriesAtACheckpoint()).as("held trades gone").isEqualTo(1);
        assertThat(late()).isEmpty();
    }

    @Test
    void gapIsGivenUpWhenTheWatermarkPassesAHeldTrade() throws Exception {
        startAt100();
        in(btc(104, 400), btc(102, 200), btc(103, 300));
        h.processWatermark(T0 + 199);
        assertThat(released()).containsExactly("100");

        h.processWatermark(T0 + 200); // passes 102: gap 101 given up; 103 and 104 follow contiguously
        assertThat(released()).containsExactly("100", "102", "103", "104");
        assertThat(stateEntriesAtACheckpoint()).isEqualTo(1);
        assertThat(late()).isEmpty();
    }

    @Test
    void tradeArrivingAfterItsGapWasGivenUpGoesToTheLateOutput() throws Exception {
        startAt100();
        in(btc(103, 300));
        h.processWatermark(T0 + 300); // gap 101..102 given up
        assertThat(released()).containsExactly("100", "103");

        in(btc(102, 200), btc(101, 100));
        assertThat(released()).as("the detectors have moved on").containsExactly("100", "103");
        assertThat(late()).containsExactly("102", "101");
        assertThat(metrics.count("late_records")).isEqualTo(2);
        assertThat(metrics.count("duplicate_records")).isZero();

        in(btc(101, 100)); // the gap no longer holds it: a second copy is a duplicate
        assertThat(late()).containsExactly("102", "101");
        assertThat(metrics.count("duplicate_records")).isEqualTo(1);
    }

    @Test
    void aGapGivenUpBeforeARestartStillTakesItsLateTradeBeforeTheFirstWatermark() throws Exception {
        startAt100();
        in(btc(103, 300));
        h.processWatermark(T0 + 300); // gap 101..102 given up
        var snapshot = h.snapshot(1, T0 + 400);

        // After a restart the watermark is Long.MIN_VALUE until the sources emit one: the gap has not aged.
        var restored = Harnesses.restored(new TradeSequencer(GAP_MEMORY, TTL), snapshot);
        open.add(restored);
        restored.processElement(new StreamRecord<>(btc(101, 100), T0 + 100));
        assertThat(restored.getSideOutput(TradeSequencer.LATE))
                .as("late, for its candle; not a duplicate")
                .extracting(r -> r.getValue().tradeId())
                .containsExactly("101");
        assertThat(restored.extractOutputValues()).isEmpty();
    }

    @Test
    void tradeOfAGapForgottenLongAgoCountsAsDuplicate() throws Exception {
        startAt100();
        in(btc(103, 300));
        h.processWatermark(T0 + 300);
        in(btc(200, 300_000));
        h.processWatermark(T0 + 300 + GAP_MEMORY.toMillis() + 1);
        in(btc(101, 100));
        assertThat(late()).isEmpty();
        assertThat(metrics.count("duplicate_records")).isEqualTo(1);
    }

    @Test
    void duplicatesOfReleasedAndOfHeldTradesAreDroppedAndCounted() throws Exception {
        startAt100();
        in(btc(101, 10), btc(101, 10), btc(100, 0));
        assertThat(metrics.count("duplicate_records")).isEqualTo(2);

        in(btc(103, 30), btc(103, 30)); // held, then its copy
        assertThat(metrics.count("duplicate_records")).isEqualTo(3);
        in(btc(102, 20));
        assertThat(released()).containsExactly("100", "101", "102", "103");
        assertThat(late()).isEmpty();
        assertThat(metrics.count("late_records")).isZero();
    }

    @Test
    void venueRestartingItsNumberingIsNotMistakenForDuplicates() throws Exception {
        startAt100();
        in(btc(101, 10));
        in(btc(1, 5_000), btc(2, 5_010)); // newer than anything released, numbered below it
        h.processWatermark(T0 + 5_000);
        assertThat(released()).containsExactly("100", "101", "1", "2");
        assertThat(metrics.count("duplicate_records")).isZero();
    }

    @Test
    void unsequencedTradesAreReleasedInTimeThenIdOrderAtTheWatermark() throws Exception {
        String a = "0b6f7c1e-1111-4e5f-a6b7-c8d9e0f1a2b3";
        String b = "7a0e2d44-2222-4e5f-a6b7-c8d9e0f1a2b3";
        String c = "3c9d1f00-3333-4e5f-a6b7-c8d9e0f1a2b3";
        String d = "ff000000-4444-4e5f-a6b7-c8d9e0f1a2b3";
        in(coinbase(c, 200), coinbase(b, 100), coinbase(d, 500), coinbase(a, 100));
        assertThat(released()).isEmpty();

        h.processWatermark(T0 + 200);
        assertThat(released()).containsExactly(a, b, c);
        h.processWatermark(T0 + 500);
        assertThat(released()).containsExactly(a, b, c, d);
        assertThat(late()).isEmpty();
    }

    @Test
    void unsequencedDuplicatesAreDroppedAndLateOnesGoToTheLateOutput() throws Exception {
        in(coinbase("x-1", 100), coinbase("x-1", 100)); // held twice
        h.processWatermark(T0 + 100);
        in(coinbase("x-1", 100)); // released once already
        assertThat(released()).containsExactly("x-1");
        assertThat(metrics.count("duplicate_records")).isEqualTo(2);

        in(coinbase("x-0", 50)); // behind the watermark
        assertThat(released()).containsExactly("x-1");
        assertThat(late()).containsExactly("x-0");
        assertThat(metrics.count("late_records")).isEqualTo(1);
        in(coinbase("x-0", 50));
        assertThat(late()).containsExactly("x-0");
        assertThat(metrics.count("duplicate_records")).isEqualTo(3);
    }

    @Test
    void heldTradesLeaveNoStateOnceReleased() throws Exception {
        in(btc(10, 100), btc(12, 300), btc(11, 200));
        assertThat(stateEntriesAtACheckpoint()).isEqualTo(2);
        h.processWatermark(T0 + 1_000);
        assertThat(released()).containsExactly("10", "11", "12");
        assertThat(stateEntriesAtACheckpoint()).isEqualTo(1);
    }

    @Test
    void instrumentsAreSequencedIndependently() throws Exception {
        startAt100();
        Tick eth = tick("binance", "ETH-USDT", "7", T0 + 50, "3000", "1");
        in(eth, btc(101, 10));
        assertThat(released()).containsExactly("100", "101"); // ETH's first trade waits for the watermark
        h.processWatermark(T0 + 100);
        assertThat(released()).containsExactly("100", "101", "7");
    }

    // ---- shuffled within the bound == ordered ------------------------------------------------------------

    /** A BTC stream with numeric ids and a Coinbase stream with UUID-like ids, each raising several alerts. */
    static List<Tick> scenario() {
        List<Tick> ticks = new ArrayList<>();
        Random r = new Random(7);
        double price = 100;
        for (int i = 0; i < 900; i++) {
            long ts = T0 + i * 100L;
            if (i == 200) {
                price *= 1.02; // spike
            } else if (i == 500) {
                price *= 0.975; // drop
            } else {
                price *= 1 + (r.nextInt(3) - 1) * 0.0001;
            }
            // the volume burst, after the detector's warm-up: 50 trades of 200 in a 10 s bucket of 100 trades of 1
            // reach 10x on the 42nd (92 trades of geometric mean size 200^(42/92): 1034); one block trade would not
            String size = i >= 650 && i < 700 ? "200" : "1";
            ticks.add(
                    tick("binance", "BTC-USDT", Long.toString(8_000_000 + i), ts, String.format("%.2f", price), size));
        }
        double cb = 2000;
        for (int i = 0; i < 300; i++) {
            long ts = T0 + i * 300L + (i % 3 == 0 ? 0 : 17); // some equal-time pairs below via the id tiebreak
            cb = i == 150 ? cb * 1.015 : cb * (1 + (r.nextInt(3) - 1) * 0.0002);
            String id = String.format("%08x-9b3d-4e5f-a6b7-%012d", (i * 7919) % 65536, i);
            ticks.add(tick("coinbase", "ETH-USD", id, ts, String.format("%.2f", cb), "0.5"));
            if (i % 50 == 0) { // a second trade at the same millisecond
                ticks.add(tick("coinbase", "ETH-USD", "z" + id, ts, String.format("%.2f", cb), "0.5"));
            }
        }
        return ticks;
    }

    /** Trade order per instrument: sequence number, or (time, id) without one. */
    static final Comparator<Tick> TRADE_ORDER = Comparator.comparing(Tick::instrument)
            .thenComparingLong(t -> t.hasSequence() ? t.tradeSeq() : t.ts())
            .thenComparing(Tick::tradeId);

    /** Arrival order: each trade delayed by a random amount below the out-of-orderness bound. */
    static List<Tick> shuffledWithinBound(List<Tick> ticks, long seed) {
        Random r = new Random(seed);
        Map<Tick, Long> arrival = new LinkedHashMap<>();
        for (Tick t : ticks) {
            arrival.put(t, t.ts() + r.nextInt((int) BOUND_MS - 100));
        }
        List<Tick> out = new ArrayList<>(ticks);
        out.sort(Comparator.comparingLong(arrival::get));
        return out;
    }

    /** Feeds ticks with a bounded-out-of-orderness watermark (as the job's source) and flushes at the end. */
    private List<Tick> sequence(List<Tick> arrivals) throws Exception {
        long maxTs = Long.MIN_VALUE;
        int n = 0;
        for (Tick t : arrivals) {
            in(t);
            maxTs = Math.max(maxTs, t.ts());
            if (++n % 7 == 0) {
                h.processWatermark(maxTs - BOUND_MS - 1);
            }
        }
        h.processWatermark(Long.MAX_VALUE);
        return h.extractOutputValues();
    }

    private List<Anomaly> detect(List<Tick> ticks) throws Exception {
        var d = Harnesses.keyed(new AnomalyDetectors(
                DetectorSettings.PRICE, DetectorSettings.ZSCORE, DetectorSettings.VOLUME, DetectorSettings.TTL));
        open.add(d);
        for (Tick t : ticks) {
            d.processElement(new StreamRecord<>(t, t.ts()));
        }
        return d.extractOutputValues().stream()
                .map(a -> new Anomaly(
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
                        a.details()))
                .toList();
    }

    private static Map<String, List<Anomaly>> byInstrument(List<Anomaly> alerts) {
        Map<String, List<Anomaly>> out = new LinkedHashMap<>();
        for (Anomaly a : alerts) {
            out.computeIfAbsent(a.instrument(), k -> new ArrayList<>()).add(a);
        }
        return out;
    }

    private static Map<String, List<String>> idsByInstrument(List<Tick> ticks) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (Tick t : ticks) {
            out.computeIfAbsent(t.instrument(), k -> new ArrayList<>()).add(t.tradeId());
        }
        return out;
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 42})
    void shuffledWithinTheBoundGivesTheOrderedStreamsAlerts(long seed) throws Exception {
        List<Tick> ordered = new ArrayList<>(scenario());
        ordered.sort(TRADE_ORDER);
        List<Anomaly> expected = detect(ordered);
        assertThat(expected)
                .extracting(Anomaly::type)
                .as("the scenario raises alerts")
                .contains(AnomalyType.PRICE_SPIKE, AnomalyType.PRICE_DROP, AnomalyType.VOLUME_SPIKE);
        assertThat(byInstrument(expected)).containsOnlyKeys("binance:BTC-USDT", "coinbase:ETH-USD");

        List<Tick> arrivals = shuffledWithinBound(scenario(), seed);
        assertThat(arrivals).as("really shuffled").isNotEqualTo(scenario());
        List<Tick> sequenced = sequence(arrivals);

        assertThat(late()).isEmpty();
        assertThat(metrics.count("duplicate_records")).isZero();
        assertThat(idsByInstrument(sequenced)).isEqualTo(idsByInstrument(ordered));
        assertThat(stateEntriesAtACheckpoint())
                .as("nothing held after the final watermark")
                .isEqualTo(3); // progress of both instruments, released-id memory of the unsequenced one
        assertThat(byInstrument(detect(sequenced))).isEqualTo(byInstrument(expected));
        assertThat(byInstrument(detect(arrivals)))
                .as("without the sequencer the shuffle would change the alerts")
                .isNotEqualTo(byInstrument(expected));
    }
}
