package io.tickstream;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideOutsideOfPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The package rules of the job's main code. Packages are by concern; the pipeline is assembled in the root package
 * ({@link TickStreamJob}), which nothing else depends on. From the bottom up:
 *
 * <ul>
 *   <li>{@code state}: the RocksDB state machinery (versioned serializer snapshots, TTL) — depends on no other package;
 *   <li>{@code model}: the records that flow (ticks, anomalies, candles, bad records) — only on {@code state} (a tick
 *       carries its own serializer through Flink's {@code @TypeInfo});
 *   <li>{@code metrics}; then the processing packages {@code sequence}, {@code detect}, {@code candles}, which know
 *       nothing of where ticks come from or go to (no {@code source}, {@code sink}, {@code serde});
 *   <li>the edges: {@code source} (Kafka in, parsing, bad-record split) and {@code sink} (Kafka and database out),
 *       which know nothing of the processing packages nor of each other.
 * </ul>
 */
class ArchitectureTest {
    private static final String PROJECT = "io.tickstream..";
    private static JavaClasses main;

    @BeforeAll
    static void importMainClasses() throws URISyntaxException {
        // The job's compiled classes only (target/classes): scanning every jar of the test classpath for the package
        // took a minute.
        Path classes = Path.of(TickStreamJob.class
                .getProtectionDomain()
                .getCodeSource()
                .getLocation()
                .toURI());
        main = new ClassFileImporter().importPath(classes);
        assertThat(main.contain(TickStreamJob.class)).isTrue();
    }

    @Test
    void packagesHaveNoCycles() {
        slices().matching("io.tickstream.(*)..").should().beFreeOfCycles().check(main);
    }

    @Test
    void stateDependsOnNoOtherPackage() {
        classes()
                .that()
                .resideInAPackage("io.tickstream.state..")
                .should()
                .onlyDependOnClassesThat(
                        resideOutsideOfPackage(PROJECT).or(resideInAnyPackage("io.tickstream.state..")))
                .check(main);
    }

    @Test
    void modelDependsOnlyOnState() {
        classes()
                .that()
                .resideInAPackage("io.tickstream.model..")
                .should()
                .onlyDependOnClassesThat(resideOutsideOfPackage(PROJECT)
                        .or(resideInAnyPackage("io.tickstream.model..", "io.tickstream.state..")))
                .check(main);
    }

    @Test
    void processingKnowsNothingOfSourcesSinksOrWireFormats() {
        noClasses()
                .that()
                .resideInAnyPackage("io.tickstream.sequence..", "io.tickstream.detect..", "io.tickstream.candles..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("io.tickstream.source..", "io.tickstream.sink..", "io.tickstream.serde..")
                .check(main);
    }

    @Test
    void sourcesAndSinksKnowNothingOfProcessingNorOfEachOther() {
        noClasses()
                .that()
                .resideInAPackage("io.tickstream.sink..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "io.tickstream.detect..",
                        "io.tickstream.candles..",
                        "io.tickstream.sequence..",
                        "io.tickstream.source..")
                .check(main);
        noClasses()
                .that()
                .resideInAPackage("io.tickstream.source..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "io.tickstream.detect..",
                        "io.tickstream.candles..",
                        "io.tickstream.sequence..",
                        "io.tickstream.sink..")
                .check(main);
    }

    @Test
    void onlyTheRootPackageAssemblesThePipeline() {
        noClasses()
                .that()
                .resideInAPackage("io.tickstream.(*)..")
                .should()
                .dependOnClassesThat()
                .resideInAPackage("io.tickstream")
                .check(main);
    }
}
