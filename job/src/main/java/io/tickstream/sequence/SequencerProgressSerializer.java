package io.tickstream.sequence;

import io.tickstream.state.StateFormats;
import io.tickstream.state.StateSerializer;
import io.tickstream.state.VersionedStateSnapshot;
import java.io.IOException;
import java.util.Map;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/** The trade sequencer's progress per instrument, written to RocksDB at each checkpoint (CachedValueState). */
public final class SequencerProgressSerializer extends StateSerializer<TradeSequencer.Progress> {
    private static final long serialVersionUID = 1L;

    /** This state's formats: the current one, those this release reads, those it refuses (docs/state-migrations.md). */
    public static final StateFormats FORMATS =
            new StateFormats("trade sequencer progress", 1, Map.of(1, "release 0.1 (986d34c)"), Map.of());

    /** Reads and writes the current format. */
    public static final SequencerProgressSerializer INSTANCE = new SequencerProgressSerializer(FORMATS.current());

    private SequencerProgressSerializer(int readFormat) {
        super(readFormat);
    }

    /** A serializer that reads {@code format} (one of {@link #FORMATS}' readable ones) and writes the current one. */
    public static SequencerProgressSerializer reading(int format) {
        return format == FORMATS.current() ? INSTANCE : new SequencerProgressSerializer(format);
    }

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

    /** What a savepoint records of this serializer: the format of its data (see {@link FORMATS}). */
    public static final class Snapshot extends VersionedStateSnapshot<TradeSequencer.Progress> {
        @Override
        protected StateFormats formats() {
            return FORMATS;
        }

        @Override
        protected TypeSerializer<TradeSequencer.Progress> serializerReading(int format) {
            return reading(format);
        }
    }
}
