package io.tickstream.sink;

import io.tickstream.model.Tick;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.Arrays;

/**
 * Tick rows in COPY's text format, built in one reused byte buffer: no strings, readers or encoders per batch.
 * Times are written as UTC timestamps ({@code 2026-11-29 01:23:45.678+00}), so the rows COPY straight into
 * the ticks table. Text is written with the format's escaping, so no value can add, drop or shift a column: a
 * backslash is a valid character of a trade id (venues' ids are opaque strings), and in COPY's text format it starts
 * an escape ({@code \N} is NULL, {@code \t} a tab). Plain printable ASCII, all that venues send, is copied byte for
 * byte; anything else takes a slower path.
 */
public final class CopyRows {
    private static final long MS_PER_DAY = 86_400_000L;
    private static final byte[] UTC = "+00".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    private byte[] bytes = new byte[1 << 16];
    private int length;
    private int count;
    private long cachedDay = Long.MIN_VALUE;
    private byte[] cachedDate;

    public void add(Tick t) {
        timestamp(t.ts());
        put('\t');
        text(t.exchange());
        put('\t');
        text(t.symbol());
        put('\t');
        text(t.tradeId());
        put('\t');
        text(t.price());
        put('\t');
        text(t.size());
        put('\t');
        text(t.side().json());
        put('\t');
        timestamp(t.recvTs());
        put('\n');
        count++;
    }

    public byte[] bytes() {
        return bytes;
    }

    public int length() {
        return length;
    }

    public int count() {
        return count;
    }

    public void clear() {
        length = 0;
        count = 0;
    }

    private void timestamp(long epochMs) {
        long day = Math.floorDiv(epochMs, MS_PER_DAY);
        if (day != cachedDay) {
            cachedDate = LocalDate.ofEpochDay(day).toString().getBytes(StandardCharsets.US_ASCII);
            cachedDay = day;
        }
        int ms = (int) Math.floorMod(epochMs, MS_PER_DAY);
        ensure(cachedDate.length + 20);
        System.arraycopy(cachedDate, 0, bytes, length, cachedDate.length);
        length += cachedDate.length;
        bytes[length++] = ' ';
        digits(ms / 3_600_000, 2);
        bytes[length++] = ':';
        digits(ms / 60_000 % 60, 2);
        bytes[length++] = ':';
        digits(ms / 1000 % 60, 2);
        bytes[length++] = '.';
        digits(ms % 1000, 3);
        System.arraycopy(UTC, 0, bytes, length, UTC.length);
        length += UTC.length;
    }

    private void digits(int value, int width) {
        for (int i = width - 1; i >= 0; i--) {
            bytes[length + i] = (byte) ('0' + value % 10);
            value /= 10;
        }
        length += width;
    }

    /** A text column: printable ASCII but the backslash as it is, the rest escaped as COPY's text format reads it. */
    private void text(String s) {
        int n = s.length();
        ensure(n);
        int start = length;
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c > 0x7e || c == '\\') {
                length = start;
                escaped(s);
                return;
            }
            bytes[length++] = (byte) c;
        }
    }

    private void escaped(String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        ensure(utf8.length * 4);
        for (byte b : utf8) {
            int c = b & 0xff;
            if (c == '\\') {
                bytes[length++] = '\\';
                bytes[length++] = '\\';
            } else if (c < 0x20 || c == 0x7f) {
                // \xHH: the byte itself, so a tab, newline or carriage return is data, not a separator.
                bytes[length++] = '\\';
                bytes[length++] = 'x';
                bytes[length++] = HEX[c >> 4];
                bytes[length++] = HEX[c & 0xf];
            } else {
                bytes[length++] = b; // ASCII, or a byte of a UTF-8 sequence (the connection's encoding is UTF-8)
            }
        }
    }

    private void put(char c) {
        ensure(1);
        bytes[length++] = (byte) c;
    }

    private void ensure(int more) {
        if (length + more > bytes.length) {
            bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + more));
        }
    }
}
