package io.tickstream.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.tickstream.TickStreamJob;
import io.tickstream.config.JobConfig;
import io.tickstream.eval.Evaluation;
import io.tickstream.model.Anomaly;
import io.tickstream.model.AnomalyType;
import io.tickstream.model.BadRecord;
import io.tickstream.model.Candle;
import io.tickstream.model.Tick;
import io.tickstream.source.BadTickException;
import io.tickstream.source.ParseResult;
import io.tickstream.source.TickParser;
import io.tickstream.source.TickSource;
import io.tickstream.testutils.CollectingSink;
import io.tickstream.testutils.MarketScenario;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The real job graph on a MiniCluster (parallelism 2, RocksDB state), fed through the real parser: the
 * same trades in order and shuffled within the out-of-orderness bound must give identical alerts and
 * candles, the injected anomalies must be found, and bad records must reach the dead-letter sink.
 */
class TickStreamPipelineTest {
    private static final int PARALLELISM = 2;

    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER =
            new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(1)
                    .setNumberSlotsPerTaskManager(PARALLELISM)
                    .build());

    private static final long NOW = System.currentTimeMillis();
    private static final MarketScenario MARKET = new MarketScenario(
            List.of("AAA-USD", "BBB-USDT", "CCC-USD", "DDD-EUR", "EEE-USD"), 3, 1200, NOW - 30 * 60_000L, 150, 42);

    /**
     * @param anomaliesOnTopic what the instruments' detectors' writer sent to the topic
     * @param divergencesOnTopic what the cross-venue divergences' writer sent to the topic
     */
    record Results(
            List<Anomaly> anomalies,
            List<Anomaly> anomaliesOnTopic,
            List<Anomaly> divergencesOnTopic,
            List<Candle> candles,
            List<Tick> rows,
            List<BadRecord> deadLetters) {}

    @Test
    void shuffledWithinTheBoundGivesTheSameAlertsAndCandlesAsInOrder() throws Exception {
        JobConfig config = PipelineTestSupport.config();
        Results ordered = run(config, MARKET.trades, List.of());
        Results shuffled = run(config, MARKET.shuffledWithin(config.outOfOrderness.toMillis(), 7), List.of());

        assertThat(MARKET.shuffledWithin(config.outOfOrderness.toMillis(), 7)).isNotEqualTo(MARKET.trades);
        assertThat(Evaluation.comparable(shuffled.anomalies())).isEqualTo(Evaluation.comparable(ordered.anomalies()));
        assertThat(sortedCandles(shuffled.candles())).isEqualTo(sortedCandles(ordered.candles()));
    }

    @Test
    void findsExactlyTheInjectedAnomaliesAndWritesEveryTickAndCandle() throws Exception {
        JobConfig config = PipelineTestSupport.config();
        Results r = run(config, MARKET.shuffledWithin(config.outOfOrderness.toMillis(), 11), List.of());

        List<MarketScenario.Expected> found = r.anomalies().stream()
                .map(a -> new MarketScenario.Expected(a.instrument(), a.type(), a.tradeId()))
                .collect(Collectors.toList());
        assertThat(found).containsExactlyInAnyOrderElementsOf(MARKET.expected);
        assertTopicsCarryTheTablesAlerts(r);
        assertThat(r.divergencesOnTopic()).isEmpty();
        assertThat(r.rows()).hasSameSizeAs(MARKET.trades).containsExactlyInAnyOrderElementsOf(MARKET.trades);

        // Every candle agrees with the trades of its minute.
        Map<String, List<Tick>> byMinute = MARKET.trades.stream()
                .collect(Collectors.groupingBy(
                        t -> t.instrument() + "@" + Math.floorDiv(t.ts(), 60_000L) * 60_000L,
                        TreeMap::new,
                        Collectors.toList()));
        assertThat(r.candles()).hasSize(byMinute.size());
        for (Candle c : r.candles()) {
            List<Tick> trades = byMinute.get(c.exchange() + ":" + c.symbol() + "@" + c.bucket());
            assertThat(trades).as("trades of candle %s", c).isNotNull();
            trades.sort(Comparator.comparingLong(Tick::tradeSeq));
            assertThat(c.open()).isEqualTo(trades.get(0).price());
            assertThat(c.close()).isEqualTo(trades.get(trades.size() - 1).price());
            assertThat(new BigDecimal(c.high()))
                    .isEqualTo(trades.stream()
                            .map(t -> new BigDecimal(t.price()))
                            .max(BigDecimal::compareTo)
                            .orElseThrow());
            assertThat(new BigDecimal(c.low()))
                    .isEqualTo(trades.stream()
                            .map(t -> new BigDecimal(t.price()))
                            .min(BigDecimal::compareTo)
                            .orElseThrow());
            assertThat(c.volume())
                    .isEqualByComparingTo(trades.stream()
                            .map(t -> new BigDecimal(t.size()))
                            .reduce(BigDecimal.ZERO, BigDecimal::add));
            assertThat(c.trades()).isEqualTo(trades.size());
        }
    }

    @Test
    void badRecordsGoToTheDeadLetterSinkWithTheirReasonAndTheRestFlows() throws Exception {
        JobConfig config = PipelineTestSupport.config();
        List<String[]> bad = MarketScenario.badRecords(NOW);
        Results r = run(config, MARKET.trades.subList(0, 500), bad);

        assertThat(r.rows()).hasSize(500);
        assertThat(r.deadLetters()).hasSize(bad.size());
        for (String[] b : bad) {
            assertThat(r.deadLetters()).as("dead letter for %s", b[1]).anySatisfy(d -> {
                assertThat(new String(d.value(), StandardCharsets.UTF_8)).isEqualTo(b[1]);
                assertThat(d.reason()).startsWith(b[2]);
            });
        }
    }

    /**
     * One trade of a calm instrument stamped nine minutes ahead (inside the clock skew, so only its receive time tells)
     * with a large size and a 2 % higher price: accepted, it put every later trade of its instrument into its future
     * window slot and volume step, and the calm stream raised VOLUME_SPIKE and PRICE_SPIKE. It goes to the dead letters.
     */
    @Test
    void aTradeStampedMinutesAheadOfItsReceiptGoesToTheDeadLettersAndRaisesNoAlert() throws Exception {
        JobConfig config = PipelineTestSupport.config();
        List<Tick> calm =
                MARKET.trades.stream().filter(t -> t.symbol().equals("EEE-USD")).collect(Collectors.toList());
        Tick before = calm.get(calm.size() / 3);
        long ahead = before.ts() + 9 * 60_000L;
        Tick future = new Tick(
                before.exchange(),
                before.symbol(),
                "99999999",
                99_999_999L,
                new BigDecimal(before.price()).multiply(new BigDecimal("1.02")).toPlainString(),
                before.priceValue() * 1.02,
                "50.00000",
                50,
                before.side(),
                ahead,
                before.recvTs());
        List<Tick> arrivals = new ArrayList<>(calm);
        arrivals.add(calm.size() / 3 + 1, future);

        Results r = run(config, arrivals, List.of());

        assertThat(r.anomalies()).isEmpty();
        assertThat(r.rows()).containsExactlyInAnyOrderElementsOf(calm);
        assertThat(r.deadLetters())
                .singleElement()
                .satisfies(d -> assertThat(d.reason())
                        .startsWith("ts is " + (ahead - before.recvTs()) + " ms after recv_ts")
                        .contains("--max-trade-ahead"));
    }

    /**
     * The divergences have a Kafka writer of their own (chained behind their detector, AlertPathTest): a divergence
     * must reach the topic through it, and only through it.
     */
    @Test
    void aCrossVenueDivergenceReachesTheTopicThroughItsOwnWriter() throws Exception {
        JobConfig config = PipelineTestSupport.config();
        List<Tick> trades = new ArrayList<>(MARKET.trades);
        trades.addAll(MarketScenario.divergingVenues("FFF", NOW - 10 * 60_000L, 3));
        trades.sort(Comparator.comparingLong(Tick::ts));

        Results r = run(config, trades, List.of());

        assertThat(r.anomalies())
                .filteredOn(a -> a.type() == AnomalyType.CROSS_VENUE_DIVERGENCE)
                .singleElement()
                .satisfies(a -> assertThat(a.instrument()).isEqualTo(MarketScenario.DIVERGING_VENUE + ":FFF-USD"));
        assertTopicsCarryTheTablesAlerts(r);
    }

    /** Each writer sends exactly the table's alerts of its kind: the divergences through their own, the rest through the other. */
    private static void assertTopicsCarryTheTablesAlerts(Results r) {
        Map<Boolean, List<Anomaly>> inTable = r.anomalies().stream()
                .collect(Collectors.partitioningBy(a -> a.type() == AnomalyType.CROSS_VENUE_DIVERGENCE));
        assertThat(Evaluation.comparable(r.divergencesOnTopic()))
                .as("the divergences' writer")
                .isEqualTo(Evaluation.comparable(inTable.get(true)));
        assertThat(Evaluation.comparable(r.anomaliesOnTopic()))
                .as("the instruments' detectors' writer")
                .isEqualTo(Evaluation.comparable(inTable.get(false)));
    }

    /** Runs the job graph once over the given trades (in this arrival order) and bad records. */
    private static Results run(JobConfig config, List<Tick> arrivals, List<String[]> bad) throws Exception {
        TickParser parser = TickSource.parser(config);
        List<ParseResult> input = new ArrayList<>();
        long offset = 0;
        for (String[] b : bad) {
            input.add(parse(
                    parser, b[0].getBytes(StandardCharsets.UTF_8), b[1].getBytes(StandardCharsets.UTF_8), offset++));
        }
        for (Tick t : arrivals) {
            input.add(parse(parser, MarketScenario.key(t), MarketScenario.json(t), offset++));
        }

        CollectingSink<Tick> rows = new CollectingSink<>();
        CollectingSink<Candle> candles = new CollectingSink<>();
        CollectingSink<Anomaly> anomalies = new CollectingSink<>();
        CollectingSink<Anomaly> anomalyTopic = new CollectingSink<>();
        CollectingSink<Anomaly> divergenceTopic = new CollectingSink<>();
        CollectingSink<BadRecord> deadLetters = new CollectingSink<>();

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        TickStreamJob.configure(env, config);
        env.setParallelism(PARALLELISM);
        DataStream<ParseResult> parsed = env.fromData(
                        TypeInformation.of(ParseResult.class), input.toArray(ParseResult[]::new))
                .setParallelism(1)
                .assignTimestampsAndWatermarks(TickSource.watermarks(config))
                .setParallelism(1);
        new TickStreamJob(
                        config,
                        new TickStreamJob.Sinks(rows, candles, anomalies, anomalyTopic, divergenceTopic, deadLetters))
                .build(parsed);
        env.execute("pipeline-test");
        return new Results(
                anomalies.received(),
                anomalyTopic.received(),
                divergenceTopic.received(),
                candles.received(),
                rows.received(),
                deadLetters.received());
    }

    private static ParseResult parse(TickParser parser, byte[] key, byte[] value, long offset) {
        try {
            return ParseResult.ofTick(parser.parse(key, value, NOW));
        } catch (BadTickException e) {
            return ParseResult.ofBad(BadRecord.unparsable(key, value, e.getMessage(), "ticks", 0, offset, NOW));
        }
    }

    private static List<String> sortedCandles(List<Candle> candles) {
        return candles.stream().map(Candle::toString).sorted().collect(Collectors.toList());
    }
}
