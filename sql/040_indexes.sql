-- Indexes for the dashboards and the operators' queries, the same on TimescaleDB and plain PostgreSQL (the
-- hypertables are created without TimescaleDB's default indexes, so these are the only ones besides the unique
-- keys). On a hypertable each index is built per chunk. Safe to re-apply.

-- Latest price of an instrument, and its price over a time range (Market: price per symbol, status).
CREATE INDEX IF NOT EXISTS ticks_instrument_time_idx ON ticks (exchange, symbol, time DESC);
-- Time ranges over every instrument (row counts, retention, replays).
CREATE INDEX IF NOT EXISTS ticks_time_idx ON ticks (time DESC);

-- Candles of one instrument come from the unique key (exchange, symbol, bucket); the instrument list of the
-- dashboards' $symbol variable and candles_1h read recent buckets.
CREATE INDEX IF NOT EXISTS candles_1m_bucket_idx ON candles_1m (bucket DESC);

-- Latest anomalies (annotations, the alerts table, per-minute counts by type) and those of one instrument.
CREATE INDEX IF NOT EXISTS anomalies_time_idx ON anomalies (time DESC);
CREATE INDEX IF NOT EXISTS anomalies_instrument_time_idx ON anomalies (exchange, symbol, time DESC);
