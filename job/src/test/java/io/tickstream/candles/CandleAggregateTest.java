package io.tickstream.candles;

import static io.tickstream.testutils.TestTicks.T0;
import static io.tickstream.testutils.TestTicks.tick;
import static org.assertj.core.api.Assertions.assertThat;

import io.tickstream.model.Tick;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CandleAggregateTest {
    private final CandleAggregate agg = new CandleAggregate();

    private CandleAccumulator fold(List<Tick> ticks) {
        CandleAccumulator acc = agg.createAccumulator();
        for (Tick t : ticks) {
            acc = agg.add(CandleAggregate.ofTrade(t), acc); // as the window takes late trades
        }
        return agg.getResult(acc);
    }

    /** What a candle shows, for comparing accumulators. */
    private static List<Object> view(CandleAccumulator a) {
        return List.of(
                String.valueOf(a.open),
                String.valueOf(a.high),
                String.valueOf(a.low),
                String.valueOf(a.close),
                a.volume,
                a.trades);
    }

    private static Tick seq(long seq, long offsetMs, String price, String size) {
        return tick(seq, T0 + offsetMs, price, size);
    }

    private static Tick uuid(String id, long offsetMs, String price, String size) {
        return tick("coinbase", "BTC-USD", id, T0 + offsetMs, price, size);
    }

    /** Five trades whose trade order is 9, 10, 11, 12, 13: two pairs share a millisecond. */
    private static List<Tick> minute() {
        return List.of(
                seq(9, 1_000, "100.50", "0.1"), // open: earliest time, then lower sequence number than 10
                seq(10, 1_000, "100.40", "0.2"),
                seq(11, 30_000, "101.25", "1.00120"), // high
                seq(12, 59_000, "99.10", "3"), // low
                seq(13, 59_000, "100.00", "0.00001")); // close: same time as 12, later number
    }

    @Test
    void foldsOpenHighLowCloseVolumeAndCount() {
        CandleAccumulator c = fold(minute());

        assertThat(c.open).isEqualTo("100.50");
        assertThat(c.high).isEqualTo("101.25");
        assertThat(c.low).isEqualTo("99.10");
        assertThat(c.close).isEqualTo("100.00");
        assertThat(c.volume).isEqualTo(new BigDecimal("4.30121")); // 0.1 + 0.2 + 1.00120 + 3 + 0.00001, exactly
        assertThat(c.volume.toPlainString()).isEqualTo("4.30121");
        assertThat(c.trades).isEqualTo(5);
    }

    @Test
    void openAndCloseFollowTradeOrderWhateverTheArrivalOrder() {
        List<Object> expected = view(fold(minute()));
        List<List<Tick>> orders = new ArrayList<>();
        permutations(new ArrayList<>(minute()), 0, orders);
        assertThat(orders).hasSize(120);
        for (List<Tick> order : orders) {
            assertThat(view(fold(order)))
                    .as("arrival order %s", order.stream().map(Tick::tradeId).toList())
                    .isEqualTo(expected);
        }
    }

    @Test
    void sequenceNumbersCompareAsNumbersNotTexts() {
        // "9" sorts after "10" as text; as trades 9 comes first
        CandleAccumulator c = fold(List.of(seq(10, 0, "2", "1"), seq(9, 0, "1", "1")));
        assertThat(c.open).isEqualTo("1");
        assertThat(c.close).isEqualTo("2");
    }

    @Test
    void timeComesBeforeSequenceNumber() {
        // a venue's later number with an earlier time: time decides
        CandleAccumulator c = fold(List.of(seq(5, 100, "1", "1"), seq(6, 50, "2", "1")));
        assertThat(c.open).isEqualTo("2");
        assertThat(c.close).isEqualTo("1");
    }

    @Test
    void tradesWithoutSequenceAtTheSameTimeAreOrderedById() {
        List<Tick> ticks = new ArrayList<>(
                List.of(uuid("b2", 500, "10", "1"), uuid("a1", 500, "11", "1"), uuid("c3", 500, "12", "1")));
        for (int i = 0; i < 6; i++) {
            Collections.rotate(ticks, 1);
            if (i == 3) {
                Collections.swap(ticks, 0, 1);
            }
            CandleAccumulator c = fold(ticks);
            assertThat(c.open).isEqualTo("11");
            assertThat(c.close).isEqualTo("12");
        }
    }

    @Test
    void singleTradeIsOpenHighLowAndClose() {
        CandleAccumulator c = fold(List.of(seq(1, 0, "42.0", "0.5")));
        assertThat(view(c)).isEqualTo(List.of("42.0", "42.0", "42.0", "42.0", new BigDecimal("0.5"), 1L));
    }

    @Test
    void volumeIsAnExactDecimalSumWhereDoublesWouldDrift() {
        List<Tick> ticks = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            ticks.add(seq(i, i, "1", "0.1"));
        }
        CandleAccumulator c = fold(ticks);
        assertThat(c.volume).isEqualByComparingTo("100");
        assertThat(c.volume.toPlainString()).isEqualTo("100.0");
        assertThat(c.trades).isEqualTo(1000);
    }

    @Test
    void highAndLowKeepTheTradesOwnTexts() {
        CandleAccumulator c =
                fold(List.of(seq(1, 0, "67100.10", "1"), seq(2, 1, "67200.00", "1"), seq(3, 2, "67000.5000", "1")));
        assertThat(c.high).isEqualTo("67200.00");
        assertThat(c.low).isEqualTo("67000.5000");
    }

    @Test
    void mergeOfAnySplitEqualsOneFold() {
        List<Object> expected = view(fold(minute()));
        Random r = new Random(11);
        for (int round = 0; round < 200; round++) {
            List<Tick> shuffled = new ArrayList<>(minute());
            Collections.shuffle(shuffled, r);
            int cut = r.nextInt(shuffled.size() + 1);
            CandleAccumulator left = fold(shuffled.subList(0, cut));
            CandleAccumulator right = fold(shuffled.subList(cut, shuffled.size()));
            CandleAccumulator leftCopy = fold(shuffled.subList(0, cut));
            CandleAccumulator rightCopy = fold(shuffled.subList(cut, shuffled.size()));

            assertThat(view(agg.merge(left, right)))
                    .as("left+right, cut %d", cut)
                    .isEqualTo(expected);
            assertThat(view(agg.merge(rightCopy, leftCopy)))
                    .as("right+left, cut %d", cut)
                    .isEqualTo(expected);
        }
    }

    @Test
    void mergeWithAnEmptyAccumulatorChangesNothing() {
        List<Object> expected = view(fold(minute()));
        assertThat(view(agg.merge(fold(minute()), agg.createAccumulator()))).isEqualTo(expected);
        assertThat(view(agg.merge(agg.createAccumulator(), fold(minute())))).isEqualTo(expected);
        CandleAccumulator empty = agg.merge(agg.createAccumulator(), agg.createAccumulator());
        assertThat(empty.open).isNull();
        assertThat(empty.close).isNull();
        assertThat(empty.trades).isZero();
        assertThat(empty.volume).isEqualByComparingTo("0");
    }

    @Test
    void mergeKeepsOpenAndCloseMetadataConsistent() {
        CandleAccumulator merged = agg.merge(fold(minute().subList(2, 5)), fold(minute().subList(0, 2)));
        assertThat(merged.openTs).isEqualTo(T0 + 1_000);
        assertThat(merged.openSeq).isEqualTo(9);
        assertThat(merged.openId).isEqualTo("9");
        assertThat(merged.closeTs).isEqualTo(T0 + 59_000);
        assertThat(merged.closeSeq).isEqualTo(13);
        assertThat(merged.closeId).isEqualTo("13");
        assertThat(merged.highValue).isEqualTo(101.25);
        assertThat(merged.lowValue).isEqualTo(99.10);
    }

    private static void permutations(List<Tick> items, int k, List<List<Tick>> out) {
        if (k == items.size()) {
            out.add(new ArrayList<>(items));
            return;
        }
        for (int i = k; i < items.size(); i++) {
            Collections.swap(items, k, i);
            permutations(items, k + 1, out);
            Collections.swap(items, k, i);
        }
    }
}
