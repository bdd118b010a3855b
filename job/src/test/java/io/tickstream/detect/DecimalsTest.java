package io.tickstream.detect;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DecimalsTest {
    /** PEPE, SHIB and BONK trade more than 9.22e10 units in minutes: rounding through a long saturated there. */
    @Test
    void roundsAtAnyMagnitude() {
        assertThat(Decimals.round(1.234567891234e12, 8)).isEqualTo(1.234567891234e12);
        assertThat(Decimals.round(9.3e10, 8)).isEqualTo(9.3e10);
        assertThat(Decimals.round(7.5e18, 3)).isEqualTo(7.5e18);
        assertThat(Decimals.round(-2.5e15, 2)).isEqualTo(-2.5e15);
        assertThat(Decimals.round(0.123456789, 8)).isEqualTo(0.12345679);
        assertThat(Decimals.round(2.00005, 4)).isEqualTo(2.0001);
        assertThat(Decimals.round(Double.NaN, 4)).isNaN();
        assertThat(Decimals.round(Double.POSITIVE_INFINITY, 4)).isInfinite();
    }
}
