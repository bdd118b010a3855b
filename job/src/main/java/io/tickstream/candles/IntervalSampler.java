package io.tickstream.candles;

import io.tickstream.model.Tick;
import io.tickstream.model.TickSerializer;
import java.io.IOException;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * Sums up each instrument's trades, in trade order, per interval of trade time (100 ms): the interval's last trade
 * (its quote, for the cross-venue detector, which compares venues' prices held for seconds) and its partial candle
 * (for the 1-minute candles, which merge them). Sending every trade on to both cost two more shuffles and their
 * state writes per trade. An interval is complete when a trade of another interval arrives, or when the watermark
 * passes its end (a timer at {@link #dueAt}), so a quiet instrument's last interval is not held back.
 */
public final class IntervalSampler {
    public static final long INTERVAL_MS = 100;

    /** The pending interval of one instrument: its last trade and candle. */
    public static final class State {
        public static final long NONE = Long.MIN_VALUE;
        /** The pending interval, or {@link #NONE}. */
        public long interval = NONE;
        /** The interval's last trade; read back from state without its names (they are the key's). */
        public Tick last;

        public CandleAccumulator candle;

        public State() {}

        public void writeTo(DataOutputView out) throws IOException {
            out.writeLong(interval);
            if (interval != NONE) {
                TickSerializer.writeTrade(last, out); // names left out: they are the key's
                CandleAccumulatorSerializer.INSTANCE.serialize(candle, out);
            }
        }

        public static State readFrom(DataInputView in) throws IOException {
            State q = new State();
            q.interval = in.readLong();
            if (q.interval != NONE) {
                q.last = TickSerializer.readTrade(in, null, null, null);
                q.candle = CandleAccumulatorSerializer.INSTANCE.deserialize(in);
            }
            return q;
        }
    }

    /** The event time at which an interval is complete. */
    public static long dueAt(long interval) {
        return interval * INTERVAL_MS + INTERVAL_MS - 1;
    }

    /** Whether {@code tick} belongs to another interval than the pending one: emit that one first. */
    public static boolean completes(Tick tick, State s) {
        return s.interval != State.NONE && s.interval != Math.floorDiv(tick.ts(), INTERVAL_MS);
    }

    /** Whether the pending interval is complete when the watermark reaches {@code timestamp}. */
    public static boolean dueAt(long timestamp, State s) {
        return s.interval != State.NONE && dueAt(s.interval) == timestamp;
    }

    /** Adds the next trade in trade order; true when it opened a new interval (the caller sets its timer). */
    public static boolean add(Tick tick, State s) {
        long interval = Math.floorDiv(tick.ts(), INTERVAL_MS);
        boolean opened = s.interval != interval;
        if (opened) {
            s.interval = interval;
            s.candle = new CandleAccumulator(tick.instrument());
        }
        s.last = tick;
        CandleAggregate.addTrade(tick, s.candle);
        return opened;
    }

    /** The pending interval's last trade, with the instrument's names. */
    public static Tick quote(State s, String exchange, String symbol, String instrument) {
        Tick t = s.last;
        return new Tick(
                exchange,
                symbol,
                t.tradeId(),
                t.tradeSeq(),
                t.price(),
                t.priceValue(),
                t.size(),
                t.sizeValue(),
                t.side(),
                t.ts(),
                t.recvTs(),
                instrument);
    }

    /** Nothing pending any more (its quote and candle were sent). */
    public static void clear(State s) {
        s.interval = State.NONE;
        s.last = null;
        s.candle = null;
    }

    private IntervalSampler() {}
}
