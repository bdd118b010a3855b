package io.tickstream.sink;

import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.api.connector.sink2.CommitterInitContext;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.api.connector.sink2.SupportsCommitter;
import org.apache.flink.api.connector.sink2.SupportsWriterState;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.connector.jdbc.core.datastream.sink.JdbcSink;
import org.apache.flink.connector.jdbc.core.datastream.sink.committer.JdbcCommitable;
import org.apache.flink.connector.jdbc.core.datastream.sink.writer.JdbcWriter;
import org.apache.flink.connector.jdbc.core.datastream.sink.writer.JdbcWriterState;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.Collection;
import java.util.List;

/**
 * The connector's JDBC sink, except that closing its writer never throws. When the database goes away, the
 * writer's close() retries its last flush and throws; if that happens while the task is already failing,
 * Flink treats it as an error in its exception handler and stops the whole TaskManager. The rows of that
 * flush were never acknowledged by a checkpoint, so the job's restart writes them again (idempotently):
 * logging the failure loses nothing.
 */
final class CloseSafeJdbcSink<T> implements Sink<T>, SupportsWriterState<T, JdbcWriterState>,
        SupportsCommitter<JdbcCommitable> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(CloseSafeJdbcSink.class);

    private final JdbcSink<T> sink;

    CloseSafeJdbcSink(JdbcSink<T> sink) {
        this.sink = sink;
    }

    @Override
    public StatefulSinkWriter<T, JdbcWriterState> createWriter(WriterInitContext context) throws IOException {
        return new Writer<>(sink.createWriter(context));
    }

    @Override
    public StatefulSinkWriter<T, JdbcWriterState> restoreWriter(WriterInitContext context,
                                                                Collection<JdbcWriterState> state) throws IOException {
        return new Writer<>(sink.restoreWriter(context, state));
    }

    @Override
    public SimpleVersionedSerializer<JdbcWriterState> getWriterStateSerializer() {
        return sink.getWriterStateSerializer();
    }

    @Override
    public Committer<JdbcCommitable> createCommitter(CommitterInitContext context) throws IOException {
        return sink.createCommitter(context);
    }

    @Override
    public SimpleVersionedSerializer<JdbcCommitable> getCommittableSerializer() {
        return sink.getCommittableSerializer();
    }

    private static final class Writer<T> implements StatefulSinkWriter<T, JdbcWriterState>,
            CommittingSinkWriter<T, JdbcCommitable> {
        private final JdbcWriter<T> writer;

        Writer(JdbcWriter<T> writer) {
            this.writer = writer;
        }

        @Override
        public void write(T element, Context context) throws IOException, InterruptedException {
            writer.write(element, context);
        }

        @Override
        public void flush(boolean endOfInput) throws IOException, InterruptedException {
            writer.flush(endOfInput);
        }

        @Override
        public Collection<JdbcCommitable> prepareCommit() throws IOException, InterruptedException {
            return writer.prepareCommit();
        }

        @Override
        public List<JdbcWriterState> snapshotState(long checkpointId) throws IOException {
            return writer.snapshotState(checkpointId);
        }

        @Override
        public void close() {
            try {
                writer.close();
            } catch (Exception e) {
                LOG.warn("closing the JDBC writer failed; its unacknowledged rows are written again after the restart",
                        e);
            }
        }
    }
}
