package io.tickstream.detect;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.tickstream.metrics.JobMetrics;
import io.tickstream.model.Anomaly;
import io.tickstream.model.AnomalyType;
import io.tickstream.model.Tick;
import io.tickstream.state.StateTtl;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

import java.io.Serializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * CROSS_VENUE_DIVERGENCE: one base asset trades on several venues (quote currencies mapped to a class, USD ≈
 * USDT ≈ USDC by default) and the last prices of two of them stay at least the threshold apart for longer than
 * a minimum duration of event time.
 *
 * <p>Keyed by asset ({@link #assetKey}), fed each instrument's last trade per 100 ms of trade time
 * ({@link IntervalSampler}: venues' prices are compared over seconds, not trade by trade). Which venue's trade comes
 * first across venues depends on arrival order, so trades wait here until the watermark passes them and are then
 * applied in trade-time order (ties by instrument and trade id): ordered and shuffled input give the same
 * alerts, at the cost of the out-of-orderness bound in latency, small beside the minimum duration.
 *
 * <p>An episode starts on the trade that puts the highest and lowest fresh venue prices at least the threshold
 * apart, and lasts until they come back within the re-arm level (hysteresis). It raises one alert, on the
 * first trade at or after the minimum duration that still shows the threshold, and only once both venues have
 * traded since the episode began: a venue that merely lags behind a fast move catches up with its next trade
 * and ends the episode, and a venue silent for longer than the staleness is left out, so a venue that stops
 * trading raises no alert. State per asset: the venues' last prices (at most {@link #MAX_VENUES}, stale ones
 * dropped) and the trades not yet passed by the watermark, grouped by the timer (100 ms) that releases them.
 */
public final class CrossVenueDivergenceDetector extends KeyedProcessFunction<String, Tick, Anomaly> {
    private static final long serialVersionUID = 1L;

    static final int MAX_VENUES = 16;
    static final long TIMER_GRANULARITY_MS = 100;
    /** Trades of one asset waiting for one 100 ms timer, at most (655k trades/s per asset). */
    static final int MAX_PENDING_PER_TIMER = 65_536;

    /**
     * Time, then venue, then sequence number and id: the same order whatever the arrival order. Instruments'
     * names are shared strings (see Tick), so trades of one instrument skip the name comparisons.
     */
    private static final Comparator<Tick> TRADE_ORDER = (a, b) -> {
        if (a.ts() != b.ts()) {
            return Long.compare(a.ts(), b.ts());
        }
        if (a.instrument() != b.instrument()) {
            int byExchange = a.exchange().compareTo(b.exchange());
            if (byExchange != 0) {
                return byExchange;
            }
            int bySymbol = a.symbol().compareTo(b.symbol());
            if (bySymbol != 0) {
                return bySymbol;
            }
        }
        return a.tradeSeq() != b.tradeSeq() ? Long.compare(a.tradeSeq(), b.tradeSeq()) : a.tradeId().compareTo(b.tradeId());
    };

    /**
     * @param quoteClasses quote currency to its class (USDT → USD); a quote not listed is its own class
     */
    public record Settings(double thresholdPct, double rearmPct, long minDurationMs, long stalenessMs,
                           Map<String, String> quoteClasses) implements Serializable {
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

    /** Per-asset state (written by DivergenceQuotesSerializer): each fresh venue's last trade, and the current episode. */
    public static final class State {
        public String[] exchanges = new String[0];
        public String[] symbols = new String[0];
        public String[] priceTexts = new String[0];
        public double[] prices = new double[0];
        public long[] tradeTs = new long[0];
        public boolean episode;
        public long since;
        public boolean alerted;

        public State() {}
    }

    private final Settings settings;
    private final Duration stateTtl;

    private transient ValueState<State> quotes;
    /** Trades waiting for their timer, keyed by {@link #slot}: each trade is written once, never re-serialized. */
    private transient MapState<Long, Tick> pending;
    /** How many trades wait for each timer. */
    private transient MapState<Long, Integer> pendingCount;
    private transient Counter alerts;

    public CrossVenueDivergenceDetector(Settings settings, Duration stateTtl) {
        this.settings = settings;
        this.stateTtl = stateTtl;
    }

    /** The key this detector's input must be partitioned by. */
    public static KeySelector<Tick, String> assetKey(Settings settings) {
        return new AssetKey(settings);
    }

    /**
     * Symbol to asset key, remembered per symbol: the selector runs twice per trade (partitioning, then setting
     * the key), and building the key allocates three strings.
     */
    private static final class AssetKey implements KeySelector<Tick, String> {
        private static final long serialVersionUID = 1L;
        /** More symbols than any venue lists; past it the cache starts over rather than grow without bound. */
        private static final int MAX_CACHED = 10_000;
        private final Settings settings;
        private transient Map<String, String> assets;

        AssetKey(Settings settings) {
            this.settings = settings;
        }

        @Override
        public String getKey(Tick tick) {
            if (assets == null || assets.size() >= MAX_CACHED) {
                assets = new HashMap<>();
            }
            String asset = assets.get(tick.symbol()); // not computeIfAbsent: its bound method reference allocates
            if (asset == null) {
                asset = settings.assetOf(tick.symbol());
                assets.put(tick.symbol(), asset);
            }
            return asset;
        }
    }

    @Override
    public void open(OpenContext openContext) {
        quotes = getRuntimeContext().getState(StateTtl.expireAfter(
                new ValueStateDescriptor<>("divergence-quotes", DivergenceQuotesSerializer.INSTANCE), stateTtl));
        pending = getRuntimeContext().getMapState(StateTtl.expireAfter(new MapStateDescriptor<>(
                "divergence-pending-trades", Types.LONG, TypeInformation.of(Tick.class)), stateTtl));
        pendingCount = getRuntimeContext().getMapState(StateTtl.expireAfter(new MapStateDescriptor<>(
                "divergence-pending-counts", Types.LONG, Types.INT), stateTtl));
        alerts = JobMetrics.anomalies(getRuntimeContext().getMetricGroup(), AnomalyType.CROSS_VENUE_DIVERGENCE.name());
    }

    @Override
    public void processElement(Tick tick, Context ctx, Collector<Anomaly> out) throws Exception {
        if (tick.ts() <= ctx.timerService().currentWatermark()) {
            // Beyond the out-of-orderness bound: applied now (a venue's price never goes back in time).
            State s = state();
            apply(tick, s, out);
            quotes.update(s);
            return;
        }
        // Pending trades are grouped by the timer that releases them: one look-up per trade, no state scan, and
        // a busy asset's pending trades are not rewritten on every new one (a list per timer was: quadratic).
        long timer = Math.floorDiv(tick.ts() + TIMER_GRANULARITY_MS - 1, TIMER_GRANULARITY_MS) * TIMER_GRANULARITY_MS;
        Integer count = pendingCount.get(timer);
        int n = count == null ? 0 : count;
        if (n == MAX_PENDING_PER_TIMER) {
            // A flood beyond any venue's rate: applied at once rather than failing the job over input.
            State s = state();
            apply(tick, s, out);
            quotes.update(s);
            return;
        }
        pending.put(slot(timer, n), tick);
        pendingCount.put(timer, n + 1);
        if (n == 0) {
            ctx.timerService().registerEventTimeTimer(timer);
        }
    }

    /** The pending-trade key of the n-th trade of a timer (timers are multiples of 100 ms, far below 2^47). */
    private static long slot(long timer, int n) {
        return timer * MAX_PENDING_PER_TIMER + n;
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<Anomaly> out) throws Exception {
        Integer count = pendingCount.get(timestamp);
        if (count == null) {
            return;
        }
        pendingCount.remove(timestamp);
        List<Tick> due = new ArrayList<>(count);
        for (int n = 0; n < count; n++) {
            Tick t = pending.get(slot(timestamp, n));
            if (t != null) { // null only when its TTL ran out
                due.add(t);
            }
            pending.remove(slot(timestamp, n));
        }
        due.sort(TRADE_ORDER);
        State s = state();
        for (Tick t : due) {
            apply(t, s, out);
        }
        quotes.update(s);
    }

    private State state() throws Exception {
        State s = quotes.value();
        return s == null ? new State() : s;
    }

    /** One trade, in trade-time order: updates its venue's price and the episode; emits the episode's alert. */
    void apply(Tick tick, State s, Collector<Anomaly> out) {
        int me = indexOf(s, tick.exchange(), tick.symbol());
        if (me >= 0 && tick.ts() < s.tradeTs[me]) {
            return;
        }
        dropStale(s, tick.ts());
        me = indexOf(s, tick.exchange(), tick.symbol());
        if (me < 0) {
            me = add(s, tick);
        }
        s.prices[me] = tick.priceValue();
        s.priceTexts[me] = tick.price();
        s.tradeTs[me] = tick.ts();

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
            return;
        }
        double divergencePct = (s.prices[hi] / s.prices[lo] - 1.0) * 100.0;
        if (!s.episode) {
            if (divergencePct < settings.thresholdPct()) {
                return;
            }
            s.episode = true;
            s.since = tick.ts();
            s.alerted = false;
        } else if (divergencePct < settings.rearmPct()) {
            s.episode = false;
            return;
        }
        if (!s.alerted && divergencePct >= settings.thresholdPct()
                && tick.ts() - s.since >= settings.minDurationMs()
                && s.tradeTs[hi] >= s.since && s.tradeTs[lo] >= s.since) {
            s.alerted = true;
            alerts.inc();
            out.collect(alert(tick, s, me, hi, lo, divergencePct));
        }
    }

    private Anomaly alert(Tick tick, State s, int me, int hi, int lo, double divergencePct) {
        int other = me == hi ? lo : hi;
        String details = "{\"asset\":" + quoted(settings.assetOf(tick.symbol()))
                + ",\"venue_a\":" + quoted(s.exchanges[hi]) + ",\"symbol_a\":" + quoted(s.symbols[hi])
                + ",\"price_a\":" + quoted(s.priceTexts[hi])
                + ",\"venue_b\":" + quoted(s.exchanges[lo]) + ",\"symbol_b\":" + quoted(s.symbols[lo])
                + ",\"price_b\":" + quoted(s.priceTexts[lo])
                + ",\"divergence_pct\":" + Decimals.round(divergencePct, 4) + ",\"since\":" + s.since + "}";
        AnomalyType type = AnomalyType.CROSS_VENUE_DIVERGENCE;
        return new Anomaly(Anomaly.idFor(type, tick.exchange(), tick.symbol(), tick.tradeId(), tick.ts()),
                tick.exchange(), tick.symbol(), type, tick.ts(), tick.price(), s.priceTexts[other],
                Decimals.round(divergencePct, 4), tick.ts() - s.since, null, tick.tradeId(), tick.recvTs(),
                System.currentTimeMillis(), details);
    }

    /** A JSON string literal (Jackson's escaping). */
    private static String quoted(String text) {
        return '"' + new String(JsonStringEncoder.getInstance().quoteAsString(text)) + '"';
    }

    private static int indexOf(State s, String exchange, String symbol) {
        for (int i = 0; i < s.exchanges.length; i++) {
            if (s.exchanges[i].equals(exchange) && s.symbols[i].equals(symbol)) {
                return i;
            }
        }
        return -1;
    }

    /** Venues silent for longer than the staleness are forgotten: their last price no longer says anything. */
    private void dropStale(State s, long now) {
        for (int i = s.exchanges.length - 1; i >= 0; i--) {
            if (now - s.tradeTs[i] > settings.stalenessMs()) {
                remove(s, i);
            }
        }
    }

    private static int add(State s, Tick tick) {
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
        s.exchanges = java.util.Arrays.copyOf(s.exchanges, n + 1);
        s.symbols = java.util.Arrays.copyOf(s.symbols, n + 1);
        s.priceTexts = java.util.Arrays.copyOf(s.priceTexts, n + 1);
        s.prices = java.util.Arrays.copyOf(s.prices, n + 1);
        s.tradeTs = java.util.Arrays.copyOf(s.tradeTs, n + 1);
        s.exchanges[n] = tick.exchange();
        s.symbols[n] = tick.symbol();
        return n;
    }

    private static void remove(State s, int i) {
        s.exchanges = without(s.exchanges, i, new String[s.exchanges.length - 1]);
        s.symbols = without(s.symbols, i, new String[s.symbols.length - 1]);
        s.priceTexts = without(s.priceTexts, i, new String[s.priceTexts.length - 1]);
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
