package io.tickstream.source;

import io.tickstream.model.BadRecord;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Turns each record of the ticks topic into a {@link ParseResult}. It never throws: input can never fail
 * or restart the job, a record that is not a valid tick becomes a bad record with its reason
 * ({@link BadRecordSplitter} counts both).
 */
public final class TickDeserializer implements KafkaRecordDeserializationSchema<ParseResult> {
    private static final long serialVersionUID = 1L;

    private final TickParser parser;

    public TickDeserializer(TickParser parser) {
        this.parser = parser;
    }

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<ParseResult> out) {
        try {
            out.collect(ParseResult.ofTick(parser.parse(record.key(), record.value(), System.currentTimeMillis())));
        } catch (BadTickException e) {
            out.collect(ParseResult.ofBad(BadRecord.unparsable(
                    record.key(),
                    record.value(),
                    e.getMessage(),
                    record.topic(),
                    record.partition(),
                    record.offset(),
                    record.timestamp())));
        } catch (RuntimeException e) {
            // The parser throws only BadTickException (the generated records prove it); should a library it uses
            // throw anything else for some input, that input still must not fail the job.
            out.collect(ParseResult.ofBad(BadRecord.unparsable(
                    record.key(),
                    record.value(),
                    "unreadable: " + e,
                    record.topic(),
                    record.partition(),
                    record.offset(),
                    record.timestamp())));
        }
    }

    @Override
    public TypeInformation<ParseResult> getProducedType() {
        return TypeInformation.of(ParseResult.class);
    }
}
