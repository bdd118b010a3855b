package io.tickstream.config;

import static io.tickstream.config.JobConfig.JDBC_PASSWORD_ENV;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import io.tickstream.config.JobConfig.Delivery;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class JobConfigTest {
    private static final String PASSWORD = "pw-Zq83!xK";
    private static final Map<String, String> ENV = Map.of(JDBC_PASSWORD_ENV, PASSWORD);

    private static JobConfig parse(String... args) throws ConfigException {
        return JobConfig.parse(args, ENV);
    }

    private static List<String> problems(Map<String, String> env, String... args) {
        try {
            JobConfig c = JobConfig.parse(args, env);
            throw new AssertionError("accepted " + Arrays.toString(args) + " as " + c);
        } catch (ConfigException e) {
            assertThat(e.getMessage()).contains(e.problems());
            return e.problems();
        }
    }

    private static List<String> problems(String... args) {
        return problems(ENV, args);
    }

    @Test
    void defaultsParseWithThePasswordFromTheEnvironment() throws Exception {
        JobConfig c = parse();

        assertThat(c.kafkaBootstrap).isEqualTo("127.0.0.1:9092");
        assertThat(c.ticksTopic).isEqualTo("ticks");
        assertThat(c.anomaliesTopic).isEqualTo("anomalies");
        assertThat(c.dlqTopic).isEqualTo("ticks.dlq");
        assertThat(c.groupId).isEqualTo("tickstream-job");
        assertThat(c.delivery).isEqualTo(Delivery.AT_LEAST_ONCE);
        assertThat(c.kafkaTransactionTimeout).isEqualTo(Duration.ofMinutes(10));
        assertThat(c.jdbcUrl).isEqualTo("jdbc:postgresql://127.0.0.1:5432/tickstream");
        assertThat(c.jdbcUser).isEqualTo("tickstream");
        assertThat(c.jdbcPassword).isEqualTo(PASSWORD);
        assertThat(c.jdbcBatchSize).isEqualTo(2000);
        assertThat(c.jdbcBatchInterval).isEqualTo(Duration.ofMillis(200));
        assertThat(c.jdbcMaxRetries).isEqualTo(5);
        assertThat(c.exchanges).containsExactly("binance", "coinbase", "kraken", "synthetic");
        assertThat(c.maxClockSkew).isEqualTo(Duration.ofMinutes(1));
        assertThat(c.maxTradeAhead).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.maxRecordBytes).isEqualTo(65536);
        assertThat(c.outOfOrderness).isEqualTo(Duration.ofSeconds(2));
        assertThat(c.idleTimeout).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.allowedLateness).isEqualTo(Duration.ofMinutes(2));
        assertThat(c.priceMove.thresholdPct()).isEqualTo(1.0);
        assertThat(c.priceMove.windowMs()).isEqualTo(60_000);
        assertThat(c.priceMove.resolutionMs()).isEqualTo(1_000);
        assertThat(c.priceMove.rearmPct()).isEqualTo(0.5);
        assertThat(c.priceMove.cooldownMs()).isEqualTo(30_000);
        assertThat(c.returnZScore.threshold()).isEqualTo(10.0);
        assertThat(c.returnZScore.halfLifeTrades()).isEqualTo(500.0);
        assertThat(c.returnZScore.warmupReturns()).isEqualTo(100);
        assertThat(c.returnZScore.minStddev()).isEqualTo(0.0003);
        assertThat(c.returnZScore.cooldownMs()).isEqualTo(10_000);
        assertThat(c.volumeSpike.windowMs()).isEqualTo(2_000);
        assertThat(c.volumeSpike.stepMs()).isEqualTo(500);
        assertThat(c.volumeSpike.multiplier()).isEqualTo(10.0);
        assertThat(c.volumeSpike.halfLifeMs()).isEqualTo(300_000);
        assertThat(c.volumeSpike.minNotional()).isEqualTo(10_000.0);
        assertThat(c.volumeSpike.warmupMs()).isEqualTo(60_000);
        assertThat(c.stateTtl).isEqualTo(Duration.ofHours(6));
        assertThat(c.checkpointInterval).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.checkpointTimeout).isEqualTo(Duration.ofMinutes(5));
        assertThat(c.restartMaxDelay).isEqualTo(Duration.ofMinutes(1));
    }

    /** One non-default, valid value per parameter and where it lands in the config. */
    static Stream<Arguments> overrides() {
        return Stream.of(
                arguments(JobParameter.KAFKA_BOOTSTRAP, "k1:9092,k2:9092", f(c -> c.kafkaBootstrap), "k1:9092,k2:9092"),
                arguments(JobParameter.TICKS_TOPIC, "t2", f(c -> c.ticksTopic), "t2"),
                arguments(JobParameter.ANOMALIES_TOPIC, "a2", f(c -> c.anomaliesTopic), "a2"),
                arguments(JobParameter.DLQ_TOPIC, "d2", f(c -> c.dlqTopic), "d2"),
                arguments(JobParameter.GROUP_ID, "g2", f(c -> c.groupId), "g2"),
                arguments(JobParameter.DELIVERY, "exactly-once", f(c -> c.delivery), Delivery.EXACTLY_ONCE),
                arguments(JobParameter.KAFKA_FETCH_WAIT, "0 ms", f(c -> c.kafkaFetchWait), Duration.ZERO),
                arguments(
                        JobParameter.KAFKA_TRANSACTION_TIMEOUT,
                        "12 min",
                        f(c -> c.kafkaTransactionTimeout),
                        Duration.ofMinutes(12)),
                arguments(
                        JobParameter.JDBC_URL,
                        "jdbc:postgresql://db:5433/x",
                        f(c -> c.jdbcUrl),
                        "jdbc:postgresql://db:5433/x"),
                arguments(JobParameter.JDBC_USER, "writer", f(c -> c.jdbcUser), "writer"),
                arguments(JobParameter.JDBC_BATCH_SIZE, "17", f(c -> c.jdbcBatchSize), 17),
                arguments(JobParameter.JDBC_BATCH_INTERVAL, "1 s", f(c -> c.jdbcBatchInterval), Duration.ofSeconds(1)),
                arguments(JobParameter.JDBC_MAX_BUFFERED_ROWS, "100000", f(c -> c.jdbcMaxBufferedRows), 100000),
                arguments(JobParameter.JDBC_MAX_RETRIES, "0", f(c -> c.jdbcMaxRetries), 0),
                arguments(
                        JobParameter.EXCHANGES,
                        " kraken , binance,,",
                        f(c -> List.copyOf(c.exchanges)),
                        List.of("kraken", "binance")),
                arguments(JobParameter.MAX_CLOCK_SKEW, "30 s", f(c -> c.maxClockSkew), Duration.ofSeconds(30)),
                arguments(JobParameter.MAX_TRADE_AHEAD, "0 s", f(c -> c.maxTradeAhead), Duration.ZERO),
                arguments(JobParameter.MAX_RECORD_BYTES, "1024", f(c -> c.maxRecordBytes), 1024),
                arguments(JobParameter.OUT_OF_ORDERNESS, "500 ms", f(c -> c.outOfOrderness), Duration.ofMillis(500)),
                arguments(JobParameter.IDLE_TIMEOUT, "1 min", f(c -> c.idleTimeout), Duration.ofMinutes(1)),
                arguments(JobParameter.ALLOWED_LATENESS, "5 min", f(c -> c.allowedLateness), Duration.ofMinutes(5)),
                arguments(JobParameter.SPIKE_THRESHOLD_PCT, "2.5", f(c -> c.priceMove.thresholdPct()), 2.5),
                arguments(JobParameter.SPIKE_WINDOW, "5 min", f(c -> c.priceMove.windowMs()), 300_000L),
                arguments(JobParameter.SPIKE_RESOLUTION, "500 ms", f(c -> c.priceMove.resolutionMs()), 500L),
                arguments(JobParameter.SPIKE_REARM_PCT, "0.25", f(c -> c.priceMove.rearmPct()), 0.25),
                arguments(JobParameter.SPIKE_COOLDOWN, "0 s", f(c -> c.priceMove.cooldownMs()), 0L),
                arguments(JobParameter.ZSCORE_THRESHOLD, "6.5", f(c -> c.returnZScore.threshold()), 6.5),
                arguments(JobParameter.ZSCORE_HALFLIFE, "50", f(c -> c.returnZScore.halfLifeTrades()), 50.0),
                arguments(JobParameter.ZSCORE_WARMUP, "0", f(c -> c.returnZScore.warmupReturns()), 0),
                arguments(JobParameter.ZSCORE_MIN_STDDEV, "0", f(c -> c.returnZScore.minStddev()), 0.0),
                arguments(JobParameter.ZSCORE_COOLDOWN, "2 s", f(c -> c.returnZScore.cooldownMs()), 2_000L),
                arguments(JobParameter.VOLUME_WINDOW, "6 s", f(c -> c.volumeSpike.windowMs()), 6_000L),
                arguments(JobParameter.VOLUME_STEP, "1 s", f(c -> c.volumeSpike.stepMs()), 1_000L),
                arguments(JobParameter.VOLUME_MULTIPLIER, "3", f(c -> c.volumeSpike.multiplier()), 3.0),
                arguments(JobParameter.VOLUME_HALFLIFE, "10 min", f(c -> c.volumeSpike.halfLifeMs()), 600_000L),
                arguments(JobParameter.VOLUME_MIN_NOTIONAL, "0", f(c -> c.volumeSpike.minNotional()), 0.0),
                arguments(JobParameter.VOLUME_WARMUP, "0 s", f(c -> c.volumeSpike.warmupMs()), 0L),
                arguments(JobParameter.VOLUME_COOLDOWN, "0 s", f(c -> c.volumeSpike.cooldownMs()), 0L),
                arguments(JobParameter.DIVERGENCE_THRESHOLD_PCT, "1.5", f(c -> c.crossVenue.thresholdPct()), 1.5),
                arguments(JobParameter.DIVERGENCE_REARM_PCT, "0.1", f(c -> c.crossVenue.rearmPct()), 0.1),
                arguments(JobParameter.DIVERGENCE_MIN_DURATION, "0 s", f(c -> c.crossVenue.minDurationMs()), 0L),
                arguments(JobParameter.DIVERGENCE_STALENESS, "1 min", f(c -> c.crossVenue.stalenessMs()), 60_000L),
                arguments(
                        JobParameter.DIVERGENCE_QUOTE_CLASSES,
                        "usdt:usd, EUR:EUROS",
                        f(c -> c.crossVenue.quoteClasses()),
                        Map.of("USDT", "USD", "EUR", "EUROS")),
                arguments(JobParameter.STATE_TTL, "1 d", f(c -> c.stateTtl), Duration.ofDays(1)),
                arguments(
                        JobParameter.CHECKPOINT_INTERVAL, "1 min", f(c -> c.checkpointInterval), Duration.ofMinutes(1)),
                arguments(JobParameter.CHECKPOINT_TIMEOUT, "2 min", f(c -> c.checkpointTimeout), Duration.ofMinutes(2)),
                arguments(JobParameter.RESTART_MAX_DELAY, "5 min", f(c -> c.restartMaxDelay), Duration.ofMinutes(5)));
    }

    private static Function<JobConfig, Object> f(Function<JobConfig, Object> getter) {
        return getter;
    }

    @ParameterizedTest(name = "--{0} {1}")
    @MethodSource("overrides")
    void everyParameterCanBeOverriddenAsNameValue(
            JobParameter p, String value, Function<JobConfig, Object> getter, Object expected) throws Exception {
        assertThat(value).isNotEqualTo(p.defaultValue());
        JobConfig c = parse("--" + p.flag(), value);
        assertThat(getter.apply(c)).isEqualTo(expected);
        assertThat(c.toDisplayMap()).containsEntry(p.flag(), value.strip());
    }

    @ParameterizedTest(name = "--{0}={1}")
    @MethodSource("overrides")
    void everyParameterCanBeOverriddenAsNameEqualsValue(
            JobParameter p, String value, Function<JobConfig, Object> getter, Object expected) throws Exception {
        assertThat(getter.apply(parse("--" + p.flag() + "=" + value))).isEqualTo(expected);
    }

    @Test
    void overrideTableCoversEveryParameter() {
        Set<JobParameter> covered =
                overrides().map(a -> (JobParameter) a.get()[0]).collect(Collectors.toSet());
        covered.add(JobParameter.JDBC_PASSWORD_FILE); // its own tests below
        assertThat(covered).containsExactlyInAnyOrderElementsOf(EnumSet.allOf(JobParameter.class));
    }

    @Test
    void equalsFormKeepsEqualsSignsInTheValueAndMayBeEmptyWhereAllowed() throws Exception {
        JobConfig c = parse(
                "--jdbc-url=jdbc:postgresql://db/x?ssl=true&a=b",
                "--allowed-lateness=0 ms",
                "--max-clock-skew=2 s",
                "--max-trade-ahead=0 ms");
        assertThat(c.jdbcUrl).isEqualTo("jdbc:postgresql://db/x?ssl=true&a=b");
        assertThat(c.allowedLateness).isZero();
    }

    @Test
    void aClockSkewOrTradeAheadBeyondWhatTheCandlesWaitForIsRefused() {
        assertThat(problems("--max-clock-skew", "10 min"))
                .singleElement()
                .asString()
                .startsWith(
                        "--max-clock-skew (600000 ms) must not exceed --allowed-lateness plus --out-of-orderness (122000 ms)");
        assertThat(problems("--allowed-lateness", "0 s", "--max-clock-skew", "2 s", "--max-trade-ahead", "3 s"))
                .singleElement()
                .asString()
                .startsWith("--max-trade-ahead (3000 ms) must not exceed");
    }

    @Test
    void aPasswordInTheJdbcUrlIsRefusedWithoutShowingIt() {
        List<String> problems = problems("--jdbc-url", "jdbc:postgresql://db/x?user=u&password=s3cret&ssl=true");
        assertThat(problems)
                .singleElement()
                .asString()
                .contains("jdbc:postgresql://db/x?user=u&password=***&ssl=true", "TICKSTREAM_JDBC_PASSWORD")
                .doesNotContain("s3cret");
    }

    @Test
    void jdbcUrlsAreShownWithoutTheirPasswords() {
        assertThat(JdbcUrls.redacted("jdbc:postgresql://h/db?PassWord=a&b=c"))
                .isEqualTo("jdbc:postgresql://h/db?PassWord=***&b=c");
        assertThat(JdbcUrls.redacted("jdbc:postgresql://h/db?sslpassword=k;password=p"))
                .isEqualTo("jdbc:postgresql://h/db?sslpassword=***;password=***");
        String sampleUrlWithPassword = "jdbc:postgresql://u:p@h:5432/db"; // secret-scan: sample
        String sampleUrlRedacted = "jdbc:postgresql://u:***@h:5432/db"; // secret-scan: sample
        assertThat(JdbcUrls.redacted(sampleUrlWithPassword)).isEqualTo(sampleUrlRedacted);
        assertThat(JdbcUrls.redacted("jdbc:postgresql://h/db?user=u")).isEqualTo("jdbc:postgresql://h/db?user=u");
        assertThat(JdbcUrls.holdsPassword("jdbc:postgresql://h/db?user=u")).isFalse();
    }

    @Test
    void severalParametersTogether() throws Exception {
        JobConfig c = parse(
                "--delivery",
                "exactly-once",
                "--checkpoint-interval=30 s",
                "--group-id",
                "g",
                "--spike-threshold-pct",
                "2",
                "--spike-rearm-pct",
                "1.5");
        assertThat(c.delivery).isEqualTo(Delivery.EXACTLY_ONCE);
        assertThat(c.checkpointInterval).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.groupId).isEqualTo("g");
        assertThat(c.priceMove.thresholdPct()).isEqualTo(2.0);
        assertThat(c.priceMove.rearmPct()).isEqualTo(1.5);
    }

    @Test
    void unknownParameterIsAnError() {
        assertThat(problems("--no-such-flag", "1")).containsExactly("unknown parameter --no-such-flag");
    }

    @Test
    void passwordFlagIsRejectedWithAPointerToTheEnvironment() {
        assertThat(problems("--jdbc-password", "secret"))
                .containsExactly("unknown parameter --jdbc-password (passwords come from TICKSTREAM_JDBC_PASSWORD "
                        + "or --jdbc-password-file)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"group-id", "state-ttl"})
    void flagWithoutValueAtTheEndIsAnError(String flag) {
        assertThat(problems("--" + flag)).containsExactly("--" + flag + " needs a value");
    }

    @Test
    void flagFollowedByAnotherFlagHasNoValue() {
        assertThat(problems("--group-id", "--delivery", "exactly-once")).containsExactly("--group-id needs a value");
    }

    @ParameterizedTest
    @ValueSource(strings = {"group-id", "-g", "--"})
    void argumentThatIsNotAFlagIsAnError(String arg) {
        assertThat(problems(arg)).containsExactly("unexpected argument '" + arg + "': parameters are --name value");
    }

    @ParameterizedTest(name = "--{0} \"{1}\"")
    @MethodSource
    void badDurationIsAnError(String flag, String value) {
        assertThat(problems("--" + flag, value))
                .contains("--" + flag + " must be a duration such as '500 ms', '2 s', '10 min' or '6 h', got '" + value
                        + "'");
    }

    static Stream<Arguments> badDurationIsAnError() {
        return Stream.of(
                arguments("state-ttl", "forever"),
                arguments("state-ttl", "6 hours and a bit"),
                arguments("out-of-orderness", "2 parsecs"),
                arguments("allowed-lateness", "-5 s"),
                arguments("checkpoint-interval", "1.5 s"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"state-ttl", "out-of-orderness", "checkpoint-interval", "jdbc-batch-interval"})
    void zeroDurationIsAnErrorWhereAPositiveOneIsNeeded(String flag) {
        assertThat(problems("--" + flag, "0 s")).contains("--" + flag + " must be longer than zero");
    }

    @Test
    void emptyDurationIsAnError() {
        assertThat(problems("--state-ttl="))
                .containsExactly("--state-ttl must be a duration such as '500 ms', '2 s', '10 min' or '6 h', got ''");
    }

    @ParameterizedTest(name = "--{0} {1}")
    @MethodSource
    void badNumberIsAnError(String flag, String value, String problem) {
        assertThat(problems("--" + flag, value)).containsExactly(problem);
    }

    static Stream<Arguments> badNumberIsAnError() {
        return Stream.of(
                arguments("jdbc-batch-size", "lots", "--jdbc-batch-size must be a whole number, got 'lots'"),
                arguments("jdbc-batch-size", "1.5", "--jdbc-batch-size must be a whole number, got '1.5'"),
                arguments(
                        "jdbc-batch-size",
                        "99999999999",
                        "--jdbc-batch-size must be a whole number, got '99999999999'"),
                arguments("jdbc-batch-size", "0", "--jdbc-batch-size must be positive"),
                arguments("max-record-bytes", "0", "--max-record-bytes must be positive"),
                arguments("zscore-threshold", "high", "--zscore-threshold must be a number, got 'high'"),
                arguments("zscore-threshold", "NaN", "--zscore-threshold must be a non-negative number, got 'NaN'"),
                arguments(
                        "zscore-threshold",
                        "Infinity",
                        "--zscore-threshold must be a non-negative number, got 'Infinity'"),
                arguments("zscore-threshold", "0", "--zscore-threshold must be positive"),
                arguments("volume-multiplier", "0.0", "--volume-multiplier must be positive"));
    }

    @ParameterizedTest(name = "--{0} {1}")
    @MethodSource
    void negativeNumberIsAnError(String flag, String value, String problem) {
        assertThat(problems("--" + flag, value)).containsExactly(problem);
    }

    static Stream<Arguments> negativeNumberIsAnError() {
        return Stream.of(
                arguments("jdbc-max-retries", "-1", "--jdbc-max-retries must not be negative, got -1"),
                arguments("zscore-warmup", "-100", "--zscore-warmup must not be negative, got -100"),
                arguments("volume-min-notional", "-1", "--volume-min-notional must be a non-negative number, got '-1'"),
                arguments(
                        "zscore-min-stddev", "-0.1", "--zscore-min-stddev must be a non-negative number, got '-0.1'"));
    }

    @Test
    void negativeValueOfAPositiveWholeNumberIsReportedOnce() {
        assertThat(problems("--jdbc-batch-size", "-5"))
                .containsExactly("--jdbc-batch-size must not be negative, got -5");
    }

    @ParameterizedTest
    @ValueSource(strings = {"1001 ms", "2 s", "500 micro", "999999 ns", "1 ns"})
    void aFetchWaitOverASecondOrUnderAMillisecondIsAnError(String wait) {
        // Under 1 ms Kafka's whole-millisecond wait would be 0: the broker would answer each fetch at once (busy poll).
        assertThat(problems("--kafka-fetch-wait", wait))
                .containsExactly(
                        "--kafka-fetch-wait must be 0 or from 1 ms to 1 s (every tick may wait that long), got '" + wait
                                + "'");
    }

    @ParameterizedTest
    @ValueSource(strings = {"0 ms", "0 ns", "1 ms", "1 s", "1000000 ns"})
    void aFetchWaitOfZeroOrFromAMillisecondToASecondIsTaken(String wait) throws Exception {
        assertThat(parse("--kafka-fetch-wait", wait).kafkaFetchWait)
                .isEqualTo(org.apache.flink.util.TimeUtils.parseDuration(wait));
    }

    @Test
    void aWritersBufferSmallerThanItsBatchIsAnError() throws Exception {
        assertThat(problems("--jdbc-batch-size", "5000", "--jdbc-max-buffered-rows", "4999"))
                .containsExactly("--jdbc-max-buffered-rows (4999) must be at least --jdbc-batch-size (5000)");
        assertThat(JobConfig.parse(new String[] {"--jdbc-batch-size", "5000", "--jdbc-max-buffered-rows", "5000"}, ENV)
                        .jdbcMaxBufferedRows)
                .isEqualTo(5000);
    }

    @Test
    void badDeliveryIsAnError() {
        assertThat(problems("--delivery", "at-most-once"))
                .containsExactly("--delivery must be at-least-once or exactly-once, got 'at-most-once'");
    }

    @ParameterizedTest
    @ValueSource(strings = {"kafka-bootstrap", "ticks-topic", "group-id", "jdbc-url", "jdbc-user"})
    void emptyRequiredTextIsAnError(String flag) {
        assertThat(problems("--" + flag + "=  ")).containsExactly("--" + flag + " must not be empty");
    }

    @Test
    void noExchangeOrABadVenueIdIsAnError() {
        assertThat(problems("--exchanges", ", ,")).containsExactly("--exchanges must name at least one venue");
        assertThat(problems("--exchanges", "binance,Coin\tbase"))
                .containsExactly(
                        "--exchanges: venue id 'Coin\tbase' must be 1 to 32 lower-case letters, digits, '_' or '-'");
    }

    @Test
    void missingPasswordIsAnErrorNamingTheEnvironmentVariable() {
        assertThat(problems(Map.of()))
                .containsExactly("no database password: set TICKSTREAM_JDBC_PASSWORD or pass --jdbc-password-file");
        assertThat(problems(Map.of(JDBC_PASSWORD_ENV, "")))
                .singleElement()
                .asString()
                .contains(JDBC_PASSWORD_ENV);
        assertThat(problems(Map.of("OTHER", "x"))).singleElement().asString().contains(JDBC_PASSWORD_ENV);
    }

    @Test
    void passwordFileIsReadAndStrippedAndWinsOverTheEnvironment(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("pw");
        Files.writeString(file, "  from-file-Secret9\n");

        JobConfig c = JobConfig.parse(new String[] {"--jdbc-password-file", file.toString()}, ENV);
        assertThat(c.jdbcPassword).isEqualTo("from-file-Secret9");

        JobConfig noEnv = JobConfig.parse(new String[] {"--jdbc-password-file=" + file}, Map.of());
        assertThat(noEnv.jdbcPassword).isEqualTo("from-file-Secret9");
        assertThat(noEnv.toDisplayMap()).containsEntry("jdbc-password-file", file.toString());
    }

    @Test
    void unreadablePasswordFileIsAnErrorNamingTheFile(@TempDir Path dir) {
        Path missing = dir.resolve("nope");
        assertThat(problems(ENV, "--jdbc-password-file", missing.toString()))
                .singleElement()
                .asString()
                .startsWith("--jdbc-password-file " + missing + " cannot be read: ");
    }

    @Test
    void everyProblemIsReportedAtOnce() {
        List<String> problems = problems(
                Map.of(),
                "--bogus",
                "1",
                "--state-ttl",
                "soon",
                "--jdbc-max-retries",
                "-3",
                "--delivery",
                "maybe",
                "--zscore-threshold",
                "x",
                "--group-id");
        assertThat(problems)
                .containsExactlyInAnyOrder(
                        "unknown parameter --bogus",
                        "--group-id needs a value",
                        "no database password: set TICKSTREAM_JDBC_PASSWORD or pass --jdbc-password-file",
                        "--state-ttl must be a duration such as '500 ms', '2 s', '10 min' or '6 h', got 'soon'",
                        "--jdbc-max-retries must not be negative, got -3",
                        "--delivery must be at-least-once or exactly-once, got 'maybe'",
                        "--zscore-threshold must be a number, got 'x'");
    }

    @Test
    void exceptionMessageListsEachProblemAndPointsToHelp() {
        try {
            JobConfig.parse(new String[] {"--bogus", "1"}, Map.of());
            throw new AssertionError("accepted");
        } catch (ConfigException e) {
            assertThat(e.getMessage())
                    .isEqualTo("invalid job parameters:\n"
                            + "  - unknown parameter --bogus\n"
                            + "  - no database password: set TICKSTREAM_JDBC_PASSWORD or pass --jdbc-password-file\n"
                            + "Run with --help for every parameter and its default.");
        }
    }

    @Test
    void exactlyOnceTransactionTimeoutAbove15MinutesIsRejected() {
        assertThat(problems("--delivery", "exactly-once", "--kafka-transaction-timeout", "16 min"))
                .containsExactly("--kafka-transaction-timeout must not exceed the broker's transaction.max.timeout.ms "
                        + "(15 min by default)");
    }

    @Test
    void exactlyOnceTransactionTimeoutOfExactly15MinutesIsAccepted() throws Exception {
        assertThat(parse("--delivery", "exactly-once", "--kafka-transaction-timeout", "15 min").kafkaTransactionTimeout)
                .isEqualTo(Duration.ofMinutes(15));
    }

    @Test
    void exactlyOnceTransactionTimeoutMustExceedCheckpointIntervalPlusTimeout() {
        assertThat(problems(
                        "--delivery",
                        "exactly-once",
                        "--kafka-transaction-timeout",
                        "5 min",
                        "--checkpoint-interval",
                        "10 s",
                        "--checkpoint-timeout",
                        "290 s"))
                .containsExactly("--kafka-transaction-timeout must exceed --checkpoint-interval plus "
                        + "--checkpoint-timeout, or transactions expire before their checkpoint commits them");
    }

    @Test
    void transactionTimeoutIsNotCheckedAtLeastOnce() throws Exception {
        assertThat(parse("--kafka-transaction-timeout", "1 h").delivery).isEqualTo(Delivery.AT_LEAST_ONCE);
    }

    @Test
    void rearmLevelMustBeBelowTheThreshold() {
        assertThat(problems("--spike-rearm-pct", "1.0"))
                .containsExactly("--spike-rearm-pct must be below --spike-threshold-pct (it is the hysteresis band)");
    }

    @Test
    void divergenceRearmLevelMustBeBelowItsThresholdAndQuoteClassesArePairs() {
        assertThat(problems("--divergence-rearm-pct", "0.5"))
                .containsExactly(
                        "--divergence-rearm-pct must be below --divergence-threshold-pct (it is the hysteresis band)");
        assertThat(problems("--divergence-quote-classes", "USDT:USD,USDC"))
                .containsExactly(
                        "--divergence-quote-classes must be QUOTE:CLASS pairs such as 'USDT:USD,USDC:USD', got 'USDC'");
    }

    @ParameterizedTest(name = "--{0} {1}, --{2} {3}")
    @MethodSource
    void windowsMustBeAMultipleOfTheirStepWithABoundedNumberOfSteps(
            String window, String windowValue, String step, String stepValue, String problem) {
        assertThat(problems("--" + window, windowValue, "--" + step, stepValue)).containsExactly(problem);
    }

    static Stream<Arguments> windowsMustBeAMultipleOfTheirStepWithABoundedNumberOfSteps() {
        String spike = "--spike-window must be a multiple of --spike-resolution, with at most 3600 slots";
        String volume = "--volume-window must be a multiple of --volume-step, with at most 64 steps";
        return Stream.of(
                arguments("spike-window", "60 s", "spike-resolution", "7 s", spike),
                arguments("spike-window", "2 h", "spike-resolution", "1 s", spike),
                arguments("spike-window", "1 s", "spike-resolution", "2 s", spike),
                arguments("volume-window", "2 s", "volume-step", "300 ms", volume),
                arguments("volume-window", "1 min", "volume-step", "500 ms", volume),
                arguments("volume-window", "1 s", "volume-step", "2 s", volume));
    }

    @Test
    void exactly3600SpikeSlotsAreAccepted() throws Exception {
        assertThat(parse("--spike-window", "1 h", "--spike-resolution", "1 s")
                        .priceMove
                        .windowMs())
                .isEqualTo(3_600_000);
    }

    @Test
    void displayMapHasEveryParameterButNeverThePassword(@TempDir Path dir) throws Exception {
        JobConfig fromEnv = parse();
        Map<String, String> shown = fromEnv.toDisplayMap();
        assertThat(shown.keySet())
                .containsExactly(Arrays.stream(JobParameter.values())
                        .map(JobParameter::flag)
                        .toArray(String[]::new));
        assertThat(shown.values()).noneMatch(v -> v != null && v.contains(PASSWORD));
        assertThat(shown.keySet()).noneMatch(k -> k.contains(PASSWORD));
        assertThat(fromEnv.toString()).doesNotContain(PASSWORD);

        Path file = dir.resolve("pw");
        Files.writeString(file, "file-Secret-77");
        JobConfig fromFile = parse("--jdbc-password-file", file.toString());
        assertThat(fromFile.jdbcPassword).isEqualTo("file-Secret-77");
        assertThat(fromFile.toDisplayMap().values()).noneMatch(v -> v != null && v.contains("file-Secret-77"));
        assertThat(fromFile.toString()).doesNotContain("file-Secret-77");
    }

    @Test
    void displayMapShowsDefaultsForParametersNotGiven() throws Exception {
        Map<String, String> shown = parse("--group-id", "mine").toDisplayMap();
        for (JobParameter p : JobParameter.values()) {
            assertThat(shown).containsEntry(p.flag(), p == JobParameter.GROUP_ID ? "mine" : p.defaultValue());
        }
    }

    @ParameterizedTest
    @EnumSource(JobParameter.class)
    void usageListsEveryParameterWithItsDefault(JobParameter p) {
        String usage = JobParameter.usage();
        String line = usage.lines()
                .filter(l -> l.trim().startsWith("--" + p.flag() + " "))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no line for --" + p.flag() + " in\n" + usage));
        assertThat(line)
                .contains(p.help())
                .endsWith("(default: " + (p.defaultValue().isEmpty() ? "none" : p.defaultValue()) + ")");
    }

    @Test
    void everyDefaultIsItselfValid() throws Exception {
        // passing every default explicitly must parse to the same configuration
        String[] args = Arrays.stream(JobParameter.values())
                .filter(p -> !p.defaultValue().isEmpty())
                .flatMap(p -> Stream.of("--" + p.flag(), p.defaultValue()))
                .toArray(String[]::new);
        assertThat(parse(args).toDisplayMap()).isEqualTo(parse().toDisplayMap());
    }

    @Test
    void flagsAreUniqueAndLowerCaseWithDashes() {
        List<String> flags =
                Arrays.stream(JobParameter.values()).map(JobParameter::flag).toList();
        assertThat(flags).doesNotHaveDuplicates().allMatch(s -> s.matches("[a-z][a-z0-9-]*"));
    }
}
