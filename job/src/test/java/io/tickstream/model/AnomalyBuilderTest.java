package io.tickstream.model;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tickstream.testutils.TestTicks;
import org.junit.jupiter.api.Test;

class AnomalyBuilderTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void anAlertTakesItsInstrumentPriceTradeAndIdFromTheTickThatRaisedIt() {
        Tick tick = TestTicks.tick("kraken", "BTC-USD", "42", TestTicks.T0, "67100.5", "0.25");
        Anomaly alert = Anomaly.raisedBy(AnomalyType.PRICE_SPIKE, tick, 99L)
                .refPrice("66000")
                .changePct(1.6667)
                .windowMs(60_000)
                .build();

        assertThat(alert)
                .isEqualTo(new Anomaly(
                        Anomaly.idFor(AnomalyType.PRICE_SPIKE, "kraken", "BTC-USD", "42", TestTicks.T0),
                        "kraken",
                        "BTC-USD",
                        AnomalyType.PRICE_SPIKE,
                        TestTicks.T0,
                        "67100.5",
                        "66000",
                        1.6667,
                        60_000L,
                        null,
                        "42",
                        tick.recvTs(),
                        99L,
                        null));
    }

    @Test
    void anotherInstrumentAndTypedDetailsWrittenAsOneJsonObjectWhateverTheTextHolds() throws Exception {
        Tick tick = TestTicks.tick("binance", "BTC-USDT", "7", TestTicks.T0, "100", "1");
        String awkward = "a\"b\\c\n\u0001é";
        Anomaly alert = Anomaly.raisedBy(AnomalyType.CROSS_VENUE_DIVERGENCE, tick, 5L)
                .on("coinbase", awkward, "t-9", "101.5")
                .detail("asset", awkward)
                .detail("divergence_pct", 1.25)
                .detail("venues", 3L)
                .build();

        assertThat(alert.exchange()).isEqualTo("coinbase");
        assertThat(alert.symbol()).isEqualTo(awkward);
        assertThat(alert.tradeId()).isEqualTo("t-9");
        assertThat(alert.price()).isEqualTo("101.5");
        assertThat(alert.id())
                .isEqualTo(Anomaly.idFor(AnomalyType.CROSS_VENUE_DIVERGENCE, "coinbase", awkward, "t-9", TestTicks.T0));
        JsonNode details = JSON.readTree(alert.details());
        assertThat(details.get("asset").asText()).isEqualTo(awkward);
        assertThat(details.get("divergence_pct").doubleValue()).isEqualTo(1.25);
        assertThat(details.get("venues").isIntegralNumber()).isTrue();
        assertThat(details.fieldNames()).toIterable().containsExactly("asset", "divergence_pct", "venues");
    }
}
