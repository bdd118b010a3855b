package io.tickstream.model;

import java.math.BigDecimal;

/**
 * A one-minute OHLCV candle of one instrument. Prices are the exact decimal texts of the trades that set
 * them; volume is their exact sum.
 *
 * @param bucket start of the minute, epoch ms
 */
public record Candle(
        String exchange,
        String symbol,
        long bucket,
        String open,
        String high,
        String low,
        String close,
        BigDecimal volume,
        long trades) {}
