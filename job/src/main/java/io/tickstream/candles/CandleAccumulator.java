package io.tickstream.candles;

import java.math.BigDecimal;
import org.apache.flink.api.common.typeinfo.TypeInfo;

/**
 * The running OHLCV of some trades of one instrument — a minute's, or a part of it — kept in state by
 * {@link CandleAccumulatorSerializer}. Open and close are the first and last trades in trade order (time, then
 * sequence number or id), not in arrival order, so late and shuffled trades give the same candle.
 */
@TypeInfo(CandleAccumulatorSerializer.Factory.class)
public final class CandleAccumulator {
    /** {@code <exchange>:<symbol>}, the key the candles are computed by. */
    public String instrument;

    public long openTs = Long.MAX_VALUE;
    public long openSeq;
    public String openId;
    public String open;
    public long closeTs = Long.MIN_VALUE;
    public long closeSeq;
    public String closeId;
    public String close;
    public double highValue = Double.NEGATIVE_INFINITY;
    public String high;
    public double lowValue = Double.POSITIVE_INFINITY;
    public String low;
    public BigDecimal volume = BigDecimal.ZERO;
    public long trades;

    public CandleAccumulator() {}

    public CandleAccumulator(String instrument) {
        this.instrument = instrument;
    }
}
