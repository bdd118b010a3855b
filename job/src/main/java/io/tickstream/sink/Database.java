package io.tickstream.sink;

import io.tickstream.config.JdbcUrls;
import java.io.Serializable;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

/** How the job's writers reach PostgreSQL: URL, role and password (from the environment or a file, never a flag). */
public final class Database implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String url;
    private final String user;
    private final String password;

    public Database(String url, String user, String password) {
        this.url = url;
        this.user = user;
        this.password = password;
    }

    /** A new connection, not auto-committing: every write commits itself. */
    public Connection connect() throws SQLException {
        Connection connection = DriverManager.getConnection(url, user, password);
        connection.setAutoCommit(false);
        return connection;
    }

    @Override
    public String toString() {
        return "Database{" + user + " at " + JdbcUrls.redacted(url) + "}";
    }
}
