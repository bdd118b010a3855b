package io.tickstream.sink;

import static org.assertj.core.api.Assertions.assertThat;

import io.tickstream.model.BadRecord;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.record.AbstractRecords;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.RecordBatch;
import org.junit.jupiter.api.Test;

class DeadLetterSerializerTest {
    private final DeadLetterSerializer serializer = new DeadLetterSerializer("ticks.dlq");

    private static String header(ProducerRecord<byte[], byte[]> record, String name) {
        Header h = record.headers().lastHeader(name);
        assertThat(h).as("header %s", name).isNotNull();
        return new String(h.value(), StandardCharsets.UTF_8);
    }

    @Test
    void keepsKeyAndValueBytesIdenticalAndAddsReasonAndSourceHeaders() {
        byte[] key = "binance:BTC-USDT".getBytes(StandardCharsets.UTF_8);
        byte[] value = {'{', 0x00, (byte) 0xff, (byte) 0xfe, '"', 'x'}; // not even UTF-8
        BadRecord bad = BadRecord.unparsable(
                key.clone(), value.clone(), "price must be positive", "ticks", 3, 123_456_789_012L, 1732500000123L);

        ProducerRecord<byte[], byte[]> record = serializer.serialize(bad, null, null);

        assertThat(record.topic()).isEqualTo("ticks.dlq");
        assertThat(record.partition()).as("Kafka picks the partition").isNull();
        assertThat(record.key()).isEqualTo(key);
        assertThat(record.value()).isEqualTo(value);
        assertThat(record.timestamp()).isEqualTo(1732500000123L);
        assertThat(header(record, DeadLetterSerializer.ERROR)).isEqualTo("price must be positive");
        assertThat(header(record, DeadLetterSerializer.SOURCE_TOPIC)).isEqualTo("ticks");
        assertThat(header(record, DeadLetterSerializer.SOURCE_PARTITION)).isEqualTo("3");
        assertThat(header(record, DeadLetterSerializer.SOURCE_OFFSET)).isEqualTo("123456789012");
    }

    @Test
    void headerNamesAreTheContractNamesEachOnce() {
        ProducerRecord<byte[], byte[]> record = serializer.serialize(
                BadRecord.unparsable(null, new byte[] {1}, "empty value", "ticks", 0, 0L, 5L), null, null);

        List<String> names = new ArrayList<>();
        record.headers().forEach(h -> names.add(h.key()));
        assertThat(names)
                .containsExactlyInAnyOrder("error", "stage", "source.topic", "source.partition", "source.offset");
    }

    @Test
    void missingKeyAndValueStayMissing() {
        ProducerRecord<byte[], byte[]> record =
                serializer.serialize(BadRecord.unparsable(null, null, "empty value", "ticks", 0, 7L, 5L), null, null);
        assertThat(record.key()).isNull();
        assertThat(record.value()).isNull();
        assertThat(header(record, "error")).isEqualTo("empty value");
        assertThat(header(record, "source.offset")).isEqualTo("7");
    }

    @Test
    void unknownSourceTimestampLeavesTheTimestampToKafka() {
        ProducerRecord<byte[], byte[]> record =
                serializer.serialize(BadRecord.unparsable(null, new byte[] {1}, "r", "ticks", 0, 0L, -1L), null, null);
        assertThat(record.timestamp()).isNull();
    }

    @Test
    void nonAsciiReasonIsUtf8() {
        ProducerRecord<byte[], byte[]> record = serializer.serialize(
                BadRecord.unparsable(
                        null, new byte[] {1}, "symbol must be BASE-QUOTE in upper case, got 'é'", "ticks", 0, 0L, 1L),
                null,
                null);
        assertThat(header(record, "error")).isEqualTo("symbol must be BASE-QUOTE in upper case, got 'é'");
    }

    @Test
    void anOversizedKeyOrValueIsCutToItsBoundAndItsWholeLengthGoesInAHeader() {
        byte[] value = new byte[9 * 1024 * 1024 + 7]; // what a producer can compress into the ticks topic
        Arrays.fill(value, (byte) 'a');
        byte[] key = new byte[100_000];
        Arrays.fill(key, (byte) 'k');

        ProducerRecord<byte[], byte[]> record = serializer.serialize(
                BadRecord.unparsable(key, value, "record too large: more than 65536 bytes", "ticks", 2, 77L, 5L),
                null,
                null);

        assertThat(record.value())
                .hasSize(DeadLetterSerializer.MAX_VALUE_BYTES)
                .isEqualTo(Arrays.copyOf(value, DeadLetterSerializer.MAX_VALUE_BYTES));
        assertThat(record.key()).hasSize(DeadLetterSerializer.MAX_KEY_BYTES);
        assertThat(header(record, DeadLetterSerializer.VALUE_ORIGINAL_BYTES)).isEqualTo(Integer.toString(value.length));
        assertThat(header(record, DeadLetterSerializer.KEY_ORIGINAL_BYTES)).isEqualTo("100000");
        assertThat(header(record, "source.partition")).isEqualTo("2");
        assertThat(header(record, "source.offset")).isEqualTo("77");
        // What Kafka's producer checks against max.request.size (and a topic's default 1 MB limit): the whole record.
        int size = AbstractRecords.estimateSizeInBytesUpperBound(
                RecordBatch.CURRENT_MAGIC_VALUE,
                CompressionType.NONE,
                record.key(),
                record.value(),
                record.headers().toArray());
        assertThat(size).isLessThan(1_000_000);
    }

    @Test
    void aRowATableRefusedNamesItsStageAndNoSourceOffset() {
        ProducerRecord<byte[], byte[]> record = serializer.serialize(
                BadRecord.refused(
                        "ticks-db-sink",
                        "kraken:BTC-USD".getBytes(StandardCharsets.UTF_8),
                        "{}".getBytes(StandardCharsets.UTF_8),
                        "refused by the database: ERROR: value too long (SQLSTATE 22001)",
                        1732500000123L),
                null,
                null);

        List<String> names = new ArrayList<>();
        record.headers().forEach(h -> names.add(h.key()));
        assertThat(names).containsExactlyInAnyOrder("error", "stage");
        assertThat(header(record, "stage")).isEqualTo("ticks-db-sink");
        assertThat(record.timestamp()).isEqualTo(1732500000123L);
    }

    @Test
    void aLongReasonIsCut() {
        ProducerRecord<byte[], byte[]> record = serializer.serialize(
                BadRecord.unparsable(null, new byte[] {1}, "x".repeat(100_000), "ticks", 0, 0L, 1L), null, null);
        assertThat(header(record, "error"))
                .hasSize(DeadLetterSerializer.MAX_REASON_CHARS + 3)
                .endsWith("...");
    }
}
