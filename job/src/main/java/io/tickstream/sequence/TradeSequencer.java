package io.tickstream.sequence;

import io.tickstream.metrics.JobMetrics;
import io.tickstream.model.Tick;
import io.tickstream.state.CachedValueState;
import io.tickstream.state.StateTtl;
import io.tickstream.state.WriteBackKeyedProcessFunction;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Puts each instrument's trades in trade order, once, before the detectors and the candles see them.
 *
 * <p>Detectors must raise the same alerts whatever order the trades arrive in (within the out-of-orderness
 * bound), and they must do it fast. Waiting for the watermark before every trade would cost the whole bound
 * (2 s) of alert latency, so the sequencer uses what the venues give us: trade ids that are sequential per
 * instrument. A trade whose id follows the last released one is released at once (the common case: no
 * buffering; the progress is read and changed in a heap copy, written to the state at checkpoints,
 * {@link CachedValueState}). A trade after a gap
 * waits until its predecessor arrives or the watermark passes it, whichever is first; then the gap is given up. Trades without numeric ids are
 * released in (time, id) order when the watermark passes them. Either way the release order depends only on
 * the input, never on arrival order, so in-order and shuffled input give identical alerts.
 *
 * <p>Duplicates (a trade id already released or held) are dropped and counted. A trade that arrives after
 * its gap was given up is late: it is not fed to the detectors (they have moved on) but goes to
 * {@link #LATE} so its 1-minute candle can still take it.
 */
public final class TradeSequencer extends WriteBackKeyedProcessFunction<String, Tick, Tick> {
    private static final long serialVersionUID = 1L;

    /** Trades released out of trade order: for the candles only. */
    public static final OutputTag<Tick> LATE = new OutputTag<>("late-ticks", TypeInformation.of(Tick.class));

    /** Held trades are released on timers rounded up to this, so a busy instrument sets few timers. */
    static final long TIMER_GRANULARITY_MS = 100;
    /** Given-up gaps remembered per instrument (to tell a late trade from a duplicate). */
    static final int MAX_GAPS = 64;
    /** Instruments whose progress a subtask keeps on the heap too ({@link CachedValueState}). */
    static final int CACHED_INSTRUMENTS = 4096;

    /** Per-instrument progress (written by SequencerProgressSerializer). */
    public static final class Progress {
        /** The sequence number expected next, or -1 before the first release. */
        public long nextSeq = -1;
        /** Largest trade time released: a trade newer than this cannot be a duplicate. */
        public long maxReleasedTs = Long.MIN_VALUE;
        /** Trades held back, so the common path needs no look at the held-trade map. */
        public int held;
        /** Given-up gaps [start, end] of sequence numbers and the watermark when they were given up. */
        public long[] gapStart = new long[0];

        public long[] gapEnd = new long[0];
        public long[] gapWatermark = new long[0];

        public Progress() {}
    }

    private final long gapMemoryMs;
    private final Duration stateTtl;
    private final Duration unsequencedDedupTtl;

    private transient CachedValueState<String, Progress> progressState;

    private transient MapState<Long, Tick> heldBySeq;
    private transient MapState<String, Tick> heldUnsequenced;
    private transient MapState<String, Boolean> releasedUnsequenced;
    private transient Counter late;
    private transient Counter duplicates;

    /**
     * @param gapMemory how long a given-up gap is remembered (the candles' allowed lateness plus the bound):
     *     a trade of that gap arriving later than this counts as a duplicate, and its candle is closed anyway
     */
    public TradeSequencer(Duration gapMemory, Duration stateTtl) {
        this.gapMemoryMs = gapMemory.toMillis();
        this.stateTtl = stateTtl;
        this.unsequencedDedupTtl = gapMemory.plus(gapMemory).compareTo(Duration.ofMinutes(1)) < 0
                ? Duration.ofMinutes(1)
                : gapMemory.plus(gapMemory);
    }

    @Override
    public void open(OpenContext openContext) {
        ValueState<Progress> stored = getRuntimeContext()
                .getState(StateTtl.expireAfter(
                        new ValueStateDescriptor<>("sequencer-progress", SequencerProgressSerializer.INSTANCE),
                        stateTtl));
        progressState = cachedValueState(stored, stateTtl, CACHED_INSTRUMENTS);
        heldBySeq = getRuntimeContext()
                .getMapState(StateTtl.expireAfter(
                        new MapStateDescriptor<>("held-by-seq", Types.LONG, TypeInformation.of(Tick.class)), stateTtl));
        heldUnsequenced = getRuntimeContext()
                .getMapState(StateTtl.expireAfter(
                        new MapStateDescriptor<>("held-unsequenced", Types.STRING, TypeInformation.of(Tick.class)),
                        stateTtl));
        releasedUnsequenced = getRuntimeContext()
                .getMapState(StateTtl.expireAfter(
                        new MapStateDescriptor<>("released-unsequenced", Types.STRING, Types.BOOLEAN),
                        unsequencedDedupTtl));
        late = JobMetrics.counter(getRuntimeContext().getMetricGroup(), JobMetrics.LATE_RECORDS);
        duplicates = JobMetrics.counter(getRuntimeContext().getMetricGroup(), JobMetrics.DUPLICATE_RECORDS);
    }

    @Override
    public void processElement(Tick tick, Context ctx, Collector<Tick> out) throws Exception {
        long now = ctx.timerService().currentProcessingTime(); // the clock of the state's time-to-live
        String instrument = ctx.getCurrentKey();
        Progress p = progressState.value(instrument, now);
        if (p == null) {
            p = new Progress();
        }
        long watermark = ctx.timerService().currentWatermark();
        if (tick.hasSequence()) {
            onSequenced(tick, p, watermark, ctx, out);
        } else {
            onUnsequenced(tick, p, watermark, ctx, out);
        }
        progressState.update(instrument, p, now);
    }

    private void onSequenced(Tick tick, Progress p, long watermark, Context ctx, Collector<Tick> out) throws Exception {
        long seq = tick.tradeSeq();
        if (p.nextSeq >= 0 && seq < p.nextSeq) {
            if (takeFromGap(p, seq, watermark)) {
                late.inc();
                ctx.output(LATE, tick);
                return;
            }
            if (tick.ts() <= p.maxReleasedTs) {
                duplicates.inc();
                return;
            }
            // Newer than anything released yet numbered below it: the venue restarted its numbering.
            p.nextSeq = -1;
            clearGaps(p);
        }
        if (seq == p.nextSeq) {
            release(tick, p, out);
            if (p.held > 0) {
                drainContiguous(p, out);
            }
            return;
        }
        if (heldBySeq.contains(seq)) {
            duplicates.inc();
            return;
        }
        heldBySeq.put(seq, tick);
        p.held++;
        if (tick.ts() <= watermark) {
            releaseUpTo(watermark, p, out);
        } else {
            ctx.timerService().registerEventTimeTimer(timerFor(tick.ts()));
        }
    }

    private void onUnsequenced(Tick tick, Progress p, long watermark, Context ctx, Collector<Tick> out)
            throws Exception {
        String id = tick.tradeId();
        if (releasedUnsequenced.contains(id) || heldUnsequenced.contains(id)) {
            duplicates.inc();
            return;
        }
        if (tick.ts() <= watermark) {
            releasedUnsequenced.put(id, Boolean.TRUE);
            late.inc();
            ctx.output(LATE, tick);
            return;
        }
        heldUnsequenced.put(id, tick);
        p.held++;
        ctx.timerService().registerEventTimeTimer(timerFor(tick.ts()));
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<Tick> out) throws Exception {
        long now = ctx.timerService().currentProcessingTime(); // the clock of the state's time-to-live
        String instrument = ctx.getCurrentKey();
        Progress p = progressState.value(instrument, now);
        if (p == null || p.held == 0) {
            return;
        }
        releaseUpTo(ctx.timerService().currentWatermark(), p, out);
        progressState.update(instrument, p, now);
    }

    /** Releases what the watermark has passed, in trade order, giving up the gaps before it. */
    private void releaseUpTo(long watermark, Progress p, Collector<Tick> out) throws Exception {
        List<Tick> sequenced = new ArrayList<>();
        long lastDue = Long.MIN_VALUE;
        for (Map.Entry<Long, Tick> e : heldBySeq.entries()) {
            sequenced.add(e.getValue());
            if (e.getValue().ts() <= watermark) {
                lastDue = Math.max(lastDue, e.getKey());
            }
        }
        if (lastDue != Long.MIN_VALUE) {
            sequenced.sort(Comparator.comparingLong(Tick::tradeSeq));
            for (Tick t : sequenced) {
                if (t.tradeSeq() > lastDue) {
                    break;
                }
                if (p.nextSeq >= 0 && t.tradeSeq() > p.nextSeq) {
                    rememberGap(p, p.nextSeq, t.tradeSeq() - 1, watermark);
                }
                heldBySeq.remove(t.tradeSeq());
                p.held--;
                release(t, p, out);
            }
            drainContiguous(p, out);
        }

        List<Tick> unsequenced = new ArrayList<>();
        for (Tick t : heldUnsequenced.values()) {
            if (t.ts() <= watermark) {
                unsequenced.add(t);
            }
        }
        unsequenced.sort(Comparator.comparingLong(Tick::ts).thenComparing(Tick::tradeId));
        for (Tick t : unsequenced) {
            heldUnsequenced.remove(t.tradeId());
            releasedUnsequenced.put(t.tradeId(), Boolean.TRUE);
            p.held--;
            out.collect(t);
            p.maxReleasedTs = Math.max(p.maxReleasedTs, t.ts());
        }
    }

    private void drainContiguous(Progress p, Collector<Tick> out) throws Exception {
        while (p.held > 0) {
            Tick next = heldBySeq.get(p.nextSeq);
            if (next == null) {
                return;
            }
            heldBySeq.remove(p.nextSeq);
            p.held--;
            release(next, p, out);
        }
    }

    private static void release(Tick tick, Progress p, Collector<Tick> out) {
        out.collect(tick);
        p.nextSeq = tick.tradeSeq() + 1;
        p.maxReleasedTs = Math.max(p.maxReleasedTs, tick.ts());
    }

    private static long timerFor(long ts) {
        return Math.floorDiv(ts + TIMER_GRANULARITY_MS - 1, TIMER_GRANULARITY_MS) * TIMER_GRANULARITY_MS;
    }

    private void rememberGap(Progress p, long start, long end, long watermark) {
        forgetOldGaps(p, watermark);
        int n = p.gapStart.length;
        int keep = Math.min(n, MAX_GAPS - 1);
        long[] s = new long[keep + 1], e = new long[keep + 1], w = new long[keep + 1];
        System.arraycopy(p.gapStart, n - keep, s, 0, keep);
        System.arraycopy(p.gapEnd, n - keep, e, 0, keep);
        System.arraycopy(p.gapWatermark, n - keep, w, 0, keep);
        s[keep] = start;
        e[keep] = end;
        w[keep] = watermark;
        p.gapStart = s;
        p.gapEnd = e;
        p.gapWatermark = w;
    }

    /** True when seq lies in a given-up gap; the gap then no longer holds it. */
    private boolean takeFromGap(Progress p, long seq, long watermark) {
        if (p.gapStart.length == 0) {
            return false;
        }
        forgetOldGaps(p, watermark);
        for (int i = 0; i < p.gapStart.length; i++) {
            if (seq >= p.gapStart[i] && seq <= p.gapEnd[i]) {
                long start = p.gapStart[i], end = p.gapEnd[i], w = p.gapWatermark[i];
                removeGap(p, i);
                if (seq > start) {
                    rememberGap(p, start, seq - 1, w);
                }
                if (seq < end) {
                    rememberGap(p, seq + 1, end, w);
                }
                return true;
            }
        }
        return false;
    }

    private void forgetOldGaps(Progress p, long watermark) {
        if (watermark == Long.MIN_VALUE) {
            // No watermark yet (just after a restart): nothing has aged, and the subtraction below would overflow
            // into "every gap is old", so a late trade replayed from the checkpoint would count as a duplicate.
            return;
        }
        for (int i = p.gapStart.length - 1; i >= 0; i--) {
            if (watermark - p.gapWatermark[i] > gapMemoryMs) {
                removeGap(p, i);
            }
        }
    }

    private static void removeGap(Progress p, int i) {
        p.gapStart = without(p.gapStart, i);
        p.gapEnd = without(p.gapEnd, i);
        p.gapWatermark = without(p.gapWatermark, i);
    }

    private static long[] without(long[] a, int i) {
        long[] out = new long[a.length - 1];
        System.arraycopy(a, 0, out, 0, i);
        System.arraycopy(a, i + 1, out, i, a.length - i - 1);
        return out;
    }

    private static void clearGaps(Progress p) {
        p.gapStart = new long[0];
        p.gapEnd = new long[0];
        p.gapWatermark = new long[0];
    }
}
