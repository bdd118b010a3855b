package io.tickstream.state;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.core.memory.DataOutputView;

/**
 * A mutable state object read and written on every trade, field by field in a fixed order. Flink's POJO
 * serializer builds every nested object twice and sets each field by reflection, which made it the largest
 * single cost of the TaskManager. Subclasses give the field order and the formats ({@link StateFormats}): a change
 * of the order is a new format, and the serializer keeps reading the previous release's format (a serializer made
 * with that format's number reads it; every serializer writes the current one), so a savepoint migrates on restore.
 */
public abstract class StateSerializer<T> extends TypeSerializer<T> {
    private static final long serialVersionUID = 1L;

    private final int readFormat;

    /** @param readFormat the format {@link #deserialize} reads */
    protected StateSerializer(int readFormat) {
        this.readFormat = readFormat;
    }

    /** The format {@link #deserialize} reads; {@link #serialize} writes the current one. */
    public final int readFormat() {
        return readFormat;
    }

    /** Stateless: one instance serves every thread. */
    @Override
    public final TypeSerializer<T> duplicate() {
        return this;
    }

    @Override
    public final boolean equals(Object o) {
        return o != null && o.getClass() == getClass() && ((StateSerializer<?>) o).readFormat == readFormat;
    }

    @Override
    public final int hashCode() {
        return getClass().hashCode() * 31 + readFormat;
    }

    @Override
    public final boolean isImmutableType() {
        return false;
    }

    @Override
    public final int getLength() {
        return -1;
    }

    /** A deep copy, through the serialized form: rare (state is copied only on the heap backend). */
    @Override
    public final T copy(T from) {
        try {
            DataOutputSerializer out = new DataOutputSerializer(256);
            serialize(from, out);
            return deserialize(new DataInputDeserializer(out.getSharedBuffer(), 0, out.length()));
        } catch (IOException e) {
            throw new UncheckedIOException("copying state in memory", e);
        }
    }

    @Override
    public final T copy(T from, T reuse) {
        return copy(from);
    }

    @Override
    public final T deserialize(T reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public final void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    public static void writeLongs(long[] values, DataOutputView out) throws IOException {
        out.writeInt(values.length);
        for (long v : values) {
            out.writeLong(v);
        }
    }

    public static long[] readLongs(DataInputView in) throws IOException {
        long[] values = new long[in.readInt()];
        for (int i = 0; i < values.length; i++) {
            values[i] = in.readLong();
        }
        return values;
    }

    /** Null-safe, as -1 for null. */
    public static void writeInts(int[] values, DataOutputView out) throws IOException {
        out.writeInt(values == null ? -1 : values.length);
        if (values != null) {
            for (int v : values) {
                out.writeInt(v);
            }
        }
    }

    public static int[] readInts(DataInputView in) throws IOException {
        int n = in.readInt();
        if (n < 0) {
            return null;
        }
        int[] values = new int[n];
        for (int i = 0; i < n; i++) {
            values[i] = in.readInt();
        }
        return values;
    }

    /** Null-safe, as -1 for null. */
    public static void writeDoubles(double[] values, DataOutputView out) throws IOException {
        out.writeInt(values == null ? -1 : values.length);
        if (values != null) {
            for (double v : values) {
                out.writeDouble(v);
            }
        }
    }

    public static double[] readDoubles(DataInputView in) throws IOException {
        int n = in.readInt();
        if (n < 0) {
            return null;
        }
        double[] values = new double[n];
        for (int i = 0; i < n; i++) {
            values[i] = in.readDouble();
        }
        return values;
    }

    /**
     * Null-safe: UTF-8 bytes behind their length (-1 for null). Prices, sizes and trade ids are ASCII, which the
     * JDK encodes and decodes as one array copy; writeUTF and readUTF go char by char and allocate twice per read
     * (a tenth of the TaskManager's samples, with a dozen strings per trade in the detectors' state).
     */
    public static void writeString(String s, DataOutputView out) throws IOException {
        if (s == null) {
            out.writeInt(-1);
            return;
        }
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    public static String readString(DataInputView in) throws IOException {
        int length = in.readInt();
        if (length < 0) {
            return null;
        }
        byte[] bytes = new byte[length];
        in.readFully(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    public static void writeStrings(String[] values, DataOutputView out) throws IOException {
        out.writeInt(values.length);
        for (String v : values) {
            writeString(v, out);
        }
    }

    public static String[] readStrings(DataInputView in) throws IOException {
        String[] values = new String[in.readInt()];
        for (int i = 0; i < values.length; i++) {
            values[i] = readString(in);
        }
        return values;
    }
}
