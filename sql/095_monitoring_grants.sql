-- Least privilege for the postgres exporter: PostgreSQL's predefined pg_monitor role (the statistics views,
-- sizes, locks, replication and WAL functions the exporter's collectors read) and CONNECT; no table of the
-- schema, no CREATE anywhere. Safe to re-apply.
DO $$
BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO postgres_exporter', current_database());
  EXECUTE format('REVOKE CREATE ON DATABASE %I FROM postgres_exporter', current_database());
END
$$;
GRANT pg_monitor TO postgres_exporter;
REVOKE CREATE ON SCHEMA public FROM postgres_exporter;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM postgres_exporter;
