package io.tickstream.state;

import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.runtime.execution.SuppressRestartsException;

/**
 * The formats of one kind of state: the one this release writes, the earlier ones it reads (each migrated to the
 * current one on restore), and the ones it knows but cannot read (formats of builds before any release). Every format
 * change ships with a reader of the previous release's format, listed here and in docs/state-migrations.md, and with
 * that release's bytes under src/test/resources/state-formats/ (StateFormatUpgradeTest reads them).
 */
public record StateFormats(String state, int current, Map<Integer, String> readable, Map<Integer, String> refused) {
    public StateFormats {
        readable = new TreeMap<>(readable);
        refused = new TreeMap<>(refused);
        if (!readable.containsKey(current)) {
            throw new IllegalArgumentException(state + ": the current format v" + current + " must be readable");
        }
    }

    public boolean reads(int format) {
        return readable.containsKey(format);
    }

    /**
     * The refusal of a format this release cannot read: a job restoring it fails at once, without restarts (a restart
     * would read the same savepoint again), saying what to do.
     */
    public SuppressRestartsException refusal(int format) {
        return refusal(
                refused.containsKey(format)
                        ? "format v" + format + " (" + refused.get(format) + ")"
                        : format > current
                                ? "format v" + format + ", written by a newer TickStream release"
                                : "format v" + format + ", which no release of TickStream wrote");
    }

    /** The refusal of {@code what} (a format, or a snapshot layout) this release cannot read. */
    public SuppressRestartsException refusal(String what) {
        return new SuppressRestartsException(new StateFormatException("The savepoint or checkpoint holds " + state
                + " state in " + what + "; this release reads " + describeReadable() + ". Start the job without "
                + "restoring state (flink run without -s: it resumes from its Kafka group's committed offsets and its "
                + "detectors warm up again), or run the release that wrote it. See docs/state-migrations.md."));
    }

    /** A savepoint holding a serializer of another kind where this state is: refused the same way. */
    public SuppressRestartsException refusalOf(Object otherSnapshot) {
        return new SuppressRestartsException(new StateFormatException("The savepoint or checkpoint holds "
                + otherSnapshot
                + " where this release keeps " + state + " state (" + describeReadable() + "). Start the job without "
                + "restoring state, or run the release that wrote it. See docs/state-migrations.md."));
    }

    private String describeReadable() {
        StringBuilder out = new StringBuilder();
        readable.forEach((format, release) -> out.append(out.length() == 0 ? "" : ", ")
                .append('v')
                .append(format)
                .append(" (")
                .append(release)
                .append(')'));
        return out.toString();
    }

    /** Why a state cannot be restored; wrapped in Flink's SuppressRestartsException, so the job fails at once. */
    public static final class StateFormatException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public StateFormatException(String message) {
            super(message);
        }
    }
}
