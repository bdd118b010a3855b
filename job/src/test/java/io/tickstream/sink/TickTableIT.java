package io.tickstream.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tickstream.model.Side;
import io.tickstream.model.Tick;
import io.tickstream.testutils.LocalStack;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

/** The ticks table's batch writes on a real PostgreSQL with the project's schema. */
class TickTableIT {
    private static LocalStack stack;

    @BeforeAll
    static void startStack() throws Exception {
        stack = LocalStack.get();
    }

    /** A symbol unique to one test run, so runs against the same database do not meet. */
    private static String symbol() {
        Random r = new Random();
        StringBuilder base = new StringBuilder("CT");
        for (int i = 0; i < 6; i++) {
            base.append((char) ('A' + r.nextInt(26)));
        }
        return base + "-USD";
    }

    private static Tick tick(String symbol, int id, long ts) {
        return new Tick(
                "kraken",
                symbol,
                Integer.toString(id),
                id,
                "67123.45000",
                67123.45,
                "0.00012300",
                0.000123,
                id % 2 == 0 ? Side.BUY : Side.SELL,
                ts,
                ts + 27);
    }

    private static void write(Connection c, List<Tick> ticks) throws SQLException {
        CopyRows rows = new CopyRows();
        ticks.forEach(rows::add);
        CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
        try (PreparedStatement insert = c.prepareStatement(TickTable.INSERT_FROM_STAGING)) {
            TickTable.write(c, copy, insert, rows);
        }
    }

    private static Connection connect() throws SQLException {
        Connection c = stack.connect();
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
            s.execute(TickTable.CREATE_STAGING);
        }
        c.commit();
        return c;
    }

    @Test
    void rowsKeepEveryValueExactlyWhateverTheSessionTimeZone() throws Exception {
        String symbol = symbol();
        long ts = 1732500000123L; // 2024-11-25 02:00:00.123 UTC
        try (Connection c = connect();
                Statement s = c.createStatement()) {
            s.execute("SET TIME ZONE 'America/New_York'");
            write(c, List.of(tick(symbol, 7, ts), tick(symbol, 8, ts - 86_400_000L - 1)));
            try (ResultSet rs = s.executeQuery("SELECT exchange, trade_id, price::text, size::text, side,"
                    + " (extract(epoch from time) * 1000)::bigint, (extract(epoch from recv_time) * 1000)::bigint"
                    + " FROM ticks WHERE symbol = '" + symbol + "' ORDER BY trade_id")) {
                List<String> rows = new ArrayList<>();
                while (rs.next()) {
                    rows.add(String.join(
                            " ",
                            rs.getString(1),
                            rs.getString(2),
                            rs.getString(3),
                            rs.getString(4),
                            rs.getString(5),
                            rs.getString(6),
                            rs.getString(7)));
                }
                assertThat(rows)
                        .containsExactly(
                                "kraken 7 67123.45000 0.00012300 sell 1732500000123 1732500000150",
                                "kraken 8 67123.45000 0.00012300 buy 1732413600122 1732413600149");
            }
        }
    }

    @Test
    void aBatchWithRowsAlreadyWrittenAddsOnlyTheNewOnes() throws Exception {
        String symbol = symbol();
        long ts = System.currentTimeMillis();
        List<Tick> first = new ArrayList<>();
        List<Tick> replayed = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            first.add(tick(symbol, i, ts + i));
        }
        for (int i = 50; i < 150; i++) { // half of it a replay of the first batch
            replayed.add(tick(symbol, i, ts + i));
        }
        try (Connection c = connect();
                Statement s = c.createStatement()) {
            write(c, first);
            write(c, replayed);
            write(c, replayed);
            try (ResultSet rs = s.executeQuery(
                    "SELECT count(*), count(DISTINCT trade_id) FROM ticks WHERE symbol = '" + symbol + "'")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getLong(1)).isEqualTo(150);
                assertThat(rs.getLong(2)).isEqualTo(150);
            }
        }
    }

    private static Tick priced(String symbol, int id, long ts, String price, String size) {
        return new Tick("kraken", symbol, Integer.toString(id), id, price, 1, size, 1, Side.BUY, ts, ts);
    }

    /** Decimals go as numeric's binary form (base-10000 digits, weight, scale): each must read back as sent. */
    @Test
    void decimalsAreStoredWithTheirExactValueAndScale() throws Exception {
        List<String> decimals = new ArrayList<>(List.of(
                "0",
                "0.0",
                "0.00000000",
                "1",
                "9999",
                "10000",
                "10001",
                "99999999",
                "100000000",
                "0.0001",
                "0.00001",
                "0.000100",
                "1.0000",
                "12345.6789",
                "67123.45000",
                "0.00012300",
                "007.50",
                "0000",
                "-0",
                "-0.00",
                "-12.5",
                "1000000000000000000000000000000000000000",
                "9999999999999999999999999999999999999999",
                "0.000000000000000000000000000000000000001",
                "123456789012345678901.123456789012345678"));
        Random random = new Random(20261201);
        for (int i = 0; i < 3000; i++) {
            StringBuilder d = new StringBuilder();
            int whole = 1 + random.nextInt(20), fraction = random.nextInt(4) == 0 ? 0 : 1 + random.nextInt(19);
            for (int k = 0; k < whole; k++) {
                d.append((char) ('0' + (random.nextInt(3) == 0 ? 0 : random.nextInt(10))));
            }
            if (fraction > 0) {
                d.append('.');
                for (int k = 0; k < fraction; k++) {
                    d.append((char) ('0' + (random.nextInt(3) == 0 ? 0 : random.nextInt(10))));
                }
            }
            decimals.add(d.toString());
        }
        String symbol = symbol();
        long ts = System.currentTimeMillis();
        List<Tick> ticks = new ArrayList<>();
        for (int i = 0; i < decimals.size(); i++) {
            ticks.add(priced(symbol, i, ts, decimals.get(i), decimals.get(decimals.size() - 1 - i)));
        }
        try (Connection c = connect();
                Statement s = c.createStatement()) {
            write(c, ticks);
            try (ResultSet rs =
                    s.executeQuery("SELECT trade_id::int, price::text, size::text FROM ticks WHERE symbol = '" + symbol
                            + "' ORDER BY 1")) {
                int n = 0;
                while (rs.next()) {
                    int i = rs.getInt(1);
                    assertThat(rs.getString(2))
                            .as("price %s", decimals.get(i))
                            .isEqualTo(new BigDecimal(decimals.get(i)).toPlainString());
                    assertThat(rs.getString(3))
                            .as("size %s", decimals.get(decimals.size() - 1 - i))
                            .isEqualTo(new BigDecimal(decimals.get(decimals.size() - 1 - i)).toPlainString());
                    n++;
                }
                assertThat(n).isEqualTo(decimals.size());
            }
        }
    }

    /**
     * What binary COPY cannot carry is refused by the database as a data exception (class 22), so the sink
     * dead-letters the row as it did with text COPY: a decimal that is not a plain decimal string, a NUL in a text.
     */
    @Test
    void valuesTheDatabaseCannotTakeAreRefusedAsBadData() throws Exception {
        String symbol = symbol();
        long ts = System.currentTimeMillis();
        List<Tick> refused = List.of(
                priced(symbol, 1, ts, "1e5", "1"),
                priced(symbol, 2, ts, "1", "NaN"),
                priced(symbol, 3, ts, "", "1"),
                priced(symbol, 4, ts, "1.", "1"),
                priced(symbol, 5, ts, "1", ".5"),
                priced(symbol, 6, ts, "1", "1".repeat(140_000)),
                new Tick("kraken", symbol, "nul\0in", 7, "1", 1, "1", 1, Side.BUY, ts, ts));
        try (Connection c = connect()) {
            for (Tick t : refused) {
                assertThatThrownBy(() -> write(c, List.of(t)))
                        .as("%s", t)
                        .isInstanceOfSatisfying(
                                SQLException.class,
                                e -> assertThat(SqlErrors.refusesTheRows(e))
                                        .as("%s: %s", t, e.getSQLState())
                                        .isTrue());
                c.rollback();
            }
        }
    }
}
