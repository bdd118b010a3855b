package io.tickstream.state;

import static org.assertj.core.api.Assertions.assertThat;

import io.tickstream.candles.CandleAccumulator;
import io.tickstream.candles.CandleAccumulatorSerializer;
import io.tickstream.detect.DivergenceQuotes;
import io.tickstream.detect.DivergenceQuotesSerializer;
import io.tickstream.sequence.SequencerProgressSerializer;
import io.tickstream.sequence.TradeSequencer;
import io.tickstream.testutils.StateSamples;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/** The per-trade states other than the detectors' (InstrumentDetectorStateSerializerTest has those). */
class StateSerializersTest {

    @Test
    void everyStateRoundTripsExactly() throws Exception {
        assertRoundTrip(SequencerProgressSerializer.INSTANCE, StateSamples.progress());
        assertRoundTrip(SequencerProgressSerializer.INSTANCE, new TradeSequencer.Progress());
        assertRoundTrip(DivergenceQuotesSerializer.INSTANCE, StateSamples.quotes());
        assertRoundTrip(DivergenceQuotesSerializer.INSTANCE, new DivergenceQuotes());
        assertRoundTrip(CandleAccumulatorSerializer.INSTANCE, StateSamples.candle());
        assertRoundTrip(CandleAccumulatorSerializer.INSTANCE, new CandleAccumulator()); // no trade yet: nulls
    }

    @Test
    void stringsRoundTripWhateverTheirCharactersAndLength() throws Exception {
        String long70k = "7".repeat(70_000); // longer than writeUTF takes
        for (String text : new String[] {null, "", "67123.45", "a1b2-c3d4", "Ωmega-€", "日本", long70k}) {
            DataOutputSerializer out = new DataOutputSerializer(16);
            StateSerializer.writeString(text, out);
            out.writeInt(42); // what follows is read from the right place
            DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());
            assertThat(StateSerializer.readString(in)).isEqualTo(text);
            assertThat(in.readInt()).isEqualTo(42);
        }
    }

    @Test
    void copiesAreDeep() {
        TradeSequencer.Progress p = StateSamples.progress();
        SequencerProgressSerializer.INSTANCE.copy(p).gapStart[0] = 99;
        assertThat(p.gapStart[0]).isEqualTo(10);
        DivergenceQuotes s = StateSamples.quotes();
        DivergenceQuotesSerializer.INSTANCE.copy(s).prices[0] = 1;
        assertThat(s.prices[0]).isEqualTo(67123.45);
    }

    @Test
    void theWindowKeepsCandlesWithTheirOwnSerializer() {
        TypeSerializer<CandleAccumulator> serializer =
                TypeInformation.of(CandleAccumulator.class).createSerializer(new SerializerConfigImpl());
        assertThat(serializer).isSameAs(CandleAccumulatorSerializer.INSTANCE);
    }

    /** A field added to one of these states must be written by its serializer too (and get a new snapshot class). */
    @Test
    void theSerializersKnowEveryStateField() {
        assertThat(instanceFields(TradeSequencer.Progress.class)).isEqualTo(6);
        assertThat(instanceFields(DivergenceQuotes.class)).isEqualTo(9);
        assertThat(instanceFields(CandleAccumulator.class)).isEqualTo(15);
    }

    private static <T> void assertRoundTrip(TypeSerializer<T> serializer, T value) throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(64);
        serializer.serialize(value, out);
        DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());
        assertThat(serializer.deserialize(in)).usingRecursiveComparison().isEqualTo(value);
        assertThat(in.available()).isZero();
    }

    private static long instanceFields(Class<?> type) {
        return Arrays.stream(type.getDeclaredFields())
                .map(Field::getModifiers)
                .filter(m -> !Modifier.isStatic(m))
                .count();
    }
}
