package io.tickstream.detect;

import static org.assertj.core.api.Assertions.assertThat;

import io.tickstream.candles.IntervalSampler;
import io.tickstream.testutils.StateSamples;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

class InstrumentDetectorStateSerializerTest {
    private static final InstrumentDetectorStateSerializer SERIALIZER = InstrumentDetectorStateSerializer.INSTANCE;

    @Test
    void roundTripKeepsEveryFieldExactly() throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(64);
        SERIALIZER.serialize(StateSamples.everyFieldSet(), out);
        SERIALIZER.serialize(StateSamples.fresh(), out);
        DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());

        assertThat(SERIALIZER.deserialize(in)).usingRecursiveComparison().isEqualTo(StateSamples.everyFieldSet());
        assertThat(SERIALIZER.deserialize(in)).usingRecursiveComparison().isEqualTo(StateSamples.fresh());
        assertThat(in.available()).isZero();
    }

    @Test
    void copyIsDeep() {
        InstrumentDetectorState original = StateSamples.everyFieldSet();
        InstrumentDetectorState copy = SERIALIZER.copy(original);
        assertThat(copy).usingRecursiveComparison().isEqualTo(original);
        copy.volumeSpike.trades[0] = 99;
        copy.volumeSpike.logSizes[0] = 99;
        assertThat(original.volumeSpike.trades[0]).isEqualTo(3);
        assertThat(original.volumeSpike.logSizes[0]).isEqualTo(1.5);
    }

    /** A field added to a detector's state must be written by the serializer too (and bump its snapshot version). */
    @Test
    void theSerializerKnowsEveryStateField() {
        assertThat(instanceFields(InstrumentDetectorState.class)).isEqualTo(6);
        assertThat(instanceFields(PriceMoveDetector.State.class)).isEqualTo(10);
        assertThat(instanceFields(PriceMoveDetector.Extremes.class)).isEqualTo(2);
        assertThat(instanceFields(ReturnZScoreDetector.State.class)).isEqualTo(6);
        assertThat(instanceFields(VolumeSpikeDetector.State.class)).isEqualTo(9);
        assertThat(instanceFields(IntervalSampler.State.class)).isEqualTo(3);
    }

    private static long instanceFields(Class<?> type) {
        return Arrays.stream(type.getDeclaredFields())
                .map(Field::getModifiers)
                .filter(m -> !Modifier.isStatic(m))
                .count();
    }
}
