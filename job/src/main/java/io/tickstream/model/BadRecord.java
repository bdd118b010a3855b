package io.tickstream.model;

/**
 * A record the job could not accept, on its way to the dead-letter topic with the reason: a Kafka record that is not a
 * valid tick (kept byte for byte, with where it came from), or a row a database table refused for its content (the
 * tick, candle or anomaly as JSON, with the table's writer as its stage).
 *
 * @param stage where it was refused: {@link #PARSE} for the ticks topic's records, else the operator (uid) that refused it
 * @param topic the Kafka topic it was read from, or null when it was not read from Kafka as such
 * @param partition the partition it was read from, or -1
 * @param offset its offset there, or -1
 * @param timestamp its Kafka or trade timestamp, or -1 when unknown
 */
public record BadRecord(
        byte[] key,
        byte[] value,
        String reason,
        String stage,
        String topic,
        int partition,
        long offset,
        long timestamp) {
    public static final String PARSE = "parse";

    /** A record of the ticks topic that is not a valid tick. */
    public static BadRecord unparsable(
            byte[] key, byte[] value, String reason, String topic, int partition, long offset, long timestamp) {
        return new BadRecord(key, value, reason, PARSE, topic, partition, offset, timestamp);
    }

    /** A record a sink refused for its content, rendered by that sink (e.g. tick JSON v1). */
    public static BadRecord refused(String stage, byte[] key, byte[] value, String reason, long timestamp) {
        return new BadRecord(key, value, reason, stage, null, -1, -1, timestamp);
    }
}
