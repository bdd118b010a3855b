package io.tickstream.serde;

import io.tickstream.state.LegacyStateSnapshot;

/**
 * Not a serializer any more: the snapshot class names that savepoints of release 0.1 hold for {@link io.tickstream.sequence.SequencerProgressSerializer} (which lived
 * here then). Each stands for one format; the current serializer's snapshot reads or refuses it (docs/state-migrations.md).
 */
public final class SequencerProgressSerializer {
    private SequencerProgressSerializer() {}

    /** Format v1 (release 0.1). */
    public static final class Snapshot extends LegacyStateSnapshot<io.tickstream.sequence.TradeSequencer.Progress> {
        public Snapshot() {
            super(
                    io.tickstream.sequence.SequencerProgressSerializer.FORMATS,
                    1,
                    io.tickstream.sequence.SequencerProgressSerializer::reading);
        }
    }
}
