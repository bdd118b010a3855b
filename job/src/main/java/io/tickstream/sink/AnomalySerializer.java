package io.tickstream.sink;

import io.tickstream.model.Anomaly;
import io.tickstream.serde.AnomalyJson;
import java.nio.charset.StandardCharsets;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Anomalies to the anomalies topic: key {@code <exchange>:<symbol>}, value anomaly JSON v1, timestamp the trade time. */
public final class AnomalySerializer implements KafkaRecordSerializationSchema<Anomaly> {
    private static final long serialVersionUID = 1L;

    private final String topic;

    public AnomalySerializer(String topic) {
        this.topic = topic;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(Anomaly anomaly, KafkaSinkContext context, Long timestamp) {
        return new ProducerRecord<>(
                topic,
                null,
                anomaly.ts(),
                anomaly.instrument().getBytes(StandardCharsets.UTF_8),
                AnomalyJson.toBytes(anomaly));
    }
}
