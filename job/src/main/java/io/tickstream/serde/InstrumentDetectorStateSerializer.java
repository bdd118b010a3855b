package io.tickstream.serde;

import io.tickstream.detect.InstrumentDetectorState;
import io.tickstream.detect.PriceMoveDetector;
import io.tickstream.detect.ReturnZScoreDetector;
import io.tickstream.detect.VolumeSpikeDetector;

import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The detectors' per-instrument state, read and written in RocksDB on every trade. Flink's POJO serializer took
 * a quarter of the TaskManager's time here (it builds every nested object twice and sets each field by
 * reflection); this one writes the fields in a fixed order. The format is versioned by {@link Snapshot}: a field
 * added to a detector's state needs a line here and a new snapshot version (InstrumentDetectorStateSerializerTest
 * fails until then).
 */
public final class InstrumentDetectorStateSerializer extends TypeSerializerSingleton<InstrumentDetectorState> {
    private static final long serialVersionUID = 1L;

    public static final InstrumentDetectorStateSerializer INSTANCE = new InstrumentDetectorStateSerializer();

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public InstrumentDetectorState createInstance() {
        return new InstrumentDetectorState();
    }

    @Override
    public InstrumentDetectorState copy(InstrumentDetectorState from) {
        try {
            DataOutputSerializer out = new DataOutputSerializer(256);
            serialize(from, out);
            return deserialize(new DataInputDeserializer(out.getSharedBuffer(), 0, out.length()));
        } catch (IOException e) {
            throw new UncheckedIOException("copying detector state in memory", e);
        }
    }

    @Override
    public InstrumentDetectorState copy(InstrumentDetectorState from, InstrumentDetectorState reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(InstrumentDetectorState s, DataOutputView out) throws IOException {
        PriceMoveDetector.State p = s.priceMove;
        writeExtremes(p.minima, out);
        writeExtremes(p.maxima, out);
        out.writeLong(p.newestSlot);
        out.writeBoolean(p.spikeActive);
        out.writeBoolean(p.dropActive);
        out.writeLong(p.lastSpikeAlertTs);
        out.writeLong(p.lastDropAlertTs);

        ReturnZScoreDetector.State z = s.returnZScore;
        out.writeDouble(z.lastPrice);
        out.writeBoolean(z.lastPriceText != null);
        if (z.lastPriceText != null) {
            out.writeUTF(z.lastPriceText);
        }
        out.writeDouble(z.mean);
        out.writeDouble(z.variance);
        out.writeLong(z.returns);
        out.writeLong(z.lastAlertTs);

        VolumeSpikeDetector.State v = s.volumeSpike;
        out.writeLong(v.bucketStart);
        out.writeDouble(v.bucketVolume);
        out.writeDouble(v.bucketNotional);
        writeDoubles(v.largest, out);
        out.writeBoolean(v.bucketAlerted);
        out.writeBoolean(v.episode);
        out.writeLong(v.lastAlertTs);
        out.writeDouble(v.average);
        out.writeLong(v.buckets);
    }

    @Override
    public InstrumentDetectorState deserialize(DataInputView in) throws IOException {
        InstrumentDetectorState s = new InstrumentDetectorState();
        PriceMoveDetector.State p = s.priceMove = new PriceMoveDetector.State();
        readExtremes(p.minima, in);
        readExtremes(p.maxima, in);
        p.newestSlot = in.readLong();
        p.spikeActive = in.readBoolean();
        p.dropActive = in.readBoolean();
        p.lastSpikeAlertTs = in.readLong();
        p.lastDropAlertTs = in.readLong();

        ReturnZScoreDetector.State z = s.returnZScore = new ReturnZScoreDetector.State();
        z.lastPrice = in.readDouble();
        z.lastPriceText = in.readBoolean() ? in.readUTF() : null;
        z.mean = in.readDouble();
        z.variance = in.readDouble();
        z.returns = in.readLong();
        z.lastAlertTs = in.readLong();

        VolumeSpikeDetector.State v = s.volumeSpike = new VolumeSpikeDetector.State();
        v.bucketStart = in.readLong();
        v.bucketVolume = in.readDouble();
        v.bucketNotional = in.readDouble();
        v.largest = readDoubles(in);
        v.bucketAlerted = in.readBoolean();
        v.episode = in.readBoolean();
        v.lastAlertTs = in.readLong();
        v.average = in.readDouble();
        v.buckets = in.readLong();
        return s;
    }

    @Override
    public InstrumentDetectorState deserialize(InstrumentDetectorState reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    private static void writeExtremes(PriceMoveDetector.Extremes e, DataOutputView out) throws IOException {
        out.writeInt(e.slots.length);
        for (int i = 0; i < e.slots.length; i++) {
            out.writeLong(e.slots[i]);
            out.writeDouble(e.values[i]);
        }
    }

    private static void readExtremes(PriceMoveDetector.Extremes e, DataInputView in) throws IOException {
        int n = in.readInt();
        if (n == 0) {
            return; // the shared empty arrays the constructor set
        }
        e.slots = new long[n];
        e.values = new double[n];
        for (int i = 0; i < n; i++) {
            e.slots[i] = in.readLong();
            e.values[i] = in.readDouble();
        }
    }

    private static void writeDoubles(double[] values, DataOutputView out) throws IOException {
        out.writeInt(values == null ? -1 : values.length);
        if (values != null) {
            for (double v : values) {
                out.writeDouble(v);
            }
        }
    }

    private static double[] readDoubles(DataInputView in) throws IOException {
        int n = in.readInt();
        if (n < 0) {
            return null;
        }
        double[] values = new double[n];
        for (int i = 0; i < n; i++) {
            values[i] = in.readDouble();
        }
        return values;
    }

    @Override
    public TypeSerializerSnapshot<InstrumentDetectorState> snapshotConfiguration() {
        return new Snapshot();
    }

    /** Savepoint compatibility: version 1 of the format above. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<InstrumentDetectorState> {
        public Snapshot() {
            super(() -> INSTANCE);
        }
    }
}
