package io.tickstream.model;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The exchange, symbol and instrument strings of each instrument seen, found by the bytes of
 * {@code <exchange>:<symbol>} (a Kafka key, or a serialized tick's instrument), so every trade of an instrument
 * shares three strings whose hash codes are computed once, instead of decoding and hashing them per trade. Not
 * thread-safe: one per parser or serializer instance (Flink gives each task its own).
 */
public final class InstrumentNames {
    /** More instruments than all venues list together; past it, names are decoded per trade (still correct). */
    public static final int MAX_CACHED = 100_000;

    public record Names(String exchange, String symbol, String instrument) {}

    private final Map<Bytes, Names> byBytes = new HashMap<>();
    private final Bytes probe = new Bytes(null, 0, 0);

    public Names get(byte[] bytes, int offset, int length) {
        probe.set(bytes, offset, length);
        Names names = byBytes.get(probe);
        probe.set(null, 0, 0);
        return names;
    }

    public void put(byte[] bytes, int offset, int length, Names names) {
        if (byBytes.size() < MAX_CACHED) {
            byBytes.put(new Bytes(Arrays.copyOfRange(bytes, offset, offset + length), 0, length), names);
        }
    }

    /** A byte range as a map key; the probe is reused so a look-up allocates nothing. */
    private static final class Bytes {
        private byte[] bytes;
        private int offset;
        private int length;
        private int hash;

        Bytes(byte[] bytes, int offset, int length) {
            set(bytes, offset, length);
        }

        void set(byte[] bytes, int offset, int length) {
            this.bytes = bytes;
            this.offset = offset;
            this.length = length;
            int h = 1;
            for (int i = offset; i < offset + length; i++) {
                h = 31 * h + bytes[i];
            }
            this.hash = h;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Bytes other
                    && Arrays.equals(
                            bytes, offset, offset + length, other.bytes, other.offset, other.offset + other.length);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }
}
