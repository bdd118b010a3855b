package io.tickstream.state;

import java.io.IOException;
import java.util.function.IntFunction;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * A snapshot class that savepoints of release 0.1 (and the builds before it) name: those releases recorded a state's
 * format in the snapshot's class name (Flink's SimpleTypeSerializerSnapshot, no content), so each such class must stay
 * loadable under its old name (io.tickstream.serde.*) and say which format it stands for. The current release's
 * snapshot decides what happens to it ({@link VersionedStateSnapshot#resolveSchemaCompatibility}).
 */
public abstract class LegacyStateSnapshot<T> implements TypeSerializerSnapshot<T> {
    /** What Flink's SimpleTypeSerializerSnapshot wrote: version 3 with no content (version 2 held a class name). */
    private static final int SIMPLE_SNAPSHOT_VERSION = 3;

    private final StateFormats formats;
    private final int format;
    private final IntFunction<TypeSerializer<T>> reader;

    protected LegacyStateSnapshot(StateFormats formats, int format, IntFunction<TypeSerializer<T>> reader) {
        this.formats = formats;
        this.format = format;
        this.reader = reader;
    }

    public final StateFormats formats() {
        return formats;
    }

    public final int format() {
        return format;
    }

    @Override
    public final int getCurrentVersion() {
        return SIMPLE_SNAPSHOT_VERSION;
    }

    @Override
    public final void writeSnapshot(DataOutputView out) {}

    @Override
    public final void readSnapshot(int readVersion, DataInputView in, ClassLoader userCodeClassLoader)
            throws IOException {
        if (readVersion == 2) {
            in.readUTF();
        } else if (readVersion != SIMPLE_SNAPSHOT_VERSION) {
            throw new IOException(formats.state() + ": unknown snapshot version " + readVersion);
        }
    }

    @Override
    public final TypeSerializer<T> restoreSerializer() {
        if (!formats.reads(format)) {
            throw formats.refusal(format);
        }
        return reader.apply(format);
    }

    /** Never the new side: the current release's snapshot is a {@link VersionedStateSnapshot}. */
    @Override
    public final TypeSerializerSchemaCompatibility<T> resolveSchemaCompatibility(TypeSerializerSnapshot<T> old) {
        return TypeSerializerSchemaCompatibility.incompatible();
    }

    @Override
    public final boolean equals(Object o) {
        return o != null && o.getClass() == getClass();
    }

    @Override
    public final int hashCode() {
        return getClass().hashCode();
    }

    @Override
    public String toString() {
        return formats.state() + " state format v" + format + " (" + getClass().getName() + ")";
    }
}
