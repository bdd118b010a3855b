package io.tickstream.model;

/** The taker's side of a trade (tick JSON v1 `side`, docs/contracts.md). */
public enum Side {
    BUY("buy"),
    SELL("sell"),
    UNKNOWN("unknown");

    private final String json;

    Side(String json) {
        this.json = json;
    }

    public String json() {
        return json;
    }

    /** The side for a JSON value, or null when the value is not one of the three. */
    public static Side fromJson(String value) {
        switch (value) {
            case "buy":
                return BUY;
            case "sell":
                return SELL;
            case "unknown":
                return UNKNOWN;
            default:
                return null;
        }
    }
}
