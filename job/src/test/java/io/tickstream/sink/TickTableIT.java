package io.tickstream.sink;

import static org.assertj.core.api.Assertions.assertThat;

import io.tickstream.model.Side;
import io.tickstream.model.Tick;
import io.tickstream.testutils.LocalStack;
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
}
