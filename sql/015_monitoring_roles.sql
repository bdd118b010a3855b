-- The monitoring role: the postgres exporter connects as `postgres_exporter` (never as a superuser).
-- Created without login and without a password, like the roles of 010_roles.sql: deploy/tickstream, the
-- TimescaleDB container's init (or your DBA) sets it from TICKSTREAM_POSTGRES_EXPORTER_PASSWORD.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'postgres_exporter') THEN
    CREATE ROLE postgres_exporter NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
  END IF;
END
$$;
