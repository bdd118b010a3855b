#!/usr/bin/env bash
# TimescaleDB init script (docker-compose.yml mounts it into /docker-entrypoint-initdb.d; it runs once, on an
# empty data volume, after the image's own TimescaleDB scripts). Applies sql/ (mounted at
# /docker-entrypoint-initdb.d/tickstream-sql) in file order, as deploy/stack/postgres.py does, then gives the
# roles that sql/ creates without a password their login passwords from the environment.
set -euo pipefail
: "${TICKSTREAM_JDBC_PASSWORD:?set TICKSTREAM_JDBC_PASSWORD}"
: "${TICKSTREAM_GRAFANA_PASSWORD:?set TICKSTREAM_GRAFANA_PASSWORD}"
: "${TICKSTREAM_POSTGRES_EXPORTER_PASSWORD:?set TICKSTREAM_POSTGRES_EXPORTER_PASSWORD}"

psql_db=(psql -v ON_ERROR_STOP=1 -X -q --username "$POSTGRES_USER" --dbname "$POSTGRES_DB")
for f in /docker-entrypoint-initdb.d/tickstream-sql/*.sql; do
  echo "tickstream: applying sql/$(basename "$f")"
  "${psql_db[@]}" -f "$f"
done
# psql variables (:'name') quote the passwords; they never appear on a command line.
"${psql_db[@]}" -v jdbc_password="$TICKSTREAM_JDBC_PASSWORD" -v grafana_password="$TICKSTREAM_GRAFANA_PASSWORD" \
  -v exporter_password="$TICKSTREAM_POSTGRES_EXPORTER_PASSWORD" <<'SQL'
ALTER ROLE tickstream WITH LOGIN PASSWORD :'jdbc_password';
ALTER ROLE grafana WITH LOGIN PASSWORD :'grafana_password';
ALTER ROLE postgres_exporter WITH LOGIN PASSWORD :'exporter_password';
SQL
echo "tickstream: schema applied, roles tickstream, grafana and postgres_exporter can log in"
