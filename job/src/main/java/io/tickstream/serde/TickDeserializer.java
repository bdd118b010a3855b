package io.tickstream.serde;

import io.tickstream.metrics.JobMetrics;
import io.tickstream.model.BadRecord;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.metrics.Counter;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Turns each record of the ticks topic into a {@link ParseResult}. It never throws: input can never fail
 * or restart the job, a record that is not a valid tick becomes a bad record with its reason.
 */
public final class TickDeserializer implements KafkaRecordDeserializationSchema<ParseResult> {
    private static final long serialVersionUID = 1L;

    private final TickParser parser;
    private transient Counter recordsIn;
    private transient Counter badRecords;

    public TickDeserializer(TickParser parser) {
        this.parser = parser;
    }

    @Override
    public void open(DeserializationSchema.InitializationContext context) {
        recordsIn = JobMetrics.counter(context.getMetricGroup(), JobMetrics.RECORDS_IN);
        badRecords = JobMetrics.counter(context.getMetricGroup(), JobMetrics.BAD_RECORDS);
    }

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<ParseResult> out) {
        recordsIn.inc();
        try {
            out.collect(ParseResult.ofTick(parser.parse(record.key(), record.value(), System.currentTimeMillis())));
        } catch (BadTickException e) {
            badRecords.inc();
            out.collect(ParseResult.ofBad(new BadRecord(record.key(), record.value(), e.getMessage(),
                    record.topic(), record.partition(), record.offset(), record.timestamp())));
        }
    }

    @Override
    public TypeInformation<ParseResult> getProducedType() {
        return TypeInformation.of(ParseResult.class);
    }
}
