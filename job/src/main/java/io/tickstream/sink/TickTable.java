package io.tickstream.sink;

import io.tickstream.model.BadRecord;
import io.tickstream.model.Tick;
import io.tickstream.model.TickSerializer;
import io.tickstream.serde.TickJson;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.List;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyManager;

/**
 * The ticks table: each batch is one binary COPY straight into the table ({@link CopyRows}), the database's cheapest
 * ingest path (see the benchmark's ceilings; binding eight parameters per row was a fifth of the TaskManager's time,
 * and parsing text timestamps and decimals the largest part of PostgreSQL's). A batch holding a row
 * the table already has (a replay after a restart, a venue's duplicate) fails that COPY as a whole on the unique key;
 * it is then written again through a session-private staging table and {@code INSERT ... SELECT ... ON CONFLICT DO
 * NOTHING}, so a replay never duplicates a row.
 */
public final class TickTable implements TableWriter<Tick> {
    private static final long serialVersionUID = 1L;

    public static final String COPY_TICKS =
            "COPY ticks (time, exchange, symbol, trade_id, price, size, side, recv_time) FROM STDIN (FORMAT binary)";
    public static final String CREATE_STAGING =
            "CREATE TEMP TABLE IF NOT EXISTS tick_rows (LIKE ticks INCLUDING DEFAULTS) ON COMMIT DELETE ROWS";
    public static final String COPY_STAGING =
            "COPY tick_rows (time, exchange, symbol, trade_id, price, size, side, recv_time) FROM STDIN (FORMAT binary)";
    public static final String INSERT_FROM_STAGING =
            "INSERT INTO ticks (time, exchange, symbol, trade_id, price, size, side, recv_time)"
                    + " SELECT time, exchange, symbol, trade_id, price, size, side, recv_time FROM tick_rows"
                    + " ON CONFLICT DO NOTHING";

    private transient CopyRows rows;
    private transient CopyManager copy;
    private transient PreparedStatement insertFromStaging;

    /** The ticks' sink shares the source's task: a checkpoint keeps its uncommitted rows rather than wait for them. */
    @Override
    public TypeSerializer<Tick> pendingRowsSerializer() {
        return new TickSerializer();
    }

    @Override
    public String table() {
        return "ticks";
    }

    @Override
    public void prepare(Connection connection) throws SQLException {
        try (PreparedStatement create = connection.prepareStatement(CREATE_STAGING)) {
            create.execute();
        }
        connection.commit();
        copy = connection.unwrap(PGConnection.class).getCopyAPI();
        insertFromStaging = connection.prepareStatement(INSERT_FROM_STAGING);
        if (rows == null) {
            rows = new CopyRows();
        }
    }

    @Override
    public void write(Connection connection, List<Tick> ticks) throws SQLException {
        rows.clear();
        for (int i = 0, n = ticks.size(); i < n; i++) {
            rows.add(ticks.get(i));
        }
        write(connection, copy, insertFromStaging, rows);
    }

    /**
     * Writes the encoded batch and commits it: one COPY into the ticks table, or, when a row is already there, through
     * the staging table with {@code insertFromStaging} ({@link #INSERT_FROM_STAGING}), which skips the rows present.
     * Public so the ingest benchmark writes exactly as the job does.
     */
    public static void write(
            Connection connection, CopyManager copy, PreparedStatement insertFromStaging, CopyRows rows)
            throws SQLException {
        if (!copy(connection, copy.copyIn(COPY_TICKS), rows)) {
            copy(connection, copy.copyIn(COPY_STAGING), rows);
            insertFromStaging.executeUpdate();
        }
        connection.commit();
    }

    /**
     * Writes {@code rows} into {@code in}, a COPY just begun ({@link #COPY_TICKS} or {@link #COPY_STAGING}); false when
     * a row violates the ticks' unique key (the transaction is then rolled back).
     */
    public static boolean copy(Connection connection, CopyIn in, CopyRows rows) throws SQLException {
        try {
            in.writeToCopy(rows.bytes(), 0, rows.length());
            in.endCopy();
            return true;
        } catch (SQLException e) {
            if (in.isActive()) {
                in.cancelCopy();
            }
            if (SqlErrors.UNIQUE_VIOLATION.equals(SqlErrors.sqlState(e))) {
                connection.rollback();
                return false;
            }
            throw e;
        }
    }

    @Override
    public BadRecord deadLetter(Tick tick, String reason, String stage) {
        return BadRecord.refused(
                stage, tick.instrument().getBytes(StandardCharsets.UTF_8), TickJson.toBytes(tick), reason, tick.ts());
    }

    @Override
    public void release() {
        if (insertFromStaging != null) {
            try {
                insertFromStaging.close();
            } catch (SQLException e) {
                // the connection is going anyway
            }
        }
        copy = null;
        insertFromStaging = null;
    }
}
