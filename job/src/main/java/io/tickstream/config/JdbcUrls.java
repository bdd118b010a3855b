package io.tickstream.config;

import java.util.regex.Pattern;

/** JDBC URLs as they may be shown: a password written into one (a {@code password=} parameter) is masked. */
public final class JdbcUrls {
    /** {@code password=...} in the query (up to the next {@code &}), in any letter case, and pgjdbc's sslpassword. */
    private static final Pattern PASSWORD_PARAMETER = Pattern.compile("(?i)((?:^|[?&;])(?:ssl)?password=)[^&;]*");
    /** {@code user:password@host} in the authority, which some drivers accept. */
    private static final Pattern USER_INFO = Pattern.compile("(//[^/@:]*:)[^/@]*@");

    private JdbcUrls() {}

    public static String redacted(String url) {
        if (url == null) {
            return null;
        }
        String out = PASSWORD_PARAMETER.matcher(url).replaceAll("$1***");
        return USER_INFO.matcher(out).replaceAll("$1***@");
    }

    /** Whether the URL carries a password of its own (it should come from the environment or a file instead). */
    public static boolean holdsPassword(String url) {
        return url != null && !redacted(url).equals(url);
    }
}
