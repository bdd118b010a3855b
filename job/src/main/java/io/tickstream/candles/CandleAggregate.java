package io.tickstream.candles;

import io.tickstream.model.Tick;
import java.math.BigDecimal;
import org.apache.flink.api.common.functions.AggregateFunction;

/**
 * A minute's candle from parts: the trades' 100 ms partial candles (IntervalSampler) and single late trades
 * ({@link #ofTrade}), merged incrementally (one accumulator per key and minute).
 */
public final class CandleAggregate
        implements AggregateFunction<CandleAccumulator, CandleAccumulator, CandleAccumulator> {
    private static final long serialVersionUID = 1L;

    @Override
    public CandleAccumulator createAccumulator() {
        return new CandleAccumulator();
    }

    @Override
    public CandleAccumulator add(CandleAccumulator part, CandleAccumulator acc) {
        if (acc.instrument == null) {
            acc.instrument = part.instrument;
        }
        return merge(acc, part);
    }

    /** A candle of one trade. */
    public static CandleAccumulator ofTrade(Tick t) {
        return addTrade(t, new CandleAccumulator(t.instrument()));
    }

    /** Adds a trade to {@code acc}. */
    public static CandleAccumulator addTrade(Tick t, CandleAccumulator acc) {
        if (before(t.ts(), t.tradeSeq(), t.tradeId(), acc.openTs, acc.openSeq, acc.openId)) {
            acc.openTs = t.ts();
            acc.openSeq = t.tradeSeq();
            acc.openId = t.tradeId();
            acc.open = t.price();
        }
        if (acc.close == null || before(acc.closeTs, acc.closeSeq, acc.closeId, t.ts(), t.tradeSeq(), t.tradeId())) {
            acc.closeTs = t.ts();
            acc.closeSeq = t.tradeSeq();
            acc.closeId = t.tradeId();
            acc.close = t.price();
        }
        if (t.priceValue() > acc.highValue) {
            acc.highValue = t.priceValue();
            acc.high = t.price();
        }
        if (t.priceValue() < acc.lowValue) {
            acc.lowValue = t.priceValue();
            acc.low = t.price();
        }
        acc.volume = acc.volume.add(new BigDecimal(t.size()));
        acc.trades++;
        return acc;
    }

    @Override
    public CandleAccumulator getResult(CandleAccumulator acc) {
        return acc;
    }

    @Override
    public CandleAccumulator merge(CandleAccumulator a, CandleAccumulator b) {
        if (b.open != null && before(b.openTs, b.openSeq, b.openId, a.openTs, a.openSeq, a.openId)) {
            a.openTs = b.openTs;
            a.openSeq = b.openSeq;
            a.openId = b.openId;
            a.open = b.open;
        }
        if (b.close != null
                && (a.close == null || before(a.closeTs, a.closeSeq, a.closeId, b.closeTs, b.closeSeq, b.closeId))) {
            a.closeTs = b.closeTs;
            a.closeSeq = b.closeSeq;
            a.closeId = b.closeId;
            a.close = b.close;
        }
        if (b.highValue > a.highValue) {
            a.highValue = b.highValue;
            a.high = b.high;
        }
        if (b.lowValue < a.lowValue) {
            a.lowValue = b.lowValue;
            a.low = b.low;
        }
        a.volume = a.volume.add(b.volume);
        a.trades += b.trades;
        return a;
    }

    /** Trade order: time, then sequence number (when both have one), then id. */
    static boolean before(long ts, long seq, String id, long otherTs, long otherSeq, String otherId) {
        if (otherId == null) {
            return true;
        }
        if (ts != otherTs) {
            return ts < otherTs;
        }
        if (seq >= 0 && otherSeq >= 0) {
            return seq < otherSeq;
        }
        return id.compareTo(otherId) < 0;
    }
}
