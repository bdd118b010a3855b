-- Least privilege for the postgres exporter: PostgreSQL's predefined pg_monitor role (the statistics views,
-- sizes, locks, replication and WAL functions the exporter's collectors read) and CONNECT; no table of the
-- schema, no CREATE anywhere. Safe to re-apply, also while the job writes and TimescaleDB's background jobs run,
-- the way 090_grants.sql is: only what differs is granted or revoked, so an `up` with nothing to change writes no
-- catalog row, and a table whose privileges must change is locked in ROW SHARE mode first (a REVOKE on a
-- hypertable rewrites every chunk's catalog row, as a compression job may at the same moment: "tuple concurrently
-- updated" once failed `up` here when this file revoked on every table unconditionally).
DO $$
DECLARE
  exporter   CONSTANT oid := to_regrole('postgres_exporter');
  statements text[] := '{}';
  tables     text;
  lockable   text;
  statement  text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_database d
                   CROSS JOIN LATERAL aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
                  WHERE d.datname = current_database() AND a.grantee = exporter AND a.privilege_type = 'CONNECT') THEN
    statements := statements || format('GRANT CONNECT ON DATABASE %I TO postgres_exporter', current_database());
  END IF;
  IF EXISTS (SELECT 1 FROM pg_database d CROSS JOIN LATERAL aclexplode(d.datacl) a
              WHERE d.datname = current_database() AND a.grantee = exporter
                AND a.privilege_type = 'CREATE') THEN
    statements := statements || format('REVOKE CREATE ON DATABASE %I FROM postgres_exporter', current_database());
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_auth_members
                  WHERE member = exporter AND roleid = 'pg_monitor'::regrole) THEN
    statements := statements || 'GRANT pg_monitor TO postgres_exporter'::text;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) a
              WHERE n.nspname = 'public' AND a.grantee = exporter AND a.privilege_type = 'CREATE') THEN
    statements := statements || 'REVOKE CREATE ON SCHEMA public FROM postgres_exporter'::text;
  END IF;
  -- Any privilege of its own on a table or view of the schema (none, unless granted by hand). Views and
  -- tables can be locked; materialized views and foreign tables cannot, and have no chunks.
  SELECT string_agg(format('public.%I', c.relname), ', ' ORDER BY c.relname),
         string_agg(format('public.%I', c.relname), ', ' ORDER BY c.relname) FILTER (WHERE c.relkind IN ('r', 'p', 'v'))
    INTO tables, lockable
    FROM pg_class c
   WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
     AND EXISTS (SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee = exporter);
  IF lockable IS NOT NULL THEN
    EXECUTE format('LOCK TABLE %s IN ROW SHARE MODE', lockable);
  END IF;
  IF tables IS NOT NULL THEN
    statements := statements || format('REVOKE ALL ON TABLE %s FROM postgres_exporter', tables);
  END IF;
  FOREACH statement IN ARRAY statements LOOP
    EXECUTE statement;
    RAISE NOTICE 'privileges: %', statement;
  END LOOP;
END
$$;
