package io.tickstream.detect;

import io.tickstream.candles.CandleAccumulatorSerializer;
import io.tickstream.candles.IntervalSampler;
import io.tickstream.model.TickSerializer;
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
 * The detectors' per-instrument state, read and written in RocksDB on every trade (Flink's POJO serializer was a
 * quarter of the TaskManager's time here). The format is versioned by {@link Snapshot}: a field added to a
 * detector's state needs a line here and a new snapshot class (InstrumentDetectorStateSerializerTest fails until
 * then).
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
        PriceMoveDetector.State p = s.priceMove;
        writeExtremes(p.minima, out);
        writeExtremes(p.maxima, out);
        out.writeLong(p.newestSlot);
        out.writeBoolean(p.spikeActive);
        out.writeBoolean(p.dropActive);
        out.writeLong(p.lastSpikeAlertTs);
        out.writeLong(p.lastDropAlertTs);
        out.writeInt(p.episode);
        out.writeDouble(p.episodeReference);
        out.writeBoolean(p.episodeRetraced);

        ReturnZScoreDetector.State z = s.returnZScore;
        out.writeDouble(z.lastPrice);
        writeString(z.lastPriceText, out);
        out.writeDouble(z.mean);
        out.writeDouble(z.variance);
        out.writeLong(z.returns);
        out.writeLong(z.lastAlertTs);

        VolumeSpikeDetector.State v = s.volumeSpike;
        out.writeLong(v.stepStart);
        writeDoubles(v.volume, out);
        writeCounts(v.trades, out);
        writeDoubles(v.logSizes, out);
        writeDoubles(v.notional, out);
        out.writeBoolean(v.episode);
        out.writeLong(v.lastAlertTs);
        out.writeDouble(v.average);
        out.writeLong(v.steps);

        IntervalSampler.State q = s.sample;
        out.writeLong(q.interval);
        if (q.interval != IntervalSampler.State.NONE) {
            TickSerializer.writeTrade(q.last, out); // names left out: they are the key's
            CandleAccumulatorSerializer.INSTANCE.serialize(q.candle, out);
        }

        writeString(s.incidentId, out);
        out.writeLong(s.incidentLastTs);
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
        boolean v3 = readFormat() == 3;
        if (!v3) {
            p.episode = in.readInt();
            p.episodeReference = in.readDouble();
            p.episodeRetraced = in.readBoolean();
        }

        ReturnZScoreDetector.State z = s.returnZScore = new ReturnZScoreDetector.State();
        z.lastPrice = in.readDouble();
        z.lastPriceText = readString(in);
        z.mean = in.readDouble();
        z.variance = in.readDouble();
        z.returns = in.readLong();
        z.lastAlertTs = in.readLong();

        VolumeSpikeDetector.State v = s.volumeSpike = new VolumeSpikeDetector.State();
        v.stepStart = in.readLong();
        v.volume = readDoubles(in);
        if (v3) {
            // 0.1 summed each window without its largest trades, and kept no trade count: the steps' trades and
            // sizes are unknown (null: the detector starts the ring again on the next trade), the average is kept
            // (the baseline stays warm)
            v.notional = readDoubles(in);
            readDoubles(in);
        } else {
            v.trades = readCounts(in);
            v.logSizes = readDoubles(in);
            v.notional = readDoubles(in);
        }
        v.episode = in.readBoolean();
        v.lastAlertTs = in.readLong();
        v.average = in.readDouble();
        v.steps = in.readLong();

        IntervalSampler.State q = s.sample = new IntervalSampler.State();
        q.interval = in.readLong();
        if (q.interval != IntervalSampler.State.NONE) {
            q.last = TickSerializer.readTrade(in, null, null, null);
            q.candle = CandleAccumulatorSerializer.INSTANCE.deserialize(in);
        }
        if (!v3) {
            s.incidentId = readString(in);
            s.incidentLastTs = in.readLong();
        }
        return s;
    }

    /** Null-safe, as -1 for null. */
    private static void writeCounts(int[] values, DataOutputView out) throws IOException {
        out.writeInt(values == null ? -1 : values.length);
        if (values != null) {
            for (int v : values) {
                out.writeInt(v);
            }
        }
    }

    private static int[] readCounts(DataInputView in) throws IOException {
        int n = in.readInt();
        if (n < 0) {
            return null;
        }
        int[] values = new int[n];
        for (int i = 0; i < n; i++) {
            values[i] = in.readInt();
        }
        return values;
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
