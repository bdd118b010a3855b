package io.tickstream.testutils;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.operators.testutils.MockEnvironmentBuilder;
import org.apache.flink.runtime.state.heap.HeapKeyedStateBackend;
import org.apache.flink.streaming.api.functions.co.KeyedCoProcessFunction;
import org.apache.flink.streaming.api.operators.co.KeyedCoProcessOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.AbstractStreamOperatorTestHarness;

/**
 * A keyed two-input function in Flink's operator test harness, with its metrics captured ({@link Harnesses}):
 * Flink's own keyed two-input harness has no way to pass the environment that carries the metric group.
 */
public final class KeyedTwoInputHarness<IN1, IN2, OUT> extends AbstractStreamOperatorTestHarness<OUT> {
    private final KeyedCoProcessOperator<String, IN1, IN2, OUT> operator;

    private KeyedTwoInputHarness(KeyedCoProcessOperator<String, IN1, IN2, OUT> operator, MockEnvironment env)
            throws Exception {
        super(operator, env);
        this.operator = operator;
    }

    /** A harness around {@code fn}, opened; its inputs keyed by {@code key1} and {@code key2}. Close it after use. */
    public static <IN1, IN2, OUT> KeyedTwoInputHarness<IN1, IN2, OUT> open(
            KeyedCoProcessFunction<String, IN1, IN2, OUT> fn,
            KeySelector<IN1, String> key1,
            KeySelector<IN2, String> key2,
            Harnesses.CapturedMetrics metrics)
            throws Exception {
        MockEnvironment env =
                new MockEnvironmentBuilder().setMetricGroup(metrics.taskGroup()).build();
        KeyedTwoInputHarness<IN1, IN2, OUT> harness = new KeyedTwoInputHarness<>(new KeyedCoProcessOperator<>(fn), env);
        harness.config.setStatePartitioner(0, key1);
        harness.config.setStatePartitioner(1, key2);
        harness.config.setStateKeySerializer(
                Types.STRING.createSerializer(harness.executionConfig.getSerializerConfig()));
        harness.config.serializeAllConfigs();
        harness.open();
        return harness;
    }

    public void processElement1(IN1 value, long timestamp) throws Exception {
        StreamRecord<IN1> record = new StreamRecord<>(value, timestamp);
        operator.setKeyContextElement1(record);
        operator.processElement1(record);
    }

    public void processElement2(IN2 value, long timestamp) throws Exception {
        StreamRecord<IN2> record = new StreamRecord<>(value, timestamp);
        operator.setKeyContextElement2(record);
        operator.processElement2(record);
    }

    /** The watermark of both inputs (the detectors send both). */
    public void processWatermark(long watermark) throws Exception {
        operator.processWatermark1(new Watermark(watermark));
        operator.processWatermark2(new Watermark(watermark));
    }

    public int numKeyedStateEntries() {
        return ((HeapKeyedStateBackend<?>) operator.getKeyedStateBackend()).numKeyValueStateEntries();
    }
}
