package io.tickstream.detect;

import io.tickstream.candles.IntervalSampler;
import io.tickstream.state.StateFormats;
import io.tickstream.state.StateSerializer;
import io.tickstream.state.VersionedStateSnapshot;
import java.io.IOException;
import java.util.Map;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * The detectors' per-instrument state, written to RocksDB as one value at each checkpoint
 * (and read on a restore or when an instrument comes back to the heap) (Flink's POJO
 * serializer was a quarter of the TaskManager's time here): each part writes and reads itself ({@code writeTo},
 * {@code readFrom}), in this order. The format is versioned by {@link #FORMATS}: a field added to a detector's state
 * needs a new format here, read by the part's {@code readFrom} next to the older ones
 * (InstrumentDetectorStateSerializerTest fails until then).
 */
public final class InstrumentDetectorStateSerializer extends StateSerializer<InstrumentDetectorState> {
    private static final long serialVersionUID = 1L;

    /** This state's formats: the current one, those this release reads, those it refuses (docs/state-migrations.md). */
    public static final StateFormats FORMATS = new StateFormats(
            "detector",
            4,
            Map.of(4, "release 0.2", 3, "release 0.1 (986d34c)"),
            Map.of(
                    2,
                    "a build before release 0.1: fixed volume buckets",
                    1,
                    "a build before release 0.1: no pending 100 ms sample"));

    /** Reads and writes the current format. */
    public static final InstrumentDetectorStateSerializer INSTANCE =
            new InstrumentDetectorStateSerializer(FORMATS.current());

    private InstrumentDetectorStateSerializer(int readFormat) {
        super(readFormat);
    }

    /** A serializer that reads {@code format} (one of {@link #FORMATS}' readable ones) and writes the current one. */
    public static InstrumentDetectorStateSerializer reading(int format) {
        return format == FORMATS.current() ? INSTANCE : new InstrumentDetectorStateSerializer(format);
    }

    @Override
    public InstrumentDetectorState createInstance() {
        return new InstrumentDetectorState();
    }

    @Override
    public void serialize(InstrumentDetectorState s, DataOutputView out) throws IOException {
        s.priceMove.writeTo(out);
        s.returnZScore.writeTo(out);
        s.volumeSpike.writeTo(out);
        s.sample.writeTo(out);
        writeString(s.incidentId, out);
        out.writeLong(s.incidentLastTs);
    }

    @Override
    public InstrumentDetectorState deserialize(DataInputView in) throws IOException {
        int format = readFormat();
        InstrumentDetectorState s = new InstrumentDetectorState();
        s.priceMove = PriceMoveDetector.State.readFrom(in, format);
        s.returnZScore = ReturnZScoreDetector.State.readFrom(in);
        s.volumeSpike = VolumeSpikeDetector.State.readFrom(in, format);
        s.sample = IntervalSampler.State.readFrom(in);
        if (format > 3) { // release 0.1 had no incidents
            s.incidentId = readString(in);
            s.incidentLastTs = in.readLong();
        }
        return s;
    }

    @Override
    public TypeSerializerSnapshot<InstrumentDetectorState> snapshotConfiguration() {
        return new Snapshot();
    }

    /** What a savepoint records of this serializer: the format of its data (see {@link FORMATS}). */
    public static final class Snapshot extends VersionedStateSnapshot<InstrumentDetectorState> {
        @Override
        protected StateFormats formats() {
            return FORMATS;
        }

        @Override
        protected TypeSerializer<InstrumentDetectorState> serializerReading(int format) {
            return reading(format);
        }
    }
}
