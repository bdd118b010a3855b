package io.tickstream.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.util.Collector;

/**
 * Held state writes survive every snapshot on RocksDB: a count per key, kept in a {@link CachedValueState} of two
 * keys (so keys leave the heap all the time), interrupted by snapshot and restore at generated points, counts as an
 * uninterrupted run does. Without the write-back before the snapshot a restored count would start again from the
 * last value that left the heap.
 */
class WriteBackKeyedProcessOperatorTest {
    /** Emits each record's key with the number of records of that key so far. */
    static final class CountPerKey extends WriteBackKeyedProcessFunction<String, String, String> {
        private transient CachedValueState<String, long[]> counts;

        @Override
        public void open(OpenContext openContext) {
            counts = cachedValueState(
                    getRuntimeContext().getState(new ValueStateDescriptor<>("count", long[].class)),
                    Duration.ofHours(1),
                    2);
        }

        @Override
        public void processElement(String key, Context ctx, Collector<String> out) throws Exception {
            long now = ctx.timerService().currentProcessingTime();
            long[] count = counts.value(key, now);
            if (count == null) {
                count = new long[1];
            }
            count[0]++;
            counts.update(key, count, now);
            out.collect(key + "=" + count[0]);
        }
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, String, String> harness(
            KeyedProcessOperator<String, String, String> operator, OperatorSubtaskState restoreFrom) throws Exception {
        var h = new KeyedOneInputStreamOperatorTestHarness<>(operator, key -> key, Types.STRING);
        h.setStateBackend(new EmbeddedRocksDBStateBackend());
        if (restoreFrom != null) {
            h.initializeState(restoreFrom);
        }
        h.open();
        return h;
    }

    private static List<String> run(List<Integer> keys, List<Integer> snapshotAfter, boolean writeBack)
            throws Exception {
        List<String> out = new ArrayList<>();
        OperatorSubtaskState snapshot = null;
        int from = 0;
        List<Integer> cuts = new ArrayList<>(snapshotAfter.stream()
                .map(c -> Math.min(c, keys.size()))
                .sorted()
                .toList());
        cuts.add(keys.size());
        long checkpoint = 0;
        for (int cut : cuts) {
            var h = harness(
                    writeBack
                            ? new WriteBackKeyedProcessOperator<>(new CountPerKey())
                            : new KeyedProcessOperator<>(new CountPerKey()),
                    snapshot);
            try {
                for (int i = from; i < cut; i++) {
                    h.processElement("venue:INSTRUMENT-" + keys.get(i), i);
                }
                snapshot = h.snapshot(++checkpoint, checkpoint);
                out.addAll(h.extractOutputValues());
            } finally {
                h.close();
            }
            from = cut;
        }
        return out;
    }

    @Property(tries = 30, seed = "20261202")
    void countsSurviveSnapshotsAsWithoutTheHeapCopy(
            @ForAll @Size(min = 1, max = 60) List<@IntRange(min = 0, max = 4) Integer> keys,
            @ForAll @Size(max = 4) List<@IntRange(min = 0, max = 60) Integer> snapshotAfter)
            throws Exception {
        List<String> uninterrupted = run(keys, List.of(), false);
        assertThat(run(keys, snapshotAfter, true)).isEqualTo(uninterrupted);
        assertThat(run(keys, snapshotAfter, false)).isEqualTo(uninterrupted);
    }
}
