package io.tickstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.tickstream.config.JobConfig;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.apache.flink.runtime.jobgraph.JobVertex;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;

/**
 * An alert leaves for the anomalies topic from the task that raised it. A writer in a task of its own waits, at each
 * checkpoint, until the barriers of all its inputs have come (aligned checkpoints), so alerts of the instruments'
 * detectors stood still while the divergence detector's barrier was on its way — besides a network hop each.
 */
class AlertPathTest {
    private static List<JobVertex> productionTasks() throws Exception {
        JobConfig config = JobConfig.parse(new String[0], Map.of(JobConfig.JDBC_PASSWORD_ENV, "unused"));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        TickStreamJob.define(env, config);
        return StreamSupport.stream(
                        env.getStreamGraph(false).getJobGraph().getVertices().spliterator(), false)
                .toList();
    }

    private static JobVertex taskOf(List<JobVertex> tasks, String uid) {
        return tasks.stream()
                .filter(t -> t.getName().contains(uid))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no task runs " + uid + ": " + tasks));
    }

    @Test
    void eachDetectorsAlertsGoToTheTopicFromItsOwnTask() throws Exception {
        List<JobVertex> tasks = productionTasks();
        assertThat(taskOf(tasks, Uids.ANOMALIES_KAFKA_SINK).getName())
                .as("the instruments' alerts' writer is chained behind the detectors")
                .contains(Uids.ANOMALY_DETECTORS);
        assertThat(taskOf(tasks, Uids.DIVERGENCES_KAFKA_SINK).getName())
                .as("the divergences' writer is chained behind the divergence detector")
                .contains(Uids.CROSS_VENUE_DIVERGENCE);
    }
}
