package io.tickstream.state;

import static org.assertj.core.api.Assertions.assertThat;

import io.tickstream.Uids;
import io.tickstream.config.JobConfig;
import io.tickstream.detect.InstrumentDetectorState;
import io.tickstream.detect.InstrumentDetectorStateSerializer;
import io.tickstream.detect.VolumeSpikeDetector;
import io.tickstream.model.Anomaly;
import io.tickstream.model.AnomalyType;
import io.tickstream.testutils.TestTicks;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.state.api.OperatorIdentifier;
import org.apache.flink.state.api.SavepointReader;
import org.apache.flink.state.api.functions.KeyedStateReaderFunction;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.Test;

/**
 * Release 0.1's committed savepoint (deploy/fixture-savepoint), its keyed state read by this release's serializers
 * with Flink's State Processor API — the same migration a restore runs — and fed to this release's detectors: the
 * state a user's upgrade carries over is the state they then use. (deploy/tests/test_upgrade.py restores the same
 * savepoint into a running job on the local stack.)
 */
class Release01SavepointTest {
    private static final Path SAVEPOINT = Path.of("src/test/resources/savepoints/0.1/savepoint");
    /** The fixture's last trade on binance:BTC-USDT before the savepoint (fixture.json). */
    private static final long LAST_TRADE_TS = 1_764_460_894_900L;

    private static final long FIRST_SEQ_AFTER = 1_000_950L;

    /** Each instrument's detector state, as this release's serializer writes it. */
    static final class DetectorStates extends KeyedStateReaderFunction<String, Tuple2<String, byte[]>> {
        private transient ValueState<InstrumentDetectorState> state;

        @Override
        public void open(OpenContext openContext) {
            state = getRuntimeContext()
                    .getState(StateTtl.expireAfter(
                            new ValueStateDescriptor<>("detectors", InstrumentDetectorStateSerializer.INSTANCE),
                            Duration.ofDays(3650)));
        }

        @Override
        public void readKey(String key, Context ctx, Collector<Tuple2<String, byte[]>> out) throws Exception {
            DataOutputSerializer bytes = new DataOutputSerializer(1024);
            InstrumentDetectorStateSerializer.INSTANCE.serialize(state.value(), bytes);
            out.collect(Tuple2.of(key, bytes.getCopyOfBuffer()));
        }
    }

    /** Every instrument's detector state in release 0.1's savepoint, read by this release's serializer. */
    private static Map<String, InstrumentDetectorState> restoredDetectorStates() throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setRuntimeMode(RuntimeExecutionMode.BATCH);
        Map<String, InstrumentDetectorState> states = new TreeMap<>();
        for (Tuple2<String, byte[]> state : SavepointReader.read(
                        env, SAVEPOINT.toAbsolutePath().toUri().toString(), new EmbeddedRocksDBStateBackend())
                .readKeyedState(OperatorIdentifier.forUid(Uids.ANOMALY_DETECTORS), new DetectorStates())
                .executeAndCollect(100)) {
            states.put(
                    state.f0,
                    InstrumentDetectorStateSerializer.INSTANCE.deserialize(new DataInputDeserializer(state.f1)));
        }
        return states;
    }

    /**
     * The market of the fixture going on after the restore, as deploy/fixture-savepoint made it before (10 trades a
     * second, log-normal sizes around 0.05), then, 10 s on, a second of trades of 25: half the 2 s window's trades 500 times
     * their usual size, about 20 times a normal window's trades x their geometric mean size.
     */
    private static List<Anomaly> volumeAlertsAfterTheRestore(
            VolumeSpikeDetector detector, VolumeSpikeDetector.State state) {
        Random sizes = new Random(15);
        List<Anomaly> alerts = new ArrayList<>();
        for (int i = 0; i < 110; i++) {
            double size = i < 100 ? Math.exp(-3 + sizes.nextGaussian()) : 25;
            long ts = LAST_TRADE_TS + 100L * (i + 1);
            Anomaly alert = detector.onTick(
                    TestTicks.tick(FIRST_SEQ_AFTER + i, ts, "91000.00", String.format(Locale.ROOT, "%.6f", size)),
                    state,
                    ts + 25);
            if (alert != null) {
                alerts.add(alert);
            }
        }
        return alerts;
    }

    @Test
    void releases01WarmVolumeBaselineSeesABurstRightAfterTheRestore() throws Exception {
        Map<String, InstrumentDetectorState> states = restoredDetectorStates();
        assertThat(states)
                .containsOnlyKeys("binance:BTC-USDT", "coinbase:BTC-USD", "kraken:BTC-USD", "synthetic:FIXTURE-USD");
        VolumeSpikeDetector.State restored = states.get("binance:BTC-USDT").volumeSpike;
        JobConfig config =
                JobConfig.parse(new String[0], Map.of(JobConfig.JDBC_PASSWORD_ENV, "unused")); // secret-scan: sample
        VolumeSpikeDetector detector = new VolumeSpikeDetector(config.volumeSpike);
        // 95 s of trades: past the warm-up, with an average of the windows before
        assertThat(restored.steps).isGreaterThanOrEqualTo(config.volumeSpike.warmupMs() / config.volumeSpike.stepMs());
        assertThat(restored.average).isPositive();

        List<Anomaly> warm = volumeAlertsAfterTheRestore(detector, restored);
        assertThat(warm).singleElement().satisfies(alert -> {
            assertThat(alert.type()).isEqualTo(AnomalyType.VOLUME_SPIKE);
            assertThat(alert.ts()).isGreaterThan(LAST_TRADE_TS + 10_000);
        });
        // the same trades on a cold baseline: still warming up, no alert (so the alert above is the restored memory's)
        assertThat(volumeAlertsAfterTheRestore(detector, detector.newState())).isEmpty();
    }
}
