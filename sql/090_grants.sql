-- Least privilege: the job's role reads and writes rows, nothing else (no DDL: it owns nothing and has no
-- CREATE on the schema); Grafana's role only reads. Safe to re-apply.
DO $$
BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO tickstream, grafana', current_database());
END
$$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO tickstream, grafana;
GRANT SELECT, INSERT, UPDATE ON ticks, candles_1m, anomalies TO tickstream;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO grafana;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO grafana;
