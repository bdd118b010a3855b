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
 * @param incidentId the incident this alert belongs to: the id of the first alert of the instrument's episode that
 *     this one joined (alerts on one instrument less than the price window apart); null when the detector does not
 *     correlate its alerts, and then the alert is an incident of its own ({@link #incident()})
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
        String details,
        String incidentId) {

    /** An alert not (yet) correlated with others. */
    public Anomaly(
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
        this(
                id,
                exchange,
                symbol,
                type,
                ts,
                price,
                refPrice,
                changePct,
                windowMs,
                zscore,
                tradeId,
                recvTs,
                detectedAt,
                details,
                null);
    }

    /** This alert in the given incident. */
    public Anomaly withIncident(String incident) {
        return new Anomaly(
                id,
                exchange,
                symbol,
                type,
                ts,
                price,
                refPrice,
                changePct,
                windowMs,
                zscore,
                tradeId,
                recvTs,
                detectedAt,
                details,
                incident);
    }

    /** The incident this alert belongs to: its own id when it was not correlated with an earlier alert. */
    public String incident() {
        return incidentId != null ? incidentId : id;
    }

    /** The deterministic id of the anomaly of this type raised by this trade. */
    public static String idFor(AnomalyType type, String exchange, String symbol, String tradeId, long ts) {
        String name = type.name() + '|' + exchange + '|' + symbol + '|' + tradeId + '|' + ts;
        return UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8)).toString();
    }

    public String instrument() {
        return exchange + ':' + symbol;
    }
}
