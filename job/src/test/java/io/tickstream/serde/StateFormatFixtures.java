package io.tickstream.serde;

import io.tickstream.model.Side;
import io.tickstream.model.Tick;

import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshotSerializationUtil;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes the committed state-format fixtures of this build: for each state serializer, its snapshot (as a savepoint
 * stores it: class name, snapshot version, content) and data bytes of the samples below, under
 * {@code src/test/resources/state-formats/<state>/v<format>/}. Run it when a release changes a format, so the next
 * release's upgrade test reads this one's bytes:
 * {@code ./mvnw -pl job test -Dtest=StateFormatFixtures -Dtickstream.write-state-fixtures=v<format>}.
 */
class StateFormatFixtures {
    static final Path ROOT = Path.of("src/test/resources/state-formats");

    /** Every state's samples, in the order they are written to its data file. */
    static List<Tick> ticks() {
        return List.of(
                new Tick("binance", "BTC-USDT", "3456789012", 3456789012L, "67123.45", 67123.45, "0.00120", 0.0012,
                        Side.BUY, 1732500000123L, 1732500000150L),
                new Tick("coinbase", "ETH-USD", "a1b2-c3d4", Tick.NO_SEQUENCE, "3301.7", 3301.7, "12", 12, Side.UNKNOWN,
                        1732500000999L, 1732500001020L));
    }

    @Test
    @EnabledIfSystemProperty(named = "tickstream.write-state-fixtures", matches = "true")
    void writeThisBuildsFormats() throws Exception {
        write("tick", "v3", new TickSerializer(), ticks());
        write("detector-state", "v3", InstrumentDetectorStateSerializer.INSTANCE,
                List.of(InstrumentDetectorStateSerializerTest.everyFieldSet(), InstrumentDetectorStateSerializerTest.fresh()));
        write("candle-accumulator", "v2", CandleAccumulatorSerializer.INSTANCE, List.of(StateSerializersTest.candle()));
        write("divergence-quotes", "v2", DivergenceQuotesSerializer.INSTANCE,
                List.of(StateSerializersTest.quotes(), new io.tickstream.detect.CrossVenueDivergenceDetector.State()));
        write("sequencer-progress", "v1", SequencerProgressSerializer.INSTANCE,
                List.of(StateSerializersTest.progress(), new io.tickstream.detect.TradeSequencer.Progress()));
    }

    private static <T> void write(String state, String tag, TypeSerializer<T> serializer, List<T> samples)
            throws Exception {
        Path dir = ROOT.resolve(state).resolve(tag);
        Files.createDirectories(dir);
        DataOutputSerializer snapshot = new DataOutputSerializer(256);
        TypeSerializerSnapshotSerializationUtil.writeSerializerSnapshot(snapshot, serializer.snapshotConfiguration());
        Files.write(dir.resolve("serializer-snapshot"), snapshot.getCopyOfBuffer());
        DataOutputSerializer data = new DataOutputSerializer(1024);
        for (T sample : samples) {
            serializer.serialize(sample, data);
        }
        Files.write(dir.resolve("test-data"), data.getCopyOfBuffer());
    }
}
