package io.tickstream.state;

import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Operators of earlier releases that are gone, but whose state their savepoints still hold. Flink refuses to restore a
 * savepoint holding state of an operator the job no longer has (unless told to drop all such state, which would hide a
 * real loss), so each uid here stays claimed by an operator that takes that state and drops it. Every entry is in
 * docs/state-migrations.md with the release that retired it and why its state can go (UidGuardTest checks both lists).
 */
public final class RetiredOperators {
    /**
     * Release 0.2 replaced the JDBC connector's sinks of candles and anomalies with the job's own table writers (which
     * keep the uids candles-db-sink and anomalies-db-sink); the connector's committer operators held an empty list
     * (at-least-once writes commit nothing later).
     */
    public static final List<String> UIDS =
            List.of("Sink Committer: candles-db-sink", "Sink Committer: anomalies-db-sink");

    private RetiredOperators() {}

    /** Adds an operator per retired uid, fed by {@code anchor} (a quiet stream of one operator, which they chain to: they drop what they get). */
    public static void claim(DataStream<?> anchor) {
        for (String uid : UIDS) {
            claim(anchor, uid);
        }
    }

    private static <T> void claim(DataStream<T> anchor, String uid) {
        anchor.transform("retired: " + uid, Types.VOID, new Drop<T>()).uid(uid);
    }

    private static final class Drop<T> extends AbstractStreamOperator<Void> implements OneInputStreamOperator<T, Void> {
        private static final long serialVersionUID = 1L;

        @Override
        public void processElement(StreamRecord<T> element) {}
    }
}
