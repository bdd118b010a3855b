package io.tickstream.testutils;

import io.tickstream.model.Tick;
import io.tickstream.state.WriteBackKeyedProcessOperator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Metric;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.clusterframework.types.ResourceID;
import org.apache.flink.runtime.executiongraph.ExecutionGraphTestUtils;
import org.apache.flink.runtime.metrics.groups.TaskManagerMetricGroup;
import org.apache.flink.runtime.metrics.groups.TaskMetricGroup;
import org.apache.flink.runtime.metrics.util.TestingMetricRegistry;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.operators.testutils.MockEnvironmentBuilder;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;

/**
 * Flink operator test harnesses for the job's keyed functions (keyed by instrument, as in the job), with the
 * operator's metrics captured so tests can read the job's counters.
 */
public final class Harnesses {
    private Harnesses() {}

    /** A harness around {@code fn}, opened, keyed by {@link Tick#instrument()}. Close it after the test. */
    public static <O> KeyedOneInputStreamOperatorTestHarness<String, Tick, O> keyed(
            KeyedProcessFunction<String, Tick, O> fn, CapturedMetrics metrics) throws Exception {
        MockEnvironment env =
                new MockEnvironmentBuilder().setMetricGroup(metrics.taskGroup()).build();
        KeyedOneInputStreamOperatorTestHarness<String, Tick, O> harness =
                new KeyedOneInputStreamOperatorTestHarness<>(operatorOf(fn), Tick::instrument, Types.STRING, env);
        harness.open();
        return harness;
    }

    /** A harness around {@code fn}, keyed by {@link Tick#instrument()}, restored from {@code snapshot}, opened. */
    public static <O> KeyedOneInputStreamOperatorTestHarness<String, Tick, O> restored(
            KeyedProcessFunction<String, Tick, O> fn, OperatorSubtaskState snapshot) throws Exception {
        KeyedOneInputStreamOperatorTestHarness<String, Tick, O> harness =
                new KeyedOneInputStreamOperatorTestHarness<>(operatorOf(fn), Tick::instrument, Types.STRING);
        harness.initializeState(snapshot);
        harness.open();
        return harness;
    }

    /** A harness around {@code fn}, opened, keyed by {@code key} (for functions keyed otherwise than by instrument). */
    public static <O> KeyedOneInputStreamOperatorTestHarness<String, Tick, O> keyed(
            KeyedProcessFunction<String, Tick, O> fn, KeySelector<Tick, String> key, CapturedMetrics metrics)
            throws Exception {
        MockEnvironment env =
                new MockEnvironmentBuilder().setMetricGroup(metrics.taskGroup()).build();
        KeyedOneInputStreamOperatorTestHarness<String, Tick, O> harness =
                new KeyedOneInputStreamOperatorTestHarness<>(operatorOf(fn), key, Types.STRING, env);
        harness.open();
        return harness;
    }

    /** The operator the job runs {@code fn} in: state written back at snapshots when {@code fn} can. */
    public static <O> KeyedProcessOperator<String, Tick, O> operatorOf(KeyedProcessFunction<String, Tick, O> fn) {
        if (fn instanceof WriteBackKeyedProcessOperator.Function) {
            return new WriteBackKeyedProcessOperator<>(
                    (KeyedProcessFunction<String, Tick, O> & WriteBackKeyedProcessOperator.Function) fn);
        }
        return new KeyedProcessOperator<>(fn);
    }

    public static <O> KeyedOneInputStreamOperatorTestHarness<String, Tick, O> keyed(
            KeyedProcessFunction<String, Tick, O> fn) throws Exception {
        return keyed(fn, new CapturedMetrics());
    }

    /** Every metric the operator registers, by name; counters in a {@code type} group as {@code name{TYPE}}. */
    public static final class CapturedMetrics {
        private final Map<String, Metric> byName = new ConcurrentHashMap<>();

        TaskMetricGroup taskGroup() {
            TestingMetricRegistry registry = TestingMetricRegistry.builder()
                    .setRegisterConsumer((metric, name, group) -> {
                        String type = group.getAllVariables().get("<type>");
                        byName.put(type == null ? name : name + '{' + type + '}', metric);
                    })
                    .build();
            return TaskManagerMetricGroup.createTaskManagerMetricGroup(registry, "localhost", ResourceID.generate())
                    .addJob(new JobID(), "test-job")
                    .addTask(ExecutionGraphTestUtils.createExecutionAttemptId(), "test-task");
        }

        /** The count of a registered counter; fails when the operator never registered it. */
        public long count(String name) {
            Metric m = byName.get(name);
            if (m == null) {
                throw new AssertionError("no metric " + name + " among " + byName.keySet());
            }
            return ((Counter) m).getCount();
        }
    }
}
