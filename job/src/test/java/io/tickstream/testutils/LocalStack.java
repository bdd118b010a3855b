package io.tickstream.testutils;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The real Kafka broker and PostgreSQL server of the local stack ({@code deploy/tickstream}), started once
 * per test JVM in a state dir under job/target on free ports, and stopped when the JVM exits.
 */
public final class LocalStack {
    private static LocalStack instance;

    public final String kafkaBootstrap;
    public final String jdbcUrl;
    public final String jdbcUser = "tickstream";
    public final String jdbcPassword;
    private final Path stateDir;

    private LocalStack(String kafkaBootstrap, String jdbcUrl, String jdbcPassword, Path stateDir) {
        this.kafkaBootstrap = kafkaBootstrap;
        this.jdbcUrl = jdbcUrl;
        this.jdbcPassword = jdbcPassword;
        this.stateDir = stateDir;
    }

    public static synchronized LocalStack get() throws IOException, InterruptedException {
        if (instance == null) {
            Path repo = repo();
            Path stateDir = repo.resolve("job/target/it-stack");
            List<String> tool = List.of(
                    "python3", repo.resolve("deploy/tickstream").toString(), "--state-dir", stateDir.toString());
            run(concat(tool, "up", "--only", "kafka,postgres", "--free-ports"));
            // Stopped by a process of its own that the JVM does not wait for: after the ITs Kafka's orderly shutdown
            // can take longer than the 30 s Surefire allows a forked JVM to exit (it then kills the fork, and the
            // stack with it half stopped); its log is the state dir's down.log.
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    new ProcessBuilder(concat(tool, "down", "--only", "kafka,postgres"))
                            .redirectErrorStream(true)
                            .redirectOutput(stateDir.resolve("down.log").toFile())
                            .start();
                } catch (IOException e) {
                    System.err.println("could not stop the test stack: " + e.getMessage());
                }
            }));
            JsonNode endpoints = new ObjectMapper()
                    .readTree(stateDir.resolve("stack.json").toFile())
                    .get("endpoints");
            String password = System.getenv().getOrDefault("TICKSTREAM_JDBC_PASSWORD", "tickstream");
            instance = new LocalStack(
                    endpoints.get("kafka_bootstrap").asText(),
                    endpoints.get("jdbc_url").asText(),
                    password,
                    stateDir);
        }
        return instance;
    }

    public Connection connect() throws SQLException {
        return DriverManager.getConnection(jdbcUrl, jdbcUser, jdbcPassword);
    }

    /**
     * A database of its own on the same server, with the project's whole schema applied by the stack (as `up` applies
     * it: sql/ in order, TimescaleDB's parts when it is installed); its JDBC URL.
     */
    public String database(String name) throws IOException, InterruptedException {
        Path repo = repo();
        List<String> tool = List.of(
                "python3",
                repo.resolve("deploy/tickstream").toString(),
                "--state-dir",
                stateDir.toString(),
                "up",
                "--only",
                "postgres");
        run(tool, Map.of("TICKSTREAM_DB", name));
        return jdbcUrl.substring(0, jdbcUrl.lastIndexOf('/') + 1) + name;
    }

    /** The private instance's superuser, for a test's DDL (the job's role has none). */
    public Connection connectAsSuperuser() throws SQLException, IOException {
        return connectAsSuperuser(jdbcUrl);
    }

    public Connection connectAsSuperuser(String url) throws SQLException, IOException {
        String password = Files.readString(stateDir.resolve("postgres/superuser.password"))
                .strip();
        return DriverManager.getConnection(url, "postgres", password);
    }

    public static Path repo() {
        return Path.of(System.getProperty("tickstream.repo", ".."))
                .toAbsolutePath()
                .normalize();
    }

    private static List<String> concat(List<String> head, String... tail) {
        List<String> out = new java.util.ArrayList<>(head);
        out.addAll(List.of(tail));
        return out;
    }

    private static void run(List<String> command) throws IOException, InterruptedException {
        run(command, Map.of());
    }

    private static void run(List<String> command, Map<String, String> env) throws IOException, InterruptedException {
        Path log = Files.createTempFile("tickstream-stack", ".log");
        ProcessBuilder builder =
                new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().putAll(env);
        Process p = builder.start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + " took over 5 minutes:\n" + Files.readString(log));
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        System.out.print(output);
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed (exit " + p.exitValue() + "):\n" + output);
        }
    }
}
