package io.tickstream.serde;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.tickstream.model.Anomaly;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Writes anomaly JSON v1 (README, "Anomalies"), field order as in the contract, then `incident_id` (added in 0.2: the
 * id of the incident the alert belongs to, its own id when it stands alone) and `details` when a detector has any.
 */
public final class AnomalyJson {
    private static final JsonFactory JSON = new JsonFactory();

    private AnomalyJson() {}

    public static byte[] toBytes(Anomaly a) {
        ByteArrayBuilder buffer = new ByteArrayBuilder(384);
        try (JsonGenerator g = JSON.createGenerator(buffer, JsonEncoding.UTF8)) {
            g.writeStartObject();
            g.writeNumberField("v", 1);
            g.writeStringField("id", a.id());
            g.writeStringField("exchange", a.exchange());
            g.writeStringField("symbol", a.symbol());
            g.writeStringField("type", a.type().name());
            g.writeNumberField("ts", a.ts());
            g.writeStringField("price", a.price());
            nullableString(g, "ref_price", a.refPrice());
            g.writeFieldName("change_pct");
            if (a.changePct() == null) {
                g.writeNull();
            } else {
                g.writeNumber(a.changePct());
            }
            g.writeFieldName("window_ms");
            if (a.windowMs() == null) {
                g.writeNull();
            } else {
                g.writeNumber(a.windowMs());
            }
            g.writeFieldName("zscore");
            if (a.zscore() == null) {
                g.writeNull();
            } else {
                g.writeNumber(a.zscore());
            }
            nullableString(g, "trade_id", a.tradeId());
            g.writeNumberField("detected_at", a.detectedAt());
            g.writeStringField("incident_id", a.incident());
            if (a.details() != null) {
                g.writeFieldName("details");
                g.writeRawValue(a.details());
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return buffer.toByteArray();
    }

    private static void nullableString(JsonGenerator g, String name, String value) throws IOException {
        if (value == null) {
            g.writeNullField(name);
        } else {
            g.writeStringField(name, value);
        }
    }
}
