package io.tickstream.detect;

import io.tickstream.model.Side;
import io.tickstream.model.Tick;

import java.io.Serializable;

/**
 * Thins each instrument's trades, in trade order, to its last trade per interval of trade time (100 ms) for the
 * cross-venue detector, which compares venues' last prices held for seconds: sending it every trade cost a second
 * shuffle and three state writes per trade. An interval's quote leaves when a trade of a later interval arrives,
 * or when the watermark passes the interval's end (a timer), so a quiet instrument's last price is not held back.
 */
public final class QuoteSampler implements Serializable {
    private static final long serialVersionUID = 1L;

    public static final long INTERVAL_MS = 100;
    private static final Side[] SIDES = Side.values();

    /** The pending quote of one instrument: its latest trade, names left out (they are the key's). */
    public static final class State {
        public static final long NONE = Long.MIN_VALUE;
        /** Interval of the pending quote, or {@link #NONE}. */
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

        public State() {}
    }

    /** The event time at which the quote of an interval is due. */
    public static long dueAt(long interval) {
        return interval * INTERVAL_MS + INTERVAL_MS - 1;
    }

    /**
     * Takes the next trade in trade order; returns the pending quote when this trade is of another interval (that
     * one is complete), else null. When the pending interval changes, the caller sets a timer at {@link #dueAt}.
     */
    public Tick onTick(Tick tick, State s) {
        long interval = Math.floorDiv(tick.ts(), INTERVAL_MS);
        Tick complete = s.interval != State.NONE && s.interval != interval ? pending(s, tick.exchange(),
                tick.symbol(), tick.instrument()) : null;
        s.interval = interval;
        s.tradeId = tick.tradeId();
        s.tradeSeq = tick.tradeSeq();
        s.price = tick.price();
        s.priceValue = tick.priceValue();
        s.size = tick.size();
        s.sizeValue = tick.sizeValue();
        s.side = (byte) tick.side().ordinal();
        s.ts = tick.ts();
        s.recvTs = tick.recvTs();
        return complete;
    }

    /** The pending quote when a timer at {@code timestamp} makes it due, else null; it is then no longer pending. */
    public Tick onTimer(long timestamp, State s, String instrument) {
        if (s.interval == State.NONE || dueAt(s.interval) != timestamp) {
            return null;
        }
        int colon = instrument.indexOf(':');
        Tick quote = pending(s, instrument.substring(0, colon), instrument.substring(colon + 1), instrument);
        s.interval = State.NONE;
        return quote;
    }

    private static Tick pending(State s, String exchange, String symbol, String instrument) {
        return new Tick(exchange, symbol, s.tradeId, s.tradeSeq, s.price, s.priceValue, s.size, s.sizeValue,
                SIDES[s.side], s.ts, s.recvTs, instrument);
    }
}
