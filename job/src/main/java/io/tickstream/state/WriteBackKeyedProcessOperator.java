package io.tickstream.state;

import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.operators.KeyContext;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;

/**
 * Runs a keyed process function whose {@link CachedValueState}s hold their writes on the heap: it hands the function
 * its key context before the function opens and has it write back what it holds before each snapshot, so the state
 * backend's snapshot (checkpoint or savepoint) has every key's latest value. Same state and timers as Flink's
 * {@link KeyedProcessOperator}, so an operator can switch between the two under its uid.
 */
public final class WriteBackKeyedProcessOperator<K, I, O> extends KeyedProcessOperator<K, I, O> {
    private static final long serialVersionUID = 1L;

    /** A keyed process function whose state writes can wait on the heap until a snapshot. */
    public interface Function {
        /** Called before the function opens: the key context its {@link CachedValueState}s write back with. */
        void writeBackWith(KeyContext keys);

        /** Writes every held value to the keyed state; {@code now} is the processing time. */
        void writeBack(long now) throws Exception;
    }

    public <F extends KeyedProcessFunction<K, I, O> & Function> WriteBackKeyedProcessOperator(F function) {
        super(function);
    }

    @Override
    public void open() throws Exception {
        ((Function) userFunction).writeBackWith(this);
        super.open();
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        ((Function) userFunction).writeBack(getProcessingTimeService().getCurrentProcessingTime());
        super.snapshotState(context);
    }
}
