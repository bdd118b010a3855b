package io.tickstream.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.state.ValueState;
import org.junit.jupiter.api.Test;

/**
 * The heap copy in front of a keyed value state: every write reaches the state, a read is served from the heap only
 * within the time-to-live since the key's last write and while the key is among the most recently used. The keyed
 * state here is a map standing for the backend's (its own behaviour is Flink's; the operators' tests run it).
 */
class CachedValueStateTest {
    private static final Duration TTL = Duration.ofHours(6);

    /** A keyed value state: values by the current key, as a backend keeps them. */
    private static final class KeyedValues implements ValueState<String> {
        final Map<String, String> byKey = new HashMap<>();
        String currentKey;
        int reads;

        @Override
        public String value() {
            reads++;
            return byKey.get(currentKey);
        }

        @Override
        public void update(String value) {
            byKey.put(currentKey, value);
        }

        @Override
        public void clear() {
            byKey.remove(currentKey);
        }
    }

    private final KeyedValues state = new KeyedValues();

    private String read(CachedValueState<String, String> cache, String key, long now) throws Exception {
        state.currentKey = key;
        return cache.value(key, now);
    }

    private void write(CachedValueState<String, String> cache, String key, String value, long now) throws Exception {
        state.currentKey = key;
        cache.update(key, value, now);
    }

    @Test
    void everyWriteReachesTheStateAndReadsOfARecentKeyComeFromTheHeap() throws Exception {
        var cache = new CachedValueState<String, String>(state, TTL, 10);
        assertThat(read(cache, "binance:BTC-USDT", 0)).isNull();
        write(cache, "binance:BTC-USDT", "a", 0);
        write(cache, "binance:BTC-USDT", "b", 1);
        assertThat(state.byKey).containsEntry("binance:BTC-USDT", "b");
        int reads = state.reads;
        assertThat(read(cache, "binance:BTC-USDT", 2)).isEqualTo("b");
        assertThat(state.reads).isEqualTo(reads);
    }

    @Test
    void afterTheTtlSinceTheLastWriteTheStateDecides() throws Exception {
        var cache = new CachedValueState<String, String>(state, TTL, 10);
        write(cache, "binance:BTC-USDT", "a", 1_000);
        state.byKey.clear(); // the backend expired it
        assertThat(read(cache, "binance:BTC-USDT", 1_000 + TTL.toMillis() - 1)).isEqualTo("a");
        assertThat(read(cache, "binance:BTC-USDT", 1_000 + TTL.toMillis())).isNull();
    }

    @Test
    void pastItsCapacityTheLeastRecentlyUsedKeyIsReadFromTheState() throws Exception {
        var cache = new CachedValueState<String, String>(state, TTL, 2);
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
