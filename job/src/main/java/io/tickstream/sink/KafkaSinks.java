package io.tickstream.sink;

import io.tickstream.config.JobConfig;
import io.tickstream.model.Anomaly;
import io.tickstream.model.BadRecord;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;

/** The Kafka sinks: anomalies and dead letters, at-least-once or exactly-once (transactions per checkpoint). */
public final class KafkaSinks {
    /**
     * A dead letter is at most DeadLetterSerializer's bounds (a 512 KiB value, a 4 KiB key) plus headers: well inside
     * this, and inside a topic with Kafka's default limit (1 MB).
     */
    static final int DEAD_LETTER_MAX_REQUEST_BYTES = 1024 * 1024;

    private KafkaSinks() {}

    /** The instruments' detectors' alerts. */
    public static KafkaSink<Anomaly> anomalies(JobConfig config) {
        return alerts(config, "tickstream-anomalies");
    }

    /** The cross-venue divergences, to the same topic from their own writer (own transactional ids). */
    public static KafkaSink<Anomaly> divergences(JobConfig config) {
        return alerts(config, "tickstream-divergences");
    }

    private static KafkaSink<Anomaly> alerts(JobConfig config, String transactionalIdPrefix) {
        return builder(config, new AnomalySerializer(config.anomaliesTopic), transactionalIdPrefix)
                .setProperty("linger.ms", "0")
                .build();
    }

    public static KafkaSink<BadRecord> deadLetters(JobConfig config) {
        return builder(config, new DeadLetterSerializer(config.dlqTopic), "tickstream-dlq")
                .setProperty("max.request.size", Integer.toString(DEAD_LETTER_MAX_REQUEST_BYTES))
                .build();
    }

    private static <T> org.apache.flink.connector.kafka.sink.KafkaSinkBuilder<T> builder(
            JobConfig config, KafkaRecordSerializationSchema<T> serializer, String transactionalIdPrefix) {
        var builder = KafkaSink.<T>builder()
                .setBootstrapServers(config.kafkaBootstrap)
                .setRecordSerializer(serializer)
                .setProperty("enable.idempotence", "true")
                .setProperty("acks", "all")
                .setProperty("compression.type", "lz4");
        if (config.delivery == JobConfig.Delivery.EXACTLY_ONCE) {
            builder.setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                    .setTransactionalIdPrefix(transactionalIdPrefix)
                    .setProperty("transaction.timeout.ms", Long.toString(config.kafkaTransactionTimeout.toMillis()));
        } else {
            builder.setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE);
        }
        return builder;
    }
}
