package io.tickstream.source;

import static org.assertj.core.api.Assertions.assertThat;

import io.tickstream.config.ConfigException;
import io.tickstream.config.JobConfig;
import io.tickstream.model.BadRecord;
import io.tickstream.testutils.TestTicks;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkGeneratorSupplier;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.util.clock.ManualClock;
import org.apache.flink.util.clock.RelativeClock;
import org.junit.jupiter.api.Test;

/** Event time per Kafka partition, as the source applies it to each split. */
class TickSourceTest {
    private final ManualClock clock = new ManualClock();
    private final List<String> emitted = new ArrayList<>();

    private final WatermarkOutput output = new WatermarkOutput() {
        @Override
        public void emitWatermark(Watermark watermark) {
            emitted.add("wm " + watermark.getTimestamp());
        }

        @Override
        public void markIdle() {
            emitted.add("idle");
        }

        @Override
        public void markActive() {
            emitted.add("active");
        }
    };

    @Test
    void aFetchWaitsForMoreTicksUpToTheWaitAndAZeroWaitAnswersAtTheFirstByte() throws Exception {
        assertThat(TickSource.fetchProperties(fetchWait(null)))
                .containsOnly(Map.entry("fetch.min.bytes", "1048576"), Map.entry("fetch.max.wait.ms", "10"));
        assertThat(TickSource.fetchProperties(fetchWait("0 ms")))
                .containsOnly(Map.entry("fetch.min.bytes", "1"), Map.entry("fetch.max.wait.ms", "500"));
    }

    /**
     * Any wait the job accepts, down to the nanosecond: the broker is never told to wait 0 ms for more bytes than
     * just any (which answers every fetch at once, a busy poll), and never longer than the wait given.
     */
    @Property(tries = 2000, seed = "20261203")
    void noAcceptedWaitMakesTheBrokerAnswerAnEmptyFetchAtOnce(@ForAll @LongRange(max = 3_000_000_000L) long nanos)
            throws Exception {
        JobConfig config;
        try {
            config = fetchWait(nanos + " ns");
        } catch (ConfigException refused) {
            return;
        }
        Properties fetch = TickSource.fetchProperties(config);
        long waitMs = Long.parseLong(fetch.getProperty("fetch.max.wait.ms"));
        if (!fetch.getProperty("fetch.min.bytes").equals("1")) {
            assertThat(waitMs).isBetween(1L, 1000L).isLessThanOrEqualTo(nanos / 1_000_000);
        } else {
            assertThat(nanos).isZero();
        }
    }

    private static JobConfig fetchWait(String wait) throws Exception {
        String[] args = wait == null ? new String[0] : new String[] {"--kafka-fetch-wait", wait};
        return JobConfig.parse(args, Map.of(JobConfig.JDBC_PASSWORD_ENV, "x"));
    }

    private WatermarkGenerator<ParseResult> generator() throws Exception {
        JobConfig config =
                JobConfig.parse(new String[] {"--idle-timeout", "10 s"}, Map.of(JobConfig.JDBC_PASSWORD_ENV, "x"));
        return TickSource.watermarks(config).createWatermarkGenerator(new WatermarkGeneratorSupplier.Context() {
            @Override
            public MetricGroup getMetricGroup() {
                return new UnregisteredMetricsGroup();
            }

            @Override
            public RelativeClock getInputActivityClock() {
                return clock;
            }
        });
    }

    private static ParseResult tick(long ts) {
        return ParseResult.ofTick(TestTicks.tick(1, ts, "100"));
    }

    private static ParseResult bad() {
        return ParseResult.ofBad(BadRecord.unparsable(null, new byte[] {'x'}, "not valid JSON", "ticks", 0, 0, 0));
    }

    /**
     * A partition whose producer sends only bad records must go idle like a silent one: counted as activity, they held
     * event time back for every partition (no candle closed, no held trade was released) while carrying no time.
     */
    @Test
    void aPartitionOfOnlyBadRecordsGoesIdle() throws Exception {
        WatermarkGenerator<ParseResult> generator = generator();
        generator.onEvent(tick(TestTicks.T0), TestTicks.T0, output);
        generator.onPeriodicEmit(output);
        assertThat(emitted).containsExactly("wm " + (TestTicks.T0 - 2_001));

        for (int second = 0; second < 30; second++) { // a bad record every second, and Flink's periodic emits
            clock.advanceTime(Duration.ofSeconds(1));
            generator.onEvent(bad(), Long.MIN_VALUE, output);
            generator.onPeriodicEmit(output);
        }
        assertThat(emitted).contains("idle");
        assertThat(emitted).filteredOn(e -> e.startsWith("wm")).allMatch(e -> e.equals("wm " + (TestTicks.T0 - 2_001)));
    }

    @Test
    void ticksKeepAPartitionActiveAndMoveItsWatermark() throws Exception {
        WatermarkGenerator<ParseResult> generator = generator();
        for (int second = 0; second < 30; second++) {
            clock.advanceTime(Duration.ofSeconds(1));
            generator.onEvent(tick(TestTicks.T0 + second * 1000L), TestTicks.T0 + second * 1000L, output);
            generator.onEvent(bad(), Long.MIN_VALUE, output);
            generator.onPeriodicEmit(output);
        }
        assertThat(emitted).doesNotContain("idle").last().isEqualTo("wm " + (TestTicks.T0 + 29_000 - 2_001));
    }
}
