-- candles_1h: hourly candles from candles_1m. On TimescaleDB a continuous aggregate refreshed by a policy; on
-- plain PostgreSQL a view with the same name, columns and values. Safe to re-apply; apply with psql (\if).
--
-- Refresh window: from 3 days back (a late or replayed candle inside it is re-materialized) to 1 hour back, at
-- least one bucket, so only complete hours are materialized: an hour is refreshed once it is over, and
-- candles_1m rows of that hour can still change only for --allowed-lateness (2 min) after their minute.
-- Reads still see the current hour (materialized_only = false: real-time aggregation adds it from candles_1m),
-- like the plain view. After a migration with older history, materialize it once:
--   CALL refresh_continuous_aggregate('candles_1h', NULL, now() - INTERVAL '1 hour');

SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AS timescaledb,
       EXISTS (SELECT 1 FROM pg_views WHERE schemaname = current_schema() AND viewname = 'candles_1h') AS plain_view
\gset

\if :timescaledb

-- A database that ran on plain PostgreSQL first has the view: the continuous aggregate replaces it.
\if :plain_view
SELECT NOT EXISTS (SELECT 1 FROM timescaledb_information.continuous_aggregates WHERE view_name = 'candles_1h')
       AS replace_view \gset
\if :replace_view
DROP VIEW candles_1h;
\endif
\endif

CREATE MATERIALIZED VIEW IF NOT EXISTS candles_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket,
       exchange,
       symbol,
       first(open, bucket)                      AS open,
       max(high)                                AS high,
       min(low)                                 AS low,
       last(close, bucket)                      AS close,
       sum(volume)                              AS volume,
       sum(trades)                              AS trades
  FROM candles_1m
 GROUP BY time_bucket(INTERVAL '1 hour', bucket), exchange, symbol
WITH NO DATA;

SELECT add_continuous_aggregate_policy('candles_1h',
                                       start_offset => INTERVAL '3 days',
                                       end_offset => INTERVAL '1 hour',
                                       schedule_interval => INTERVAL '30 minutes',
                                       if_not_exists => TRUE);

\else

-- Hours in UTC, as time_bucket makes them.
CREATE OR REPLACE VIEW candles_1h AS
SELECT date_trunc('hour', bucket, 'UTC')        AS bucket,
       exchange,
       symbol,
       (array_agg(open ORDER BY bucket))[1]       AS open,
       max(high)                                AS high,
       min(low)                                 AS low,
       (array_agg(close ORDER BY bucket DESC))[1] AS close,
       sum(volume)                              AS volume,
       sum(trades)                              AS trades
  FROM candles_1m
 GROUP BY date_trunc('hour', bucket, 'UTC'), exchange, symbol;

\endif
