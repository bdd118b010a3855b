package io.tickstream.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tickstream.config.ConfigException;
import io.tickstream.config.JobConfig;
import io.tickstream.model.Tick;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The tick contract shared with the producers: every case of {@code contract/tick-contract-cases.jsonl} (a record
 * key and value, the parser's clock, and whether the job takes it) through the job's parser. The producers' tests
 * read the same file (producers/tests/test_tick_contract.py), so both sides are proven to agree; a case marked
 * {@code "producers": "reject"} is one the producers are stricter about than the parser (a trade time 5 to 10 s
 * past its receive time). The parser is the job's with its default parameters. An accepted record's values reach the tick unchanged (a trade id such as {@code x\}
 * or {@code \N} included).
 */
class TickContractCorpusTest {
    private static final String CORPUS = "/contract/tick-contract-cases.jsonl";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The job as it runs with its defaults (venues, clock skew, trade-ahead bound, record size). */
    private static final JobConfig DEFAULTS;

    static {
        try {
            DEFAULTS = JobConfig.parse(new String[0], Map.of(JobConfig.JDBC_PASSWORD_ENV, "unused"));
        } catch (ConfigException e) {
            throw new IllegalStateException(e);
        }
    }

    static List<JsonNode> cases() {
        List<JsonNode> cases = new ArrayList<>();
        try (InputStream in = TickContractCorpusTest.class.getResourceAsStream(CORPUS)) {
            assertThat(in).as(CORPUS).isNotNull();
            BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                if (!line.isBlank()) {
                    cases.add(JSON.readTree(line));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return cases;
    }

    static Stream<Arguments> corpus() {
        return cases().stream().map(c -> arguments(c.get("case").asText(), c));
    }

    @Test
    void theCorpusHoldsAcceptedAndRefusedCases() {
        List<JsonNode> cases = cases();
        assertThat(cases).hasSizeGreaterThanOrEqualTo(150);
        assertThat(cases.stream()
                        .filter(c -> c.get("expect").asText().equals("accept"))
                        .count())
                .isGreaterThanOrEqualTo(30);
        assertThat(cases).allSatisfy(c -> assertThat(c.get("expect").asText()).isIn("accept", "reject"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void theJobParserDecidesAsTheCorpusSays(String name, JsonNode c) throws IOException {
        TickParser parser = TickSource.parser(DEFAULTS);
        byte[] key = c.get("key").isNull() ? null : c.get("key").asText().getBytes(StandardCharsets.UTF_8);
        String value = c.get("value").asText();
        Tick tick;
        String refusal = null;
        try {
            tick = parser.parse(
                    key, value.getBytes(StandardCharsets.UTF_8), c.get("now").asLong());
        } catch (BadTickException e) {
            tick = null;
            refusal = e.getMessage();
        }
        if (c.get("expect").asText().equals("reject")) {
            assertThat(tick)
                    .as("accepted a record the corpus says the job refuses")
                    .isNull();
            assertThat(refusal).isNotBlank();
            return;
        }
        assertThat(refusal).as("refused a record the corpus says the job takes").isNull();
        JsonNode fields = JSON.readTree(value);
        assertThat(tick.exchange()).isEqualTo(fields.get("exchange").asText());
        assertThat(tick.symbol()).isEqualTo(fields.get("symbol").asText());
        assertThat(tick.tradeId()).isEqualTo(fields.get("trade_id").asText());
        assertThat(tick.price()).isEqualTo(fields.get("price").asText());
        assertThat(tick.size()).isEqualTo(fields.get("size").asText());
        assertThat(tick.side().json()).isEqualTo(fields.get("side").asText());
        assertThat(tick.ts()).isEqualTo(fields.get("ts").asLong());
        assertThat(tick.recvTs()).isEqualTo(fields.get("recv_ts").asLong());
        assertThat(tick.instrument()).isEqualTo(c.get("key").asText());
    }
}
