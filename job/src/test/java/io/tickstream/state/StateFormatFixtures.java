package io.tickstream.state;

import io.tickstream.candles.CandleAccumulatorSerializer;
import io.tickstream.detect.DivergenceQuotesSerializer;
import io.tickstream.detect.InstrumentDetectorStateSerializer;
import io.tickstream.model.TickSerializer;
import io.tickstream.sequence.SequencerProgressSerializer;
import io.tickstream.testutils.StateSamples;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshotSerializationUtil;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Writes the state-format fixtures of this build, as a release leaves them for the next one: for each state serializer,
 * its snapshot (as a savepoint stores it: class name, snapshot version, content) and the data bytes of
 * {@link #samples}, under {@code src/test/resources/state-formats/release-<name>/<state>/}. Run it when cutting a
 * release: {@code ./mvnw -pl job test -Dtest=StateFormatFixtures -Dtickstream.write-state-fixtures=<release name>},
 * then add the release's row to StateFormatUpgradeTest. Release 0.1's were written by that build (986d34c).
 */
class StateFormatFixtures {
    static final Path ROOT = Path.of("src/test/resources/state-formats");

    /** What each state's data file holds, in order, as this build writes it. */
    static List<Object> samples(String state) {
        return switch (state) {
            case "tick" -> List.copyOf(StateSamples.ticks());
            case "detector-state" -> List.of(StateSamples.everyFieldSet(), StateSamples.fresh());
            case "candle-accumulator" -> List.of(StateSamples.candle());
            case "divergence-quotes" -> List.of(StateSamples.quotes(), StateSamples.emptyQuotes());
            case "sequencer-progress" -> List.of(StateSamples.progress(), StateSamples.emptyProgress());
            default -> throw new IllegalArgumentException(state);
        };
    }

    static TypeSerializer<?> serializer(String state) {
        return switch (state) {
            case "tick" -> new TickSerializer();
            case "detector-state" -> InstrumentDetectorStateSerializer.INSTANCE;
            case "candle-accumulator" -> CandleAccumulatorSerializer.INSTANCE;
            case "divergence-quotes" -> DivergenceQuotesSerializer.INSTANCE;
            case "sequencer-progress" -> SequencerProgressSerializer.INSTANCE;
            default -> throw new IllegalArgumentException(state);
        };
    }

    static final List<String> STATES =
            List.of("tick", "detector-state", "candle-accumulator", "divergence-quotes", "sequencer-progress");

    @Test
    @EnabledIfSystemProperty(named = "tickstream.write-state-fixtures", matches = "[0-9.]+")
    @SuppressWarnings({"unchecked", "rawtypes"})
    void writeThisBuildsFormats() throws Exception {
        String release = System.getProperty("tickstream.write-state-fixtures");
        for (String state : STATES) {
            Path dir = ROOT.resolve("release-" + release).resolve(state);
            Files.createDirectories(dir);
            TypeSerializer serializer = serializer(state);
            DataOutputSerializer snapshot = new DataOutputSerializer(256);
            TypeSerializerSnapshotSerializationUtil.writeSerializerSnapshot(
                    snapshot, serializer.snapshotConfiguration());
            Files.write(dir.resolve("serializer-snapshot"), snapshot.getCopyOfBuffer());
            DataOutputSerializer data = new DataOutputSerializer(1024);
            for (Object sample : samples(state)) {
                serializer.serialize(sample, data);
            }
            Files.write(dir.resolve("test-data"), data.getCopyOfBuffer());
        }
    }
}
