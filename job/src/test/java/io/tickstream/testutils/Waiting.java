package io.tickstream.testutils;

import java.time.Duration;
import java.util.concurrent.Callable;

/** Waits for a condition (polling, bounded), never for a fixed time. */
public final class Waiting {
    private Waiting() {}

    public static void until(String what, Duration timeout, Callable<Boolean> condition) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.call()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + what);
            }
            Thread.sleep(100);
        }
    }
}
