-- candles_1h: hourly candles from candles_1m. On TimescaleDB a continuous aggregate refreshed by a policy; on
-- plain PostgreSQL a view with the same name, columns and values. Safe to re-apply; apply with psql (\if).
--
-- Refresh: every 30 minutes, up to 1 hour back (at least one bucket), so only complete hours are materialized:
-- an hour is refreshed once it is over, and candles_1m rows of that hour can still change only for
-- --allowed-lateness (2 min) after their minute. Reads still see the current hour (materialized_only = false:
-- real-time aggregation adds it from candles_1m), like the plain view.
--
-- Late candles (a replay, a backfill, a recovery from an old checkpoint) may land in any hour candles_1m still
-- holds: TimescaleDB records the hours a write changes below the materialized range (its own invalidation log,
-- whatever the policy's window), and the policy re-materializes the recorded hours inside its window. So the
-- window reaches back as far as candles_1m keeps rows (the tickstream.candles_retention setting, 730 days; no
-- limit when 'off'): a late candle of any retained hour reaches candles_1h at the next run, within 30 minutes
-- (at once: CALL refresh_continuous_aggregate('candles_1h', <from>, <to>)). A run costs only the recorded hours;
-- the job's writes do exactly what they did before. Older hours are left alone: candles_1h keeps its rows of
-- hours whose minutes retention has dropped.
--
-- A database that ran on plain PostgreSQL first (or any candles_1m history older than what is materialized) gets
-- that history materialized here, once, on the apply that finds it (those rows were written before the
-- continuous aggregate existed, so nothing recorded them).

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

-- History in candles_1m older than anything materialized: materialize it now, up to the oldest materialized
-- hour (all complete hours when nothing is yet). One statement, outside any transaction (psql autocommit), and
-- before the refresh policy is added: a new policy runs at once, and two refreshes of one window refuse each other.
SELECT format('%I.%I', materialization_hypertable_schema, materialization_hypertable_name) AS materialization
  FROM timescaledb_information.continuous_aggregates WHERE view_name = 'candles_1h' \gset
SELECT least((SELECT min(bucket) FROM :materialization), date_trunc('hour', now() - INTERVAL '1 hour'))
       AS history_end \gset
SELECT EXISTS (SELECT 1 FROM candles_1m WHERE bucket < :'history_end'::timestamptz) AS history \gset
\if :history
CALL refresh_continuous_aggregate('candles_1h', NULL, :'history_end'::timestamptz);
\endif

-- The refresh policy follows the candles retention setting: left alone when unchanged, replaced when not.
CREATE OR REPLACE FUNCTION pg_temp.tickstream_refresh_policy(setting text) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  wanted interval := CASE WHEN lower(trim(setting)) IN ('off', 'none') THEN NULL ELSE setting::interval END;
  config jsonb;
BEGIN
  SELECT j.config INTO config
    FROM timescaledb_information.jobs j
   WHERE j.proc_name = 'policy_refresh_continuous_aggregate'
     AND j.hypertable_schema = current_schema() AND j.hypertable_name = 'candles_1h';
  IF FOUND AND (config ->> 'start_offset')::interval IS NOT DISTINCT FROM wanted
     AND (config ->> 'end_offset')::interval = INTERVAL '1 hour' THEN
    RETURN;
  END IF;
  PERFORM remove_continuous_aggregate_policy('candles_1h', if_exists => TRUE);
  PERFORM add_continuous_aggregate_policy('candles_1h',
                                          start_offset => wanted,
                                          end_offset => INTERVAL '1 hour',
                                          schedule_interval => INTERVAL '30 minutes',
                                          if_not_exists => TRUE);
  RAISE NOTICE 'candles_1h refresh policy: from % to 1 hour back, every 30 minutes',
               coalesce(wanted::text || ' back', 'the first candle');
END
$fn$;

SELECT coalesce(nullif(current_setting('tickstream.candles_retention', true), ''), '730 days') AS candles_retention
\gset
SELECT pg_temp.tickstream_refresh_policy(:'candles_retention');

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
