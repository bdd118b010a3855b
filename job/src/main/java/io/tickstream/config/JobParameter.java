package io.tickstream.config;

/**
 * Every job parameter, its default and what it does: the one list that `--help`, the README table and
 * {@link JobConfig} are built from. Pass each as {@code --name value}.
 */
public enum JobParameter {
    // Kafka
    KAFKA_BOOTSTRAP("kafka-bootstrap", "127.0.0.1:9092", "Kafka bootstrap servers"),
    TICKS_TOPIC("ticks-topic", "ticks", "topic the ticks are read from"),
    ANOMALIES_TOPIC("anomalies-topic", "anomalies", "topic the anomalies are written to"),
    DLQ_TOPIC("dlq-topic", "ticks.dlq", "dead-letter topic for records that are not valid ticks"),
    GROUP_ID(
            "group-id",
            "tickstream-job",
            "Kafka consumer group; the job starts from its committed offsets (earliest when there are none)"),
    DELIVERY(
            "delivery",
            "at-least-once",
            "at-least-once (idempotent writes, deterministic anomaly ids, lowest alert latency) or exactly-once "
                    + "(Kafka transactions committed on checkpoints; readers must use isolation.level=read_committed)"),
    KAFKA_FETCH_WAIT(
            "kafka-fetch-wait",
            "10 ms",
            "how long the broker may hold a fetch of the ticks topic to gather more ticks: fewer, larger fetches cost "
                    + "the broker and the job less CPU per tick, and a tick waits at most this much longer (0, or 1 ms to 1 s; "
                    + "0 answers each fetch as soon as any tick is there)"),
    KAFKA_TRANSACTION_TIMEOUT(
            "kafka-transaction-timeout",
            "10 min",
            "exactly-once only: producer transaction timeout; must stay below the broker's "
                    + "transaction.max.timeout.ms (15 min by default) and above the checkpoint interval"),

    // Database
    JDBC_URL("jdbc-url", "jdbc:postgresql://127.0.0.1:5432/tickstream", "PostgreSQL/TimescaleDB JDBC URL"),
    JDBC_USER("jdbc-user", "tickstream", "database role the job writes as"),
    JDBC_PASSWORD_FILE(
            "jdbc-password-file",
            "",
            "file holding the database password; when empty the password comes from the environment variable "
                    + "TICKSTREAM_JDBC_PASSWORD (never from a flag)"),
    JDBC_BATCH_SIZE(
            "jdbc-batch-size",
            "2000",
            "rows that start a write at once; while the database is busy with the last write, a batch grows"),
    JDBC_BATCH_INTERVAL("jdbc-batch-interval", "200 ms", "longest time a row waits in a batch"),
    JDBC_MAX_BUFFERED_ROWS(
            "jdbc-max-buffered-rows",
            "250000",
            "rows a table's writer holds while the database is busy with the last write (a batch grows up to this; "
                    + "beyond it the job waits for the database); at least --jdbc-batch-size"),
    JDBC_MAX_RETRIES(
            "jdbc-max-retries",
            "5",
            "retries of a failed batch (reconnecting when the connection broke) before the job restarts"),

    // Input validation
    EXCHANGES("exchanges", "binance,coinbase,kraken,synthetic", "venue ids accepted; ticks of others go to the DLQ"),
    MAX_CLOCK_SKEW(
            "max-clock-skew",
            "1 min",
            "ticks whose time (or recv_ts) is further in the future than the job's clock go to the DLQ; at most "
                    + "--allowed-lateness plus --out-of-orderness"),
    MAX_TRADE_AHEAD(
            "max-trade-ahead",
            "10 s",
            "ticks whose trade time is further ahead of their recv_ts (when the producer received them) go to the DLQ: "
                    + "a trade stamped in the future would move its instrument's windows and event time; at most "
                    + "--allowed-lateness plus --out-of-orderness"),
    MAX_RECORD_BYTES("max-record-bytes", "65536", "records larger than this go to the DLQ unparsed"),

    // Event time
    OUT_OF_ORDERNESS("out-of-orderness", "2 s", "bounded out-of-orderness of trade times (watermark delay)"),
    IDLE_TIMEOUT("idle-timeout", "10 s", "a partition with no ticks for this long stops holding back event time"),
    ALLOWED_LATENESS(
            "allowed-lateness",
            "2 min",
            "trades this late still update their 1-minute candle; later ones are counted as late"),

    // Detectors
    SPIKE_THRESHOLD_PCT(
            "spike-threshold-pct", "1.0", "PRICE_SPIKE/PRICE_DROP: move in % against the window's minimum/maximum"),
    SPIKE_WINDOW("spike-window", "60 s", "PRICE_SPIKE/PRICE_DROP: sliding event-time window"),
    SPIKE_RESOLUTION(
            "spike-resolution",
            "1 s",
            "PRICE_SPIKE/PRICE_DROP: granularity of the window's extremes (state is window/resolution slots)"),
    SPIKE_REARM_PCT(
            "spike-rearm-pct",
            "0.5",
            "PRICE_SPIKE/PRICE_DROP: an episode ends when the move falls below this % (hysteresis)"),
    SPIKE_COOLDOWN("spike-cooldown", "30 s", "PRICE_SPIKE/PRICE_DROP: least time between two alerts of one kind"),
    ZSCORE_THRESHOLD("zscore-threshold", "10", "RETURN_ZSCORE: |z| of the trade-to-trade log return"),
    ZSCORE_HALFLIFE("zscore-halflife", "500", "RETURN_ZSCORE: half-life of the EWMA mean/variance, in trades"),
    ZSCORE_WARMUP("zscore-warmup", "100", "RETURN_ZSCORE: returns seen before the first alert"),
    ZSCORE_MIN_STDDEV(
            "zscore-min-stddev",
            "0.0003",
            "RETURN_ZSCORE: floor of the return standard deviation (3 bp), so a run of unchanged prices "
                    + "does not make one tick size an outlier, nor a 0.1-0.2 % trade-to-trade move in a calm market"),
    ZSCORE_COOLDOWN("zscore-cooldown", "10 s", "RETURN_ZSCORE: least time between two alerts"),
    VOLUME_WINDOW(
            "volume-window",
            "2 s",
            "VOLUME_SPIKE: the window whose volume is compared (it slides by --volume-step; a burst must fill it)"),
    VOLUME_STEP(
            "volume-step",
            "500 ms",
            "VOLUME_SPIKE: how far the window slides; --volume-window must be a multiple of it (at most 64 steps)"),
    VOLUME_MULTIPLIER(
            "volume-multiplier",
            "10",
            "VOLUME_SPIKE: the window's volume against what a normal window holds (the EWMA of past windows), volume as trades x their geometric mean size in both"),
    VOLUME_HALFLIFE("volume-halflife", "5 min", "VOLUME_SPIKE: half-life of the window-volume EWMA"),
    VOLUME_MIN_NOTIONAL(
            "volume-min-notional",
            "10000",
            "VOLUME_SPIKE: the window's traded value (price x size, quote currency) must reach this too"),
    VOLUME_WARMUP(
            "volume-warmup", "1 min", "VOLUME_SPIKE: trade time the average is built over before the first alert"),
    VOLUME_COOLDOWN("volume-cooldown", "30 s", "VOLUME_SPIKE: least time between two alerts"),
    DIVERGENCE_THRESHOLD_PCT(
            "divergence-threshold-pct",
            "0.5",
            "CROSS_VENUE_DIVERGENCE: gap in % between the last prices of one asset on two venues"),
    DIVERGENCE_REARM_PCT(
            "divergence-rearm-pct",
            "0.25",
            "CROSS_VENUE_DIVERGENCE: an episode ends when the gap falls below this % (hysteresis)"),
    DIVERGENCE_MIN_DURATION(
            "divergence-min-duration",
            "5 s",
            "CROSS_VENUE_DIVERGENCE: least trade time the gap must hold, with both venues trading, before the alert"),
    DIVERGENCE_STALENESS(
            "divergence-staleness",
            "10 s",
            "CROSS_VENUE_DIVERGENCE: a venue with no trade for this long is left out (a silent venue raises no alert)"),
    DIVERGENCE_QUOTE_CLASSES(
            "divergence-quote-classes",
            "USDT:USD,USDC:USD",
            "CROSS_VENUE_DIVERGENCE: quote currencies priced as one (QUOTE:CLASS, comma-separated); "
                    + "BTC-USDT and BTC-USD are then one asset"),

    // State and runtime
    STATE_TTL("state-ttl", "6 h", "per-instrument state of an instrument silent this long is dropped"),
    CHECKPOINT_INTERVAL("checkpoint-interval", "10 s", "exactly-once checkpoints (RocksDB, full snapshots) this often"),
    CHECKPOINT_TIMEOUT("checkpoint-timeout", "5 min", "a checkpoint taking longer is aborted"),
    RESTART_MAX_DELAY(
            "restart-max-delay",
            "1 min",
            "restarts back off exponentially from 1 s up to this (Flink's exponential-delay strategy)");

    private final String flag;
    private final String defaultValue;
    private final String help;

    JobParameter(String flag, String defaultValue, String help) {
        this.flag = flag;
        this.defaultValue = defaultValue;
        this.help = help;
    }

    /** The name after {@code --}. */
    public String flag() {
        return flag;
    }

    public String defaultValue() {
        return defaultValue;
    }

    public String help() {
        return help;
    }

    public static String usage() {
        StringBuilder out = new StringBuilder("TickStream job parameters (--name value):\n");
        for (JobParameter p : values()) {
            out.append(String.format(
                    "  --%-26s %s (default: %s)%n",
                    p.flag, p.help, p.defaultValue.isEmpty() ? "none" : p.defaultValue));
        }
        return out.toString();
    }
}
