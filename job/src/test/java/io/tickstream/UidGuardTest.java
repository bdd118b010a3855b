package io.tickstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.tickstream.config.JobConfig;
import io.tickstream.state.RetiredOperators;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Savepoints map state to operators by uid: an operator whose uid disappears or changes leaves its state behind, and
 * Flink refuses the savepoint (or, told to drop what it cannot map, loses it silently). Every uid of every release
 * (src/test/resources/uids/release-*.txt, written by {@link #writeThisReleasesUids}) must still be in the job graph —
 * as the operator it was, or claimed by {@link RetiredOperators} and explained in docs/state-migrations.md.
 */
class UidGuardTest {
    private static final Path RELEASES = Path.of("src/test/resources/uids");
    private static final Path MIGRATIONS =
            Path.of(System.getProperty("tickstream.repo", ".."), "docs", "state-migrations.md");

    /** The uid of every operator in the production job graph (sinks expand into a writer and a committer). */
    static Set<String> currentUids() throws Exception {
        JobConfig config = JobConfig.parse(new String[0], Map.of(JobConfig.JDBC_PASSWORD_ENV, "unused"));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        TickStreamJob.define(env, config);
        return env.getStreamGraph(false).getStreamNodes().stream()
                .map(StreamNode::getTransformationUID)
                .collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void everyUidOfEveryReleaseIsStillInTheJobOrRetiredOnPurpose() throws Exception {
        Set<String> current = currentUids();
        List<Path> releases;
        try (Stream<Path> files = Files.list(RELEASES)) {
            releases = files.filter(f -> f.getFileName().toString().startsWith("release-"))
                    .sorted()
                    .toList();
        }
        assertThat(releases).isNotEmpty();
        for (Path release : releases) {
            for (String uid : Files.readAllLines(release)) {
                assertThat(current)
                        .as(
                                "uid '%s' of %s: an operator whose uid is gone leaves its state in every savepoint "
                                        + "of that release; keep the uid, or claim it in RetiredOperators and document it in "
                                        + "docs/state-migrations.md",
                                uid, release.getFileName())
                        .contains(uid);
            }
        }
    }

    @Test
    void everyRetiredUidIsDocumentedAndEveryUidComesFromUids() throws Exception {
        String migrations = Files.readString(MIGRATIONS);
        for (String uid : RetiredOperators.UIDS) {
            assertThat(migrations)
                    .as("docs/state-migrations.md explains retired uid %s", uid)
                    .contains("`" + uid + "`");
        }
        Set<String> named = new TreeSet<>();
        for (Field f : Uids.class.getDeclaredFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == String.class) {
                String uid = (String) f.get(null);
                named.add(uid);
                named.add("Sink Committer: " + uid); // Flink's uid of a sink's committer
            }
        }
        named.addAll(RetiredOperators.UIDS);
        assertThat(currentUids())
                .as("uids in the job graph that are neither in Uids nor retired")
                .isSubsetOf(named);
    }

    /** Run when cutting a release: {@code -Dtest=UidGuardTest -Dtickstream.write-uids=<release name>}. */
    @Test
    @EnabledIfSystemProperty(named = "tickstream.write-uids", matches = "[0-9.]+")
    void writeThisReleasesUids() throws Exception {
        Files.write(RELEASES.resolve("release-" + System.getProperty("tickstream.write-uids") + ".txt"), currentUids());
    }
}
