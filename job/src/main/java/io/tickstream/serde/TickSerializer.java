package io.tickstream.serde;

import io.tickstream.model.Side;
import io.tickstream.model.Tick;

import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;

/**
 * Ticks between operators and in held-trade state. Every tick crosses the network once (key by instrument),
 * and Flink's generic POJO serializer was a tenth of the TaskManager's time there (reflection per field,
 * Flink's string codec); this one writes the fields in a fixed order with Java's UTF codec.
 * The format is versioned by {@link Snapshot}: change it only with a new snapshot version.
 */
public final class TickSerializer extends TypeSerializerSingleton<Tick> {
    private static final long serialVersionUID = 1L;

    public static final TickSerializer INSTANCE = new TickSerializer();
    private static final Side[] SIDES = Side.values();

    @Override
    public boolean isImmutableType() {
        return true;
    }

    @Override
    public Tick createInstance() {
        return null;
    }

    @Override
    public Tick copy(Tick from) {
        return from;
    }

    @Override
    public Tick copy(Tick from, Tick reuse) {
        return from;
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(Tick t, DataOutputView out) throws IOException {
        out.writeUTF(t.exchange());
        out.writeUTF(t.symbol());
        out.writeUTF(t.tradeId());
        out.writeLong(t.tradeSeq());
        out.writeUTF(t.price());
        out.writeDouble(t.priceValue());
        out.writeUTF(t.size());
        out.writeDouble(t.sizeValue());
        out.writeByte(t.side().ordinal());
        out.writeLong(t.ts());
        out.writeLong(t.recvTs());
    }

    @Override
    public Tick deserialize(DataInputView in) throws IOException {
        return new Tick(in.readUTF(), in.readUTF(), in.readUTF(), in.readLong(), in.readUTF(), in.readDouble(),
                in.readUTF(), in.readDouble(), SIDES[in.readByte()], in.readLong(), in.readLong());
    }

    @Override
    public Tick deserialize(Tick reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    @Override
    public TypeSerializerSnapshot<Tick> snapshotConfiguration() {
        return new Snapshot();
    }

    /** Savepoint compatibility: version 1 of the format above. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<Tick> {
        public Snapshot() {
            super(() -> INSTANCE);
        }
    }
}
