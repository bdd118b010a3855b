package io.tickstream.sink;

import java.sql.SQLException;

/** What a failed write says about its rows, by PostgreSQL's SQLSTATE. */
final class SqlErrors {
    /** PostgreSQL's SQLSTATE for a unique key violation. */
    static final String UNIQUE_VIOLATION = "23505";

    private SqlErrors() {}

    /**
     * Whether the database refused the rows for what they hold, so that writing them again can never succeed: a data
     * exception (class 22: bad value, out of range, invalid text), an integrity constraint (class 23: NOT NULL, CHECK,
     * foreign or unique key) or a program limit (class 54: an index row too large). Anything else (connection lost,
     * timeout, server shutting down, permissions) is the database's condition, not the rows', and is retried.
     */
    static boolean refusesTheRows(SQLException e) {
        String state = sqlState(e);
        return state != null && (state.startsWith("22") || state.startsWith("23") || state.startsWith("54"));
    }

    /** The SQLSTATE of the error, looking past a batch's wrapper at the statement that failed. */
    static String sqlState(SQLException e) {
        for (SQLException next = e; next != null; next = next.getNextException()) {
            String state = next.getSQLState();
            if (state != null && !state.isEmpty() && !state.startsWith("0")) {
                return state;
            }
        }
        return e.getSQLState();
    }

    /** The server's message (one line) and SQLSTATE: the reason a refused row carries to the dead letters. */
    static String reason(SQLException e) {
        SQLException cause = e;
        for (SQLException next = e; next != null; next = next.getNextException()) {
            cause = next;
        }
        String message = String.valueOf(cause.getMessage()).replace('\n', ' ').strip();
        return "refused by the database: " + message + " (SQLSTATE " + sqlState(e) + ")";
    }
}
