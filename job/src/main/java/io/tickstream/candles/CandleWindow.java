package io.tickstream.candles;

import io.tickstream.model.Candle;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

/**
 * Turns a minute's accumulator into a {@link Candle}. It fires when the watermark passes the minute and
 * again for every part or late trade that arrives within the allowed lateness; the sink upserts, so the row always holds
 * the latest, complete candle.
 */
public final class CandleWindow extends ProcessWindowFunction<CandleAccumulator, Candle, String, TimeWindow> {
    private static final long serialVersionUID = 1L;

    @Override
    public void process(
            String instrument, Context ctx, Iterable<CandleAccumulator> accumulators, Collector<Candle> out) {
        CandleAccumulator acc = accumulators.iterator().next();
        int colon = instrument.indexOf(':');
        out.collect(new Candle(
                instrument.substring(0, colon),
                instrument.substring(colon + 1),
                ctx.window().getStart(),
                acc.open,
                acc.high,
                acc.low,
                acc.close,
                acc.volume,
                acc.trades));
    }
}
