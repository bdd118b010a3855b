package io.tickstream.pipeline;

import io.tickstream.config.ConfigException;
import io.tickstream.config.JobConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

final class PipelineTestSupport {
    private PipelineTestSupport() {}

    static JobConfig config(String... overrides) {
        List<String> args = new ArrayList<>(List.of("--checkpoint-interval", "1 s"));
        args.addAll(Arrays.asList(overrides));
        try {
            return JobConfig.parse(args.toArray(String[]::new), Map.of(JobConfig.JDBC_PASSWORD_ENV, "unused"));
        } catch (ConfigException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }
}
