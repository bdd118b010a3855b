package io.tickstream.candles;

import io.tickstream.state.SerializerTypeInfo;
import io.tickstream.state.StateFormats;
import io.tickstream.state.StateSerializer;
import io.tickstream.state.VersionedStateSnapshot;
import java.io.IOException;
import java.lang.reflect.Type;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/** A running candle, read and written on every trade (the pending 100 ms part) and every part (the minute). */
public final class CandleAccumulatorSerializer extends StateSerializer<CandleAccumulator> {
    private static final long serialVersionUID = 1L;

    /** This state's formats: the current one, those this release reads, those it refuses (docs/state-migrations.md). */
    public static final StateFormats FORMATS = new StateFormats(
            "candle accumulator",
            2,
            Map.of(2, "release 0.1 (986d34c)"),
            Map.of(1, "a build before release 0.1: strings in modified UTF-8"));

    /** Reads and writes the current format. */
    public static final CandleAccumulatorSerializer INSTANCE = new CandleAccumulatorSerializer(FORMATS.current());

    private CandleAccumulatorSerializer(int readFormat) {
        super(readFormat);
    }

    /** A serializer that reads {@code format} (one of {@link #FORMATS}' readable ones) and writes the current one. */
    public static CandleAccumulatorSerializer reading(int format) {
        return format == FORMATS.current() ? INSTANCE : new CandleAccumulatorSerializer(format);
    }

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
        return new Snapshot();
    }

    /** What a savepoint records of this serializer: the format of its data (see {@link FORMATS}). */
    public static final class Snapshot extends VersionedStateSnapshot<CandleAccumulator> {
        @Override
        protected StateFormats formats() {
            return FORMATS;
        }

        @Override
        protected TypeSerializer<CandleAccumulator> serializerReading(int format) {
            return reading(format);
        }
    }
}
