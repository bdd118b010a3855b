package io.tickstream.serde;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tickstream.model.Anomaly;
import io.tickstream.model.AnomalyType;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AnomalyJsonTest {
    /** The fields of anomaly JSON v1, in the contract's order (docs/contracts.md). */
    /** The v1 contract's fields, then incident_id (added in release 0.2: a consumer of v1 ignores fields it does not know). */
    private static final List<String> V1_FIELDS = List.of(
            "v",
            "id",
            "exchange",
            "symbol",
            "type",
            "ts",
            "price",
            "ref_price",
            "change_pct",
            "window_ms",
            "zscore",
            "trade_id",
            "detected_at",
            "incident_id");

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    @Test
    void priceSpikeHasExactlyTheContractFieldsAndValues() throws Exception {
        String id = Anomaly.idFor(AnomalyType.PRICE_SPIKE, "binance", "BTC-USDT", "3456789012", 1732500000123L);
        Anomaly a = new Anomaly(
                id,
                "binance",
                "BTC-USDT",
                AnomalyType.PRICE_SPIKE,
                1732500000123L,
                "68500.00",
                "67100.00",
                2.09,
                60_000L,
                null,
                "3456789012",
                1732500000150L,
                1732500000171L,
                null);

        JsonNode json = MAPPER.readTree(AnomalyJson.toBytes(a));

        assertThat(fieldNames(json)).containsExactlyElementsOf(V1_FIELDS);
        assertThat(json.get("v").isInt()).isTrue();
        assertThat(json.get("v").intValue()).isEqualTo(1);
        assertThat(json.get("id").textValue()).isEqualTo(id);
        assertThat(json.get("exchange").textValue()).isEqualTo("binance");
        assertThat(json.get("symbol").textValue()).isEqualTo("BTC-USDT");
        assertThat(json.get("type").textValue()).isEqualTo("PRICE_SPIKE");
        assertThat(json.get("ts").longValue()).isEqualTo(1732500000123L);
        assertThat(json.get("price").isTextual()).isTrue();
        assertThat(json.get("price").textValue()).isEqualTo("68500.00");
        assertThat(json.get("ref_price").textValue()).isEqualTo("67100.00");
        assertThat(json.get("change_pct").isNumber()).isTrue();
        assertThat(json.get("change_pct").doubleValue()).isEqualTo(2.09);
        assertThat(json.get("window_ms").longValue()).isEqualTo(60_000L);
        assertThat(json.get("zscore").isNull()).isTrue();
        assertThat(json.get("trade_id").textValue()).isEqualTo("3456789012");
        assertThat(json.get("detected_at").longValue()).isEqualTo(1732500000171L);
        assertThat(json.has("recv_ts"))
                .as("recvTs is internal, not part of the JSON")
                .isFalse();
        assertThat(json.get("incident_id").textValue())
                .as("an alert standing alone is its own incident")
                .isEqualTo(id);
    }

    @Test
    void anAlertInAnIncidentCarriesTheIncidentsId() throws Exception {
        Anomaly a = new Anomaly(
                        "id-3",
                        "binance",
                        "BTC-USDT",
                        AnomalyType.VOLUME_SPIKE,
                        1732500000000L,
                        "67000",
                        null,
                        950.5,
                        4_000L,
                        null,
                        "42",
                        1L,
                        2L,
                        null)
                .withIncident("id-1");
        JsonNode json = MAPPER.readTree(AnomalyJson.toBytes(a));
        assertThat(json.get("id").textValue()).isEqualTo("id-3");
        assertThat(json.get("incident_id").textValue()).isEqualTo("id-1");
    }

    @Test
    void fieldsThatDoNotApplyAreJsonNullNotMissing() throws Exception {
        Anomaly a = new Anomaly(
                "id-1",
                "kraken",
                "ETH-EUR",
                AnomalyType.RETURN_ZSCORE,
                1732500000000L,
                "3000.1",
                null,
                null,
                null,
                -9.5,
                null,
                1L,
                2L,
                null);

        JsonNode json = MAPPER.readTree(AnomalyJson.toBytes(a));

        assertThat(fieldNames(json)).containsExactlyElementsOf(V1_FIELDS);
        assertThat(json.get("ref_price").isNull()).isTrue();
        assertThat(json.get("change_pct").isNull()).isTrue();
        assertThat(json.get("window_ms").isNull()).isTrue();
        assertThat(json.get("trade_id").isNull()).isTrue();
        assertThat(json.get("zscore").doubleValue()).isEqualTo(-9.5);
        assertThat(json.get("type").textValue()).isEqualTo("RETURN_ZSCORE");
    }

    @Test
    void detailsComeLastAsANestedObject() throws Exception {
        Anomaly a = new Anomaly(
                "id-2",
                "binance",
                "BTC-USDT",
                AnomalyType.VOLUME_SPIKE,
                1732500000000L,
                "67000",
                null,
                950.5,
                10_000L,
                null,
                "42",
                1L,
                2L,
                "{\"bucket_start\":1732500000000,\"ratio\":10.505}");

        JsonNode json = MAPPER.readTree(AnomalyJson.toBytes(a));

        List<String> expected = new ArrayList<>(V1_FIELDS);
        expected.add("details");
        assertThat(fieldNames(json)).containsExactlyElementsOf(expected);
        assertThat(json.get("details").isObject()).isTrue();
        assertThat(json.get("details").get("bucket_start").longValue()).isEqualTo(1732500000000L);
        assertThat(json.get("details").get("ratio").doubleValue()).isEqualTo(10.505);
    }

    @Test
    void textsWithQuotesAreEscaped() throws Exception {
        Anomaly a = new Anomaly(
                "i\"d",
                "binance",
                "BTC-USDT",
                AnomalyType.PRICE_DROP,
                1L,
                "1",
                "2",
                -1.0,
                1L,
                null,
                "a\\b\"c",
                1L,
                2L,
                null);
        JsonNode json = MAPPER.readTree(AnomalyJson.toBytes(a));
        assertThat(json.get("id").textValue()).isEqualTo("i\"d");
        assertThat(json.get("trade_id").textValue()).isEqualTo("a\\b\"c");
    }

    @Test
    void idIsDeterministicAndDependsOnEveryPart() {
        String id = Anomaly.idFor(AnomalyType.PRICE_SPIKE, "binance", "BTC-USDT", "1", 5L);
        assertThat(Anomaly.idFor(AnomalyType.PRICE_SPIKE, "binance", "BTC-USDT", "1", 5L))
                .isEqualTo(id);
        assertThat(List.of(
                        Anomaly.idFor(AnomalyType.PRICE_DROP, "binance", "BTC-USDT", "1", 5L),
                        Anomaly.idFor(AnomalyType.PRICE_SPIKE, "kraken", "BTC-USDT", "1", 5L),
                        Anomaly.idFor(AnomalyType.PRICE_SPIKE, "binance", "ETH-USDT", "1", 5L),
                        Anomaly.idFor(AnomalyType.PRICE_SPIKE, "binance", "BTC-USDT", "2", 5L),
                        Anomaly.idFor(AnomalyType.PRICE_SPIKE, "binance", "BTC-USDT", "1", 6L)))
                .doesNotContain(id)
                .doesNotHaveDuplicates();
    }
}
