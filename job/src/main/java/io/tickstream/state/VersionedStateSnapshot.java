package io.tickstream.state;

import java.io.IOException;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * What a savepoint records of one of the job's state serializers: the format its data was written in. On restore,
 * the new release's snapshot decides (Flink asks it, handing it the snapshot the savepoint holds): the same format is
 * compatible as is; an earlier one this release reads is compatible after migration (Flink reads every value with
 * {@link #restoreSerializer()}, which reads the old layout, and writes it back in the current one); any other is
 * refused at once with a message saying what to do ({@link StateFormats#refusal}), never read with the wrong layout.
 * Snapshots of release 0.1, which recorded no format, are {@link LegacyStateSnapshot}s.
 */
public abstract class VersionedStateSnapshot<T> implements TypeSerializerSnapshot<T> {
    /** How this snapshot itself is written: one int, the format of the data. */
    private static final int SNAPSHOT_VERSION = 1;

    private int format;

    /** A snapshot of the current format (Flink instantiates a snapshot by its class, then reads its format). */
    protected VersionedStateSnapshot() {
        this.format = formats().current();
    }

    /** The state's formats. */
    protected abstract StateFormats formats();

    /** A serializer reading data written in {@code format}, one of {@link StateFormats#readable}. */
    protected abstract TypeSerializer<T> serializerReading(int format);

    /** The format of the data this snapshot describes. */
    public final int format() {
        return format;
    }

    @Override
    public final int getCurrentVersion() {
        return SNAPSHOT_VERSION;
    }

    @Override
    public final void writeSnapshot(DataOutputView out) throws IOException {
        out.writeInt(format);
    }

    @Override
    public final void readSnapshot(int readVersion, DataInputView in, ClassLoader userCodeClassLoader)
            throws IOException {
        if (readVersion != SNAPSHOT_VERSION) {
            throw formats().refusal("a snapshot layout v" + readVersion + " of a newer TickStream release");
        }
        format = in.readInt();
    }

    @Override
    public final TypeSerializer<T> restoreSerializer() {
        if (!formats().reads(format)) {
            throw formats().refusal(format);
        }
        return serializerReading(format);
    }

    @Override
    public final TypeSerializerSchemaCompatibility<T> resolveSchemaCompatibility(TypeSerializerSnapshot<T> old) {
        int oldFormat;
        if (old instanceof VersionedStateSnapshot<T> versioned && old.getClass() == getClass()) {
            oldFormat = versioned.format;
        } else if (old instanceof LegacyStateSnapshot<T> legacy
                && legacy.formats().state().equals(formats().state())) {
            oldFormat = legacy.format();
        } else {
            throw formats().refusalOf(old);
        }
        if (oldFormat == formats().current()) {
            return TypeSerializerSchemaCompatibility.compatibleAsIs();
        }
        if (formats().reads(oldFormat)) {
            return TypeSerializerSchemaCompatibility.compatibleAfterMigration();
        }
        throw formats().refusal(oldFormat);
    }

    @Override
    public final boolean equals(Object o) {
        return o != null && o.getClass() == getClass() && ((VersionedStateSnapshot<?>) o).format == format;
    }

    @Override
    public final int hashCode() {
        return getClass().hashCode() * 31 + format;
    }

    @Override
    public String toString() {
        return formats().state() + " state format v" + format;
    }
}
