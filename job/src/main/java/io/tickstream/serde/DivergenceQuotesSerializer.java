package io.tickstream.serde;

import io.tickstream.state.LegacyStateSnapshot;

/**
 * Not a serializer any more: the snapshot class names that savepoints of release 0.1 hold for {@link io.tickstream.detect.DivergenceQuotesSerializer} (which lived
 * here then). Each stands for one format; the current serializer's snapshot reads or refuses it (docs/state-migrations.md).
 */
public final class DivergenceQuotesSerializer {
    private DivergenceQuotesSerializer() {}

    /** Format v2 (release 0.1). */
    public static final class SnapshotV2 extends LegacyStateSnapshot<io.tickstream.detect.DivergenceQuotes> {
        public SnapshotV2() {
            super(
                    io.tickstream.detect.DivergenceQuotesSerializer.FORMATS,
                    2,
                    io.tickstream.detect.DivergenceQuotesSerializer::reading);
        }
    }

    /** Format v1 (a build before release 0.1): refused. */
    public static final class Snapshot extends LegacyStateSnapshot<io.tickstream.detect.DivergenceQuotes> {
        public Snapshot() {
            super(
                    io.tickstream.detect.DivergenceQuotesSerializer.FORMATS,
                    1,
                    io.tickstream.detect.DivergenceQuotesSerializer::reading);
        }
    }
}
