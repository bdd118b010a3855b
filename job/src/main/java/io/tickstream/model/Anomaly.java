package io.tickstream.model;

import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * An alert raised by a detector (anomaly JSON v1). Fields that do not apply to a type are null.
 *
 * @param id deterministic: derived from the type and the tick that raised it, so a replay or a restart
 *     from a checkpoint yields the same id
 * @param ts trade time of the tick that raised it
 * @param recvTs when the producer received that tick (for latency metrics; not part of the JSON)
 * @param detectedAt wall-clock time the detector raised it
 * @param details detector-specific extras as a JSON object text, or null
 */
public record Anomaly(
        String id,
        String exchange,
        String symbol,
        AnomalyType type,
        long ts,
        String price,
        String refPrice,
        Double changePct,
        Long windowMs,
        Double zscore,
        String tradeId,
        long recvTs,
        long detectedAt,
        String details) {

    /** The deterministic id of the anomaly of this type raised by this trade. */
    public static String idFor(AnomalyType type, String exchange, String symbol, String tradeId, long ts) {
        String name = type.name() + '|' + exchange + '|' + symbol + '|' + tradeId + '|' + ts;
        return UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8)).toString();
    }

    public String instrument() {
        return exchange + ':' + symbol;
    }
}
