package io.tickstream.source;

import io.tickstream.model.BadRecord;
import io.tickstream.model.Tick;

/**
 * What the Kafka source yields for one record: a tick, or the record kept whole with the reason it is not
 * one. Exactly one of the two is set (a Flink POJO, so both travel without Kryo).
 */
public final class ParseResult {
    public Tick tick;
    public BadRecord bad;

    public ParseResult() {}

    public static ParseResult ofTick(Tick tick) {
        ParseResult r = new ParseResult();
        r.tick = tick;
        return r;
    }

    public static ParseResult ofBad(BadRecord bad) {
        ParseResult r = new ParseResult();
        r.bad = bad;
        return r;
    }

    /** Event time: the trade time, or no time at all for a bad record (it must not move the watermark). */
    public long eventTime() {
        return tick != null ? tick.ts() : Long.MIN_VALUE;
    }
}
