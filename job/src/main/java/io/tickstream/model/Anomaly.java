package io.tickstream.model;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
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

    /**
     * The alert of {@code type} raised by {@code tick} at wall-clock time {@code detectedAt}: on the tick's instrument,
     * price and trade unless {@link Builder#on} says otherwise; its id follows from the type and that trade.
     */
    public static Builder raisedBy(AnomalyType type, Tick tick, long detectedAt) {
        return new Builder(type, tick, detectedAt);
    }

    /**
     * The fields of one alert by name, and its details as typed fields written as a JSON object in the order added
     * (alerts are rare: the allocation is fine).
     */
    public static final class Builder {
        private static final JsonFactory JSON = new JsonFactory();

        private final AnomalyType type;
        private final Tick tick;
        private final long detectedAt;
        private String exchange;
        private String symbol;
        private String tradeId;
        private String price;
        private String refPrice;
        private Double changePct;
        private Long windowMs;
        private Double zscore;
        private StringWriter details;
        private JsonGenerator detailsJson;

        private Builder(AnomalyType type, Tick tick, long detectedAt) {
            this.type = type;
            this.tick = tick;
            this.detectedAt = detectedAt;
            this.exchange = tick.exchange();
            this.symbol = tick.symbol();
            this.tradeId = tick.tradeId();
            this.price = tick.price();
        }

        /** Raised on another instrument than the tick's (the venue out of line when another venue's trade showed it). */
        public Builder on(String exchange, String symbol, String tradeId, String price) {
            this.exchange = exchange;
            this.symbol = symbol;
            this.tradeId = tradeId;
            this.price = price;
            return this;
        }

        public Builder refPrice(String refPrice) {
            this.refPrice = refPrice;
            return this;
        }

        public Builder changePct(double changePct) {
            this.changePct = changePct;
            return this;
        }

        public Builder windowMs(long windowMs) {
            this.windowMs = windowMs;
            return this;
        }

        public Builder zscore(double zscore) {
            this.zscore = zscore;
            return this;
        }

        public Builder detail(String name, String value) {
            try {
                details().writeStringField(name, value);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return this;
        }

        public Builder detail(String name, double value) {
            try {
                details().writeNumberField(name, value);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return this;
        }

        /** A decimal written as a plain JSON number ("67100", never "6.71E+4"): prices as venues write them. */
        public Builder detail(String name, BigDecimal value) {
            try {
                details().writeFieldName(name);
                details().writeNumber(value.toPlainString());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return this;
        }

        public Builder detail(String name, long value) {
            try {
                details().writeNumberField(name, value);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return this;
        }

        private JsonGenerator details() throws IOException {
            if (detailsJson == null) {
                details = new StringWriter(192);
                detailsJson = JSON.createGenerator(details);
                detailsJson.writeStartObject();
            }
            return detailsJson;
        }

        public Anomaly build() {
            String detailsText = null;
            if (detailsJson != null) {
                try {
                    detailsJson.writeEndObject();
                    detailsJson.close();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                detailsText = details.toString();
            }
            return new Anomaly(
                    idFor(type, exchange, symbol, tradeId, tick.ts()),
                    exchange,
                    symbol,
                    type,
                    tick.ts(),
                    price,
                    refPrice,
                    changePct,
                    windowMs,
                    zscore,
                    tradeId,
                    tick.recvTs(),
                    detectedAt,
                    detailsText);
        }
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
