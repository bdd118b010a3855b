package io.tickstream;

import io.tickstream.candles.CandleAccumulator;
import io.tickstream.candles.CandleAggregate;
import io.tickstream.candles.CandleWindow;
import io.tickstream.candles.LateCandleTrades;
import io.tickstream.candles.TradeMinuteWindows;
import io.tickstream.config.ConfigException;
import io.tickstream.config.JobConfig;
import io.tickstream.config.JobParameter;
import io.tickstream.detect.AnomalyDetectors;
import io.tickstream.detect.CrossVenueDivergenceDetector;
import io.tickstream.metrics.LatencyMeter;
import io.tickstream.model.Anomaly;
import io.tickstream.model.BadRecord;
import io.tickstream.model.Candle;
import io.tickstream.model.Tick;
import io.tickstream.sequence.TradeSequencer;
import io.tickstream.sink.KafkaSinks;
import io.tickstream.sink.PostgresSinks;
import io.tickstream.sink.RowSink;
import io.tickstream.source.BadRecordSplitter;
import io.tickstream.source.ParseResult;
import io.tickstream.source.TickSource;
import io.tickstream.state.RetiredOperators;
import io.tickstream.state.WriteBackKeyedProcessOperator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.state.rocksdb.RocksDBConfigurableOptions;
import org.apache.flink.state.rocksdb.RocksDBOptions;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamUtils;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.OutputTag;
import org.apache.flink.util.ParameterTool;

/**
 * The TickStream pipeline (contracts: docs/contracts.md): ticks → parse (bad records to the DLQ) → ticks table; per instrument,
 * trade order → detectors → anomalies table and topic; 1-minute candles → candles table.
 *
 * <p>The pipeline takes its sinks in the constructor and its parsed input in {@link #build}, so the tests
 * run this very graph on bounded input and collecting sinks, and {@link #main} on Kafka and PostgreSQL.
 */
public final class TickStreamJob {
    public static final String JOB_NAME = "tickstream";
    static final long BUFFER_TIMEOUT_MS = 10;
    /**
     * Outputs no alert waits for (rows the database refused, late trades on their way to the candles) keep Flink's
     * default: each output has its own flusher thread waking this often, and at 5 ms their wake-ups alone cost a
     * TaskManager a tenth of a core. The late trades' output also carries watermarks to the candle windows, so a
     * minute's candle may close up to this much later.
     */
    static final long QUIET_OUTPUT_BUFFER_TIMEOUT_MS = 100;

    /**
     * Where the pipeline's results go. The tables' writers give back the rows the database refused, which join the
     * bad records on their way to the dead-letter topic.
     */
    public record Sinks(
            RowSink<Tick> tickRows,
            RowSink<Candle> candleRows,
            RowSink<Anomaly> anomalyRows,
            Sink<Anomaly> anomalyTopic,
            Sink<Anomaly> divergenceTopic,
            Sink<BadRecord> deadLetters) {

        public static Sinks production(JobConfig config) {
            return new Sinks(
                    PostgresSinks.ticks(config),
                    PostgresSinks.candles(config),
                    PostgresSinks.anomalies(config),
                    KafkaSinks.anomalies(config),
                    KafkaSinks.divergences(config),
                    KafkaSinks.deadLetters(config));
        }
    }

    /**
     * Flink's key groups: the most subtasks any keyed operator can ever run on, fixed for the job's lifetime (a
     * savepoint restores only into the same number). 128 is what Flink derived for the first releases, which did not
     * set it (parallelism up to 85), so their savepoints restore.
     */
    public static final int MAX_PARALLELISM = 128;

    private static final OutputTag<CandleAccumulator> LATE_FOR_CANDLES =
            new OutputTag<>("late-for-candles", TypeInformation.of(CandleAccumulator.class));

    private final JobConfig config;
    private final Sinks sinks;

    public TickStreamJob(JobConfig config, Sinks sinks) {
        this.config = config;
        this.sinks = sinks;
    }

    /** Adds the pipeline to the environment of {@code parsed}, whose records carry trade-time timestamps and watermarks. */
    public void build(DataStream<ParseResult> parsed) {
        SingleOutputStreamOperator<Tick> ticks = parsed.process(new BadRecordSplitter())
                .uid(Uids.SPLIT_BAD_RECORDS)
                .name(Uids.SPLIT_BAD_RECORDS);
        List<DataStream<BadRecord>> deadLetters = new ArrayList<>();
        deadLetters.add(ticks.getSideOutput(BadRecordSplitter.BAD_RECORDS));

        addIfAny(
                deadLetters,
                quiet(sinks.tickRows()
                        .sink(
                                ticks.map(new LatencyMeter())
                                        .uid(Uids.LATENCY_METER)
                                        .name(Uids.LATENCY_METER),
                                Uids.TICKS_DB_SINK)));

        // Trade order per instrument, each trade once: what makes shuffled input raise the same alerts.
        SingleOutputStreamOperator<Tick> inTradeOrder = ticks.keyBy(Tick::instrument)
                .transform(
                        Uids.TRADE_SEQUENCER,
                        TypeInformation.of(Tick.class),
                        new WriteBackKeyedProcessOperator<>(new TradeSequencer(
                                config.allowedLateness.plus(config.outOfOrderness), config.stateTtl)))
                .uid(Uids.TRADE_SEQUENCER);
        KeyedStream<Tick, String> byInstrument =
                DataStreamUtils.reinterpretAsKeyedStream(inTradeOrder, Tick::instrument);

        SingleOutputStreamOperator<Anomaly> anomalies = byInstrument
                .transform(
                        Uids.ANOMALY_DETECTORS,
                        TypeInformation.of(Anomaly.class),
                        new WriteBackKeyedProcessOperator<>(new AnomalyDetectors(
                                config.priceMove, config.returnZScore, config.volumeSpike, config.stateTtl)))
                .uid(Uids.ANOMALY_DETECTORS);
        // One asset across venues: each instrument's last trade per 100 ms, keyed by base asset and quote class,
        // beside the instruments' alerts, whose open incidents a divergence joins.
        DataStream<Anomaly> divergences = anomalies
                .getSideOutput(AnomalyDetectors.QUOTES)
                .connect(anomalies)
                .keyBy(
                        CrossVenueDivergenceDetector.assetKey(config.crossVenue),
                        CrossVenueDivergenceDetector.alertAssetKey(config.crossVenue))
                .process(new CrossVenueDivergenceDetector(
                        config.crossVenue, config.priceMove.windowMs(), config.stateTtl))
                .uid(Uids.CROSS_VENUE_DIVERGENCE)
                .name(Uids.CROSS_VENUE_DIVERGENCE);
        DataStream<Anomaly> alerts = anomalies.union(divergences);
        // Its own task: a database write that stalls (a commit waiting on a PostgreSQL checkpoint) must not hold
        // the detectors, nor the alerts on their way to the anomalies topic, chained behind it.
        DataStream<BadRecord> refusedAlerts = quiet(sinks.anomalyRows().sink(alerts, Uids.ANOMALIES_DB_SINK));
        if (refusedAlerts instanceof SingleOutputStreamOperator<BadRecord> writer) {
            writer.disableChaining();
        }
        addIfAny(deadLetters, refusedAlerts);
        // The topic: each detector's alerts leave from its own task, through a writer chained behind it. One writer
        // for both (a union) was a task of its own that held the instruments' alerts whenever a checkpoint barrier had
        // come from the detectors and not yet from the divergence detector, and behind a network hop.
        anomalies.sinkTo(sinks.anomalyTopic()).uid(Uids.ANOMALIES_KAFKA_SINK).name(Uids.ANOMALIES_KAFKA_SINK);
        divergences
                .sinkTo(sinks.divergenceTopic())
                .uid(Uids.DIVERGENCES_KAFKA_SINK)
                .name(Uids.DIVERGENCES_KAFKA_SINK);

        // Candles take every trade once: the detectors' 100 ms parts, and single trades the detectors had to skip
        // as late.
        DataStream<CandleAccumulator> forCandles = anomalies
                .getSideOutput(AnomalyDetectors.CANDLE_PARTS)
                .union(inTradeOrder
                        .getSideOutput(TradeSequencer.LATE)
                        .map(CandleAggregate::ofTrade)
                        .uid(Uids.LATE_TRADE_CANDLES)
                        .name(Uids.LATE_TRADE_CANDLES)
                        .setBufferTimeout(QUIET_OUTPUT_BUFFER_TIMEOUT_MS));
        SingleOutputStreamOperator<Candle> candles = DataStreamUtils.reinterpretAsKeyedStream(
                        forCandles, part -> part.instrument)
                .window(new TradeMinuteWindows())
                .allowedLateness(config.allowedLateness)
                .sideOutputLateData(LATE_FOR_CANDLES)
                .aggregate(new CandleAggregate(), new CandleWindow())
                .uid(Uids.CANDLES_1M)
                .name(Uids.CANDLES_1M);
        addIfAny(deadLetters, quiet(sinks.candleRows().sink(candles, Uids.CANDLES_DB_SINK)));
        candles.getSideOutput(LATE_FOR_CANDLES)
                .process(new LateCandleTrades())
                .uid(Uids.LATE_CANDLE_TRADES)
                .name(Uids.LATE_CANDLE_TRADES)
                .sinkTo(new DiscardingSink<>())
                .uid(Uids.LATE_CANDLE_TRADES_SINK)
                .name(Uids.LATE_CANDLE_TRADES_SINK);

        DataStream<BadRecord> allDeadLetters = deadLetters.get(0);
        for (DataStream<BadRecord> more : deadLetters.subList(1, deadLetters.size())) {
            allDeadLetters = allDeadLetters.union(more);
        }
        allDeadLetters.sinkTo(sinks.deadLetters()).uid(Uids.DEAD_LETTER_SINK).name(Uids.DEAD_LETTER_SINK);
        // On one producer's output (chained to it): on the union they added a network output to every producer.
        RetiredOperators.claim(ticks.getSideOutput(BadRecordSplitter.BAD_RECORDS));
    }

    /** A writer's refused rows: {@link #QUIET_OUTPUT_BUFFER_TIMEOUT_MS}. */
    private static DataStream<BadRecord> quiet(DataStream<BadRecord> refused) {
        if (refused instanceof SingleOutputStreamOperator<BadRecord> writer) {
            writer.setBufferTimeout(QUIET_OUTPUT_BUFFER_TIMEOUT_MS);
        }
        return refused;
    }

    private static void addIfAny(List<DataStream<BadRecord>> deadLetters, DataStream<BadRecord> refused) {
        if (refused != null) {
            deadLetters.add(refused);
        }
    }

    /** Checkpointing, state backend and restarts as production needs them; the cluster's config supplies the directories. */
    public static void configure(StreamExecutionEnvironment env, JobConfig config) {
        Configuration conf = new Configuration();
        conf.set(StateBackendOptions.STATE_BACKEND, "rocksdb");
        // Full snapshots: the state is small (bounded per instrument), so writing all of it each time costs little,
        // and a checkpoint's files do not depend on earlier ones. (Both kinds start with a native RocksDB checkpoint,
        // a memtable flush, in the synchronous phase: see the flush threads below.)
        conf.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, false);
        // Timers on the heap: there are few (one per instrument and minute for the candles, one per gap for the
        // sequencer), and a RocksDB timer queue serializes every registration — once per trade for the windows.
        conf.set(RocksDBOptions.TIMER_SERVICE_FACTORY, EmbeddedRocksDBStateBackend.PriorityQueueStateType.HEAP);
        // Every checkpoint flushes each RocksDB instance's memtables in its synchronous phase (full snapshots too:
        // Flink takes a native RocksDB checkpoint), and those flushes share RocksDB's process-wide flush threads — a
        // quarter of the background jobs, one at the default of 2 — so the operators' flushes queued behind each
        // other while their tasks waited. 16 gives 4 (see README, Operations, for the measurement).
        conf.set(RocksDBConfigurableOptions.MAX_BACKGROUND_THREADS, 16);
        conf.set(
                CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
                ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        conf.set(CheckpointingOptions.CHECKPOINTING_TIMEOUT, config.checkpointTimeout);
        conf.set(CheckpointingOptions.MIN_PAUSE_BETWEEN_CHECKPOINTS, config.checkpointInterval.dividedBy(2));
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "exponential-delay");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF, Duration.ofSeconds(1));
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF, config.restartMaxDelay);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_JITTER_FACTOR, 0.1);
        env.configure(conf);
        env.enableCheckpointing(config.checkpointInterval.toMillis(), CheckpointingMode.EXACTLY_ONCE);
        env.setMaxParallelism(MAX_PARALLELISM);
        env.getConfig().enableObjectReuse();
        // A partly filled network buffer leaves after at most this long (Flink's default is 100 ms): at low
        // rates that wait dominated alert latency; at high rates buffers fill first anyway. Each output's flusher
        // thread wakes this often at any load: at 5 ms they cost the TaskManager 6-10 % of a core more than at 10
        // (README, Benchmark), and alert latency did not move measurably.
        env.setBufferTimeout(BUFFER_TIMEOUT_MS);
        // Shown in the web UI under the job's configuration; the password is never part of it.
        env.getConfig().setGlobalJobParameters(ParameterTool.fromMap(config.toDisplayMap()));
    }

    public static void main(String[] args) throws Exception {
        if (Arrays.asList(args).contains("--help")) {
            System.out.println(JobParameter.usage());
            return;
        }
        JobConfig config;
        try {
            config = JobConfig.parse(args, System.getenv());
        } catch (ConfigException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        define(env, config);
        env.execute(JOB_NAME);
    }

    /** The production job on {@code env}: Kafka in, PostgreSQL and Kafka out. */
    public static void define(StreamExecutionEnvironment env, JobConfig config) {
        configure(env, config);
        DataStream<ParseResult> parsed = env.fromSource(
                        TickSource.kafka(config), TickSource.watermarks(config), Uids.TICKS_SOURCE)
                .uid(Uids.TICKS_SOURCE);
        new TickStreamJob(config, Sinks.production(config)).build(parsed);
    }
}
