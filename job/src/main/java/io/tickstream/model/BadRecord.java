package io.tickstream.model;

/**
 * A Kafka record the job could not accept as a tick: kept byte for byte for the dead-letter topic, with
 * the reason and where it came from.
 */
public record BadRecord(
        byte[] key, byte[] value, String reason, String topic, int partition, long offset, long timestamp) {}
