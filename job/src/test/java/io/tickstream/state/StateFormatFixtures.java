package io.tickstream.state;

import io.tickstream.candles.CandleAccumulatorSerializer;
import io.tickstream.detect.DivergenceQuotesSerializer;
import io.tickstream.detect.InstrumentDetectorStateSerializer;
import io.tickstream.model.Side;
import io.tickstream.model.Tick;
import io.tickstream.model.TickSerializer;
import io.tickstream.sequence.SequencerProgressSerializer;
import io.tickstream.sequence.TradeSequencer;
import io.tickstream.testutils.StateSamples;

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

    @Test
    @EnabledIfSystemProperty(named = "tickstream.write-state-fixtures", matches = "true")
    void writeThisBuildsFormats() throws Exception {
        write("tick", "v3", new TickSerializer(), StateSamples.ticks());
        write("detector-state", "v3", InstrumentDetectorStateSerializer.INSTANCE,
                List.of(StateSamples.everyFieldSet(), StateSamples.fresh()));
        write("candle-accumulator", "v2", CandleAccumulatorSerializer.INSTANCE, List.of(StateSamples.candle()));
        write("divergence-quotes", "v2", DivergenceQuotesSerializer.INSTANCE,
                List.of(StateSamples.quotes(), new io.tickstream.detect.CrossVenueDivergenceDetector.State()));
        write("sequencer-progress", "v1", SequencerProgressSerializer.INSTANCE,
                List.of(StateSamples.progress(), new io.tickstream.sequence.TradeSequencer.Progress()));
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
