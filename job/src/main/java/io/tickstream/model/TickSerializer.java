package io.tickstream.model;

import io.tickstream.state.StateFormats;
import io.tickstream.state.StateSerializer;
import io.tickstream.state.VersionedStateSnapshot;
import java.io.DataInputStream;
import java.io.IOException;
import java.util.Map;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * Ticks between operators and in held-trade state. Every tick crosses the network once (key by instrument), and the
 * quotes once more (key by asset); Flink's generic POJO serializer was a tenth of the TaskManager's time there
 * (reflection per field, Flink's string codec). This one writes the instrument's names once, then the trade's
 * fields in a fixed order ({@link #writeTrade}, strings as UTF-8 bytes), and reads the names back as the shared
 * strings of {@link InstrumentNames}: it keeps that cache, so each task has its own instance ({@link #duplicate}).
 * The format is versioned ({@link #FORMATS}): a change is a new format, with a reader of the previous release's.
 */
public final class TickSerializer extends TypeSerializer<Tick> {
    private static final long serialVersionUID = 1L;

    private static final Side[] SIDES = Side.values();

    private transient InstrumentNames names;
    /** The instrument's serialized form (length, then modified UTF-8), read before its names are looked up. */
    private transient byte[] instrumentBytes;

    @Override
    public boolean isImmutableType() {
        return true;
    }

    @Override
    public TypeSerializer<Tick> duplicate() {
        return new TickSerializer();
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
        out.writeUTF(t.instrument());
        out.writeShort(t.exchange().length());
        writeTrade(t, out);
    }

    /** A tick's fields without its names (the detectors' state writes its sample tick so too: the key names it). */
    public static void writeTrade(Tick t, DataOutputView out) throws IOException {
        StateSerializer.writeString(t.tradeId(), out);
        out.writeLong(t.tradeSeq());
        StateSerializer.writeString(t.price(), out);
        out.writeDouble(t.priceValue());
        StateSerializer.writeString(t.size(), out);
        out.writeDouble(t.sizeValue());
        out.writeByte(t.side().ordinal());
        out.writeLong(t.ts());
        out.writeLong(t.recvTs());
    }

    /** Reads what {@link #writeTrade} wrote, with these names (null where the reader adds them later). */
    public static Tick readTrade(DataInputView in, String exchange, String symbol, String instrument)
            throws IOException {
        return new Tick(
                exchange,
                symbol,
                StateSerializer.readString(in),
                in.readLong(),
                StateSerializer.readString(in),
                in.readDouble(),
                StateSerializer.readString(in),
                in.readDouble(),
                SIDES[in.readByte()],
                in.readLong(),
                in.readLong(),
                instrument);
    }

    @Override
    public Tick deserialize(DataInputView in) throws IOException {
        InstrumentNames.Names n = readNames(in);
        return readTrade(in, n.exchange(), n.symbol(), n.instrument());
    }

    private InstrumentNames.Names readNames(DataInputView in) throws IOException {
        int length = in.readUnsignedShort();
        if (names == null) {
            names = new InstrumentNames();
            instrumentBytes = new byte[256];
        }
        if (instrumentBytes.length < length + 2) {
            instrumentBytes = new byte[length + 2];
        }
        instrumentBytes[0] = (byte) (length >>> 8);
        instrumentBytes[1] = (byte) length;
        in.readFully(instrumentBytes, 2, length);
        int exchangeLength = in.readUnsignedShort();
        InstrumentNames.Names n = names.get(instrumentBytes, 2, length);
        if (n == null) {
            String instrument = DataInputStream.readUTF(new DataInputDeserializer(instrumentBytes, 0, length + 2));
            n = new InstrumentNames.Names(
                    instrument.substring(0, exchangeLength), instrument.substring(exchangeLength + 1), instrument);
            names.put(instrumentBytes, 2, length, n);
        }
        return n;
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
    public boolean equals(Object o) {
        return o instanceof TickSerializer;
    }

    @Override
    public int hashCode() {
        return TickSerializer.class.hashCode();
    }

    @Override
    public TypeSerializerSnapshot<Tick> snapshotConfiguration() {
        return new Snapshot();
    }

    /** The formats of ticks held in state (the sequencer's and the cross-venue detector's held trades). */
    public static final StateFormats FORMATS = new StateFormats(
            "tick",
            3,
            Map.of(3, "release 0.1 (986d34c)"),
            Map.of(
                    2,
                    "a build before release 0.1: strings in modified UTF-8",
                    1,
                    "a build before release 0.1: exchange and symbol written apart"));

    /** What a savepoint records of this serializer: the format of its data (see {@link #FORMATS}). */
    public static final class Snapshot extends VersionedStateSnapshot<Tick> {
        @Override
        protected StateFormats formats() {
            return FORMATS;
        }

        @Override
        protected TypeSerializer<Tick> serializerReading(int format) {
            return reading(format);
        }
    }

    /** A serializer that reads {@code format} (one of {@link #FORMATS}' readable ones) and writes the current one. */
    public static TickSerializer reading(int format) {
        return new TickSerializer();
    }
}
