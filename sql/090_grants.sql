-- Least privilege: the job's role reads and writes rows, nothing else (no DDL: it owns nothing and has no
-- CREATE on the schema or the database); Grafana's role only reads. Safe to re-apply, also while the job
-- writes: only privileges beyond these are revoked, so the job's never lapse.
DO $$
BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO tickstream, grafana', current_database());
  EXECUTE format('REVOKE CREATE ON DATABASE %I FROM tickstream, grafana', current_database());
END
$$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM tickstream, grafana;
GRANT USAGE ON SCHEMA public TO tickstream, grafana;

GRANT SELECT, INSERT, UPDATE ON ticks, candles_1m, anomalies TO tickstream;
REVOKE DELETE, TRUNCATE, REFERENCES, TRIGGER ON ticks, candles_1m, anomalies FROM tickstream;

GRANT SELECT ON ticks, candles_1m, anomalies, candles_1h TO grafana;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ticks, candles_1m, anomalies, candles_1h FROM grafana;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO grafana;
