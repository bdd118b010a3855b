package io.tickstream.candles;

import io.tickstream.metrics.JobMetrics;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/** Counts trades that came after their candle's allowed lateness (they are still in the ticks table). */
public final class LateCandleTrades extends ProcessFunction<CandleAccumulator, CandleAccumulator> {
    private static final long serialVersionUID = 1L;

    private transient Counter late;

    @Override
    public void open(OpenContext openContext) {
        late = JobMetrics.counter(getRuntimeContext().getMetricGroup(), JobMetrics.LATE_CANDLE_RECORDS);
    }

    @Override
    public void processElement(CandleAccumulator part, Context ctx, Collector<CandleAccumulator> out) {
        late.inc(part.trades);
    }
}
