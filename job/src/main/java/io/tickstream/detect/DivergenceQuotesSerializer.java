package io.tickstream.detect;

import io.tickstream.state.StateSerializer;


import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;

/** The cross-venue detector's last prices per asset, read and written on every batch of trades. */
public final class DivergenceQuotesSerializer extends StateSerializer<CrossVenueDivergenceDetector.State> {
    private static final long serialVersionUID = 1L;

    public static final DivergenceQuotesSerializer INSTANCE = new DivergenceQuotesSerializer();

    @Override
    public CrossVenueDivergenceDetector.State createInstance() {
        return new CrossVenueDivergenceDetector.State();
    }

    @Override
    public void serialize(CrossVenueDivergenceDetector.State s, DataOutputView out) throws IOException {
        writeStrings(s.exchanges, out);
        writeStrings(s.symbols, out);
        writeStrings(s.priceTexts, out);
        writeDoubles(s.prices, out);
        writeLongs(s.tradeTs, out);
        out.writeBoolean(s.episode);
        out.writeLong(s.since);
        out.writeBoolean(s.alerted);
    }

    @Override
    public CrossVenueDivergenceDetector.State deserialize(DataInputView in) throws IOException {
        CrossVenueDivergenceDetector.State s = new CrossVenueDivergenceDetector.State();
        s.exchanges = readStrings(in);
        s.symbols = readStrings(in);
        s.priceTexts = readStrings(in);
        s.prices = readDoubles(in);
        s.tradeTs = readLongs(in);
        s.episode = in.readBoolean();
        s.since = in.readLong();
        s.alerted = in.readBoolean();
        return s;
    }

    @Override
    public TypeSerializerSnapshot<CrossVenueDivergenceDetector.State> snapshotConfiguration() {
        return new SnapshotV2();
    }

    /** Savepoint compatibility: version 2 of the format above (strings as UTF-8 bytes). */
    public static final class SnapshotV2 extends SimpleTypeSerializerSnapshot<CrossVenueDivergenceDetector.State> {
        public SnapshotV2() {
            super(() -> INSTANCE);
        }
    }

    /** Version 1 (modified UTF-8 strings) cannot be read any more: kept so that such a savepoint is refused. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<CrossVenueDivergenceDetector.State> {
        public Snapshot() {
            super(() -> INSTANCE);
        }
    }
}
