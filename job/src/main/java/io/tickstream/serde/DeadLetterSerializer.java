package io.tickstream.serde;

import io.tickstream.model.BadRecord;

import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;

import java.nio.charset.StandardCharsets;

/**
 * Bad records to the dead-letter topic, byte for byte as they came (key, value, timestamp), with headers
 * {@code error} (the reason) and {@code source.topic}, {@code source.partition}, {@code source.offset}.
 */
public final class DeadLetterSerializer implements KafkaRecordSerializationSchema<BadRecord> {
    private static final long serialVersionUID = 1L;

    public static final String ERROR = "error";
    public static final String SOURCE_TOPIC = "source.topic";
    public static final String SOURCE_PARTITION = "source.partition";
    public static final String SOURCE_OFFSET = "source.offset";

    private final String topic;

    public DeadLetterSerializer(String topic) {
        this.topic = topic;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(BadRecord bad, KafkaSinkContext context, Long timestamp) {
        RecordHeaders headers = new RecordHeaders();
        headers.add(ERROR, utf8(bad.reason()));
        headers.add(SOURCE_TOPIC, utf8(bad.topic()));
        headers.add(SOURCE_PARTITION, utf8(Integer.toString(bad.partition())));
        headers.add(SOURCE_OFFSET, utf8(Long.toString(bad.offset())));
        Long ts = bad.timestamp() >= 0 ? bad.timestamp() : null;
        return new ProducerRecord<>(topic, null, ts, bad.key(), bad.value(), headers);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
