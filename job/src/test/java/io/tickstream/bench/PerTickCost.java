package io.tickstream.bench;

import io.tickstream.config.JobConfig;
import io.tickstream.detect.AnomalyDetectors;
import io.tickstream.detect.InstrumentDetectorState;
import io.tickstream.detect.InstrumentDetectorStateSerializer;
import io.tickstream.model.Tick;
import io.tickstream.sequence.TradeSequencer;
import io.tickstream.source.TickParser;
import io.tickstream.source.TickSource;
import io.tickstream.state.CachedValueState;
import io.tickstream.testutils.Harnesses;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;

/**
 * CPU time per tick of the TaskManager's per-trade paths, on this machine: the parser over records shaped like the
 * synthetic producer's, the trade sequencer and the detectors on RocksDB (the production backend, keyed state with
 * TTL), and the detector state's serializer alone. Prints one JSON line per part: CPU ns per tick (the thread's CPU
 * time, not wall time, so other load on the machine moves it less) as the median of several rounds. Not a test:
 * run it by hand (see docs/benchmark or the commit messages) to compare a change before and after.
 *
 * <p>Arguments (optional): ticks-per-round rounds parts (comma-separated: parse,sequencer,detectors,state; all by
 * default).
 */
public final class PerTickCost {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final String[] EXCHANGES = {"binance", "coinbase", "kraken", "synthetic"};
    private static final String[] SYMBOLS = {
        "BTC-USDT",
        "ETH-USDT",
        "SOL-USDT",
        "BNB-USDT",
        "XRP-USDT",
        "DOGE-USDT",
        "ADA-USDT",
        "AVAX-USDT",
        "LINK-USDT",
        "LTC-USDT"
    };

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 7;
        List<String> parts = List.of((args.length > 2 ? args[2] : "parse,sequencer,detectors,state").split(","));
        JobConfig config = JobConfig.parse(new String[] {}, Map.of("TICKSTREAM_JDBC_PASSWORD", "unused"));
        long t0 = System.currentTimeMillis() - 3_600_000L;
        byte[][] keys = new byte[n][];
        byte[][] values = new byte[n][];
        records(n, t0, keys, values);

        // The parser, as the Kafka source runs it: one instance, records in arrival order.
        TickParser parser = TickSource.parser(config);
        long now = System.currentTimeMillis();
        Tick[] ticks = new Tick[n];
        double[] parse = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            long start = cpu();
            for (int i = 0; i < n; i++) {
                ticks[i] = parser.parse(keys[i], values[i], now);
            }
            parse[r] = (cpu() - start) / (double) n;
        }
        if (parts.contains("parse")) {
            print("parse", parse, n);
        }

        // The sequencer and the detectors on RocksDB, each in its own harness (as each is its own operator).
        if (parts.contains("sequencer")) {
            TradeSequencer sequencer =
                    new TradeSequencer(config.allowedLateness.plus(config.outOfOrderness), config.stateTtl);
            print("sequencer", keyed(sequencer, ticks, rounds), n);
        }
        if (parts.contains("detectors")) {
            AnomalyDetectors detectors =
                    new AnomalyDetectors(config.priceMove, config.returnZScore, config.volumeSpike, config.stateTtl);
            print("detectors", keyed(detectors, ticks, rounds), n);
        }
        if (!parts.contains("state")) {
            return;
        }

        // The detector state's serializer alone: one instrument's warm state written and read back.
        InstrumentDetectorState state = warmState(config, ticks);
        DataOutputSerializer out = new DataOutputSerializer(1024);
        InstrumentDetectorStateSerializer.INSTANCE.serialize(state, out);
        int bytes = out.length();
        double[] serde = new double[rounds];
        DataInputDeserializer in = new DataInputDeserializer();
        for (int r = 0; r < rounds; r++) {
            long start = cpu();
            for (int i = 0; i < n; i++) {
                out.clear();
                InstrumentDetectorStateSerializer.INSTANCE.serialize(state, out);
                in.setBuffer(out.getSharedBuffer(), 0, out.length());
                state = InstrumentDetectorStateSerializer.INSTANCE.deserialize(in);
            }
            serde[r] = (cpu() - start) / (double) n;
        }
        print("detector-state-write-read", serde, n, "\"bytes\":" + bytes);
        // the write alone: every trade's cost now that reads come from the heap copy
        double[] write = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            long start = cpu();
            for (int i = 0; i < n; i++) {
                out.clear();
                InstrumentDetectorStateSerializer.INSTANCE.serialize(state, out);
            }
            write[r] = (cpu() - start) / (double) n;
        }
        print("detector-state-write", write, n, "\"bytes\":" + bytes);
    }

    /** Records shaped like the synthetic producer's: 40 instruments, consecutive ids, prices and sizes as text. */
    private static void records(int n, long t0, byte[][] keys, byte[][] values) {
        Random rng = new Random(42);
        int instruments = EXCHANGES.length * SYMBOLS.length;
        long[] nextId = new long[instruments];
        double[] price = new double[instruments];
        byte[][] instrumentKeys = new byte[instruments][];
        for (int i = 0; i < instruments; i++) {
            nextId[i] = 100_000_000L + rng.nextInt(900_000_000);
            price[i] = 10 + rng.nextDouble() * 60_000;
            instrumentKeys[i] = (EXCHANGES[i / SYMBOLS.length] + ":" + SYMBOLS[i % SYMBOLS.length])
                    .getBytes(StandardCharsets.UTF_8);
        }
        for (int k = 0; k < n; k++) {
            int i = rng.nextInt(instruments);
            price[i] *= 1 + rng.nextGaussian() * 0.0001;
            long ts = t0 + k / 50;
            String value = String.format(
                    Locale.ROOT,
                    "{\"v\":1,\"exchange\":\"%s\",\"symbol\":\"%s\",\"trade_id\":\"%d\",\"price\":\"%.2f\","
                            + "\"size\":\"%.5f\",\"side\":\"%s\",\"ts\":%d,\"recv_ts\":%d}",
                    EXCHANGES[i / SYMBOLS.length],
                    SYMBOLS[i % SYMBOLS.length],
                    nextId[i]++,
                    price[i],
                    Math.exp(rng.nextGaussian() * 1.2) * 0.02,
                    rng.nextBoolean() ? "buy" : "sell",
                    ts,
                    ts + 5);
            keys[k] = instrumentKeys[i];
            values[k] = value.getBytes(StandardCharsets.UTF_8);
        }
    }

    /** CPU ns per tick of {@code fn} on RocksDB, per round; each round feeds the ticks again, later in time. */
    private static <O> double[] keyed(KeyedProcessFunction<String, Tick, O> fn, Tick[] ticks, int rounds)
            throws Exception {
        KeyedOneInputStreamOperatorTestHarness<String, Tick, O> harness =
                new KeyedOneInputStreamOperatorTestHarness<>(Harnesses.operatorOf(fn), Tick::instrument, Types.STRING);
        // RocksDB's memory as a TaskManager gives it (the harness's default, a few hundred KiB of managed memory,
        // flushes the memtable constantly)
        EmbeddedRocksDBStateBackend rocksDb = new EmbeddedRocksDBStateBackend();
        rocksDb.getMemoryConfiguration().setUseManagedMemory(false);
        harness.setStateBackend(rocksDb);
        harness.open();
        double[] perTick = new double[rounds];
        long shift = 0, span = ticks[ticks.length - 1].ts() - ticks[0].ts() + 1000;
        try {
            for (int r = 0; r < rounds; r++) {
                Tick[] round = shifted(ticks, shift, r);
                long start = cpu();
                for (int i = 0; i < round.length; i++) {
                    harness.processElement(round[i], round[i].ts());
                    if ((i & 1023) == 1023) {
                        // the watermark as the source would advance it (out-of-orderness 2 s behind): it releases
                        // the first trades of each instrument, held until then
                        harness.processWatermark(new Watermark(round[i].ts() - 2000));
                        harness.getOutput().clear();
                    }
                }
                perTick[r] = (cpu() - start) / (double) round.length;
                shift += span;
                harness.getOutput().clear();
            }
        } finally {
            harness.close();
        }
        return perTick;
    }

    /** The ticks {@code shift} ms later, each instrument's trade ids continuing where the previous round's ended. */
    private static Tick[] shifted(Tick[] ticks, long shift, int round) {
        if (round == 0) {
            return ticks;
        }
        Map<String, Integer> perInstrument = new java.util.HashMap<>();
        for (Tick t : ticks) {
            perInstrument.merge(t.instrument(), 1, Integer::sum);
        }
        Tick[] out = new Tick[ticks.length];
        for (int i = 0; i < ticks.length; i++) {
            Tick t = ticks[i];
            long seq = t.tradeSeq() + (long) round * perInstrument.get(t.instrument());
            out[i] = new Tick(
                    t.exchange(),
                    t.symbol(),
                    Long.toString(seq),
                    seq,
                    t.price(),
                    t.priceValue(),
                    t.size(),
                    t.sizeValue(),
                    t.side(),
                    t.ts() + shift,
                    t.recvTs() + shift,
                    t.instrument());
        }
        return out;
    }

    /** The detector state of the first tick's instrument after all its ticks. */
    @SuppressWarnings("unchecked")
    private static InstrumentDetectorState warmState(JobConfig config, Tick[] ticks) throws Exception {
        AnomalyDetectors detectors =
                new AnomalyDetectors(config.priceMove, config.returnZScore, config.volumeSpike, config.stateTtl);
        KeyedOneInputStreamOperatorTestHarness<String, Tick, ?> harness = new KeyedOneInputStreamOperatorTestHarness<>(
                Harnesses.operatorOf(detectors), Tick::instrument, Types.STRING);
        harness.open();
        List<Tick> one = new ArrayList<>();
        for (Tick t : ticks) {
            if (t.instrument().equals(ticks[0].instrument())) {
                one.add(t);
                harness.processElement(t, t.ts());
            }
        }
        harness.getOperator().setCurrentKey(ticks[0].instrument());
        Field f = AnomalyDetectors.class.getDeclaredField("detectorState");
        f.setAccessible(true);
        InstrumentDetectorState state = ((CachedValueState<String, InstrumentDetectorState>) f.get(detectors))
                .value(ticks[0].instrument(), harness.getProcessingTime());
        harness.close();
        return state;
    }

    private static long cpu() {
        return THREADS.getCurrentThreadCpuTime();
    }

    private static void print(String part, double[] perTick, int n, String... extra) {
        // the first round warms the JIT: the median of the others
        double[] warm = java.util.Arrays.copyOfRange(perTick, 1, perTick.length);
        java.util.Arrays.sort(warm);
        StringBuilder s = new StringBuilder(String.format(
                Locale.ROOT,
                "{\"part\":\"%s\",\"cpu_ns_per_tick\":%.0f,\"min\":%.0f,\"ticks_per_round\":%d",
                part,
                warm[warm.length / 2],
                warm[0],
                n));
        for (String e : extra) {
            s.append(',').append(e);
        }
        System.out.println(s.append('}'));
    }
}
