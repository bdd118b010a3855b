package io.tickstream.sink;

import io.tickstream.model.BadRecord;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Bad records to the dead-letter topic, byte for byte as they came (key, value, timestamp), with headers {@code error}
 * (the reason), {@code stage} (where it was refused), {@code source.topic}, {@code source.partition} and
 * {@code source.offset} (where it was read, when it was read from Kafka).
 *
 * <p>A dead letter never exceeds what a topic with Kafka's default limits takes (1 MB a record): a key or value
 * longer than {@link #MAX_KEY_BYTES} / {@link #MAX_VALUE_BYTES} is cut to that prefix, and headers
 * {@code key.original.bytes} / {@code value.original.bytes} give its whole length. A producer may compress a 9 MB
 * record of repeated characters into the ticks topic; written back whole, the dead-letter producer refused it, the
 * task failed, and every restart read the same record again.
 */
public final class DeadLetterSerializer implements KafkaRecordSerializationSchema<BadRecord> {
    private static final long serialVersionUID = 1L;

    public static final String ERROR = "error";
    public static final String STAGE = "stage";
    public static final String SOURCE_TOPIC = "source.topic";
    public static final String SOURCE_PARTITION = "source.partition";
    public static final String SOURCE_OFFSET = "source.offset";
    public static final String KEY_ORIGINAL_BYTES = "key.original.bytes";
    public static final String VALUE_ORIGINAL_BYTES = "value.original.bytes";

    /** The longest value kept whole; longer ones keep this prefix (eight times the parser's default record limit). */
    public static final int MAX_VALUE_BYTES = 512 * 1024;
    /** The longest key kept whole (a key is an instrument, {@code exchange:symbol}, a few dozen bytes). */
    public static final int MAX_KEY_BYTES = 4 * 1024;
    /** The longest reason kept whole, in characters (the parser's reasons are a line). */
    public static final int MAX_REASON_CHARS = 1000;

    private final String topic;

    public DeadLetterSerializer(String topic) {
        this.topic = topic;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(BadRecord bad, KafkaSinkContext context, Long timestamp) {
        RecordHeaders headers = new RecordHeaders();
        headers.add(ERROR, utf8(reason(bad.reason())));
        headers.add(STAGE, utf8(bad.stage()));
        if (bad.topic() != null) {
            headers.add(SOURCE_TOPIC, utf8(bad.topic()));
        }
        if (bad.partition() >= 0) {
            headers.add(SOURCE_PARTITION, utf8(Integer.toString(bad.partition())));
        }
        if (bad.offset() >= 0) {
            headers.add(SOURCE_OFFSET, utf8(Long.toString(bad.offset())));
        }
        byte[] key = bounded(bad.key(), MAX_KEY_BYTES, KEY_ORIGINAL_BYTES, headers);
        byte[] value = bounded(bad.value(), MAX_VALUE_BYTES, VALUE_ORIGINAL_BYTES, headers);
        Long ts = bad.timestamp() >= 0 ? bad.timestamp() : null;
        return new ProducerRecord<>(topic, null, ts, key, value, headers);
    }

    /** At most {@link #MAX_REASON_CHARS}, on one line: a control character a reason quotes is shown escaped. */
    static String reason(String text) {
        String reason = text == null ? "unknown" : text;
        boolean cut = reason.length() > MAX_REASON_CHARS;
        StringBuilder out = new StringBuilder(Math.min(reason.length(), MAX_REASON_CHARS) + 8);
        for (int i = 0; i < Math.min(reason.length(), MAX_REASON_CHARS); i++) {
            char c = reason.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return cut ? out.append("...").toString() : out.toString();
    }

    private static byte[] bounded(byte[] bytes, int max, String lengthHeader, RecordHeaders headers) {
        if (bytes == null || bytes.length <= max) {
            return bytes;
        }
        headers.add(lengthHeader, utf8(Integer.toString(bytes.length)));
        return Arrays.copyOf(bytes, max);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
