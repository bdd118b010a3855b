package io.tickstream.eval;

import static org.assertj.core.api.Assertions.assertThat;

import io.tickstream.config.JobConfig;
import io.tickstream.model.AnomalyType;
import org.junit.jupiter.api.Test;

/**
 * Pins the detection quality of the standard scenario (10 simulated minutes of the producers' synthetic
 * generator, seed 11, 10 symbols on 2 venues, injected spikes, drops, volume bursts and divergences) at the
 * default parameters, at what was measured when the defaults were tuned (deploy/evaluate-detectors --minutes 10)
 * less a small margin: a change that lowers it fails here. The stream is deterministic, so the figures are too.
 */
class DetectionQualityTest {
    @Test
    void standardScenarioKeepsItsMeasuredQualityAndShuffledInputGivesIdenticalAlerts() throws Exception {
        JobConfig defaults = Evaluation.config();
        DetectionEvaluation.Scenario standard = DetectionEvaluation.SCENARIOS.get(0);
        DetectionEvaluation.Result r = DetectionEvaluation.evaluate(standard, 10, defaults);
        Evaluation.Score s = r.score();

        assertThat(r.identical()).as("ordered and shuffled alerts identical").isTrue();
        assertThat(r.stream().labels()).hasSize(40);
        assertThat(r.stream().scoredLabels()).hasSize(35);
        // measured: recall and precision 1.000 for every type (12 spikes, 12 drops, 6 volume bursts, 5 divergences)
        assertQuality(s, AnomalyType.PRICE_SPIKE, 1.0, 1.0);
        assertQuality(s, AnomalyType.PRICE_DROP, 1.0, 1.0);
        assertQuality(s, AnomalyType.VOLUME_SPIKE, 1.0, 1.0);
        assertQuality(s, AnomalyType.CROSS_VENUE_DIVERGENCE, 1.0, 1.0);
        // measured: no false alert of any type (3.0 instrument-hours)
        assertThat(s.falseAlertList).as("false alerts").isEmpty();
        assertThat(s.type(AnomalyType.CROSS_VENUE_DIVERGENCE).delayPercentile(0.95))
                .isLessThanOrEqualTo(7_000);
    }

    private static void assertQuality(Evaluation.Score s, AnomalyType type, double recall, double precision) {
        Evaluation.TypeScore t = s.type(type);
        assertThat(t.recall()).as("recall of %s", type).isGreaterThanOrEqualTo(recall - 0.005);
        assertThat(t.precision()).as("precision of %s", type).isGreaterThanOrEqualTo(precision - 0.005);
    }
}
