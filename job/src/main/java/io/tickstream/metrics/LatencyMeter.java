package io.tickstream.metrics;

import io.tickstream.model.Tick;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.metrics.Histogram;

/** Passes ticks through, recording {@code recv_ts} → now (the tick is about to be written) in the latency histogram. */
public final class LatencyMeter extends RichMapFunction<Tick, Tick> {
    private static final long serialVersionUID = 1L;

    private transient Histogram latency;

    @Override
    public void open(OpenContext openContext) {
        latency = JobMetrics.latency(getRuntimeContext().getMetricGroup());
    }

    @Override
    public Tick map(Tick tick) {
        latency.update(System.currentTimeMillis() - tick.recvTs());
        return tick;
    }
}
