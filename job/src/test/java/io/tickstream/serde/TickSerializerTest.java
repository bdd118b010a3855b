package io.tickstream.serde;

import io.tickstream.model.Side;
import io.tickstream.model.Tick;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class TickSerializerTest {
    @Test
    void flinkUsesTheTickSerializerForTicksEverywhere() {
        assertThat(TypeInformation.of(Tick.class)).isInstanceOf(TickTypeInfo.class);
        assertThat(TypeInformation.of(Tick.class).createSerializer(new org.apache.flink.api.common.serialization.SerializerConfigImpl()))
                .isSameAs(TickSerializer.INSTANCE);
    }

    @Test
    void roundTripKeepsEveryFieldExactly() throws Exception {
        Tick tick = new Tick("kraken", "BTC-USD", "9876543210", 9876543210L, "67123.45000", 67123.45, "0.00012300",
                0.000123, Side.SELL, 1732500000123L, 1732500000150L);
        Tick unsequenced = new Tick("coinbase", "ETH-USDC", "a1b2-c3d4", Tick.NO_SEQUENCE, "3400.1", 3400.1, "2", 2.0,
                Side.UNKNOWN, 1732500000999L, 1732500001000L);
        DataOutputSerializer out = new DataOutputSerializer(64);
        TickSerializer.INSTANCE.serialize(tick, out);
        TickSerializer.INSTANCE.serialize(unsequenced, out);
        DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());
        assertThat(TickSerializer.INSTANCE.deserialize(in)).isEqualTo(tick);
        assertThat(TickSerializer.INSTANCE.deserialize(in)).isEqualTo(unsequenced);
        assertThat(in.available()).isZero();
    }
}
