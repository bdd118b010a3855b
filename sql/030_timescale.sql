-- TimescaleDB: hypertables, compression and retention. Safe to re-apply. Apply with psql (deploy/tickstream and
-- the timescaledb Docker image's init scripts both do): the branch below uses psql's \if, so on plain
-- PostgreSQL these statements are never sent and the same schema stays ordinary tables.
--
-- Settings: custom parameters of the database or the session, read on every apply, e.g.
--   ALTER DATABASE tickstream SET tickstream.ticks_retention = '30 days';   -- then apply sql/ again
--   PGOPTIONS='-c tickstream.ticks_retention=off' psql -f sql/030_timescale.sql   -- 'off' drops the policy
-- parameter                               default    why
-- tickstream.ticks_chunk_interval         6 hours    ~300 trades/s over all venues ≈ 26 M rows/day ≈ 6-7 GB with
--                                                    indexes: a 6 h chunk (~1.6 GB) keeps the hot chunk and its
--                                                    indexes in memory, as TimescaleDB advises (≤ 25 % of RAM)
-- tickstream.candles_chunk_interval       7 days     one row per instrument-minute: tiny, fewer chunks plan faster
-- tickstream.anomalies_chunk_interval     30 days    alerts are rare
-- tickstream.ticks_compress_after         7 days     see below
-- tickstream.candles_compress_after       7 days
-- tickstream.anomalies_compress_after     30 days
-- tickstream.ticks_retention              90 days
-- tickstream.candles_retention            730 days   (two years; candles_1h keeps its own rows after that)
-- tickstream.anomalies_retention          365 days
--
-- Compression only past the late-data horizon: the job's writes are INSERT ... ON CONFLICT (ticks, anomalies)
-- and upserts (candles_1m, re-fired up to --allowed-lateness = 2 min after their minute). A row landing in a
-- compressed chunk makes TimescaleDB decompress the segment to check the unique key (2.11+; older releases
-- refuse), which is slow, so live traffic must never reach one. Seven days leaves room for a replay or a
-- recovery from an old checkpoint as well; replaying older history means decompressing first
-- (SELECT decompress_chunk(c) FROM show_chunks('ticks', newer_than => ...) c).

SELECT (EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
        OR (EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
            AND current_setting('shared_preload_libraries') LIKE '%timescaledb%')) AS timescaledb \gset

\if :timescaledb

CREATE EXTENSION IF NOT EXISTS timescaledb;

SELECT coalesce(nullif(current_setting('tickstream.ticks_chunk_interval', true), ''), '6 hours')      AS ticks_chunk,
       coalesce(nullif(current_setting('tickstream.candles_chunk_interval', true), ''), '7 days')    AS candles_chunk,
       coalesce(nullif(current_setting('tickstream.anomalies_chunk_interval', true), ''), '30 days') AS anomalies_chunk,
       coalesce(nullif(current_setting('tickstream.ticks_compress_after', true), ''), '7 days')       AS ticks_compress,
       coalesce(nullif(current_setting('tickstream.candles_compress_after', true), ''), '7 days')     AS candles_compress,
       coalesce(nullif(current_setting('tickstream.anomalies_compress_after', true), ''), '30 days')  AS anomalies_compress,
       coalesce(nullif(current_setting('tickstream.ticks_retention', true), ''), '90 days')          AS ticks_retention,
       coalesce(nullif(current_setting('tickstream.candles_retention', true), ''), '730 days')       AS candles_retention,
       coalesce(nullif(current_setting('tickstream.anomalies_retention', true), ''), '365 days')     AS anomalies_retention
\gset

-- Hypertables (migrate_data: a database that ran on plain PostgreSQL first keeps its rows). Our own indexes
-- are in 040_indexes.sql, identical on both, so TimescaleDB's default ones are not added.
SELECT create_hypertable('ticks', 'time', chunk_time_interval => :'ticks_chunk'::interval,
                         create_default_indexes => FALSE, if_not_exists => TRUE, migrate_data => TRUE);
SELECT create_hypertable('candles_1m', 'bucket', chunk_time_interval => :'candles_chunk'::interval,
                         create_default_indexes => FALSE, if_not_exists => TRUE, migrate_data => TRUE);
SELECT create_hypertable('anomalies', 'time', chunk_time_interval => :'anomalies_chunk'::interval,
                         create_default_indexes => FALSE, if_not_exists => TRUE, migrate_data => TRUE);
-- A changed setting applies to chunks created from now on.
SELECT set_chunk_time_interval('ticks', :'ticks_chunk'::interval);
SELECT set_chunk_time_interval('candles_1m', :'candles_chunk'::interval);
SELECT set_chunk_time_interval('anomalies', :'anomalies_chunk'::interval);

-- Compression segmented by instrument (every dashboard query filters on it), newest first within a segment; the
-- rest of each unique key is in the order so the unique checks of a late insert stay cheap. Set once: the
-- settings cannot change while compressed chunks exist.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM timescaledb_information.hypertables
                  WHERE hypertable_name = 'ticks' AND compression_enabled) THEN
    ALTER TABLE ticks SET (timescaledb.compress, timescaledb.compress_segmentby = 'exchange, symbol',
                           timescaledb.compress_orderby = 'time DESC, trade_id');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM timescaledb_information.hypertables
                  WHERE hypertable_name = 'candles_1m' AND compression_enabled) THEN
    ALTER TABLE candles_1m SET (timescaledb.compress, timescaledb.compress_segmentby = 'exchange, symbol',
                                timescaledb.compress_orderby = 'bucket DESC');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM timescaledb_information.hypertables
                  WHERE hypertable_name = 'anomalies' AND compression_enabled) THEN
    ALTER TABLE anomalies SET (timescaledb.compress, timescaledb.compress_segmentby = 'exchange, symbol',
                               timescaledb.compress_orderby = 'time DESC, id');
  END IF;
END
$$;

-- Policies follow the settings: unchanged ones are left alone, changed ones replaced, 'off' removes one.
CREATE FUNCTION pg_temp.tickstream_policy(hypertable regclass, kind text, setting text) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  wanted interval := CASE WHEN lower(trim(setting)) IN ('off', 'none') THEN NULL ELSE setting::interval END;
  current_value interval;
BEGIN
  SELECT (j.config ->> CASE kind WHEN 'retention' THEN 'drop_after' ELSE 'compress_after' END)::interval
    INTO current_value
    FROM timescaledb_information.jobs j
   WHERE j.proc_name = 'policy_' || kind
     AND format('%I.%I', j.hypertable_schema, j.hypertable_name)::regclass = hypertable;
  IF kind = 'compression' AND wanted < INTERVAL '1 day' THEN
    RAISE EXCEPTION '% compress_after % is inside the late-data horizon (allowed lateness, replays): use 1 day or more',
                    hypertable, wanted;
  END IF;
  IF FOUND AND current_value IS NOT DISTINCT FROM wanted THEN
    RETURN;
  END IF;
  IF kind = 'retention' THEN
    PERFORM remove_retention_policy(hypertable, if_exists => TRUE);
    IF wanted IS NOT NULL THEN
      PERFORM add_retention_policy(hypertable, drop_after => wanted, if_not_exists => TRUE);
    END IF;
  ELSE
    PERFORM remove_compression_policy(hypertable, if_exists => TRUE);
    IF wanted IS NOT NULL THEN
      PERFORM add_compression_policy(hypertable, compress_after => wanted, if_not_exists => TRUE);
    END IF;
  END IF;
  RAISE NOTICE '% % policy: %', hypertable, kind, coalesce(wanted::text, 'off');
END
$fn$;

SELECT pg_temp.tickstream_policy('ticks', 'compression', :'ticks_compress');
SELECT pg_temp.tickstream_policy('candles_1m', 'compression', :'candles_compress');
SELECT pg_temp.tickstream_policy('anomalies', 'compression', :'anomalies_compress');
SELECT pg_temp.tickstream_policy('ticks', 'retention', :'ticks_retention');
SELECT pg_temp.tickstream_policy('candles_1m', 'retention', :'candles_retention');
SELECT pg_temp.tickstream_policy('anomalies', 'retention', :'anomalies_retention');

\else
\echo TimescaleDB is not installed (or not in shared_preload_libraries): ticks, candles_1m and anomalies stay plain tables, no compression or retention policies
\endif
