package io.tickstream.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

class TickSerializerTest {
    private static final Tick SEQUENCED = new Tick(
            "kraken",
            "BTC-USD",
            "9876543210",
            9876543210L,
            "67123.45000",
            67123.45,
            "0.00012300",
            0.000123,
            Side.SELL,
            1732500000123L,
            1732500000150L);
    private static final Tick UNSEQUENCED = new Tick(
            "coinbase",
            "ETH-USDC",
            "a1b2-c3d4",
            Tick.NO_SEQUENCE,
            "3400.1",
            3400.1,
            "2",
            2.0,
            Side.UNKNOWN,
            1732500000999L,
            1732500001000L);

    @Test
    void flinkUsesTheTickSerializerForTicksEverywhere() {
        TypeInformation<Tick> type = TypeInformation.of(Tick.class);
        assertThat(type).isInstanceOf(TickTypeInfo.class);
        TypeSerializer<Tick> serializer = type.createSerializer(new SerializerConfigImpl());
        assertThat(serializer).isInstanceOf(TickSerializer.class);
        // It caches instrument names, so every task needs its own.
        assertThat(serializer.duplicate()).isNotSameAs(serializer).isEqualTo(serializer);
        assertThat(type.createSerializer(new SerializerConfigImpl())).isNotSameAs(serializer);
    }

    /** The ticks written and read back by one serializer, which must read exactly what it wrote. */
    private static List<Tick> roundTrip(Tick... ticks) throws Exception {
        TickSerializer serializer = new TickSerializer();
        DataOutputSerializer out = new DataOutputSerializer(64);
        for (Tick t : ticks) {
            serializer.serialize(t, out);
        }
        DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());
        List<Tick> read = new ArrayList<>();
        for (int i = 0; i < ticks.length; i++) {
            read.add(serializer.deserialize(in));
        }
        assertThat(in.available()).isZero();
        return read;
    }

    @Test
    void roundTripKeepsEveryFieldExactly() throws Exception {
        assertThat(roundTrip(SEQUENCED, UNSEQUENCED)).containsExactly(SEQUENCED, UNSEQUENCED);
    }

    @Test
    void ticksOfOneInstrumentShareItsNames() throws Exception {
        List<Tick> read = roundTrip(SEQUENCED, UNSEQUENCED, SEQUENCED);
        Tick first = read.get(0);
        Tick other = read.get(1);
        Tick again = read.get(2);

        assertThat(again).isEqualTo(first);
        assertThat(again.instrument()).isEqualTo("kraken:BTC-USD").isSameAs(first.instrument());
        assertThat(again.exchange()).isSameAs(first.exchange());
        assertThat(again.symbol()).isSameAs(first.symbol());
        assertThat(other.instrument()).isEqualTo("coinbase:ETH-USDC");
    }
}
