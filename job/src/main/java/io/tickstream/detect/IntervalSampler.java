package io.tickstream.detect;

import io.tickstream.candles.CandleAccumulator;
import io.tickstream.candles.CandleAggregate;
import io.tickstream.model.Side;
import io.tickstream.model.Tick;

/**
 * Sums up each instrument's trades, in trade order, per interval of trade time (100 ms): the interval's last trade
 * (its quote, for the cross-venue detector, which compares venues' prices held for seconds) and its partial candle
 * (for the 1-minute candles, which merge them). Sending every trade on to both cost two more shuffles and their
 * state writes per trade. An interval is complete when a trade of another interval arrives, or when the watermark
 * passes its end (a timer at {@link #dueAt}), so a quiet instrument's last interval is not held back.
 */
public final class IntervalSampler {
    public static final long INTERVAL_MS = 100;
    private static final Side[] SIDES = Side.values();

    /** The pending interval of one instrument: its last trade (names left out: they are the key's) and candle. */
    public static final class State {
        public static final long NONE = Long.MIN_VALUE;
        /** The pending interval, or {@link #NONE}. */
        public long interval = NONE;
        public String tradeId;
        public long tradeSeq;
        public String price;
        public double priceValue;
        public String size;
        public double sizeValue;
        public byte side;
        public long ts;
        public long recvTs;
        public CandleAccumulator candle;

        public State() {}
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
        s.tradeId = tick.tradeId();
        s.tradeSeq = tick.tradeSeq();
        s.price = tick.price();
        s.priceValue = tick.priceValue();
        s.size = tick.size();
        s.sizeValue = tick.sizeValue();
        s.side = (byte) tick.side().ordinal();
        s.ts = tick.ts();
        s.recvTs = tick.recvTs();
        CandleAggregate.addTrade(tick, s.candle);
        return opened;
    }

    /** The pending interval's last trade, with the instrument's names. */
    public static Tick quote(State s, String exchange, String symbol, String instrument) {
        return new Tick(exchange, symbol, s.tradeId, s.tradeSeq, s.price, s.priceValue, s.size, s.sizeValue,
                SIDES[s.side], s.ts, s.recvTs, instrument);
    }

    /** Nothing pending any more (its quote and candle were sent). */
    public static void clear(State s) {
        s.interval = State.NONE;
        s.candle = null;
    }

    private IntervalSampler() {}
}
