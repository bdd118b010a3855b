package io.tickstream.serde;

import io.tickstream.state.LegacyStateSnapshot;

/**
 * Not a serializer any more: the snapshot class names that savepoints of release 0.1 hold for {@link io.tickstream.detect.InstrumentDetectorStateSerializer} (which lived
 * here then). Each stands for one format; the current serializer's snapshot reads or refuses it (docs/state-migrations.md).
 */
public final class InstrumentDetectorStateSerializer {
    private InstrumentDetectorStateSerializer() {}

    /** Format v3 (release 0.1). */
    public static final class SnapshotV3 extends LegacyStateSnapshot<io.tickstream.detect.InstrumentDetectorState> {
        public SnapshotV3() {
            super(
                    io.tickstream.detect.InstrumentDetectorStateSerializer.FORMATS,
                    3,
                    io.tickstream.detect.InstrumentDetectorStateSerializer::reading);
        }
    }

    /** Format v2 (a build before release 0.1): refused. */
    public static final class SnapshotV2 extends LegacyStateSnapshot<io.tickstream.detect.InstrumentDetectorState> {
        public SnapshotV2() {
            super(
                    io.tickstream.detect.InstrumentDetectorStateSerializer.FORMATS,
                    2,
                    io.tickstream.detect.InstrumentDetectorStateSerializer::reading);
        }
    }

    /** Format v1 (a build before release 0.1): refused. */
    public static final class Snapshot extends LegacyStateSnapshot<io.tickstream.detect.InstrumentDetectorState> {
        public Snapshot() {
            super(
                    io.tickstream.detect.InstrumentDetectorStateSerializer.FORMATS,
                    1,
                    io.tickstream.detect.InstrumentDetectorStateSerializer::reading);
        }
    }
}
