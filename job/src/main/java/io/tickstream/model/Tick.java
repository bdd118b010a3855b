package io.tickstream.model;

import io.tickstream.serde.TickTypeInfo;

import org.apache.flink.api.common.typeinfo.TypeInfo;

/**
 * One trade, as the producers publish it (tick JSON v1). Price and size keep the venue's exact decimal
 * text for storage; their double values serve the detectors.
 *
 * @param tradeSeq the trade id as a number when the venue's ids are numeric (they are sequential per
 *     instrument on every venue we read), else {@link #NO_SEQUENCE}
 * @param ts the venue's trade time, epoch ms
 * @param recvTs when the producer received the trade, epoch ms
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
        long recvTs) {

    public static final long NO_SEQUENCE = -1L;

    /** The key the job partitions and keeps state by: {@code <exchange>:<symbol>}, as the Kafka key. */
    public String instrument() {
        return exchange + ':' + symbol;
    }

    public boolean hasSequence() {
        return tradeSeq != NO_SEQUENCE;
    }
}
