package io.tickstream.serde;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.tickstream.model.Tick;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Writes a tick as tick JSON v1 (docs/contracts.md), fields in the contract's order: how a tick the database refused
 * reaches the dead-letter topic, ready to be sent to the ticks topic again once the cause is fixed. Rare, so it may
 * allocate.
 */
public final class TickJson {
    private static final JsonFactory JSON = new JsonFactory();

    private TickJson() {}

    public static byte[] toBytes(Tick t) {
        ByteArrayBuilder buffer = new ByteArrayBuilder(192);
        try (JsonGenerator g = JSON.createGenerator(buffer, JsonEncoding.UTF8)) {
            g.writeStartObject();
            g.writeNumberField("v", 1);
            g.writeStringField("exchange", t.exchange());
            g.writeStringField("symbol", t.symbol());
            g.writeStringField("trade_id", t.tradeId());
            g.writeStringField("price", t.price());
            g.writeStringField("size", t.size());
            g.writeStringField("side", t.side().json());
            g.writeNumberField("ts", t.ts());
            g.writeNumberField("recv_ts", t.recvTs());
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return buffer.toByteArray();
    }
}
