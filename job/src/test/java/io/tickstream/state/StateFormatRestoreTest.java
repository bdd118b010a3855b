package io.tickstream.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.Collector;
import org.apache.flink.util.ExceptionUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The state-format rules on a real MiniCluster with RocksDB and TTL state, as the job keeps its state: a savepoint in
 * an earlier format this release reads is migrated on restore (every value read with the old layout, written with the
 * new), and one in a format this release refuses fails the job at once — FAILED, no restart loop — with the message.
 * A probe state stands in for the job's: its formats are switched between the two runs, as a new release would.
 */
class StateFormatRestoreTest {
    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER =
            new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(1)
                    .setNumberSlotsPerTaskManager(2)
                    .build());

    /** The probe's formats in the running "release"; the keyed function records what it restored, per key. */
    static volatile StateFormats formats;

    static final Map<Long, String> RESTORED = new ConcurrentHashMap<>();

    /** Format 1: a count. Format 2: a count and a label (format 1 read as label "migrated"). */
    static final class Probe {
        long count;
        String label = "";
    }

    static final class ProbeSerializer extends StateSerializer<Probe> {
        private static final long serialVersionUID = 1L;

        ProbeSerializer(int readFormat) {
            super(readFormat);
        }

        @Override
        public Probe createInstance() {
            return new Probe();
        }

        @Override
        public void serialize(Probe p, DataOutputView out) throws IOException {
            out.writeLong(p.count);
            if (formats.current() >= 2) {
                writeString(p.label, out);
            }
        }

        @Override
        public Probe deserialize(DataInputView in) throws IOException {
            Probe p = new Probe();
            p.count = in.readLong();
            p.label = readFormat() >= 2 ? readString(in) : "migrated";
            return p;
        }

        @Override
        public TypeSerializerSnapshot<Probe> snapshotConfiguration() {
            return new Snapshot();
        }

        public static final class Snapshot extends VersionedStateSnapshot<Probe> {
            @Override
            protected StateFormats formats() {
                return formats;
            }

            @Override
            protected TypeSerializer<Probe> serializerReading(int format) {
                return new ProbeSerializer(format);
            }
        }
    }

    static final class Counting extends KeyedProcessFunction<Long, Long, Long> {
        private static final long serialVersionUID = 1L;
        private transient ValueState<Probe> state;

        @Override
        public void open(OpenContext openContext) {
            state = getRuntimeContext()
                    .getState(StateTtl.expireAfter(
                            new ValueStateDescriptor<>("probe", new ProbeSerializer(formats.current())),
                            Duration.ofHours(1)));
        }

        @Override
        public void processElement(Long key, Context ctx, Collector<Long> out) throws Exception {
            Probe p = state.value();
            if (p == null) {
                p = new Probe();
            } else {
                RESTORED.putIfAbsent(key, p.label + ":" + p.count);
            }
            p.count++;
            state.update(p);
        }
    }

    private static JobClient start(Path savepoint) throws Exception {
        Configuration conf = new Configuration();
        conf.set(StateBackendOptions.STATE_BACKEND, "rocksdb");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "exponential-delay");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF, Duration.ofMillis(100));
        if (savepoint != null) {
            conf.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint.toString());
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(2);
        env.enableCheckpointing(500);
        env.fromSource(
                        new DataGeneratorSource<>(
                                i -> i % 10, Long.MAX_VALUE, RateLimiterStrategy.perSecond(200), Types.LONG),
                        WatermarkStrategy.noWatermarks(),
                        "keys")
                .uid("keys")
                .keyBy(k -> k)
                .process(new Counting())
                .uid("probe-counter")
                .sinkTo(new DiscardingSink<>())
                .uid("discard");
        return env.executeAsync("state-format-probe");
    }

    private static Path runAndSavepoint(Path dir) throws Exception {
        formats = new StateFormats("probe", 1, Map.of(1, "release A"), Map.of());
        JobClient first = start(null);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (true) {
            try {
                return Path.of(first.stopWithSavepoint(false, dir.toUri().toString(), SavepointFormatType.CANONICAL)
                        .get()
                        .replace("file:", ""));
            } catch (ExecutionException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                TimeUnit.MILLISECONDS.sleep(200);
            }
        }
    }

    @Test
    void anEarlierFormatIsMigratedOnRestore(@TempDir Path dir) throws Exception {
        Path savepoint = runAndSavepoint(dir);
        RESTORED.clear();
        formats = new StateFormats("probe", 2, Map.of(2, "release B", 1, "release A"), Map.of());
        JobClient second = start(savepoint);
        try {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (RESTORED.size() < 10 && System.nanoTime() < deadline) {
                TimeUnit.MILLISECONDS.sleep(100);
            }
            assertThat(RESTORED)
                    .hasSize(10)
                    .allSatisfy((key, value) -> assertThat(value).startsWith("migrated:"));
            assertThat(second.getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
        } finally {
            second.cancel().get();
        }
    }

    @Test
    void aRefusedFormatFailsTheJobAtOnceWithTheMessage(@TempDir Path dir) throws Exception {
        Path savepoint = runAndSavepoint(dir);
        formats = new StateFormats("probe", 2, Map.of(2, "release B"), Map.of(1, "release A, no longer read"));
        JobClient second = start(savepoint);
        ExecutionException failure = null;
        try {
            second.getJobExecutionResult().get(2, TimeUnit.MINUTES);
        } catch (ExecutionException e) {
            failure = e;
        }
        assertThat(failure)
                .as("the job failed instead of restarting from the savepoint forever")
                .isNotNull();
        assertThat(second.getJobStatus().get()).isEqualTo(JobStatus.FAILED);
        assertThat(ExceptionUtils.findThrowable(failure, StateFormats.StateFormatException.class))
                .get()
                .extracting(Throwable::getMessage)
                .asString()
                .contains("holds probe state in format v1 (release A, no longer read)", "this release reads v2");
    }
}
