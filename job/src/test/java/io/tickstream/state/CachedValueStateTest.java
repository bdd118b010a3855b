package io.tickstream.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.streaming.api.operators.KeyContext;
import org.junit.jupiter.api.Test;

/**
 * The heap copy in front of a keyed value state. Written through (no key context): every write reaches the state.
 * Written back (a key context, as {@link WriteBackKeyedProcessOperator} gives): a write reaches the state at the
 * next {@link CachedValueState#writeBack(long)} or when its key leaves the heap, under its own key. Either way a read is
 * served from the heap within the time-to-live since the key's last write and while the key is among the most
 * recently used. The keyed state here is a map standing for the backend's, with its current key (its own behaviour
 * is Flink's; the operators' snapshot and restore tests run the real one).
 */
class CachedValueStateTest {
    private static final Duration TTL = Duration.ofHours(6);

    /** A keyed value state and the operator's current key, as a backend keeps them. */
    private static final class KeyedValues implements ValueState<String>, KeyContext {
        final Map<String, String> byKey = new HashMap<>();
        String currentKey;
        int reads;
        int writes;

        @Override
        public String value() {
            reads++;
            return byKey.get(currentKey);
        }

        @Override
        public void update(String value) {
            writes++;
            byKey.put(currentKey, value);
        }

        @Override
        public void clear() {
            byKey.remove(currentKey);
        }

        @Override
        public void setCurrentKey(Object key) {
            currentKey = (String) key;
        }

        @Override
        public Object getCurrentKey() {
            return currentKey;
        }
    }

    private final KeyedValues state = new KeyedValues();

    private CachedValueState<String, String> writtenThrough(int capacity) {
        return new CachedValueState<>(state, TTL, capacity, null);
    }

    private CachedValueState<String, String> writtenBack(int capacity) {
        return new CachedValueState<>(state, TTL, capacity, state);
    }

    private String read(CachedValueState<String, String> cache, String key, long now) throws Exception {
        state.currentKey = key;
        return cache.value(key, now);
    }

    private void write(CachedValueState<String, String> cache, String key, String value, long now) throws Exception {
        state.currentKey = key;
        cache.update(key, value, now);
    }

    @Test
    void writtenThroughEveryWriteReachesTheStateAndReadsOfARecentKeyComeFromTheHeap() throws Exception {
        var cache = writtenThrough(10);
        assertThat(read(cache, "binance:BTC-USDT", 0)).isNull();
        write(cache, "binance:BTC-USDT", "a", 0);
        write(cache, "binance:BTC-USDT", "b", 1);
        assertThat(state.byKey).containsEntry("binance:BTC-USDT", "b");
        int reads = state.reads;
        assertThat(read(cache, "binance:BTC-USDT", 2)).isEqualTo("b");
        assertThat(state.reads).isEqualTo(reads);
    }

    @Test
    void writtenBackTheStateHasEachKeysLatestValueAfterWriteBackUnderItsOwnKey() throws Exception {
        var cache = writtenBack(10);
        write(cache, "binance:BTC-USDT", "a", 0);
        write(cache, "binance:BTC-USDT", "b", 1);
        write(cache, "kraken:BTC-USD", "c", 2);
        assertThat(state.byKey).isEmpty();
        assertThat(read(cache, "binance:BTC-USDT", 3)).isEqualTo("b");

        state.currentKey = "coinbase:ETH-USD"; // the key of the record being processed when the snapshot comes
        cache.writeBack(3);
        assertThat(state.byKey).containsOnly(Map.entry("binance:BTC-USDT", "b"), Map.entry("kraken:BTC-USD", "c"));
        assertThat(state.currentKey).isEqualTo("coinbase:ETH-USD");
        int writes = state.writes;
        cache.writeBack(3); // nothing held since
        assertThat(state.writes).isEqualTo(writes);

        write(cache, "kraken:BTC-USD", "d", 4);
        cache.writeBack(5);
        assertThat(state.writes).isEqualTo(writes + 1);
        assertThat(state.byKey).containsEntry("kraken:BTC-USD", "d");
    }

    @Test
    void writtenBackAKeyLeavingTheHeapIsWrittenUnderItsOwnKeyFirst() throws Exception {
        var cache = writtenBack(2);
        write(cache, "a", "1", 0);
        write(cache, "b", "2", 0);
        write(cache, "c", "3", 0); // a leaves the heap
        assertThat(state.byKey).containsOnly(Map.entry("a", "1"));
        assertThat(state.currentKey).isEqualTo("c");
        assertThat(read(cache, "a", 0)).isEqualTo("1"); // from the state
        write(cache, "d", "4", 0); // b leaves the heap
        assertThat(state.byKey).containsOnly(Map.entry("a", "1"), Map.entry("b", "2"));
        assertThat(state.currentKey).isEqualTo("d");
    }

    @Test
    void afterTheTtlSinceTheLastWriteTheValueIsGoneFromHeapAndState() throws Exception {
        for (boolean back : new boolean[] {false, true}) {
            state.byKey.clear();
            var cache = back ? writtenBack(10) : writtenThrough(10);
            write(cache, "binance:BTC-USDT", "a", 1_000);
            cache.writeBack(1_000);
            assertThat(read(cache, "binance:BTC-USDT", 1_000 + TTL.toMillis() - 1))
                    .isEqualTo("a");
            assertThat(read(cache, "binance:BTC-USDT", 1_000 + TTL.toMillis())).isNull();
            assertThat(state.byKey).isEmpty();
        }
    }

    @Test
    void writtenBackAValueThatExpiredBeforeItsWriteIsClearedNotWritten() throws Exception {
        var cache = writtenBack(1);
        state.byKey.put("a", "older"); // written back at an earlier checkpoint
        write(cache, "a", "1", 0);
        cache.writeBack(TTL.toMillis()); // no checkpoint for a whole time-to-live since a's last trade
        assertThat(state.byKey).doesNotContainKey("a");

        write(cache, "b", "2", 0);
        write(cache, "c", "3", TTL.toMillis()); // b leaves the heap expired
        assertThat(state.byKey).doesNotContainKey("b");
    }

    @Test
    void pastItsCapacityTheLeastRecentlyUsedKeyIsReadFromTheState() throws Exception {
        for (boolean back : new boolean[] {false, true}) {
            var cache = back ? writtenBack(2) : writtenThrough(2);
            write(cache, "a", "1", 0);
            write(cache, "b", "2", 0);
            read(cache, "a", 0); // b is now the least recently used
            write(cache, "c", "3", 0);
            int reads = state.reads;
            assertThat(read(cache, "a", 0)).isEqualTo("1");
            assertThat(read(cache, "c", 0)).isEqualTo("3");
            assertThat(state.reads).isEqualTo(reads);
            assertThat(read(cache, "b", 0)).isEqualTo("2");
            assertThat(state.reads).isEqualTo(reads + 1);
        }
    }
}
