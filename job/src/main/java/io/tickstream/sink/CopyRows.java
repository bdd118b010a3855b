package io.tickstream.sink;

import io.tickstream.model.Tick;

import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.Arrays;

/**
 * Tick rows in COPY's text format, built in one reused byte buffer: no strings, readers or encoders per batch.
 * Times are written as UTC timestamps ({@code 2026-11-29 01:23:45.678+00}), so the rows COPY straight into
 * the ticks table. Every text field was validated by the parser or the job's configuration (no tab, newline or
 * backslash, ASCII), so nothing needs escaping.
 */
public final class CopyRows {
    private static final long MS_PER_DAY = 86_400_000L;
    private static final byte[] UTC = "+00".getBytes(StandardCharsets.US_ASCII);

    private byte[] bytes = new byte[1 << 16];
    private int length;
    private int count;
    private long cachedDay = Long.MIN_VALUE;
    private byte[] cachedDate;

    public void add(Tick t) {
        timestamp(t.ts());
        put('\t');
        ascii(t.exchange());
        put('\t');
        ascii(t.symbol());
        put('\t');
        ascii(t.tradeId());
        put('\t');
        ascii(t.price());
        put('\t');
        ascii(t.size());
        put('\t');
        ascii(t.side().json());
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

    private void ascii(String s) {
        int n = s.length();
        ensure(n);
        for (int i = 0; i < n; i++) {
            bytes[length++] = (byte) s.charAt(i);
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
