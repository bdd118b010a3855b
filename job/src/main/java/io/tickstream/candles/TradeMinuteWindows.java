package io.tickstream.candles;

import java.util.Collection;
import java.util.List;
import org.apache.flink.api.common.ExecutionConfig;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.streaming.api.windowing.assigners.WindowAssigner;
import org.apache.flink.streaming.api.windowing.triggers.EventTimeTrigger;
import org.apache.flink.streaming.api.windowing.triggers.Trigger;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;

/**
 * One-minute tumbling event-time windows by the trades' own time (a candle part's first trade: parts never span
 * two minutes). The record timestamp cannot be used: the trade sequencer releases held trades under a later
 * timer's or trade's timestamp, which could put a trade of 12:00:59.9 into the 12:01 candle.
 */
public final class TradeMinuteWindows extends WindowAssigner<Object, TimeWindow> {
    private static final long serialVersionUID = 1L;

    public static final long MINUTE_MS = 60_000L;

    @Override
    public Collection<TimeWindow> assignWindows(Object element, long timestamp, WindowAssignerContext context) {
        long start = Math.floorDiv(((CandleAccumulator) element).openTs, MINUTE_MS) * MINUTE_MS;
        return List.of(new TimeWindow(start, start + MINUTE_MS));
    }

    @Override
    public Trigger<Object, TimeWindow> getDefaultTrigger() {
        return EventTimeTrigger.create();
    }

    @Override
    public TypeSerializer<TimeWindow> getWindowSerializer(ExecutionConfig executionConfig) {
        return new TimeWindow.Serializer();
    }

    @Override
    public boolean isEventTime() {
        return true;
    }

    @Override
    public String toString() {
        return "TradeMinuteWindows";
    }
}
