package io.tickstream.detect;

import java.math.BigDecimal;

/** Rendering detector figures for alerts (rare, so allocation here is fine). */
final class Decimals {
    private Decimals() {}

    /**
     * A price as a plain decimal text. Prices were parsed from decimal texts of at most 17 significant digits,
     * so the shortest text that round-trips the double is the venue's own value ("67100" for 67100.0).
     */
    static String toPlainString(double value) {
        return BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
    }

    static double round(double value, int digits) {
        double scale = Math.pow(10, digits);
        return Math.round(value * scale) / scale;
    }
}
