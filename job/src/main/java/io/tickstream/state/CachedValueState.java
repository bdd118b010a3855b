package io.tickstream.state;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.streaming.api.operators.KeyContext;

/**
 * A keyed value state read and written on every trade, with the values of the most recently used keys kept on the
 * heap: a read of such a key is a map look-up instead of a RocksDB read (a JNI call, the key's and the value's
 * serialization, a fresh copy of every object in the value), which was half of the detectors' time.
 *
 * <p>Run by a {@link WriteBackKeyedProcessOperator} (given its {@link KeyContext}), a write stays on the heap until
 * the operator's next snapshot ({@link #writeBack(long)}, before the state backend's) or until its key leaves the heap,
 * whichever is first: a busy instrument's value is serialized and put into RocksDB once per checkpoint instead of
 * once per trade, and every checkpoint and savepoint still holds each key's latest value. Without a key context
 * every write goes to the state at once. A restored or rescaled operator starts with an empty heap and reads from
 * the state. Only this operator instance writes its keys' state, so the heap copy cannot go stale.
 *
 * <p>Time-to-live counts from the last {@link #update}: a heap copy older than that is expired and its key's state
 * cleared, and a held value that expired before it was written back is cleared rather than written. A value written
 * back lives in the backend, which counts from when it reached it, up to a checkpoint interval longer than the
 * time-to-live (restored or after leaving the heap). Not thread-safe: one per operator instance.
 *
 * <p>The value returned is the heap copy itself: callers change it and {@link #update} it, as they do with a value
 * read from the state, and must not hand out parts of it that they change later.
 */
public final class CachedValueState<K, V> {
    private final ValueState<V> state;
    private final long ttlMs;
    private final KeyContext keys;
    private final Map<K, Cached<V>> recent;
    /** The processing time of the update that may push the least recently used key off the heap. */
    private long evictedAt;

    private static final class Cached<V> {
        V value;
        long writtenAt;
        /** Updated since it last reached the state. */
        boolean held;

        Cached(V value, long writtenAt) {
            this.value = value;
            this.writtenAt = writtenAt;
        }
    }

    /**
     * @param state the keyed state (with time-to-live {@code ttl}, counted from each write)
     * @param capacity the most keys kept on the heap; the least recently used leave first
     * @param keys the operator's key context, to write a held value under its own key; null: write through
     */
    public CachedValueState(ValueState<V> state, Duration ttl, int capacity, KeyContext keys) {
        if (capacity < 1) {
            throw new IllegalArgumentException("a heap copy of at least one key, not " + capacity);
        }
        this.state = state;
        this.ttlMs = ttl.toMillis();
        this.keys = keys;
        this.recent = new LinkedHashMap<>(Math.min(capacity, 1024) * 2, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<K, Cached<V>> eldest) {
                if (size() <= capacity) {
                    return false;
                }
                if (eldest.getValue().held) {
                    writeUnderItsKey(eldest.getKey(), eldest.getValue(), evictedAt);
                }
                return true;
            }
        };
    }

    /**
     * The current key's value ({@code key} must be it), or null; {@code now} is the operator's processing time
     * (the clock the state's time-to-live counts by: the wall clock, epoch ms, on a TaskManager).
     */
    public V value(K key, long now) throws IOException {
        Cached<V> cached = recent.get(key);
        if (cached == null) {
            return state.value();
        }
        if (now - cached.writtenAt < ttlMs) {
            return cached.value;
        }
        recent.remove(key);
        state.clear();
        return null;
    }

    /**
     * Sets the current key's value ({@code key} must be it); {@code now} is the processing time, read before this
     * call (the state's own write time is then never earlier).
     */
    public void update(K key, V value, long now) throws IOException {
        Cached<V> cached = recent.get(key);
        if (cached == null) {
            cached = new Cached<>(value, now);
            evictedAt = now;
            recent.put(key, cached);
        } else {
            cached.value = value;
            cached.writtenAt = now;
        }
        if (keys == null) {
            state.update(value);
        } else {
            cached.held = true;
        }
    }

    /**
     * Writes every held value to the state, each under its key; the operator calls this before each snapshot, with its
     * processing time. A value past its time-to-live is cleared instead (written, it would live a time-to-live more).
     */
    public void writeBack(long now) throws IOException {
        if (keys == null) {
            return;
        }
        Object current = keys.getCurrentKey();
        try {
            for (Map.Entry<K, Cached<V>> e : recent.entrySet()) {
                Cached<V> cached = e.getValue();
                if (cached.held) {
                    keys.setCurrentKey(e.getKey());
                    write(cached, now);
                    cached.held = false;
                }
            }
        } finally {
            if (current != null) {
                keys.setCurrentKey(current);
            }
        }
    }

    private void writeUnderItsKey(K key, Cached<V> cached, long now) {
        Object current = keys.getCurrentKey();
        keys.setCurrentKey(key);
        try {
            write(cached, now);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            if (current != null) {
                keys.setCurrentKey(current);
            }
        }
        cached.held = false;
    }

    private void write(Cached<V> cached, long now) throws IOException {
        if (now - cached.writtenAt < ttlMs) {
            state.update(cached.value);
        } else {
            state.clear();
        }
    }
}
