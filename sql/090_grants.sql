-- Least privilege: the job's role reads and writes rows, nothing else (no DDL: it owns nothing and has no
-- CREATE on the schema or the database); Grafana's role only reads. Safe to re-apply, also while the job writes
-- and while TimescaleDB's background jobs run:
-- - only what differs is granted or revoked (compared with each role's own grants, which is what GRANT ... TO
--   and REVOKE ... FROM change), so a re-apply with nothing to change (every `up`) writes no catalog row and the
--   job's privileges never lapse;
-- - when a table's privileges must change, the tables (and so their chunks) are locked first, in ROW SHARE mode.
--   On a hypertable a GRANT rewrites the catalog row of every chunk, which a compression or retention job may be
--   rewriting at the same moment ("tuple concurrently updated", failing both). Those jobs hold an EXCLUSIVE (or
--   stronger) lock on the chunk while they change it, which ROW SHARE conflicts with, so the GRANT waits for the
--   chunk in hand and the job's next change waits for the GRANT; nothing else waits for it (the job's writes,
--   readers, and a recompression, which takes EXCLUSIVE only at its end and waits out a short transaction).
--   Change these privileges by hand the same way: LOCK TABLE ... IN ROW SHARE MODE first, in one transaction.

-- Whether a role (or PUBLIC) holds a privilege on an object by a grant of its own.
CREATE OR REPLACE FUNCTION pg_temp.tickstream_has(object_kind text, object_name text, role_name text, privilege_name text)
RETURNS boolean LANGUAGE sql STABLE AS $fn$
  SELECT EXISTS (
    SELECT 1
      FROM (SELECT coalesce(datacl, acldefault('d', datdba)) AS acl FROM pg_database
             WHERE object_kind = 'DATABASE' AND datname = object_name
            UNION ALL
            SELECT coalesce(nspacl, acldefault('n', nspowner)) FROM pg_namespace
             WHERE object_kind = 'SCHEMA' AND nspname = object_name
            UNION ALL
            SELECT coalesce(relacl, acldefault('r', relowner)) FROM pg_class
             WHERE object_kind = 'TABLE' AND oid = to_regclass(object_name)) o
     CROSS JOIN LATERAL aclexplode(o.acl) a
     WHERE a.grantee = CASE role_name WHEN 'PUBLIC' THEN 0 ELSE to_regrole(role_name) END
       AND a.privilege_type = privilege_name)
$fn$;

DO $$
DECLARE
  table_privileges CONSTANT text[] := ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'];
  wanted     record;
  statements text[] := '{}';
  tables     text[] := '{}';
  statement  text;
BEGIN
  FOR wanted IN
    -- Both roles connect; neither creates schemas.
    SELECT 'DATABASE' AS kind, current_database() AS object, r AS grantee, p AS privilege, p = 'CONNECT' AS granted
      FROM unnest(ARRAY['tickstream', 'grafana']) r, unnest(ARRAY['CONNECT', 'CREATE']) p
    UNION ALL -- Nobody but the schema's owner creates in it; both roles use it.
    SELECT 'SCHEMA', 'public', r, 'CREATE', false FROM unnest(ARRAY['PUBLIC', 'tickstream', 'grafana']) r
    UNION ALL
    SELECT 'SCHEMA', 'public', r, 'USAGE', true FROM unnest(ARRAY['tickstream', 'grafana']) r
    UNION ALL -- The job reads and writes rows: no DELETE, TRUNCATE, REFERENCES or TRIGGER.
    SELECT 'TABLE', t, 'tickstream', p, p IN ('SELECT', 'INSERT', 'UPDATE')
      FROM unnest(ARRAY['ticks', 'candles_1m', 'anomalies']) t, unnest(table_privileges) p
    UNION ALL -- Grafana only reads.
    SELECT 'TABLE', t, 'grafana', p, p = 'SELECT'
      FROM unnest(ARRAY['ticks', 'candles_1m', 'anomalies', 'candles_1h']) t, unnest(table_privileges) p
  LOOP
    IF pg_temp.tickstream_has(wanted.kind, wanted.object, wanted.grantee, wanted.privilege) <> wanted.granted THEN
      statements := statements || format(CASE WHEN wanted.granted THEN 'GRANT %s ON %s %I TO %s'
                                              ELSE 'REVOKE %s ON %s %I FROM %s' END,
                                         wanted.privilege, wanted.kind, wanted.object,
                                         CASE wanted.grantee WHEN 'PUBLIC' THEN 'PUBLIC' ELSE quote_ident(wanted.grantee) END);
      IF wanted.kind = 'TABLE' AND NOT wanted.object = ANY (tables) THEN
        tables := tables || wanted.object;
      END IF;
    END IF;
  END LOOP;
  -- Tables this role (the schema's owner) creates later are readable by Grafana.
  IF NOT EXISTS (SELECT 1 FROM pg_default_acl d CROSS JOIN LATERAL aclexplode(d.defaclacl) a
                  WHERE d.defaclrole = to_regrole(current_user) AND d.defaclnamespace = 'public'::regnamespace
                    AND d.defaclobjtype = 'r' AND a.grantee = to_regrole('grafana') AND a.privilege_type = 'SELECT') THEN
    statements := statements || 'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO grafana'::text;
  END IF;

  IF cardinality(tables) > 0 THEN
    EXECUTE format('LOCK TABLE %s IN ROW SHARE MODE',
                   (SELECT string_agg(quote_ident(t), ', ' ORDER BY t) FROM unnest(tables) t));
  END IF;
  FOREACH statement IN ARRAY statements LOOP
    EXECUTE statement;
    RAISE NOTICE 'privileges: %', statement;
  END LOOP;
END
$$;
