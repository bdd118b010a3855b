package io.tickstream.config;

import static io.tickstream.config.JobParameter.*;

import io.tickstream.detect.CrossVenueDivergence;
import io.tickstream.detect.PriceMoveDetector;
import io.tickstream.detect.ReturnZScoreDetector;
import io.tickstream.detect.VolumeSpikeDetector;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The job's configuration, parsed and validated once at start-up from {@code --name value} arguments
 * (every name in {@link JobParameter}) and the environment (secrets only). Nothing deeper in the job
 * reads raw parameters: operators receive the typed pieces they need. Deliberately not serializable, so
 * it cannot be captured by an operator and shipped (with the password) to the cluster.
 */
public final class JobConfig {
    /** Environment variable holding the database password (docs/contracts.md). */
    public static final String JDBC_PASSWORD_ENV = "TICKSTREAM_JDBC_PASSWORD";

    public enum Delivery {
        AT_LEAST_ONCE,
        EXACTLY_ONCE
    }

    public final String kafkaBootstrap;
    public final String ticksTopic;
    public final String anomaliesTopic;
    public final String dlqTopic;
    public final String groupId;
    public final Delivery delivery;
    public final Duration kafkaFetchWait;
    public final Duration kafkaTransactionTimeout;

    public final String jdbcUrl;
    public final String jdbcUser;
    /** Never logged, never shown in the Flink UI: see {@link #toDisplayMap()}. */
    public final String jdbcPassword;

    public final int jdbcBatchSize;
    public final Duration jdbcBatchInterval;
    public final int jdbcMaxBufferedRows;
    public final int jdbcMaxRetries;

    public final Set<String> exchanges;
    public final Duration maxClockSkew;
    public final Duration maxTradeAhead;
    public final int maxRecordBytes;

    public final Duration outOfOrderness;
    public final Duration idleTimeout;
    public final Duration allowedLateness;

    public final PriceMoveDetector.Settings priceMove;
    public final ReturnZScoreDetector.Settings returnZScore;
    public final VolumeSpikeDetector.Settings volumeSpike;
    public final CrossVenueDivergence.Settings crossVenue;

    public final Duration stateTtl;
    public final Duration checkpointInterval;
    public final Duration checkpointTimeout;
    public final Duration restartMaxDelay;

    private final Map<JobParameter, String> values;

    private JobConfig(Reader r, String jdbcPassword) {
        this.values = r.values;
        kafkaBootstrap = r.nonEmpty(KAFKA_BOOTSTRAP);
        ticksTopic = r.nonEmpty(TICKS_TOPIC);
        anomaliesTopic = r.nonEmpty(ANOMALIES_TOPIC);
        dlqTopic = r.nonEmpty(DLQ_TOPIC);
        groupId = r.nonEmpty(GROUP_ID);
        delivery = r.delivery(DELIVERY);
        kafkaFetchWait = r.durationOrZero(KAFKA_FETCH_WAIT);
        kafkaTransactionTimeout = r.duration(KAFKA_TRANSACTION_TIMEOUT);

        jdbcUrl = r.nonEmpty(JDBC_URL);
        jdbcUser = r.nonEmpty(JDBC_USER);
        this.jdbcPassword = jdbcPassword;
        jdbcBatchSize = r.positiveInt(JDBC_BATCH_SIZE);
        jdbcBatchInterval = r.duration(JDBC_BATCH_INTERVAL);
        jdbcMaxBufferedRows = r.positiveInt(JDBC_MAX_BUFFERED_ROWS);
        jdbcMaxRetries = r.nonNegativeInt(JDBC_MAX_RETRIES);

        exchanges = r.list(EXCHANGES);
        maxClockSkew = r.durationOrZero(MAX_CLOCK_SKEW);
        maxTradeAhead = r.durationOrZero(MAX_TRADE_AHEAD);
        maxRecordBytes = r.positiveInt(MAX_RECORD_BYTES);

        outOfOrderness = r.duration(OUT_OF_ORDERNESS);
        idleTimeout = r.duration(IDLE_TIMEOUT);
        allowedLateness = r.durationOrZero(ALLOWED_LATENESS);

        priceMove = new PriceMoveDetector.Settings(
                r.positiveDouble(SPIKE_THRESHOLD_PCT),
                r.duration(SPIKE_WINDOW).toMillis(),
                r.duration(SPIKE_RESOLUTION).toMillis(),
                r.nonNegativeDouble(SPIKE_REARM_PCT),
                r.durationOrZero(SPIKE_COOLDOWN).toMillis());
        returnZScore = new ReturnZScoreDetector.Settings(
                r.positiveDouble(ZSCORE_THRESHOLD),
                r.positiveDouble(ZSCORE_HALFLIFE),
                r.nonNegativeInt(ZSCORE_WARMUP),
                r.nonNegativeDouble(ZSCORE_MIN_STDDEV),
                r.durationOrZero(ZSCORE_COOLDOWN).toMillis());
        volumeSpike = new VolumeSpikeDetector.Settings(
                r.duration(VOLUME_WINDOW).toMillis(),
                r.duration(VOLUME_STEP).toMillis(),
                r.positiveDouble(VOLUME_MULTIPLIER),
                r.duration(VOLUME_HALFLIFE).toMillis(),
                r.nonNegativeDouble(VOLUME_MIN_NOTIONAL),
                r.durationOrZero(VOLUME_WARMUP).toMillis(),
                r.durationOrZero(VOLUME_COOLDOWN).toMillis());
        crossVenue = new CrossVenueDivergence.Settings(
                r.positiveDouble(DIVERGENCE_THRESHOLD_PCT),
                r.nonNegativeDouble(DIVERGENCE_REARM_PCT),
                r.durationOrZero(DIVERGENCE_MIN_DURATION).toMillis(),
                r.duration(DIVERGENCE_STALENESS).toMillis(),
                r.quoteClasses(DIVERGENCE_QUOTE_CLASSES));

        stateTtl = r.duration(STATE_TTL);
        checkpointInterval = r.duration(CHECKPOINT_INTERVAL);
        checkpointTimeout = r.duration(CHECKPOINT_TIMEOUT);
        restartMaxDelay = r.duration(RESTART_MAX_DELAY);

        r.check(
                priceMove.windowMs() % priceMove.resolutionMs() == 0
                        && priceMove.windowMs() / priceMove.resolutionMs() <= 3600,
                "--spike-window must be a multiple of --spike-resolution, with at most 3600 slots");
        r.check(
                volumeSpike.windowMs() % volumeSpike.stepMs() == 0
                        && volumeSpike.steps() <= VolumeSpikeDetector.MAX_STEPS,
                "--volume-window must be a multiple of --volume-step, with at most " + VolumeSpikeDetector.MAX_STEPS
                        + " steps");
        // Kafka's wait is whole milliseconds: a non-zero wait under 1 ms would become 0, and a broker that never waits
        // for the 1 MiB a fetch then asks for answers each at once, empty or not (a busy poll).
        r.check(
                kafkaFetchWait.isZero()
                        || (kafkaFetchWait.toMillis() >= 1 && kafkaFetchWait.compareTo(Duration.ofSeconds(1)) <= 0),
                "--kafka-fetch-wait must be 0 or from 1 ms to 1 s (every tick may wait that long), got '"
                        + values.get(KAFKA_FETCH_WAIT) + "'");
        r.check(
                jdbcMaxBufferedRows >= jdbcBatchSize,
                "--jdbc-max-buffered-rows (" + jdbcMaxBufferedRows + ") must be at least --jdbc-batch-size ("
                        + jdbcBatchSize + ")");
        r.check(
                priceMove.rearmPct() < priceMove.thresholdPct(),
                "--spike-rearm-pct must be below --spike-threshold-pct (it is the hysteresis band)");
        if (delivery == Delivery.EXACTLY_ONCE) {
            r.check(
                    kafkaTransactionTimeout.compareTo(Duration.ofMinutes(15)) <= 0,
                    "--kafka-transaction-timeout must not exceed the broker's transaction.max.timeout.ms "
                            + "(15 min by default)");
            r.check(
                    kafkaTransactionTimeout.compareTo(checkpointInterval.plus(checkpointTimeout)) > 0,
                    "--kafka-transaction-timeout must exceed --checkpoint-interval plus --checkpoint-timeout, or "
                            + "transactions expire before their checkpoint commits them");
        }
        r.check(
                crossVenue.rearmPct() < crossVenue.thresholdPct(),
                "--divergence-rearm-pct must be below --divergence-threshold-pct (it is the hysteresis band)");
        // A trade accepted that far ahead moves its partition's event time as far (less the out-of-orderness bound):
        // every trade after it is that late, and must still reach its 1-minute candle.
        Duration lateAfterFutureTrade = allowedLateness.plus(outOfOrderness);
        r.check(
                maxClockSkew.compareTo(lateAfterFutureTrade) <= 0,
                "--max-clock-skew (" + maxClockSkew.toMillis()
                        + " ms) must not exceed --allowed-lateness plus --out-of-orderness ("
                        + lateAfterFutureTrade.toMillis()
                        + " ms): a trade stamped that far in the future moves event time as far, and the trades after it would "
                        + "miss their 1-minute candles; lower the first or raise the others");
        r.check(
                maxTradeAhead.compareTo(lateAfterFutureTrade) <= 0,
                "--max-trade-ahead (" + maxTradeAhead.toMillis()
                        + " ms) must not exceed --allowed-lateness plus --out-of-orderness ("
                        + lateAfterFutureTrade.toMillis()
                        + " ms), for the same reason as --max-clock-skew");
        if (JdbcUrls.holdsPassword(jdbcUrl)) {
            r.errors.add("--jdbc-url " + JdbcUrls.redacted(jdbcUrl) + " holds a password: remove it from the URL and "
                    + "set " + JDBC_PASSWORD_ENV + " or pass --jdbc-password-file (a URL is shown in the web UI)");
        }
        r.check(!exchanges.isEmpty(), "--exchanges must name at least one venue");
        for (String venue : exchanges) {
            // Venue ids become keys, metric labels and COPY text: plain ASCII leaves nothing to escape.
            r.check(
                    venue.matches("[a-z0-9][a-z0-9_-]{0,31}"),
                    "--exchanges: venue id '" + venue + "' must be 1 to 32 lower-case letters, digits, '_' or '-'");
        }
    }

    /**
     * Parses and validates; every problem is reported at once.
     *
     * @throws ConfigException naming each bad or unknown parameter and what to do about it
     */
    public static JobConfig parse(String[] args, Map<String, String> env) throws ConfigException {
        Reader reader = new Reader(args);
        String password = readPassword(reader, env);
        JobConfig config = new JobConfig(reader, password);
        reader.finish();
        return config;
    }

    private static String readPassword(Reader r, Map<String, String> env) {
        String file = r.raw(JDBC_PASSWORD_FILE);
        if (!file.isEmpty()) {
            try {
                return Files.readString(Path.of(file), StandardCharsets.UTF_8).strip();
            } catch (IOException e) {
                r.errors.add("--jdbc-password-file " + file + " cannot be read: " + e.getMessage());
                return null;
            }
        }
        String fromEnv = env.get(JDBC_PASSWORD_ENV);
        if (fromEnv == null || fromEnv.isEmpty()) {
            r.errors.add("no database password: set " + JDBC_PASSWORD_ENV + " or pass --jdbc-password-file");
            return null;
        }
        return fromEnv;
    }

    /** Every parameter with its value, for the Flink web UI; no password appears, not even one written into the URL. */
    public Map<String, String> toDisplayMap() {
        Map<String, String> out = new LinkedHashMap<>();
        for (JobParameter p : JobParameter.values()) {
            out.put(p.flag(), p == JDBC_URL ? JdbcUrls.redacted(values.get(p)) : values.get(p));
        }
        return out;
    }

    /** Reads raw values, collecting every problem instead of stopping at the first. */
    private static final class Reader {
        final Map<JobParameter, String> values = new EnumMap<>(JobParameter.class);
        final List<String> errors = new ArrayList<>();

        Reader(String[] args) {
            Map<String, JobParameter> byFlag = new HashMap<>();
            for (JobParameter p : JobParameter.values()) {
                byFlag.put(p.flag(), p);
                values.put(p, p.defaultValue());
            }
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                if (!arg.startsWith("--") || arg.length() == 2) {
                    errors.add("unexpected argument '" + arg + "': parameters are --name value");
                    continue;
                }
                String name = arg.substring(2);
                int eq = name.indexOf('=');
                String value;
                if (eq >= 0) {
                    value = name.substring(eq + 1);
                    name = name.substring(0, eq);
                } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                    value = args[++i];
                } else {
                    errors.add("--" + name + " needs a value");
                    continue;
                }
                JobParameter p = byFlag.get(name);
                if (p == null) {
                    errors.add("unknown parameter --" + name
                            + (name.contains("password") && !name.endsWith("file")
                                    ? " (passwords come from " + JDBC_PASSWORD_ENV + " or --jdbc-password-file)"
                                    : ""));
                } else {
                    values.put(p, value.strip());
                }
            }
        }

        String raw(JobParameter p) {
            return values.get(p);
        }

        String nonEmpty(JobParameter p) {
            String v = raw(p);
            if (v.isEmpty()) {
                errors.add("--" + p.flag() + " must not be empty");
            }
            return v;
        }

        Set<String> list(JobParameter p) {
            Set<String> out = new LinkedHashSet<>();
            for (String item : raw(p).split(",")) {
                if (!item.isBlank()) {
                    out.add(item.strip());
                }
            }
            return out;
        }

        /** {@code QUOTE:CLASS,...} as a map; quotes are upper case like the symbols. */
        Map<String, String> quoteClasses(JobParameter p) {
            Map<String, String> out = new LinkedHashMap<>();
            for (String item : list(p)) {
                String[] parts = item.split(":");
                if (parts.length != 2 || parts[0].isBlank() || parts[1].isBlank()) {
                    errors.add("--" + p.flag() + " must be QUOTE:CLASS pairs such as 'USDT:USD,USDC:USD', got '" + item
                            + "'");
                    continue;
                }
                out.put(
                        parts[0].strip().toUpperCase(java.util.Locale.ROOT),
                        parts[1].strip().toUpperCase(java.util.Locale.ROOT));
            }
            return out;
        }

        Delivery delivery(JobParameter p) {
            switch (raw(p)) {
                case "at-least-once":
                    return Delivery.AT_LEAST_ONCE;
                case "exactly-once":
                    return Delivery.EXACTLY_ONCE;
                default:
                    errors.add("--" + p.flag() + " must be at-least-once or exactly-once, got '" + raw(p) + "'");
                    return Delivery.AT_LEAST_ONCE;
            }
        }

        Duration duration(JobParameter p) {
            Duration d = durationOrZero(p);
            if (d.isZero()) {
                errors.add("--" + p.flag() + " must be longer than zero");
                return Duration.ofMillis(1);
            }
            return d;
        }

        Duration durationOrZero(JobParameter p) {
            try {
                return org.apache.flink.util.TimeUtils.parseDuration(raw(p));
            } catch (RuntimeException e) {
                errors.add("--" + p.flag() + " must be a duration such as '500 ms', '2 s', '10 min' or '6 h', got '"
                        + raw(p) + "'");
                return Duration.ofMillis(1);
            }
        }

        int positiveInt(JobParameter p) {
            int errorsBefore = errors.size();
            int v = nonNegativeInt(p);
            if (v == 0 && errors.size() == errorsBefore) {
                errors.add("--" + p.flag() + " must be positive");
                return 1;
            }
            return v;
        }

        int nonNegativeInt(JobParameter p) {
            try {
                int v = Integer.parseInt(raw(p));
                if (v < 0) {
                    errors.add("--" + p.flag() + " must not be negative, got " + v);
                    return 0;
                }
                return v;
            } catch (NumberFormatException e) {
                errors.add("--" + p.flag() + " must be a whole number, got '" + raw(p) + "'");
                return 1;
            }
        }

        double positiveDouble(JobParameter p) {
            int errorsBefore = errors.size();
            double v = nonNegativeDouble(p);
            if (v == 0 && errors.size() == errorsBefore) {
                errors.add("--" + p.flag() + " must be positive");
                return 1;
            }
            return v;
        }

        double nonNegativeDouble(JobParameter p) {
            try {
                double v = Double.parseDouble(raw(p));
                if (!Double.isFinite(v) || v < 0) {
                    errors.add("--" + p.flag() + " must be a non-negative number, got '" + raw(p) + "'");
                    return 1;
                }
                return v;
            } catch (NumberFormatException e) {
                errors.add("--" + p.flag() + " must be a number, got '" + raw(p) + "'");
                return 1;
            }
        }

        void check(boolean ok, String message) {
            if (!ok) {
                errors.add(message);
            }
        }

        void finish() throws ConfigException {
            if (!errors.isEmpty()) {
                throw new ConfigException(errors);
            }
        }
    }

    @Override
    public String toString() {
        return "JobConfig" + toDisplayMap();
    }
}
