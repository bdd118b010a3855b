package io.tickstream.source;

/** A record that is not a valid tick; the message is the reason recorded in the dead-letter topic. */
public final class BadTickException extends Exception {
    private static final long serialVersionUID = 1L;

    public BadTickException(String reason) {
        super(reason, null, false, false); // no stack trace: bad input is expected, and this is on the hot path
    }
}
