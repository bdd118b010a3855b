package io.tickstream.state;

import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.flink.api.common.state.ValueState;

/**
 * A keyed value state read and written on every trade, with the values of the most recently used keys kept on the
 * heap as well: a read of such a key is a map look-up instead of a RocksDB read (a JNI call, the key's and the
 * value's serialization, a fresh copy of every object in the value), which was half of the detectors' time. Every
 * write still goes to the state, so checkpoints hold exactly what they held without this; a restored or rescaled
 * operator starts with an empty cache and reads from the state. Only this operator instance writes its keys' state,
 * so the heap copy cannot go stale; a copy is not served once the state's time-to-live since its last write has
 * passed (the state then decides, as without the cache). Not thread-safe: one per operator instance.
 *
 * <p>The value returned is the cached object itself: callers change it and {@link #update} it, as they do with a
 * value read from the state, and must not hand out parts of it that they change later.
 */
public final class CachedValueState<K, V> {
    private final ValueState<V> state;
    private final long ttlMs;
    private final Map<K, Cached<V>> recent;

    private static final class Cached<V> {
        V value;
        long writtenAt;

        Cached(V value, long writtenAt) {
            this.value = value;
            this.writtenAt = writtenAt;
        }
    }

    /**
     * @param state the keyed state (with time-to-live {@code ttl}, counted from each write)
     * @param capacity the most keys kept on the heap; the least recently used leave first
     */
    public CachedValueState(ValueState<V> state, Duration ttl, int capacity) {
        this.state = state;
        this.ttlMs = ttl.toMillis();
        this.recent = new LinkedHashMap<>(Math.min(capacity, 1024) * 2, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<K, Cached<V>> eldest) {
                return size() > capacity;
            }
        };
    }

    /**
     * The current key's value ({@code key} must be it), or null; {@code now} is the operator's processing time
     * (the clock the state's time-to-live counts by: the wall clock, epoch ms, on a TaskManager).
     */
    public V value(K key, long now) throws IOException {
        Cached<V> cached = recent.get(key);
        if (cached != null) {
            if (now - cached.writtenAt < ttlMs) {
                return cached.value;
            }
            recent.remove(key);
        }
        return state.value();
    }

    /**
     * Writes the current key's value ({@code key} must be it) to the state and keeps it; {@code now} is the
     * processing time, read before this call (the state's own write time is then never earlier).
     */
    public void update(K key, V value, long now) throws IOException {
        state.update(value);
        Cached<V> cached = recent.get(key);
        if (cached == null) {
            recent.put(key, new Cached<>(value, now));
        } else {
            cached.value = value;
            cached.writtenAt = now;
        }
    }
}
