-- Indexes for the dashboards and the operators' queries (the hypertables are created without TimescaleDB's
-- default indexes, so these are the only ones besides the unique keys). On a hypertable each index is built per
-- chunk. Every tick row maintains each index of ticks, so ticks has only those a query needs. Safe to re-apply;
-- apply with psql (the TimescaleDB branch below uses psql's \if).

-- Latest price of an instrument, and its price over a time range (Market: price per symbol, status).
CREATE INDEX IF NOT EXISTS ticks_instrument_time_idx ON ticks (exchange, symbol, time DESC);
-- Time ranges over every instrument (row counts, replays): served by the unique key where it starts with time (tables
-- created by 0.2 on), else by ticks_time_idx on plain PostgreSQL. A hypertable finds the chunks of a time range from
-- their bounds (chunk exclusion) and drops whole chunks for retention, so there the index would only narrow a range
-- inside the current chunk (6 hours by default) while costing every tick row another index insert (the benchmark
-- measured the difference: README, Benchmark). A database that had it and needs it no more loses it on re-apply.
SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
    OR EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                WHERE c.relname = 'ticks_trade_key' AND a.attname = 'time') AS no_time_index \gset
\if :no_time_index
DROP INDEX IF EXISTS ticks_time_idx;
\else
CREATE INDEX IF NOT EXISTS ticks_time_idx ON ticks (time DESC);
\endif

-- Candles of one instrument come from the unique key (exchange, symbol, bucket); the instrument list of the
-- dashboards' $symbol variable and candles_1h read recent buckets.
CREATE INDEX IF NOT EXISTS candles_1m_bucket_idx ON candles_1m (bucket DESC);

-- Latest anomalies (annotations, the alerts table, per-minute counts by type) and those of one instrument.
CREATE INDEX IF NOT EXISTS anomalies_time_idx ON anomalies (time DESC);
CREATE INDEX IF NOT EXISTS anomalies_instrument_time_idx ON anomalies (exchange, symbol, time DESC);
