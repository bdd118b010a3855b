package io.tickstream.detect;

import io.tickstream.model.Anomaly;
import io.tickstream.model.AnomalyType;
import io.tickstream.model.Tick;
import java.io.Serializable;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * CROSS_VENUE_DIVERGENCE, the logic: one base asset trades on several venues (quote currencies mapped to a class, USD ≈
 * USDT ≈ USDC by default) and the last prices of two of them stay at least the threshold apart for longer than a
 * minimum duration of trade time. A pure class fed each asset's trades in trade-time order and the wall clock
 * ({@code now}, for the alert's detection time); {@link CrossVenueDivergenceDetector} keys, orders and times them.
 *
 * <p>An episode starts on the trade that puts the highest and lowest fresh venue prices at least the threshold apart,
 * and lasts until they come back within the re-arm level (hysteresis). It raises one alert, on the first trade at or
 * after the minimum duration that still shows the threshold, and only once both venues have traded since the episode
 * began: a venue that merely lags behind a fast move catches up with its next trade and ends the episode, and a venue
 * silent for longer than the staleness is left out, so a venue that stops trading raises no alert. The alert names the
 * venue out of line with the others: with three or more venues, the highest or lowest one, whichever is further from
 * the median of the rest (its price against that median is the alert's change); with two, the one whose trade
 * completed the divergence. State per asset: the venues' last trades, at most {@link #MAX_VENUES}.
 */
public final class CrossVenueDivergence implements Serializable {
    private static final long serialVersionUID = 1L;

    static final int MAX_VENUES = 16;

    /**
     * @param quoteClasses quote currency to its class (USDT → USD); a quote not listed is its own class
     */
    public record Settings(
            double thresholdPct,
            double rearmPct,
            long minDurationMs,
            long stalenessMs,
            Map<String, String> quoteClasses)
            implements Serializable {
        public Settings {
            quoteClasses = new LinkedHashMap<>(quoteClasses);
        }

        /** {@code BASE-CLASS} of a {@code BASE-QUOTE} symbol: the key trades of one asset share. */
        public String assetOf(String symbol) {
            int dash = symbol.lastIndexOf('-');
            if (dash < 0) {
                return symbol;
            }
            String quote = symbol.substring(dash + 1);
            return symbol.substring(0, dash + 1) + quoteClasses.getOrDefault(quote, quote);
        }
    }

    private final Settings settings;

    public CrossVenueDivergence(Settings settings) {
        this.settings = settings;
    }

    public Settings settings() {
        return settings;
    }

    /** One trade, in trade-time order: updates its venue's last trade and the episode; returns the episode's alert. */
    public Anomaly onTrade(Tick tick, DivergenceQuotes s, long now) {
        int me = indexOf(s, tick.exchange(), tick.symbol());
        if (me >= 0 && tick.ts() < s.tradeTs[me]) {
            return null;
        }
        dropStale(s, tick.ts());
        me = indexOf(s, tick.exchange(), tick.symbol());
        if (me < 0) {
            me = add(s, tick);
        }
        s.prices[me] = tick.priceValue();
        s.priceTexts[me] = tick.price();
        s.tradeTs[me] = tick.ts();
        s.tradeIds[me] = tick.tradeId();

        int hi = 0, lo = 0;
        for (int i = 1; i < s.prices.length; i++) {
            if (s.prices[i] > s.prices[hi]) {
                hi = i;
            }
            if (s.prices[i] < s.prices[lo]) {
                lo = i;
            }
        }
        if (s.prices.length < 2) {
            s.episode = false;
            return null;
        }
        double divergencePct = (s.prices[hi] / s.prices[lo] - 1.0) * 100.0;
        if (!s.episode) {
            if (divergencePct < settings.thresholdPct()) {
                return null;
            }
            s.episode = true;
            s.since = tick.ts();
            s.alerted = false;
        } else if (divergencePct < settings.rearmPct()) {
            s.episode = false;
            return null;
        }
        if (!s.alerted
                && divergencePct >= settings.thresholdPct()
                && tick.ts() - s.since >= settings.minDurationMs()
                && s.tradeTs[hi] >= s.since
                && s.tradeTs[lo] >= s.since) {
            s.alerted = true;
            return alert(tick, s, me, hi, lo, divergencePct, now);
        }
        return null;
    }

    private Anomaly alert(Tick tick, DivergenceQuotes s, int me, int hi, int lo, double divergencePct, long now) {
        int outlier;
        double reference;
        String referenceText;
        if (s.prices.length == 2) {
            outlier = me;
            int other = me == hi ? lo : hi;
            reference = s.prices[other];
            referenceText = s.priceTexts[other];
        } else {
            double[] withoutHi = pricesWithout(s, hi), withoutLo = pricesWithout(s, lo);
            double medianWithoutHi = median(withoutHi), medianWithoutLo = median(withoutLo);
            boolean hiIsOut = Math.abs(Math.log(s.prices[hi] / medianWithoutHi))
                    >= Math.abs(Math.log(s.prices[lo] / medianWithoutLo));
            outlier = hiIsOut ? hi : lo;
            reference = hiIsOut ? medianWithoutHi : medianWithoutLo;
            referenceText = medianText(s, outlier, reference);
        }
        String tradeId = s.tradeIds[outlier] != null ? s.tradeIds[outlier] : tick.tradeId();
        return Anomaly.raisedBy(AnomalyType.CROSS_VENUE_DIVERGENCE, tick, now)
                .on(s.exchanges[outlier], s.symbols[outlier], tradeId, s.priceTexts[outlier])
                .refPrice(referenceText)
                .changePct(Decimals.round((s.prices[outlier] / reference - 1.0) * 100.0, 4))
                .windowMs(tick.ts() - s.since)
                .detail("asset", settings.assetOf(tick.symbol()))
                .detail("venue_a", s.exchanges[hi])
                .detail("symbol_a", s.symbols[hi])
                .detail("price_a", s.priceTexts[hi])
                .detail("venue_b", s.exchanges[lo])
                .detail("symbol_b", s.symbols[lo])
                .detail("price_b", s.priceTexts[lo])
                .detail("divergence_pct", Decimals.round(divergencePct, 4))
                .detail("venues", (long) s.prices.length)
                .detail("since", s.since)
                .build();
    }

    private static double[] pricesWithout(DivergenceQuotes s, int skip) {
        double[] out = new double[s.prices.length - 1];
        for (int i = 0, j = 0; i < s.prices.length; i++) {
            if (i != skip) {
                out[j++] = s.prices[i];
            }
        }
        return out;
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** The median of the other venues as a price text: a venue's own text when it is one venue's price. */
    private static String medianText(DivergenceQuotes s, int outlier, double median) {
        for (int i = 0; i < s.prices.length; i++) {
            if (i != outlier && s.prices[i] == median) {
                return s.priceTexts[i];
            }
        }
        return Decimals.toPlainString(median);
    }

    private static int indexOf(DivergenceQuotes s, String exchange, String symbol) {
        for (int i = 0; i < s.exchanges.length; i++) {
            if (s.exchanges[i].equals(exchange) && s.symbols[i].equals(symbol)) {
                return i;
            }
        }
        return -1;
    }

    /** Venues silent for longer than the staleness are forgotten: their last price no longer says anything. */
    private void dropStale(DivergenceQuotes s, long now) {
        for (int i = s.exchanges.length - 1; i >= 0; i--) {
            if (now - s.tradeTs[i] > settings.stalenessMs()) {
                remove(s, i);
            }
        }
    }

    private static int add(DivergenceQuotes s, Tick tick) {
        if (s.exchanges.length == MAX_VENUES) {
            int oldest = 0;
            for (int i = 1; i < s.tradeTs.length; i++) {
                if (s.tradeTs[i] < s.tradeTs[oldest]) {
                    oldest = i;
                }
            }
            remove(s, oldest);
        }
        int n = s.exchanges.length;
        s.exchanges = Arrays.copyOf(s.exchanges, n + 1);
        s.symbols = Arrays.copyOf(s.symbols, n + 1);
        s.priceTexts = Arrays.copyOf(s.priceTexts, n + 1);
        s.prices = Arrays.copyOf(s.prices, n + 1);
        s.tradeTs = Arrays.copyOf(s.tradeTs, n + 1);
        s.tradeIds = Arrays.copyOf(s.tradeIds, n + 1);
        s.exchanges[n] = tick.exchange();
        s.symbols[n] = tick.symbol();
        return n;
    }

    private static void remove(DivergenceQuotes s, int i) {
        s.exchanges = without(s.exchanges, i, new String[s.exchanges.length - 1]);
        s.symbols = without(s.symbols, i, new String[s.symbols.length - 1]);
        s.priceTexts = without(s.priceTexts, i, new String[s.priceTexts.length - 1]);
        s.tradeIds = without(s.tradeIds, i, new String[s.tradeIds.length - 1]);
        double[] prices = new double[s.prices.length - 1];
        System.arraycopy(s.prices, 0, prices, 0, i);
        System.arraycopy(s.prices, i + 1, prices, i, s.prices.length - i - 1);
        s.prices = prices;
        long[] ts = new long[s.tradeTs.length - 1];
        System.arraycopy(s.tradeTs, 0, ts, 0, i);
        System.arraycopy(s.tradeTs, i + 1, ts, i, s.tradeTs.length - i - 1);
        s.tradeTs = ts;
    }

    private static String[] without(String[] a, int i, String[] out) {
        System.arraycopy(a, 0, out, 0, i);
        System.arraycopy(a, i + 1, out, i, a.length - i - 1);
        return out;
    }
}
