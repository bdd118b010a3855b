package io.tickstream.detect;

import io.tickstream.metrics.JobMetrics;
import io.tickstream.model.Anomaly;
import io.tickstream.model.AnomalyType;
import io.tickstream.model.Tick;
import io.tickstream.state.StateTtl;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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

/**
 * CROSS_VENUE_DIVERGENCE as the job runs it ({@link CrossVenueDivergence} is the logic): keyed by asset
 * ({@link #assetKey}), fed each instrument's last trade per 100 ms of trade time ({@link IntervalSampler}: venues'
 * prices are compared over seconds, not trade by trade). Which venue's trade comes first across venues depends on
 * arrival order, so trades wait here until the watermark passes them and are then applied in trade-time order (ties by
 * instrument and trade id): ordered and shuffled input give the same alerts, at the cost of the out-of-orderness bound
 * in latency, small beside the minimum duration. State per asset: the venues' last trades ({@link DivergenceQuotes})
 * and the trades not yet passed by the watermark, grouped by the timer (100 ms) that releases them.
 */
public final class CrossVenueDivergenceDetector extends KeyedProcessFunction<String, Tick, Anomaly> {
    private static final long serialVersionUID = 1L;

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
        return a.tradeSeq() != b.tradeSeq()
                ? Long.compare(a.tradeSeq(), b.tradeSeq())
                : a.tradeId().compareTo(b.tradeId());
    };

    private final CrossVenueDivergence logic;
    private final Duration stateTtl;

    private transient ValueState<DivergenceQuotes> quotes;
    /** Trades waiting for their timer, keyed by {@link #slot}: each trade is written once, never re-serialized. */
    private transient MapState<Long, Tick> pending;
    /** How many trades wait for each timer. */
    private transient MapState<Long, Integer> pendingCount;

    private transient Counter alerts;

    public CrossVenueDivergenceDetector(CrossVenueDivergence.Settings settings, Duration stateTtl) {
        this.logic = new CrossVenueDivergence(settings);
        this.stateTtl = stateTtl;
    }

    /** The key this detector's input must be partitioned by. */
    public static KeySelector<Tick, String> assetKey(CrossVenueDivergence.Settings settings) {
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

        private final CrossVenueDivergence.Settings settings;
        private transient Map<String, String> assets;

        AssetKey(CrossVenueDivergence.Settings settings) {
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
        quotes = getRuntimeContext()
                .getState(StateTtl.expireAfter(
                        new ValueStateDescriptor<>("divergence-quotes", DivergenceQuotesSerializer.INSTANCE),
                        stateTtl));
        pending = getRuntimeContext()
                .getMapState(StateTtl.expireAfter(
                        new MapStateDescriptor<>(
                                "divergence-pending-trades", Types.LONG, TypeInformation.of(Tick.class)),
                        stateTtl));
        pendingCount = getRuntimeContext()
                .getMapState(StateTtl.expireAfter(
                        new MapStateDescriptor<>("divergence-pending-counts", Types.LONG, Types.INT), stateTtl));
        alerts = JobMetrics.anomalies(getRuntimeContext().getMetricGroup(), AnomalyType.CROSS_VENUE_DIVERGENCE.name());
    }

    @Override
    public void processElement(Tick tick, Context ctx, Collector<Anomaly> out) throws Exception {
        if (tick.ts() <= ctx.timerService().currentWatermark()) {
            // Beyond the out-of-orderness bound: applied now (a venue's price never goes back in time).
            DivergenceQuotes s = state();
            apply(tick, s, System.currentTimeMillis(), out);
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
            DivergenceQuotes s = state();
            apply(tick, s, System.currentTimeMillis(), out);
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
        DivergenceQuotes s = state();
        long now = System.currentTimeMillis();
        for (Tick t : due) {
            apply(t, s, now, out);
        }
        quotes.update(s);
    }

    private DivergenceQuotes state() throws Exception {
        DivergenceQuotes s = quotes.value();
        return s == null ? new DivergenceQuotes() : s;
    }

    /** One trade, in trade-time order, through the detector's logic; its alert, if any, leaves. */
    private void apply(Tick tick, DivergenceQuotes s, long now, Collector<Anomaly> out) {
        Anomaly alert = logic.onTrade(tick, s, now);
        if (alert != null) {
            alerts.inc();
            out.collect(alert);
        }
    }
}
