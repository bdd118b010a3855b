package io.tickstream.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tickstream.TickStreamJob;
import io.tickstream.config.ConfigException;
import io.tickstream.config.JobConfig;
import io.tickstream.detect.PriceMoveDetector;
import io.tickstream.detect.VolumeSpikeDetector;
import io.tickstream.model.Anomaly;
import io.tickstream.model.AnomalyType;
import io.tickstream.model.BadRecord;
import io.tickstream.model.Candle;
import io.tickstream.model.Tick;
import io.tickstream.source.BadTickException;
import io.tickstream.source.ParseResult;
import io.tickstream.source.TickParser;
import io.tickstream.source.TickSource;
import io.tickstream.testutils.CollectingSink;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Detection quality on labelled streams: the producers' synthetic generator (fixed seed and simulated clock)
 * writes ticks and labels, the job's real graph ({@link TickStreamJob#build}) runs them on a local MiniCluster,
 * and the alerts are scored against the labels. Shared by {@link DetectionEvaluation} (the command) and the
 * regression test.
 */
public final class Evaluation {
    /** An alert matches a label of its instrument and kind raised from the label's start to its end plus this. */
    public static final long TOLERANCE_MS = 5_000;
    /** The anomaly kinds the generator injects and labels. */
    public static final List<AnomalyType> LABELLED = List.of(
            AnomalyType.PRICE_SPIKE,
            AnomalyType.PRICE_DROP,
            AnomalyType.VOLUME_SPIKE,
            AnomalyType.CROSS_VENUE_DIVERGENCE);

    static final int PARALLELISM = 2;
    static final long UNSCORED_TAIL_MS = 60_000;
    /**
     * A divergence steps its venue's price away and back; price alerts on that venue are explained by it until
     * the default price window ({@code --spike-window}) has passed its end.
     */
    static final long DIVERGENCE_MOVES_PRICE_FOR_MS = 60_000;
    /** An alert on a near miss's instrument from its start until this long after its end is one it raised. */
    static final long NEAR_MISS_AFTER_MS = 60_000;

    private static final ObjectMapper JSON = new ObjectMapper();

    private Evaluation() {}

    public record Label(String exchange, String symbol, AnomalyType type, long start, long end, double magnitude) {
        String instrument() {
            return exchange + ':' + symbol;
        }
    }

    /** A generated stream: tick JSON lines in the producer's order, its labels, and its extent. */
    public record Stream(
            String name,
            List<String> lines,
            List<Label> labels,
            List<Label> nearMisses,
            Set<String> instruments,
            long firstTs,
            long lastTs) {
        /**
         * The end of the scored part: the stream stops mid-anomaly, so the labels starting in its last minute
         * (no more than the price window plus the longest anomaly) are not scored, nor alerts there that no scored
         * label explains.
         */
        public long scoredUntil() {
            return lastTs - UNSCORED_TAIL_MS;
        }

        public List<Label> scoredLabels() {
            return labels.stream().filter(l -> l.start() <= scoredUntil()).toList();
        }

        public double instrumentHours() {
            return instruments.size() * (scoredUntil() - firstTs) / 3_600_000.0;
        }
    }

    // ---- generating ----------------------------------------------------------------------------------------

    /** The repository root (holding producers/), searched upward from the working directory. */
    static Path repo() {
        Path dir = Path.of(System.getProperty("tickstream.repo", "."))
                .toAbsolutePath()
                .normalize();
        for (Path d = dir; d != null; d = d.getParent()) {
            if (Files.isDirectory(d.resolve("producers/src/tickstream_producers"))) {
                return d;
            }
        }
        throw new IllegalStateException("no producers/src/tickstream_producers above " + dir);
    }

    /** Runs {@code python -m tickstream_producers synthetic --stdout <args>} (labels to a temporary file). */
    public static Stream generate(String name, List<String> args) throws IOException, InterruptedException {
        Path repo = repo();
        Path venvPython = repo.resolve("producers/.venv/bin/python");
        String python = Files.isExecutable(venvPython) ? venvPython.toString() : "python3";
        Path labelsFile = Files.createTempFile("tickstream-labels", ".jsonl");
        Path out = Files.createTempFile("tickstream-ticks", ".jsonl");
        try {
            List<String> cmd = new ArrayList<>(List.of(python, "-m", "tickstream_producers", "synthetic", "--stdout"));
            cmd.addAll(args);
            if (args.contains("--inject")) {
                cmd.addAll(List.of("--labels", labelsFile.toString()));
            }
            ProcessBuilder pb = new ProcessBuilder(cmd)
                    .directory(repo.resolve("producers").toFile())
                    .redirectOutput(out.toFile())
                    .redirectError(ProcessBuilder.Redirect.PIPE);
            pb.environment().put("PYTHONPATH", repo.resolve("producers/src").toString());
            Process p = pb.start();
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) {
                throw new IllegalStateException("synthetic generator failed: " + cmd + "\n" + err);
            }
            List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
            List<Label> labels = new ArrayList<>();
            for (String l : Files.readAllLines(labelsFile, StandardCharsets.UTF_8)) {
                if (!l.isBlank()) {
                    JsonNode n = JSON.readTree(l);
                    labels.add(new Label(
                            n.get("exchange").asText(),
                            n.get("symbol").asText(),
                            AnomalyType.valueOf(n.get("type").asText()),
                            n.get("start_ts").asLong(),
                            n.get("end_ts").asLong(),
                            n.get("magnitude").asDouble()));
                }
            }
            Set<String> instruments = new HashSet<>();
            long first = Long.MAX_VALUE, last = Long.MIN_VALUE;
            for (String l : lines) {
                JsonNode n = JSON.readTree(l);
                instruments.add(
                        n.get("exchange").asText() + ':' + n.get("symbol").asText());
                long ts = n.get("ts").asLong();
                first = Math.min(first, ts);
                last = Math.max(last, ts);
            }
            return new Stream(name, lines, labels, List.of(), instruments, first, last);
        } finally {
            Files.deleteIfExists(labelsFile);
            Files.deleteIfExists(out);
        }
    }

    /** A stream of {@link MicrostructureGenerator} (labelled events and near misses unless {@code calm}). */
    public static Stream microstructure(String name, long seed, long startTs, int minutes, boolean calm, long warmupMs)
            throws IOException {
        MicrostructureGenerator.Output g = MicrostructureGenerator.generate(seed, startTs, minutes, !calm, warmupMs);
        long first = JSON.readTree(g.lines().get(0)).get("ts").asLong();
        long last = JSON.readTree(g.lines().get(g.lines().size() - 1)).get("ts").asLong();
        return new Stream(
                name, g.lines(), g.labels(), g.nearMisses(), MicrostructureGenerator.instruments(), first, last);
    }

    /**
     * The stream's lines in an arrival order shuffled within {@code boundMs} of trade time: each line arrives at
     * its trade time plus a uniform delay below the bound, so none arrives after the watermark passed it.
     */
    public static List<String> shuffledWithin(List<String> lines, long boundMs, long seed) throws IOException {
        Random random = new Random(seed);
        long[][] order = new long[lines.size()][];
        for (int i = 0; i < lines.size(); i++) {
            long ts = JSON.readTree(lines.get(i)).get("ts").asLong();
            order[i] = new long[] {ts + (long) (random.nextDouble() * (boundMs - 1)), i};
        }
        Arrays.sort(order, Comparator.comparingLong((long[] a) -> a[0]).thenComparingLong(a -> a[1]));
        List<String> out = new ArrayList<>(lines.size());
        for (long[] o : order) {
            out.add(lines.get((int) o[1]));
        }
        return out;
    }

    // ---- running the job's graph ---------------------------------------------------------------------------

    public static JobConfig config(String... overrides) {
        List<String> args = new ArrayList<>(List.of("--checkpoint-interval", "500 ms"));
        args.addAll(Arrays.asList(overrides));
        try {
            return JobConfig.parse(args.toArray(String[]::new), Map.of(JobConfig.JDBC_PASSWORD_ENV, "unused"));
        } catch (ConfigException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /** Input handed to the MiniCluster in this JVM (a generator source reads it by index; no copy in the job graph). */
    private static final Map<String, ParseResult[]> INPUTS = new ConcurrentHashMap<>();

    private static final class FromMemory implements GeneratorFunction<Long, ParseResult> {
        private static final long serialVersionUID = 1L;
        private final String id;

        FromMemory(String id) {
            this.id = id;
        }

        @Override
        public ParseResult map(Long index) {
            return INPUTS.get(id)[index.intValue()];
        }
    }

    /** Runs the job's graph (parallelism 2, RocksDB) over the lines in this arrival order; returns the alerts. */
    public static List<Anomaly> run(JobConfig config, List<String> lines) throws Exception {
        TickParser parser = TickSource.parser(config);
        ParseResult[] input = new ParseResult[lines.size()];
        long now = System.currentTimeMillis();
        for (int i = 0; i < lines.size(); i++) {
            byte[] value = lines.get(i).getBytes(StandardCharsets.UTF_8);
            JsonNode n = JSON.readTree(value);
            byte[] key = (n.get("exchange").asText() + ':' + n.get("symbol").asText()).getBytes(StandardCharsets.UTF_8);
            try {
                input[i] = ParseResult.ofTick(parser.parse(key, value, now));
            } catch (BadTickException e) {
                throw new IllegalStateException("the generator wrote a bad tick: " + lines.get(i), e);
            }
        }
        String id = UUID.randomUUID().toString();
        INPUTS.put(id, input);
        try {
            CollectingSink<Anomaly> anomalies = new CollectingSink<>();
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
            TickStreamJob.configure(env, config);
            env.setParallelism(PARALLELISM);
            DataStream<ParseResult> parsed = env.fromSource(
                            new DataGeneratorSource<>(
                                    new FromMemory(id),
                                    input.length,
                                    RateLimiterStrategy.noOp(),
                                    TypeInformation.of(ParseResult.class)),
                            WatermarkStrategy.noWatermarks(),
                            "ticks")
                    .setParallelism(1)
                    .assignTimestampsAndWatermarks(TickSource.watermarks(config))
                    .setParallelism(1);
            new TickStreamJob(
                            config,
                            new TickStreamJob.Sinks(
                                    new CollectingSink<Tick>(),
                                    new CollectingSink<Candle>(),
                                    anomalies,
                                    new CollectingSink<Anomaly>(),
                                    new CollectingSink<Anomaly>(),
                                    new CollectingSink<BadRecord>()))
                    .build(parsed);
            env.execute("detection-evaluation");
            List<Anomaly> out = anomalies.received();
            out.sort(Comparator.comparingLong(Anomaly::ts).thenComparing(Anomaly::id));
            return out;
        } finally {
            INPUTS.remove(id);
        }
    }

    /** The alert without the wall-clock fields (detection time, producer receive time). */
    public static List<String> comparable(List<Anomaly> anomalies) {
        return anomalies.stream()
                .map(a -> String.join(
                        "|",
                        a.id(),
                        a.instrument(),
                        a.type().name(),
                        Long.toString(a.ts()),
                        a.price(),
                        String.valueOf(a.refPrice()),
                        String.valueOf(a.changePct()),
                        String.valueOf(a.zscore()),
                        String.valueOf(a.windowMs()),
                        a.tradeId(),
                        String.valueOf(a.details()),
                        a.incident()))
                .sorted()
                .collect(Collectors.toList());
    }

    // ---- scoring -------------------------------------------------------------------------------------------

    /** Figures of one anomaly type on one stream. */
    public static final class TypeScore {
        public int labels;
        public int detected;
        public int alerts;
        public int matched;
        /** Alerts another injected anomaly explains (see {@link #score}): counted as right for precision. */
        public int explained;

        public int duplicates;
        public int unmatched;
        public final List<Long> delaysMs = new ArrayList<>();

        public double recall() {
            return labels == 0 ? Double.NaN : (double) detected / labels;
        }

        /** Matched first and explained alerts over all alerts: a second alert for one anomaly counts against it. */
        public double precision() {
            return alerts == 0 ? Double.NaN : (double) (matched + explained) / alerts;
        }

        public double f1() {
            double p = precision(), r = recall();
            return p + r == 0 || Double.isNaN(p) || Double.isNaN(r) ? Double.NaN : 2 * p * r / (p + r);
        }

        public double delayPercentile(double q) {
            if (delaysMs.isEmpty()) {
                return Double.NaN;
            }
            List<Long> sorted = new ArrayList<>(delaysMs);
            sorted.sort(null);
            int i = (int) Math.ceil(q * sorted.size()) - 1;
            return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
        }

        void add(TypeScore o) {
            labels += o.labels;
            detected += o.detected;
            alerts += o.alerts;
            matched += o.matched;
            explained += o.explained;
            duplicates += o.duplicates;
            unmatched += o.unmatched;
            delaysMs.addAll(o.delaysMs);
        }
    }

    /** Scores of one stream: per type, plus alerts no label explains (false alerts). */
    public static final class Score {
        public final Map<AnomalyType, TypeScore> byType = new EnumMap<>(AnomalyType.class);
        public int falseAlerts;
        /** The false alerts themselves (unmatched and duplicates), for {@link #explain}. */
        public final List<Anomaly> falseAlertList = new ArrayList<>();
        /** Labels no alert detected. */
        public final List<Label> missedLabels = new ArrayList<>();

        public int alerts;
        public double instrumentHours;
        /** Labelled near misses, and the alerts (any type, its instrument) raised during one or soon after. */
        public int nearMisses;

        public final List<Anomaly> nearMissAlerts = new ArrayList<>();
        /** Price near misses whose traded move reached the threshold anyway, and the price alerts during them. */
        public int nearMissesReached;

        public final List<Anomaly> reachedNearMissAlerts = new ArrayList<>();
        /** PRICE_RETRACEMENT records: updates of an alerted move's incident, not alerts (neither right nor false). */
        public int updates;
        /** Labelled events that raised an alert, and those whose alerts (matched or explained) span several incidents. */
        public int alertedEvents;

        public int splitEvents;

        public TypeScore type(AnomalyType t) {
            return byType.computeIfAbsent(t, k -> new TypeScore());
        }

        public double falseAlertsPerInstrumentHour() {
            return falseAlerts / instrumentHours;
        }

        public void add(Score o) {
            o.byType.forEach((t, s) -> type(t).add(s));
            falseAlerts += o.falseAlerts;
            falseAlertList.addAll(o.falseAlertList);
            missedLabels.addAll(o.missedLabels);
            alerts += o.alerts;
            instrumentHours += o.instrumentHours;
            nearMisses += o.nearMisses;
            nearMissAlerts.addAll(o.nearMissAlerts);
            nearMissesReached += o.nearMissesReached;
            reachedNearMissAlerts.addAll(o.reachedNearMissAlerts);
            updates += o.updates;
            alertedEvents += o.alertedEvents;
            splitEvents += o.splitEvents;
        }
    }

    /**
     * Matches alerts to labels. A labelled kind's alert matches a label of its kind and instrument (for a
     * divergence: its asset, with the label's venue one of the alert's two) raised in [start, end + tolerance];
     * the first such alert detects the label (delay from the start), later ones are duplicates. An alert no label
     * of its kind matches is <em>explained</em> (neither a hit nor a false alert) when another injected anomaly
     * moved its instrument's price then: RETURN_ZSCORE (it has no labels of its own) inside any label's window on
     * its instrument, PRICE_SPIKE/PRICE_DROP from a divergence label's start on its venue until the price window
     * has passed the label's end (a divergence steps that venue's price by its magnitude and back, which with the
     * market's own move can pass the price threshold). False alerts: unmatched and duplicate alerts of every type.
     */
    public static Score score(Stream stream, List<Anomaly> alerts) throws IOException {
        return score(stream, alerts, Set.of());
    }

    /**
     * The same, with the price near misses whose move, as traded, reached the price threshold
     * ({@link #nearMissesReachingThreshold}): the market added the rest of a 1 % move to the injected 0.6 %, so a
     * price alert then is right, not a near miss alerted — counted apart, and explained.
     */
    public static Score score(Stream stream, List<Anomaly> alerts, Set<Label> reachedNearMisses) throws IOException {
        Score score = new Score();
        score.instrumentHours = stream.instrumentHours();
        for (AnomalyType t : LABELLED) {
            score.type(t);
        }
        Map<Label, Boolean> hit = new HashMap<>();
        Map<Label, Set<String>> incidents = new HashMap<>();
        List<Label> labels = stream.scoredLabels();
        for (Label l : labels) {
            score.type(l.type()).labels++;
        }
        for (Anomaly a : alerts) {
            if (a.type() == AnomalyType.PRICE_RETRACEMENT) {
                score.updates++;
                continue;
            }
            Label label = null;
            for (Label l : labels) {
                if (l.type() == a.type() && covers(l, a) && sameSubject(l, a)) {
                    if (label == null || !hit.containsKey(l) && hit.containsKey(label)) {
                        label = l;
                    }
                }
            }
            if (label == null && a.ts() > stream.scoredUntil()) {
                continue;
            }
            TypeScore ts = score.type(a.type());
            ts.alerts++;
            score.alerts++;
            Label explaining = label == null ? explainingLabel(stream, a) : null;
            boolean marketReachedIt = label == null
                    && explaining == null
                    && isPriceMove(a)
                    && reachedNearMisses.stream()
                            .anyMatch(n -> n.instrument().equals(a.instrument()) && duringNearMiss(n, a));
            if (label != null || explaining != null) {
                incidents
                        .computeIfAbsent(label != null ? label : explaining, k -> new HashSet<>())
                        .add(a.incident());
            }
            if (explaining != null || marketReachedIt) {
                ts.explained++;
            } else if (label == null) {
                ts.unmatched++;
                score.falseAlerts++;
                score.falseAlertList.add(a);
            } else if (hit.containsKey(label)) {
                ts.duplicates++;
                score.falseAlerts++;
                score.falseAlertList.add(a);
            } else {
                hit.put(label, true);
                ts.matched++;
                ts.detected++;
                ts.delaysMs.add(a.ts() - label.start());
            }
        }
        for (Label l : labels) {
            if (!hit.containsKey(l)) {
                score.missedLabels.add(l);
            }
        }
        for (Set<String> ids : incidents.values()) {
            score.alertedEvents++;
            if (ids.size() > 1) {
                score.splitEvents++;
            }
        }
        for (Label n : stream.nearMisses()) {
            if (n.start() > stream.scoredUntil()) {
                continue;
            }
            boolean reached = reachedNearMisses.contains(n);
            if (reached) {
                score.nearMissesReached++;
            } else {
                score.nearMisses++;
            }
            for (Anomaly a : alerts) {
                if (a.instrument().equals(n.instrument())
                        && a.type() != AnomalyType.PRICE_RETRACEMENT
                        && duringNearMiss(n, a)) {
                    (reached && isPriceMove(a) ? score.reachedNearMissAlerts : score.nearMissAlerts).add(a);
                }
            }
        }
        return score;
    }

    private static boolean duringNearMiss(Label n, Anomaly a) {
        return a.ts() >= n.start() && a.ts() <= n.end() + NEAR_MISS_AFTER_MS;
    }

    private static boolean isPriceMove(Anomaly a) {
        return a.type() == AnomalyType.PRICE_SPIKE || a.type() == AnomalyType.PRICE_DROP;
    }

    /**
     * The price near misses (an injected move of 0.6x the threshold) whose instrument, as traded, still moved by the
     * threshold within one price window while the near miss lasted or the scoring after it: the largest rise (over the
     * window's lowest trade) or fall (under its highest), trade by trade — the market's own move added the rest.
     */
    public static Set<Label> nearMissesReachingThreshold(Stream stream, PriceMoveDetector.Settings settings)
            throws IOException {
        Map<String, List<long[]>> byInstrument = new HashMap<>(); // {ts, price bits}
        for (String line : stream.lines()) {
            JsonNode n = JSON.readTree(line);
            byInstrument
                    .computeIfAbsent(
                            n.get("exchange").asText() + ':' + n.get("symbol").asText(), k -> new ArrayList<>())
                    .add(new long[] {
                        n.get("ts").asLong(),
                        Double.doubleToLongBits(
                                Double.parseDouble(n.get("price").asText()))
                    });
        }
        for (List<long[]> trades : byInstrument.values()) {
            trades.sort(Comparator.comparingLong((long[] t) -> t[0]));
        }
        double factor = settings.thresholdPct() / 100.0;
        Set<Label> reached = new HashSet<>();
        for (Label n : stream.nearMisses()) {
            if (n.type() != AnomalyType.PRICE_SPIKE && n.type() != AnomalyType.PRICE_DROP) {
                continue;
            }
            List<long[]> trades = byInstrument.getOrDefault(n.instrument(), List.of());
            long from = n.start(), to = n.end() + NEAR_MISS_AFTER_MS;
            outer:
            for (int i = 0; i < trades.size(); i++) {
                long ts = trades.get(i)[0];
                if (ts < from || ts > to) {
                    continue;
                }
                double price = Double.longBitsToDouble(trades.get(i)[1]);
                for (int j = i - 1; j >= 0 && trades.get(j)[0] > ts - settings.windowMs(); j--) {
                    double before = Double.longBitsToDouble(trades.get(j)[1]);
                    if (price >= before * (1 + factor) || price <= before * (1 - factor)) {
                        reached.add(n);
                        break outer;
                    }
                }
            }
        }
        return reached;
    }

    /**
     * The VOLUME_SPIKE labels whose burst, as traded, reached the multiple in at least one window: the window's
     * typical volume (trades x their geometric mean size) against the average of that of the windows before the
     * burst, as the detector computes them. Injected sizes are a multiple of the usual ones, but trade sizes are
     * heavy-tailed and trade counts vary, so a burst just above the multiple can stay below it in every window: no
     * window detector can see that one.
     */
    public static Set<Label> burstsReachingMultiple(Stream stream, VolumeSpikeDetector.Settings settings)
            throws IOException {
        long stepMs = settings.stepMs();
        // per instrument and step: {trades, sum of log sizes}
        Map<String, TreeMap<Long, double[]>> steps = new HashMap<>();
        for (String line : stream.lines()) {
            JsonNode n = JSON.readTree(line);
            String instrument =
                    n.get("exchange").asText() + ':' + n.get("symbol").asText();
            double size = Double.parseDouble(n.get("size").asText());
            if (size > 0) {
                double[] step = steps.computeIfAbsent(instrument, k -> new TreeMap<>())
                        .computeIfAbsent(Math.floorDiv(n.get("ts").asLong(), stepMs) * stepMs, k -> new double[2]);
                step[0]++;
                step[1] += Math.log(size);
            }
        }
        double alpha = 1.0 - Math.pow(0.5, (double) stepMs / settings.halfLifeMs());
        Set<Label> reaching = new HashSet<>();
        for (Label l : stream.scoredLabels()) {
            if (l.type() != AnomalyType.VOLUME_SPIKE) {
                continue;
            }
            TreeMap<Long, double[]> series = steps.get(l.instrument());
            double average = 0;
            long seen = 0;
            long firstStep = Math.floorDiv(l.start(), stepMs) * stepMs;
            for (long end = series.firstKey(); end < firstStep - settings.windowMs(); end += stepMs) {
                double typical = typicalWindow(series, end, settings);
                average += Math.max(alpha, 1.0 / ++seen) * (typical - average); // the detector's young mean, then EWMA
            }
            for (long end = firstStep; end <= l.end(); end += stepMs) {
                if (typicalWindow(series, end, settings) >= settings.multiplier() * average) {
                    reaching.add(l);
                    break;
                }
            }
        }
        return reaching;
    }

    /** The typical volume (trades x geometric mean size) of the window whose last step starts at {@code lastStep}. */
    private static double typicalWindow(
            TreeMap<Long, double[]> steps, long lastStep, VolumeSpikeDetector.Settings settings) {
        double trades = 0, logSizes = 0;
        for (double[] step : steps.subMap(lastStep - settings.windowMs() + settings.stepMs(), true, lastStep, true)
                .values()) {
            trades += step[0];
            logSizes += step[1];
        }
        return trades == 0 ? 0 : trades * Math.exp(logSizes / trades);
    }

    /**
     * Each missed label with the alerts of its instrument near it, and each false alert with the labels of its
     * asset starting within two minutes of it.
     */
    public static String explain(Stream stream, List<Anomaly> alerts) throws IOException {
        StringBuilder out = new StringBuilder();
        Score score = score(stream, alerts);
        for (Label l : score.missedLabels) {
            out.append(String.format(
                    Locale.ROOT,
                    "    missed %s %s from +%.1f s to +%.1f s magnitude %s%n",
                    l.type(),
                    l.instrument(),
                    (l.start() - stream.firstTs()) / 1000.0,
                    (l.end() - stream.firstTs()) / 1000.0,
                    l.magnitude()));
            for (Anomaly a : alerts) {
                if (a.instrument().equals(l.instrument()) && Math.abs(a.ts() - l.start()) <= 120_000) {
                    out.append(String.format(
                            Locale.ROOT,
                            "        alert %s at %+.1f s from the start%n",
                            a.type(),
                            (a.ts() - l.start()) / 1000.0));
                }
            }
        }
        for (Anomaly a : score.nearMissAlerts) {
            out.append(String.format(
                    Locale.ROOT,
                    "    near miss alerted: %s %s at +%.1f s: %s%n",
                    a.type(),
                    a.instrument(),
                    (a.ts() - stream.firstTs()) / 1000.0,
                    a.details() != null
                            ? a.details()
                            : "price " + a.price() + " ref " + a.refPrice() + " change " + a.changePct() + " % z "
                                    + a.zscore()));
        }
        for (Anomaly a : score.falseAlertList) {
            out.append(String.format(
                    Locale.ROOT,
                    "    false %s %s at +%.1f s: %s%n",
                    a.type(),
                    a.instrument(),
                    (a.ts() - stream.firstTs()) / 1000.0,
                    a.details() != null
                            ? a.details()
                            : "price " + a.price() + " ref " + a.refPrice() + " change " + a.changePct() + " % z "
                                    + a.zscore()));
            for (Label l : stream.labels()) {
                if (Math.abs(l.start() - a.ts()) <= 120_000 && sameSubjectOrAsset(l, a)) {
                    out.append(String.format(
                            Locale.ROOT,
                            "        label %s %s from %+.1f s to %+.1f s magnitude %s%n",
                            l.type(),
                            l.instrument(),
                            (l.start() - a.ts()) / 1000.0,
                            (l.end() - a.ts()) / 1000.0,
                            l.magnitude()));
                }
            }
        }
        return out.toString();
    }

    private static boolean sameSubjectOrAsset(Label l, Anomaly a) {
        String base = a.instrument().substring(a.instrument().indexOf(':') + 1).split("-")[0];
        return l.symbol().split("-")[0].equals(base);
    }

    /** The injected anomaly that explains an alert no label of its own kind matches (see {@link #score}), or null. */
    private static Label explainingLabel(Stream stream, Anomaly a) {
        for (Label l : stream.labels()) {
            if (!l.instrument().equals(a.instrument())) {
                continue;
            }
            if (a.type() == AnomalyType.RETURN_ZSCORE && covers(l, a)) {
                return l;
            }
            boolean priceMove = a.type() == AnomalyType.PRICE_SPIKE || a.type() == AnomalyType.PRICE_DROP;
            if (priceMove
                    && l.type() == AnomalyType.CROSS_VENUE_DIVERGENCE
                    && a.ts() >= l.start()
                    && a.ts() <= l.end() + DIVERGENCE_MOVES_PRICE_FOR_MS) {
                return l;
            }
        }
        return null;
    }

    private static boolean covers(Label l, Anomaly a) {
        return a.ts() >= l.start() && a.ts() <= l.end() + TOLERANCE_MS;
    }

    private static boolean sameSubject(Label l, Anomaly a) throws IOException {
        if (a.type() != AnomalyType.CROSS_VENUE_DIVERGENCE) {
            return l.instrument().equals(a.instrument());
        }
        JsonNode d = JSON.readTree(a.details());
        String labelVenue = l.instrument();
        return labelVenue.equals(
                        d.get("venue_a").asText() + ':' + d.get("symbol_a").asText())
                || labelVenue.equals(
                        d.get("venue_b").asText() + ':' + d.get("symbol_b").asText());
    }
}
