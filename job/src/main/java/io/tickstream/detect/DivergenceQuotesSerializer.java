package io.tickstream.detect;

import io.tickstream.state.StateFormats;
import io.tickstream.state.StateSerializer;
import io.tickstream.state.VersionedStateSnapshot;
import java.io.IOException;
import java.util.Map;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/** The cross-venue detector's last trades per asset ({@link DivergenceQuotes}), read and written on every batch of trades. */
public final class DivergenceQuotesSerializer extends StateSerializer<DivergenceQuotes> {
    private static final long serialVersionUID = 1L;

    /** This state's formats: the current one, those this release reads, those it refuses (docs/state-migrations.md). */
    public static final StateFormats FORMATS = new StateFormats(
            "cross-venue quotes",
            3,
            Map.of(3, "release 0.2: each venue's last trade id", 2, "release 0.1 (986d34c)"),
            Map.of(1, "a build before release 0.1: strings in modified UTF-8"));

    /** Reads and writes the current format. */
    public static final DivergenceQuotesSerializer INSTANCE = new DivergenceQuotesSerializer(FORMATS.current());

    private DivergenceQuotesSerializer(int readFormat) {
        super(readFormat);
    }

    /** A serializer that reads {@code format} (one of {@link #FORMATS}' readable ones) and writes the current one. */
    public static DivergenceQuotesSerializer reading(int format) {
        return format == FORMATS.current() ? INSTANCE : new DivergenceQuotesSerializer(format);
    }

    @Override
    public DivergenceQuotes createInstance() {
        return new DivergenceQuotes();
    }

    @Override
    public void serialize(DivergenceQuotes s, DataOutputView out) throws IOException {
        writeStrings(s.exchanges, out);
        writeStrings(s.symbols, out);
        writeStrings(s.priceTexts, out);
        writeDoubles(s.prices, out);
        writeLongs(s.tradeTs, out);
        writeStrings(s.tradeIds, out);
        out.writeBoolean(s.episode);
        out.writeLong(s.since);
        out.writeBoolean(s.alerted);
    }

    @Override
    public DivergenceQuotes deserialize(DataInputView in) throws IOException {
        DivergenceQuotes s = new DivergenceQuotes();
        s.exchanges = readStrings(in);
        s.symbols = readStrings(in);
        s.priceTexts = readStrings(in);
        s.prices = readDoubles(in);
        s.tradeTs = readLongs(in);
        // Format 2 kept no trade ids: unknown until each venue trades again (its alert then names the trade that
        // completed the divergence instead).
        s.tradeIds = readFormat() >= 3 ? readStrings(in) : new String[s.exchanges.length];
        s.episode = in.readBoolean();
        s.since = in.readLong();
        s.alerted = in.readBoolean();
        return s;
    }

    @Override
    public TypeSerializerSnapshot<DivergenceQuotes> snapshotConfiguration() {
        return new Snapshot();
    }

    /** What a savepoint records of this serializer: the format of its data (see {@link FORMATS}). */
    public static final class Snapshot extends VersionedStateSnapshot<DivergenceQuotes> {
        @Override
        protected StateFormats formats() {
            return FORMATS;
        }

        @Override
        protected TypeSerializer<DivergenceQuotes> serializerReading(int format) {
            return reading(format);
        }
    }
}
