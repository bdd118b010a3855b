package io.tickstream.source;

import io.tickstream.config.JobConfig;
import java.time.Duration;
import java.util.Properties;
import org.apache.flink.api.common.eventtime.BoundedOutOfOrdernessWatermarks;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.eventtime.WatermarksWithIdleness;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;

/** The ticks topic as a Flink source, and the event-time rules every input of the pipeline uses. */
public final class TickSource {
    private TickSource() {}

    /** Starts from the group's committed offsets (committed on each checkpoint), earliest when there are none. */
    public static KafkaSource<ParseResult> kafka(JobConfig config) {
        return KafkaSource.<ParseResult>builder()
                .setBootstrapServers(config.kafkaBootstrap)
                .setTopics(config.ticksTopic)
                .setGroupId(config.groupId)
                .setStartingOffsets(OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST))
                .setDeserializer(new TickDeserializer(parser(config)))
                // New partitions of the ticks topic are picked up without a restart.
                .setProperty("partition.discovery.interval.ms", "60000")
                .setProperty("client.id.prefix", "tickstream-job")
                .setProperties(fetchProperties(config))
                .build();
    }

    /**
     * The broker answers a fetch once it holds {@code fetch.min.bytes} or after {@code fetch.max.wait.ms}. Answering
     * at the first byte (Kafka's default) meant a fetch for every few producer batches (~700 partition reads a second
     * at 5,000 ticks/s), and at low and middle loads the cost per request was most of the broker's CPU and a good part
     * of the TaskManager's. With a wait, a fetch gathers what arrives within it: a bounded number of fetches a second,
     * each tick at most the wait later. At high loads fetches fill before the wait ends either way. A zero wait keeps
     * Kafka's defaults (the first byte; 500 ms then only bounds an idle poll).
     */
    static Properties fetchProperties(JobConfig config) {
        Properties fetch = new Properties();
        boolean waits = !config.kafkaFetchWait.isZero();
        fetch.setProperty("fetch.min.bytes", waits ? Integer.toString(1 << 20) : "1");
        fetch.setProperty("fetch.max.wait.ms", waits ? Long.toString(config.kafkaFetchWait.toMillis()) : "500");
        return fetch;
    }

    public static TickParser parser(JobConfig config) {
        return new TickParser(
                config.exchanges,
                config.maxClockSkew.toMillis(),
                config.maxTradeAhead.toMillis(),
                config.maxRecordBytes);
    }

    /**
     * Event time is the trade time, bounded out-of-orderness, per Kafka partition (the source applies it to
     * each split); a partition without ticks is marked idle so it does not hold event time back. Bad records carry
     * no time: they never move the watermark, and they do not count as activity either (Flink's idleness counts
     * every record, so a partition carrying only bad records held event time back forever: no candle closed, no
     * gap was given up, no new instrument's first trades were released).
     */
    public static WatermarkStrategy<ParseResult> watermarks(JobConfig config) {
        Duration bound = config.outOfOrderness;
        Duration idleTimeout = config.idleTimeout;
        return WatermarkStrategy.<ParseResult>forGenerator(context -> new TicksOnly(new WatermarksWithIdleness<>(
                        new BoundedOutOfOrdernessWatermarks<>(bound), idleTimeout, context.getInputActivityClock())))
                .withTimestampAssigner((result, recordTs) -> result.eventTime());
    }

    /** Passes only ticks to the watermark generator: bad records are neither event time nor activity. */
    static final class TicksOnly implements WatermarkGenerator<ParseResult> {
        private final WatermarkGenerator<ParseResult> ticks;

        TicksOnly(WatermarkGenerator<ParseResult> ticks) {
            this.ticks = ticks;
        }

        @Override
        public void onEvent(ParseResult result, long eventTimestamp, WatermarkOutput output) {
            if (result.tick != null) {
                ticks.onEvent(result, eventTimestamp, output);
            }
        }

        @Override
        public void onPeriodicEmit(WatermarkOutput output) {
            ticks.onPeriodicEmit(output);
        }
    }
}
