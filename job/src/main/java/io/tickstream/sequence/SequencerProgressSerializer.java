package io.tickstream.sequence;

import io.tickstream.state.StateSerializer;


import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;

/** The trade sequencer's progress per instrument, read and written on every trade. */
public final class SequencerProgressSerializer extends StateSerializer<TradeSequencer.Progress> {
    private static final long serialVersionUID = 1L;

    public static final SequencerProgressSerializer INSTANCE = new SequencerProgressSerializer();

    @Override
    public TradeSequencer.Progress createInstance() {
        return new TradeSequencer.Progress();
    }

    @Override
    public void serialize(TradeSequencer.Progress p, DataOutputView out) throws IOException {
        out.writeLong(p.nextSeq);
        out.writeLong(p.maxReleasedTs);
        out.writeInt(p.held);
        writeLongs(p.gapStart, out);
        writeLongs(p.gapEnd, out);
        writeLongs(p.gapWatermark, out);
    }

    @Override
    public TradeSequencer.Progress deserialize(DataInputView in) throws IOException {
        TradeSequencer.Progress p = new TradeSequencer.Progress();
        p.nextSeq = in.readLong();
        p.maxReleasedTs = in.readLong();
        p.held = in.readInt();
        p.gapStart = readLongs(in);
        p.gapEnd = readLongs(in);
        p.gapWatermark = readLongs(in);
        return p;
    }

    @Override
    public TypeSerializerSnapshot<TradeSequencer.Progress> snapshotConfiguration() {
        return new Snapshot();
    }

    /** Savepoint compatibility: version 1 of the format above. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<TradeSequencer.Progress> {
        public Snapshot() {
            super(() -> INSTANCE);
        }
    }
}
