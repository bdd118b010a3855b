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
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.co.KeyedCoProcessFunction;
import org.apache.flink.util.Collector;

/**
 * CROSS_VENUE_DIVERGENCE as the job runs it ({@link CrossVenueDivergence} is the logic): keyed by asset
 * ({@link #assetKey}), fed each instrument's last trade per 100 ms of trade time ({@link IntervalSampler}: venues'
 * prices are compared over seconds, not trade by trade). Which venue's trade comes first across venues depends on
 * arrival order, so trades wait here until the watermark passes them and are then applied in trade-time order (ties by
 * instrument and trade id): ordered and shuffled input give the same alerts, at the cost of the out-of-orderness bound
 * in latency, small beside the minimum duration. State per asset: the venues' last trades ({@link DivergenceQuotes})
 * and the trades not yet passed by the watermark, grouped by the timer (100 ms) that releases them.
 *
 * <p>One market event is one incident: the second input is the per-instrument detectors' alerts of the asset's
 * instruments ({@link #alertAssetKey}), and a divergence joins the open incident (an alert less than the incident gap
 * before it) of the venue it names out of line, else of the other venue of the asset whose last alert is the most
 * recent — typically the PRICE_SPIKE of the venue that moved away. Only alerts no later than the divergence's trade
 * count: when the watermark passes a trade, every alert of a trade up to it has arrived (the detectors raise an alert
 * before they forward a watermark past its trade), so the incident does not depend on arrival order.
 */
public final class CrossVenueDivergenceDetector extends KeyedCoProcessFunction<String, Tick, Anomaly, Anomaly> {
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
    private final long incidentGapMs;
    private final Duration stateTtl;

    private transient ValueState<DivergenceQuotes> quotes;
    /** Trades waiting for their timer, keyed by {@link #slot}: each trade is written once, never re-serialized. */
    private transient MapState<Long, Tick> pending;
    /** How many trades wait for each timer. */
    private transient MapState<Long, Integer> pendingCount;
    /** The asset's instruments' alerts of the last incident gap: instrument, trade time, incident id. */
    private transient ListState<Tuple3<String, Long, String>> recentAlerts;

    private transient Counter alerts;

    /**
     * @param incidentGapMs how long after an instrument's last alert its incident stays open (the per-instrument
     *     detectors' gap, {@code --spike-window})
     */
    public CrossVenueDivergenceDetector(CrossVenueDivergence.Settings settings, long incidentGapMs, Duration stateTtl) {
        this.logic = new CrossVenueDivergence(settings);
        this.incidentGapMs = incidentGapMs;
        this.stateTtl = stateTtl;
    }

    /** The key this detector's trades must be partitioned by. */
    public static KeySelector<Tick, String> assetKey(CrossVenueDivergence.Settings settings) {
        return new AssetKey(settings);
    }

    /** The key this detector's second input, the per-instrument alerts, must be partitioned by. */
    public static KeySelector<Anomaly, String> alertAssetKey(CrossVenueDivergence.Settings settings) {
        return new AlertAssetKey(settings);
    }

    /** Alerts are few: their asset is worked out each time. */
    private record AlertAssetKey(CrossVenueDivergence.Settings settings) implements KeySelector<Anomaly, String> {
        @Override
        public String getKey(Anomaly alert) {
            return settings.assetOf(alert.symbol());
        }
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
        recentAlerts = getRuntimeContext()
                .getListState(StateTtl.expireAfter(
                        new ListStateDescriptor<>(
                                "divergence-recent-alerts", Types.TUPLE(Types.STRING, Types.LONG, Types.STRING)),
                        stateTtl));
        alerts = JobMetrics.anomalies(getRuntimeContext().getMetricGroup(), AnomalyType.CROSS_VENUE_DIVERGENCE.name());
    }

    @Override
    public void processElement1(Tick tick, Context ctx, Collector<Anomaly> out) throws Exception {
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

    /**
     * An alert of one of the asset's instruments: remembered for the incident gap past the watermark, the longest a
     * divergence not yet raised can still join its incident.
     */
    @Override
    public void processElement2(Anomaly alert, Context ctx, Collector<Anomaly> out) throws Exception {
        long watermark = ctx.timerService().currentWatermark();
        long forgetBefore = watermark == Long.MIN_VALUE ? Long.MIN_VALUE : watermark - incidentGapMs; // no wrap-around
        List<Tuple3<String, Long, String>> kept = new ArrayList<>();
        for (Tuple3<String, Long, String> a : recentAlerts.get()) {
            if (a.f1 >= forgetBefore) {
                kept.add(a);
            }
        }
        kept.add(Tuple3.of(alert.instrument(), alert.ts(), alert.incident()));
        recentAlerts.update(kept);
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

    /** One trade, in trade-time order, through the detector's logic; its alert, if any, leaves in its incident. */
    private void apply(Tick tick, DivergenceQuotes s, long now, Collector<Anomaly> out) throws Exception {
        Anomaly alert = logic.onTrade(tick, s, now);
        if (alert != null) {
            alerts.inc();
            out.collect(alert.withIncident(openIncident(alert)));
        }
    }

    /**
     * The incident the divergence joins: the out-of-line venue's open one, else the most recent open one of the
     * asset's other venues (ties by instrument), else its own (null).
     */
    private String openIncident(Anomaly divergence) throws Exception {
        String outlier = divergence.instrument();
        Tuple3<String, Long, String> ownLast = null, otherLast = null;
        for (Tuple3<String, Long, String> a : recentAlerts.get()) {
            if (a.f1 > divergence.ts() || divergence.ts() - a.f1 >= incidentGapMs) {
                continue;
            }
            if (a.f0.equals(outlier)) {
                ownLast = later(ownLast, a);
            } else {
                otherLast = later(otherLast, a);
            }
        }
        Tuple3<String, Long, String> joined = ownLast != null ? ownLast : otherLast;
        return joined == null ? null : joined.f2;
    }

    /** The later of two alerts by trade time, ties by instrument then incident: the same whatever the arrival order. */
    private static Tuple3<String, Long, String> later(Tuple3<String, Long, String> a, Tuple3<String, Long, String> b) {
        if (a == null) {
            return b;
        }
        int c = Long.compare(a.f1, b.f1);
        if (c == 0) {
            c = a.f0.compareTo(b.f0);
        }
        if (c == 0) {
            c = a.f2.compareTo(b.f2);
        }
        return c >= 0 ? a : b;
    }
}
