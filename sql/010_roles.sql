-- Roles (docs/contracts.md): the job writes as `tickstream`, Grafana reads as `grafana`.
-- Created without login and without a password: deploy/tickstream (or your DBA) sets the passwords from
-- the environment (TICKSTREAM_JDBC_PASSWORD, TICKSTREAM_GRAFANA_PASSWORD), so none is ever in this repo.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tickstream') THEN
    CREATE ROLE tickstream NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'grafana') THEN
    CREATE ROLE grafana NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
  END IF;
END
$$;
