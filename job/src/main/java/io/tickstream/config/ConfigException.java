package io.tickstream.config;

import java.util.List;

/** Bad job parameters: the message lists each problem and what to fix, so the job stops at start-up. */
public final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;

    private final List<String> problems;

    public ConfigException(List<String> problems) {
        super("invalid job parameters:\n  - " + String.join("\n  - ", problems)
                + "\nRun with --help for every parameter and its default.");
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
