-- Release 0.2: alerts carry the incident they belong to (anomalies.incident_id). Alerts of one instrument less than
-- the price window apart (--spike-window, 60 s) share one incident, named after its first alert's id; an alert that
-- stands alone is an incident of its own (incident_id = id). Additive and safe to re-apply: a nullable column without
-- a default, which TimescaleDB adds to a hypertable with compressed chunks as well; rows written before it stay NULL
-- (read them as their own incident: coalesce(incident_id, id)).
ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS incident_id text;
COMMENT ON COLUMN anomalies.incident_id IS 'the incident this alert belongs to: the id of its first alert (NULL before release 0.2: the alert''s own id)';
