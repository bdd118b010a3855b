package io.tickstream.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** job.jar is what `flink run` gets: the job, its connectors and libraries, and none of Flink's runtime. */
class ShadedJarIT {
    @Test
    void holdsTheJobAndConnectorsButNoFlinkRuntime() throws Exception {
        Path jar = Path.of(System.getProperty("tickstream.job.jar", "target/job.jar"));
        try (JarFile file = new JarFile(jar.toFile())) {
            List<String> entries = file.stream().map(e -> e.getName()).collect(Collectors.toList());
            assertThat(file.getManifest().getMainAttributes().getValue("Main-Class"))
                    .isEqualTo("io.tickstream.TickStreamJob");
            assertThat(entries)
                    .contains(
                            "io/tickstream/TickStreamJob.class",
                            "org/apache/flink/connector/kafka/source/KafkaSource.class",
                            "org/apache/flink/connector/kafka/sink/KafkaSink.class",
                            "org/postgresql/copy/CopyManager.class",
                            "org/apache/kafka/clients/consumer/KafkaConsumer.class",
                            "org/postgresql/Driver.class",
                            "com/fasterxml/jackson/core/JsonFactory.class");
            assertThat(entries)
                    .noneMatch(e -> e.startsWith("org/apache/flink/runtime/"))
                    .noneMatch(e -> e.startsWith("org/apache/flink/streaming/api/"))
                    .noneMatch(e -> e.startsWith("org/apache/flink/api/common/"))
                    .noneMatch(e -> e.startsWith("org/rocksdb/"))
                    .noneMatch(e -> e.startsWith("org/slf4j/") || e.startsWith("org/apache/logging/log4j/"));
        }
    }
}
