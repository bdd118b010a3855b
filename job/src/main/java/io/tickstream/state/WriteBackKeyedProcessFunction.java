package io.tickstream.state;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.operators.KeyContext;

/**
 * A keyed process function whose hot per-key values live in {@link CachedValueState}s made by
 * {@link #cachedValueState}: run by a {@link WriteBackKeyedProcessOperator}, their writes wait on the heap until the
 * next snapshot; run by Flink's own operator, they write through.
 */
public abstract class WriteBackKeyedProcessFunction<K, I, O> extends KeyedProcessFunction<K, I, O>
        implements WriteBackKeyedProcessOperator.Function {
    private static final long serialVersionUID = 1L;

    /** Set by the operator before open: held writes go to the state at checkpoints (null: at once). */
    private transient KeyContext keys;

    private transient List<CachedValueState<K, ?>> cached;

    @Override
    public final void writeBackWith(KeyContext keys) {
        this.keys = keys;
    }

    /** A heap copy in front of {@code state} (call it in {@code open}); see {@link CachedValueState}. */
    protected final <V> CachedValueState<K, V> cachedValueState(ValueState<V> state, Duration ttl, int capacity) {
        CachedValueState<K, V> heapCopy = new CachedValueState<>(state, ttl, capacity, keys);
        if (cached == null) {
            cached = new ArrayList<>(1);
        }
        cached.add(heapCopy);
        return heapCopy;
    }

    @Override
    public final void writeBack(long now) throws IOException {
        if (cached != null) {
            for (CachedValueState<K, ?> heapCopy : cached) {
                heapCopy.writeBack(now);
            }
        }
    }
}
