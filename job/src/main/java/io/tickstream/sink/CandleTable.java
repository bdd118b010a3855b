package io.tickstream.sink;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.tickstream.model.BadRecord;
import io.tickstream.model.Candle;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.List;

/**
 * The candles_1m table: each candle is upserted (a minute's candle fires again for late trades, and the row always
 * holds the latest, complete one). One statement per row in a JDBC batch, not one multi-row INSERT: a batch may update
 * the same candle twice, which a single INSERT ... ON CONFLICT DO UPDATE refuses.
 */
public final class CandleTable implements TableWriter<Candle> {
    private static final long serialVersionUID = 1L;
    private static final JsonFactory JSON = new JsonFactory();

    public static final String UPSERT_CANDLE =
            "INSERT INTO candles_1m (bucket, exchange, symbol, open, high, low, close, volume, trades)"
                    + " VALUES (?, ?, ?, ?::numeric, ?::numeric, ?::numeric, ?::numeric, ?, ?)"
                    + " ON CONFLICT (exchange, symbol, bucket) DO UPDATE SET open = EXCLUDED.open, high = EXCLUDED.high,"
                    + " low = EXCLUDED.low, close = EXCLUDED.close, volume = EXCLUDED.volume, trades = EXCLUDED.trades";

    private transient PreparedStatement upsert;

    @Override
    public String table() {
        return "candles_1m";
    }

    @Override
    public void prepare(Connection connection) throws SQLException {
        upsert = connection.prepareStatement(UPSERT_CANDLE);
    }

    @Override
    public void write(Connection connection, List<Candle> candles) throws SQLException {
        for (Candle c : candles) {
            upsert.setTimestamp(1, new Timestamp(c.bucket()));
            upsert.setString(2, c.exchange());
            upsert.setString(3, c.symbol());
            upsert.setString(4, c.open());
            upsert.setString(5, c.high());
            upsert.setString(6, c.low());
            upsert.setString(7, c.close());
            upsert.setBigDecimal(8, c.volume());
            upsert.setLong(9, c.trades());
            upsert.addBatch();
        }
        try {
            upsert.executeBatch();
        } finally {
            upsert.clearBatch();
        }
        connection.commit();
    }

    @Override
    public BadRecord deadLetter(Candle c, String reason, String stage) {
        ByteArrayBuilder buffer = new ByteArrayBuilder(256);
        try (JsonGenerator g = JSON.createGenerator(buffer, JsonEncoding.UTF8)) {
            g.writeStartObject();
            g.writeStringField("exchange", c.exchange());
            g.writeStringField("symbol", c.symbol());
            g.writeNumberField("bucket", c.bucket());
            g.writeStringField("open", c.open());
            g.writeStringField("high", c.high());
            g.writeStringField("low", c.low());
            g.writeStringField("close", c.close());
            g.writeStringField("volume", c.volume().toPlainString());
            g.writeNumberField("trades", c.trades());
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return BadRecord.refused(
                stage,
                (c.exchange() + ':' + c.symbol()).getBytes(StandardCharsets.UTF_8),
                buffer.toByteArray(),
                reason,
                c.bucket());
    }

    @Override
    public void release() {
        upsert = null; // closed with its connection
    }
}
