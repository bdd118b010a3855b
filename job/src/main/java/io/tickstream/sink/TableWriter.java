package io.tickstream.sink;

import io.tickstream.model.BadRecord;
import java.io.Serializable;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import org.apache.flink.api.common.typeutils.TypeSerializer;

/**
 * How rows of one table are written, for {@link TableSinkOperator}: one instance per operator, used on its io thread
 * only (so it may keep buffers between batches).
 */
public interface TableWriter<T> extends Serializable {
    /** The table's name, for messages. */
    String table();

    /** Prepares a new connection (statements, session tables); called before its first write. */
    void prepare(Connection connection) throws SQLException;

    /**
     * Writes the rows and commits them. A row the table already holds is no error: every write is idempotent (a
     * replay after a restart writes rows again). On any error nothing of {@code rows} is committed.
     */
    void write(Connection connection, List<T> rows) throws SQLException;

    /** The dead letter of a row the database refused for its content, with that reason. */
    BadRecord deadLetter(T row, String reason, String stage);

    /** Closes what {@link #prepare} opened; the connection itself is closed by the caller. */
    default void release() {}

    /**
     * How a checkpoint keeps the rows not yet committed when its barrier passes, so that the barrier need not wait
     * for the database (they are written after a restore; writes are idempotent); null: the checkpoint waits until
     * they are committed. Worth it where the wait would hold a busy task, and the rows' serializer is versioned.
     */
    default TypeSerializer<T> pendingRowsSerializer() {
        return null;
    }
}
