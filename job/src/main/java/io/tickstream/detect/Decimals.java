package io.tickstream.detect;

import java.math.BigDecimal;
import java.math.RoundingMode;

/** Rendering detector figures for alerts (rare, so allocation here is fine). */
final class Decimals {
    private Decimals() {}

    /**
     * A price as a plain decimal text. Prices were parsed from decimal texts of at most 17 significant digits,
     * so the shortest text that round-trips the double is the venue's own value ("67100" for 67100.0).
     */
    static String toPlainString(double value) {
        return decimal(value).toPlainString();
    }

    /** The same as a decimal (for an alert's details). */
    static BigDecimal decimal(double value) {
        return BigDecimal.valueOf(value).stripTrailingZeros();
    }

    /**
     * {@code value} rounded half up to {@code digits} decimals, at any magnitude: a volume of 1e12 (PEPE, SHIB and BONK
     * trade more than that in minutes) stays 1e12 (rounding through a long saturated at 9.22e10 with 8 digits).
     * Infinities and NaN are returned as they are.
     */
    static double round(double value, int digits) {
        if (!Double.isFinite(value)) {
            return value;
        }
        return BigDecimal.valueOf(value).setScale(digits, RoundingMode.HALF_UP).doubleValue();
    }
}
