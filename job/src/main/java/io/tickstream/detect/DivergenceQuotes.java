package io.tickstream.detect;

/**
 * The cross-venue detector's state per asset (written by {@link DivergenceQuotesSerializer}): each fresh venue's last
 * trade — venue, symbol, price and its text, time, trade id — and the current episode.
 */
public final class DivergenceQuotes {
    public String[] exchanges = new String[0];
    public String[] symbols = new String[0];
    public String[] priceTexts = new String[0];
    public double[] prices = new double[0];
    public long[] tradeTs = new long[0];
    /** Each venue's last trade id; null where a state restored from format v2 has not seen the venue trade since. */
    public String[] tradeIds = new String[0];

    public boolean episode;
    public long since;
    public boolean alerted;

    public DivergenceQuotes() {}
}
