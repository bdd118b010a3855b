package io.tickstream.model;

import org.apache.flink.api.common.typeinfo.TypeInfo;

/**
 * One trade, as the producers publish it (tick JSON v1). Price and size keep the venue's exact decimal
 * text for storage; their double values serve the detectors.
 *
 * @param tradeSeq the trade id as a number when the venue's ids are numeric (they are sequential per
 *     instrument on every venue we read), else {@link #NO_SEQUENCE}
 * @param ts the venue's trade time, epoch ms
 * @param recvTs when the producer received the trade, epoch ms
 * @param instrument {@code <exchange>:<symbol>}, the key the job partitions and keeps state by (as the Kafka key).
 *     The parser and the serializer pass the same three name strings for every trade of an instrument, so the key
 *     is neither built nor hashed again per trade and operator.
 */
@TypeInfo(TickTypeInfo.Factory.class)
public record Tick(
        String exchange,
        String symbol,
        String tradeId,
        long tradeSeq,
        String price,
        double priceValue,
        String size,
        double sizeValue,
        Side side,
        long ts,
        long recvTs,
        String instrument) {

    public static final long NO_SEQUENCE = -1L;

    /** A tick whose instrument key is built from its exchange and symbol. */
    public Tick(
            String exchange,
            String symbol,
            String tradeId,
            long tradeSeq,
            String price,
            double priceValue,
            String size,
            double sizeValue,
            Side side,
            long ts,
            long recvTs) {
        this(
                exchange,
                symbol,
                tradeId,
                tradeSeq,
                price,
                priceValue,
                size,
                sizeValue,
                side,
                ts,
                recvTs,
                exchange + ':' + symbol);
    }

    public boolean hasSequence() {
        return tradeSeq != NO_SEQUENCE;
    }
}
