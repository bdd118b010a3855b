package io.tickstream.sink;

import io.tickstream.model.Tick;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Tick rows in COPY's binary format ({@code COPY ... FROM STDIN (FORMAT binary)}), built in one reused byte buffer: no
 * strings, readers or encoders per batch. PostgreSQL then reads each value as it stores it: a timestamp is the
 * 64-bit count of microseconds since 2000-01-01 UTC and a decimal its base-10000 digits, where the text format made
 * the server parse a date, a time and a zone per timestamp and every decimal digit by digit (the text input
 * functions were the largest item of PostgreSQL's profile). Text values are their UTF-8 bytes with a length, so no
 * value can add, drop or shift a column and nothing is escaped: a backslash, a tab or a newline is data. The server
 * still checks every value as it does for text COPY (a NUL byte or invalid UTF-8 in a text column is refused, as
 * a timestamp out of range), so a refused row is refused for the same reasons as before.
 *
 * <p>{@link #bytes()} up to {@link #length()} is always a complete COPY stream: the header, the rows added since
 * {@link #clear()} and the end marker.
 */
public final class CopyRows {
    /** PGCOPY\n\377\r\n\0, then 32-bit flags (no OIDs) and header extension length, both 0. */
    private static final byte[] HEADER = {
        'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xff, '\r', '\n', 0, 0, 0, 0, 0, 0, 0, 0, 0
    };

    private static final int COLUMNS = 8;
    /** 2000-01-01T00:00:00Z, PostgreSQL's timestamp epoch, in Unix epoch ms. */
    private static final long POSTGRES_EPOCH_MS = 946_684_800_000L;

    private static final int NUMERIC_POS = 0x0000;
    private static final int NUMERIC_NEG = 0x4000;
    /**
     * Not a sign numeric_recv accepts: a decimal this class cannot encode (not a plain decimal string, which the
     * parser guarantees for every tick it passes on) is sent with it, so the server refuses that row ("invalid sign
     * in external numeric value", a data exception) and the sink dead-letters it like any refused row.
     */
    private static final int NUMERIC_UNENCODABLE = 0x1234;

    private byte[] bytes = new byte[1 << 16];
    private int length;
    private int count;

    public CopyRows() {
        clear();
    }

    public void add(Tick t) {
        ensure(2 + 2 * (4 + 8));
        putShort(COLUMNS);
        timestamp(t.ts());
        text(t.exchange());
        text(t.symbol());
        text(t.tradeId());
        numeric(t.price());
        numeric(t.size());
        text(t.side().json());
        timestamp(t.recvTs());
        count++;
        trailer();
    }

    /** The COPY stream: {@link #length()} bytes from 0. */
    public byte[] bytes() {
        return bytes;
    }

    /** The length of the whole COPY stream, its end marker included. */
    public int length() {
        return length + 2;
    }

    /** Rows added since {@link #clear()}. */
    public int count() {
        return count;
    }

    public void clear() {
        System.arraycopy(HEADER, 0, bytes, 0, HEADER.length);
        length = HEADER.length;
        count = 0;
        trailer();
    }

    /** The end marker (a field count of -1) after the last row, not counted in {@code length}: the next row overwrites it. */
    private void trailer() {
        ensure(2);
        bytes[length] = (byte) 0xff;
        bytes[length + 1] = (byte) 0xff;
    }

    private void timestamp(long epochMs) {
        ensure(12);
        putInt(8);
        // ticks' times are checked against the clock when parsed, far inside both ranges: no overflow here
        putLong((epochMs - POSTGRES_EPOCH_MS) * 1000L);
    }

    /** A text column: its UTF-8 bytes; plain ASCII, all that venues send, is copied char by char. */
    private void text(String s) {
        int n = s.length();
        ensure(4 + n);
        int lengthAt = length;
        length += 4;
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c >= 0x80) {
                length = lengthAt;
                utf8(s);
                return;
            }
            bytes[length++] = (byte) c;
        }
        putIntAt(lengthAt, n);
    }

    private void utf8(String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        ensure(4 + utf8.length);
        putInt(utf8.length);
        System.arraycopy(utf8, 0, bytes, length, utf8.length);
        length += utf8.length;
    }

    /**
     * A decimal string ({@code 67123.45000}: digits with at most one point, an optional leading minus) as numeric's
     * binary form: digit count, weight (of the first base-10000 digit), sign, display scale (the digits after the
     * point, so the text PostgreSQL shows is the one sent), then the base-10000 digits without leading or trailing
     * zero digits.
     */
    private void numeric(String s) {
        int n = s.length();
        int start = n > 0 && s.charAt(0) == '-' ? 1 : 0;
        int point = -1;
        boolean valid = n > start;
        for (int i = start; i < n && valid; i++) {
            char c = s.charAt(i);
            if (c == '.' && point < 0 && i > start && i < n - 1) {
                point = i;
            } else if (c < '0' || c > '9') {
                valid = false;
            }
        }
        int intLen = (point < 0 ? n : point) - start;
        int fracLen = point < 0 ? 0 : n - point - 1;
        int intGroups = (intLen + 3) / 4;
        int groups = intGroups + (fracLen + 3) / 4;
        int leftPad = intGroups * 4 - intLen;
        if (!valid || groups > Short.MAX_VALUE || fracLen > 0x3fff) {
            ensure(12);
            putInt(8);
            putShort(0);
            putShort(0);
            putShort(NUMERIC_UNENCODABLE);
            putShort(0);
            return;
        }
        int first = 0;
        while (first < groups && group(s, first, start, leftPad, intLen, fracLen, point) == 0) {
            first++;
        }
        int last = groups - 1;
        while (last >= first && group(s, last, start, leftPad, intLen, fracLen, point) == 0) {
            last--;
        }
        int digits = last - first + 1;
        ensure(4 + 8 + 2 * digits);
        putInt(8 + 2 * digits);
        putShort(digits);
        putShort(digits == 0 ? 0 : intGroups - 1 - first);
        putShort(start == 1 && digits > 0 ? NUMERIC_NEG : NUMERIC_POS);
        putShort(fracLen);
        for (int g = first; g <= last; g++) {
            putShort(group(s, g, start, leftPad, intLen, fracLen, point));
        }
    }

    /**
     * The base-10000 digit {@code g} of the decimal: decimal digits 4g to 4g+3 of the integer part padded with zeros
     * on the left to whole groups, followed by the fraction padded on the right.
     */
    private static int group(String s, int g, int start, int leftPad, int intLen, int fracLen, int point) {
        int value = 0;
        for (int k = 4 * g, end = k + 4; k < end; k++) {
            int at = k - leftPad; // position among the integer part's digits, then the fraction's
            int digit;
            if (at < 0) {
                digit = 0;
            } else if (at < intLen) {
                digit = s.charAt(start + at) - '0';
            } else if (at - intLen < fracLen) {
                digit = s.charAt(point + 1 + at - intLen) - '0';
            } else {
                digit = 0;
            }
            value = value * 10 + digit;
        }
        return value;
    }

    private void putShort(int v) {
        bytes[length++] = (byte) (v >>> 8);
        bytes[length++] = (byte) v;
    }

    private void putInt(int v) {
        putIntAt(length, v);
        length += 4;
    }

    private void putIntAt(int at, int v) {
        bytes[at] = (byte) (v >>> 24);
        bytes[at + 1] = (byte) (v >>> 16);
        bytes[at + 2] = (byte) (v >>> 8);
        bytes[at + 3] = (byte) v;
    }

    private void putLong(long v) {
        putIntAt(length, (int) (v >>> 32));
        putIntAt(length + 4, (int) v);
        length += 8;
    }

    /** Room for {@code more} bytes after the rows, and for the end marker after them. */
    private void ensure(int more) {
        if (length + more + 2 > bytes.length) {
            bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + more + 2));
        }
    }
}
