package io.tickstream.candles;

import io.tickstream.state.SerializerTypeInfo;
import io.tickstream.state.StateSerializer;


import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;
import java.lang.reflect.Type;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Map;

/** A running candle, read and written on every trade (the pending 100 ms part) and every part (the minute). */
public final class CandleAccumulatorSerializer extends StateSerializer<CandleAccumulator> {
    private static final long serialVersionUID = 1L;

    public static final CandleAccumulatorSerializer INSTANCE = new CandleAccumulatorSerializer();

    /** Named on {@link CandleAccumulator} with {@code @TypeInfo}, so the window's state uses this serializer. */
    public static final class Factory extends TypeInfoFactory<CandleAccumulator> {
        @Override
        public TypeInformation<CandleAccumulator> createTypeInfo(Type t, Map<String, TypeInformation<?>> generics) {
            return new SerializerTypeInfo<>(CandleAccumulator.class, INSTANCE);
        }
    }

    @Override
    public CandleAccumulator createInstance() {
        return new CandleAccumulator();
    }

    @Override
    public void serialize(CandleAccumulator a, DataOutputView out) throws IOException {
        writeString(a.instrument, out);
        out.writeLong(a.openTs);
        out.writeLong(a.openSeq);
        writeString(a.openId, out);
        writeString(a.open, out);
        out.writeLong(a.closeTs);
        out.writeLong(a.closeSeq);
        writeString(a.closeId, out);
        writeString(a.close, out);
        out.writeDouble(a.highValue);
        writeString(a.high, out);
        out.writeDouble(a.lowValue);
        writeString(a.low, out);
        byte[] unscaled = a.volume.unscaledValue().toByteArray();
        out.writeInt(a.volume.scale());
        out.writeInt(unscaled.length);
        out.write(unscaled);
        out.writeLong(a.trades);
    }

    @Override
    public CandleAccumulator deserialize(DataInputView in) throws IOException {
        CandleAccumulator a = new CandleAccumulator(readString(in));
        a.openTs = in.readLong();
        a.openSeq = in.readLong();
        a.openId = readString(in);
        a.open = readString(in);
        a.closeTs = in.readLong();
        a.closeSeq = in.readLong();
        a.closeId = readString(in);
        a.close = readString(in);
        a.highValue = in.readDouble();
        a.high = readString(in);
        a.lowValue = in.readDouble();
        a.low = readString(in);
        int scale = in.readInt();
        byte[] unscaled = new byte[in.readInt()];
        in.readFully(unscaled);
        a.volume = new BigDecimal(new BigInteger(unscaled), scale);
        a.trades = in.readLong();
        return a;
    }

    @Override
    public TypeSerializerSnapshot<CandleAccumulator> snapshotConfiguration() {
        return new SnapshotV2();
    }

    /** Savepoint compatibility: version 2 of the format above (strings as UTF-8 bytes). */
    public static final class SnapshotV2 extends SimpleTypeSerializerSnapshot<CandleAccumulator> {
        public SnapshotV2() {
            super(() -> INSTANCE);
        }
    }

    /** Version 1 (modified UTF-8 strings) cannot be read any more: kept so that such a savepoint is refused. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<CandleAccumulator> {
        public Snapshot() {
            super(() -> INSTANCE);
        }
    }
}
