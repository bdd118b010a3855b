package io.tickstream.serde;

import io.tickstream.detect.InstrumentDetectorState;
import io.tickstream.detect.PriceMoveDetector;
import io.tickstream.detect.IntervalSampler;
import io.tickstream.detect.ReturnZScoreDetector;
import io.tickstream.detect.VolumeSpikeDetector;
import io.tickstream.model.Side;
import io.tickstream.model.Tick;

import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

class InstrumentDetectorStateSerializerTest {
    private static final InstrumentDetectorStateSerializer SERIALIZER = InstrumentDetectorStateSerializer.INSTANCE;

    static InstrumentDetectorState everyFieldSet() {
        InstrumentDetectorState s = new InstrumentDetectorState();
        s.priceMove = new PriceMoveDetector.State();
        s.priceMove.minima.slots = new long[] {17, 18, 20};
        s.priceMove.minima.values = new double[] {99.5, 99.75, 100.0};
        s.priceMove.maxima.slots = new long[] {20};
        s.priceMove.maxima.values = new double[] {101.25};
        s.priceMove.newestSlot = 20;
        s.priceMove.spikeActive = true;
        s.priceMove.lastSpikeAlertTs = 1732500000123L;
        s.returnZScore = new ReturnZScoreDetector.State();
        s.returnZScore.lastPrice = 100.25;
        s.returnZScore.lastPriceText = "100.25";
        s.returnZScore.mean = 1e-6;
        s.returnZScore.variance = 4e-9;
        s.returnZScore.returns = 812;
        s.returnZScore.lastAlertTs = 1732500001000L;
        s.volumeSpike = new VolumeSpikeDetector.State();
        s.volumeSpike.stepStart = 1732500000000L;
        s.volumeSpike.volume = new double[] {12.5, 0, 3.0, 1.5};
        s.volumeSpike.notional = new double[] {1250.0, 0, 300.0, 150.0};
        s.volumeSpike.largest = new double[] {4.0, 2.0, 0, 0, 3.0, 0, 1.0, 0.5};
        s.volumeSpike.episode = true;
        s.volumeSpike.lastAlertTs = 1732499990000L;
        s.volumeSpike.average = 1.25;
        s.volumeSpike.steps = 301;
        s.sample = new IntervalSampler.State();
        s.sample.interval = 17325000001L;
        // As read back from state: without the instrument's names.
        s.sample.last = new Tick(null, null, "a1b2-c3d4", -1, "100.25", 100.25, "0.5", 0.5, Side.SELL,
                1732500000123L, 1732500000150L, null);
        s.sample.candle = StateSerializersTest.candle();
        return s;
    }

    static InstrumentDetectorState fresh() {
        InstrumentDetectorState s = new InstrumentDetectorState();
        s.priceMove = new PriceMoveDetector.State();
        s.returnZScore = new ReturnZScoreDetector.State(); // no price yet: null text
        s.volumeSpike = new VolumeSpikeDetector.State(); // largest not sized yet: null
        s.sample = new IntervalSampler.State(); // no interval pending
        return s;
    }

    @Test
    void roundTripKeepsEveryFieldExactly() throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(64);
        SERIALIZER.serialize(everyFieldSet(), out);
        SERIALIZER.serialize(fresh(), out);
        DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());

        assertThat(SERIALIZER.deserialize(in)).usingRecursiveComparison().isEqualTo(everyFieldSet());
        assertThat(SERIALIZER.deserialize(in)).usingRecursiveComparison().isEqualTo(fresh());
        assertThat(in.available()).isZero();
    }

    @Test
    void copyIsDeep() {
        InstrumentDetectorState original = everyFieldSet();
        InstrumentDetectorState copy = SERIALIZER.copy(original);
        assertThat(copy).usingRecursiveComparison().isEqualTo(original);
        copy.volumeSpike.largest[0] = 99;
        assertThat(original.volumeSpike.largest[0]).isEqualTo(4.0);
    }

    /** A field added to a detector's state must be written by the serializer too (and bump its snapshot version). */
    @Test
    void theSerializerKnowsEveryStateField() {
        assertThat(instanceFields(InstrumentDetectorState.class)).isEqualTo(4);
        assertThat(instanceFields(PriceMoveDetector.State.class)).isEqualTo(7);
        assertThat(instanceFields(PriceMoveDetector.Extremes.class)).isEqualTo(2);
        assertThat(instanceFields(ReturnZScoreDetector.State.class)).isEqualTo(6);
        assertThat(instanceFields(VolumeSpikeDetector.State.class)).isEqualTo(8);
        assertThat(instanceFields(IntervalSampler.State.class)).isEqualTo(3);
    }

    private static long instanceFields(Class<?> type) {
        return Arrays.stream(type.getDeclaredFields()).map(Field::getModifiers).filter(m -> !Modifier.isStatic(m)).count();
    }
}
