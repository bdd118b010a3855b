package io.tickstream.testutils;

import io.tickstream.detect.PriceMoveDetector;
import io.tickstream.detect.ReturnZScoreDetector;
import io.tickstream.detect.VolumeSpikeDetector;
import java.time.Duration;

/** The detector settings the harness tests drive the detectors with (simpler than the job's defaults: one volume step). */
public final class DetectorSettings {
    public static final PriceMoveDetector.Settings PRICE =
            new PriceMoveDetector.Settings(1.0, 60_000, 1_000, 0.5, 30_000);
    public static final ReturnZScoreDetector.Settings ZSCORE =
            new ReturnZScoreDetector.Settings(8, 500, 100, 0.00005, 10_000);
    public static final VolumeSpikeDetector.Settings VOLUME =
            new VolumeSpikeDetector.Settings(10_000, 10_000, 10, 300_000, 10_000, 60_000, 30_000);
    public static final Duration TTL = Duration.ofHours(6);

    private DetectorSettings() {}
}
