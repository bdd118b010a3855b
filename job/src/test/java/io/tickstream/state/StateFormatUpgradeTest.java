package io.tickstream.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import io.tickstream.candles.CandleAccumulatorSerializer;
import io.tickstream.detect.InstrumentDetectorStateSerializer;
import io.tickstream.model.Tick;
import io.tickstream.model.TickSerializer;
import io.tickstream.sequence.SequencerProgressSerializer;
import io.tickstream.testutils.StateSamples;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshotSerializationUtil;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every released state format restores into this release (after Flink's TypeSerializerUpgradeTestBase): the committed
 * snapshot and data bytes each release wrote (src/test/resources/state-formats/&lt;state&gt;/v&lt;format&gt;, by
 * StateFormatFixtures) are read through the snapshot class the savepoint names, the current serializer's snapshot says
 * compatible as is (same format) or after migration (an earlier one), the data reads as the values written, and it
 * writes back in the current format. Formats no release reads are refused at once, with a message.
 */
class StateFormatUpgradeTest {
    private static final Path FIXTURES = Path.of("src/test/resources/state-formats");

    /**
     * (release, state, what the release's data must read as in this one): every release's fixtures, kept for every
     * later release. A state whose format changed since reads as its migration makes it.
     */
    static Stream<Arguments> releasedFormats() {
        List<Arguments> out = new ArrayList<>();
        for (String state : StateFormatFixtures.STATES) {
            out.add(arguments(
                    "0.1",
                    state,
                    switch (state) {
                        case "divergence-quotes" ->
                            (Supplier<List<?>>)
                                    () -> List.of(StateSamples.quotesAsOfFormat2(), StateSamples.emptyQuotes());
                        case "detector-state" ->
                            (Supplier<List<?>>)
                                    () -> List.of(StateSamples.everyFieldSetAsOfFormat3(), StateSamples.fresh());
                        default -> (Supplier<List<?>>) () -> StateFormatFixtures.samples(state);
                    }));
            out.add(arguments("0.2", state, (Supplier<List<?>>) () -> StateFormatFixtures.samples(state)));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "release {0}: {1}")
    @MethodSource("releasedFormats")
    @SuppressWarnings({"unchecked", "rawtypes"})
    void aReleasedFormatRestoresIntoThisRelease(String release, String state, Supplier<List<?>> expected)
            throws Exception {
        Path dir = FIXTURES.resolve("release-" + release).resolve(state);
        TypeSerializer current = StateFormatFixtures.serializer(state);
        TypeSerializerSnapshot old = TypeSerializerSnapshotSerializationUtil.readSerializerSnapshot(
                new DataInputDeserializer(Files.readAllBytes(dir.resolve("serializer-snapshot"))),
                getClass().getClassLoader());
        int format = old instanceof LegacyStateSnapshot<?> legacy
                ? legacy.format()
                : ((VersionedStateSnapshot<?>) old).format();

        TypeSerializerSchemaCompatibility compatibility =
                current.snapshotConfiguration().resolveSchemaCompatibility(old);
        int currentFormat = ((VersionedStateSnapshot<?>) current.snapshotConfiguration()).format();
        if (format == currentFormat) {
            assertThat(compatibility.isCompatibleAsIs())
                    .as("%s v%d restores as is", state, format)
                    .isTrue();
        } else {
            assertThat(compatibility.isCompatibleAfterMigration())
                    .as("%s v%d migrates", state, format)
                    .isTrue();
        }

        TypeSerializer restore = old.restoreSerializer();
        DataInputDeserializer data = new DataInputDeserializer(Files.readAllBytes(dir.resolve("test-data")));
        List<Object> read = new ArrayList<>();
        for (Object ignored : expected.get()) {
            read.add(restore.deserialize(data));
        }
        assertThat(data.available()).as("every byte of the fixture read").isZero();
        assertThat(read).usingRecursiveFieldByFieldElementComparator().isEqualTo(expected.get());

        // Written back in the current format, it reads the same with the current serializer.
        DataOutputSerializer out = new DataOutputSerializer(512);
        for (Object value : read) {
            current.serialize(value, out);
        }
        DataInputDeserializer again = new DataInputDeserializer(out.getCopyOfBuffer());
        for (Object value : read) {
            assertThat(current.deserialize(again)).usingRecursiveComparison().isEqualTo(value);
        }
    }

    /**
     * Release 0.1 kept a snapshot class per format "so that an older savepoint is refused", but Flink's
     * SimpleTypeSerializerSnapshot compared only serializer classes: a tick of format v2 was read with v3's layout
     * (EOFException), detector state could allocate gigabytes. Now the format decides, and the refusal stops the job.
     */
    @Test
    void aFormatOfABuildBeforeAnyReleaseIsRefusedWithAMessage() {
        TypeSerializerSnapshot<Tick> v2 = new io.tickstream.serde.TickSerializer.SnapshotV2();
        assertThatThrownBy(() -> new TickSerializer().snapshotConfiguration().resolveSchemaCompatibility(v2))
                .isInstanceOf(SuppressRestartsException.class)
                .cause()
                .isInstanceOf(StateFormats.StateFormatException.class)
                .hasMessageContaining(
                        "holds tick state in format v2 (a build before release 0.1: strings in modified UTF-8)")
                .hasMessageContaining("this release reads v3 (release 0.1 (986d34c))")
                .hasMessageContaining("Start the job without restoring state");
        assertThatThrownBy(v2::restoreSerializer).isInstanceOf(SuppressRestartsException.class);
        assertThatThrownBy(() -> InstrumentDetectorStateSerializer.INSTANCE
                        .snapshotConfiguration()
                        .resolveSchemaCompatibility(
                                new io.tickstream.serde.InstrumentDetectorStateSerializer.Snapshot()))
                .isInstanceOf(SuppressRestartsException.class)
                .cause()
                .hasMessageContaining("detector state in format v1");
    }

    @Test
    void aFormatOfANewerReleaseIsRefused() throws Exception {
        // A savepoint of a later release: the same snapshot class with a format this release does not know.
        DataOutputSerializer bytes = new DataOutputSerializer(64);
        TypeSerializerSnapshotSerializationUtil.writeSerializerSnapshot(
                bytes, SequencerProgressSerializer.INSTANCE.snapshotConfiguration());
        bytes.setPosition(bytes.length() - Integer.BYTES); // the format, the snapshot's last field
        bytes.writeInt(SequencerProgressSerializer.FORMATS.current() + 1);
        TypeSerializerSnapshot<?> newer = TypeSerializerSnapshotSerializationUtil.readSerializerSnapshot(
                new DataInputDeserializer(bytes.getCopyOfBuffer()), getClass().getClassLoader());
        assertThatThrownBy(() -> resolve(SequencerProgressSerializer.INSTANCE, newer))
                .isInstanceOf(SuppressRestartsException.class)
                .cause()
                .hasMessageContaining("written by a newer TickStream release");
        assertThatThrownBy(newer::restoreSerializer).isInstanceOf(SuppressRestartsException.class);
    }

    @Test
    void anotherStatesSnapshotIsRefused() {
        assertThatThrownBy(() -> resolve(
                        CandleAccumulatorSerializer.INSTANCE,
                        new io.tickstream.serde.SequencerProgressSerializer.Snapshot()))
                .isInstanceOf(SuppressRestartsException.class)
                .cause()
                .hasMessageContaining("where this release keeps candle accumulator state");
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static TypeSerializerSchemaCompatibility<?> resolve(
            TypeSerializer<?> current, TypeSerializerSnapshot<?> old) {
        return ((TypeSerializerSnapshot) current.snapshotConfiguration()).resolveSchemaCompatibility(old);
    }
}
