package io.tickstream.source;

import io.tickstream.config.JobConfig;
import io.tickstream.serde.ParseResult;
import io.tickstream.serde.TickDeserializer;
import io.tickstream.serde.TickParser;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
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
                .build();
    }

    public static TickParser parser(JobConfig config) {
        return new TickParser(config.exchanges, config.maxClockSkew.toMillis(), config.maxRecordBytes);
    }

    /**
     * Event time is the trade time, bounded out-of-orderness, per Kafka partition (the source applies it to
     * each split); a quiet partition is marked idle so it does not hold event time back. Bad records carry
     * no time and never move the watermark.
     */
    public static WatermarkStrategy<ParseResult> watermarks(JobConfig config) {
        return WatermarkStrategy.<ParseResult>forBoundedOutOfOrderness(config.outOfOrderness)
                .withTimestampAssigner((result, recordTs) -> result.eventTime())
                .withIdleness(config.idleTimeout);
    }
}
