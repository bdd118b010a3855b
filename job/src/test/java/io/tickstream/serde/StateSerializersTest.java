package io.tickstream.serde;

import io.tickstream.candles.CandleAccumulator;
import io.tickstream.detect.CrossVenueDivergenceDetector;
import io.tickstream.detect.TradeSequencer;

import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.math.BigDecimal;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/** The per-trade states other than the detectors' (InstrumentDetectorStateSerializerTest has those). */
class StateSerializersTest {

    static TradeSequencer.Progress progress() {
        TradeSequencer.Progress p = new TradeSequencer.Progress();
        p.nextSeq = 1_000_001;
        p.maxReleasedTs = 1732500000123L;
        p.held = 3;
        p.gapStart = new long[] {10, 20};
        p.gapEnd = new long[] {12, 25};
        p.gapWatermark = new long[] {1732499990000L, 1732499995000L};
        return p;
    }

    static CrossVenueDivergenceDetector.State quotes() {
        CrossVenueDivergenceDetector.State s = new CrossVenueDivergenceDetector.State();
        s.exchanges = new String[] {"binance", "coinbase"};
        s.symbols = new String[] {"BTC-USDT", "BTC-USD"};
        s.priceTexts = new String[] {"67123.45", "67500.10"};
        s.prices = new double[] {67123.45, 67500.10};
        s.tradeTs = new long[] {1732500000123L, 1732500000456L};
        s.episode = true;
        s.since = 1732499999000L;
        s.alerted = true;
        return s;
    }

    static CandleAccumulator candle() {
        CandleAccumulator a = new CandleAccumulator("kraken:BTC-USD");
        a.openTs = 1732500000001L;
        a.openSeq = 41;
        a.openId = "41";
        a.open = "67123.45";
        a.closeTs = 1732500059999L;
        a.closeSeq = -1;
        a.closeId = "a1b2-c3d4";
        a.close = "67130.00";
        a.highValue = 67140.5;
        a.high = "67140.50";
        a.lowValue = 67100.25;
        a.low = "67100.25";
        a.volume = new BigDecimal("123456789012345678901234.000123400");
        a.trades = 812;
        return a;
    }

    @Test
    void everyStateRoundTripsExactly() throws Exception {
        assertRoundTrip(SequencerProgressSerializer.INSTANCE, progress());
        assertRoundTrip(SequencerProgressSerializer.INSTANCE, new TradeSequencer.Progress());
        assertRoundTrip(DivergenceQuotesSerializer.INSTANCE, quotes());
        assertRoundTrip(DivergenceQuotesSerializer.INSTANCE, new CrossVenueDivergenceDetector.State());
        assertRoundTrip(CandleAccumulatorSerializer.INSTANCE, candle());
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
        TradeSequencer.Progress p = progress();
        SequencerProgressSerializer.INSTANCE.copy(p).gapStart[0] = 99;
        assertThat(p.gapStart[0]).isEqualTo(10);
        CrossVenueDivergenceDetector.State s = quotes();
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
        assertThat(instanceFields(CrossVenueDivergenceDetector.State.class)).isEqualTo(8);
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
        return Arrays.stream(type.getDeclaredFields()).map(Field::getModifiers).filter(m -> !Modifier.isStatic(m)).count();
    }
}
