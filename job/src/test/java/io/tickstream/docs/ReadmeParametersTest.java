package io.tickstream.docs;

import static org.assertj.core.api.Assertions.assertThat;

import io.tickstream.config.JobParameter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The README lists every job parameter with its current default, so the table cannot drift from the code. */
class ReadmeParametersTest {
    @Test
    void readmeListsEveryParameterWithItsDefault() throws Exception {
        String readme = Files.readString(
                Path.of(System.getProperty("tickstream.repo", "..")).resolve("README.md"));
        for (JobParameter p : JobParameter.values()) {
            String defaultCell = p.defaultValue().isEmpty() ? "(none)" : "`" + p.defaultValue() + "`";
            assertThat(readme)
                    .as("README row of --%s", p.flag())
                    .contains("| `--" + p.flag() + "` | " + defaultCell + " |");
        }
    }
}
