package io.tickstream.sink;

import io.tickstream.model.Anomaly;
import io.tickstream.model.BadRecord;
import io.tickstream.serde.AnomalyJson;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.util.List;

/** The anomalies table: each alert once (its id is deterministic, so a replay's alerts are the rows already there). */
public final class AnomalyTable implements TableWriter<Anomaly> {
    private static final long serialVersionUID = 1L;

    public static final String INSERT_ANOMALY =
            "INSERT INTO anomalies (time, id, exchange, symbol, type, price, ref_price,"
                    + " change_pct, zscore, window_ms, trade_id, detected_at, details, incident_id)"
                    + " VALUES (?, ?, ?, ?, ?, ?::numeric, ?::numeric, ?, ?, ?, ?, ?, ?::jsonb, ?) ON CONFLICT DO NOTHING";

    private transient PreparedStatement insert;

    @Override
    public String table() {
        return "anomalies";
    }

    @Override
    public void prepare(Connection connection) throws SQLException {
        insert = connection.prepareStatement(INSERT_ANOMALY);
    }

    @Override
    public void write(Connection connection, List<Anomaly> anomalies) throws SQLException {
        for (Anomaly a : anomalies) {
            insert.setTimestamp(1, new Timestamp(a.ts()));
            insert.setString(2, a.id());
            insert.setString(3, a.exchange());
            insert.setString(4, a.symbol());
            insert.setString(5, a.type().name());
            insert.setString(6, a.price());
            insert.setString(7, a.refPrice());
            setDouble(insert, 8, a.changePct());
            setDouble(insert, 9, a.zscore());
            if (a.windowMs() == null) {
                insert.setNull(10, Types.BIGINT);
            } else {
                insert.setLong(10, a.windowMs());
            }
            insert.setString(11, a.tradeId());
            insert.setTimestamp(12, new Timestamp(a.detectedAt()));
            insert.setString(13, a.details());
            insert.setString(14, a.incident());
            insert.addBatch();
        }
        try {
            insert.executeBatch();
        } finally {
            insert.clearBatch();
        }
        connection.commit();
    }

    private static void setDouble(PreparedStatement ps, int index, Double value) throws SQLException {
        if (value == null) {
            ps.setNull(index, Types.DOUBLE);
        } else {
            ps.setDouble(index, value);
        }
    }

    @Override
    public BadRecord deadLetter(Anomaly a, String reason, String stage) {
        return BadRecord.refused(
                stage, a.instrument().getBytes(StandardCharsets.UTF_8), AnomalyJson.toBytes(a), reason, a.ts());
    }

    @Override
    public void release() {
        insert = null; // closed with its connection
    }
}
