"""The postgres exporter's role (sql/015_monitoring_roles.sql, sql/095_monitoring_grants.sql) on a real server:
the real exporter connects as `postgres_exporter` and scrapes every collector without an error, the role reads
the statistics the exporter's collectors read (also those of the newer exporter in deploy/docker-compose.yml), and
nothing else — no table of the schema, no DDL, no superuser-like attribute or data-reading role."""

import os
import re
import shutil
import socket
import subprocess
import urllib.parse
import urllib.request

import pytest
from conftest import wait_for
from stack_fixtures import PSQL, Database, postgres_stack, role_password, superuser  # noqa: F401 (fixture)

ROLE = "postgres_exporter"
EXPORTER = shutil.which("prometheus-postgres-exporter")
SCHEMA_RELATIONS = ("ticks", "candles_1m", "anomalies", "candles_1h")


@pytest.fixture(scope="module")
def exporter_db(postgres_stack) -> Database:
    admin = superuser(postgres_stack)
    return admin.as_role(ROLE, role_password(ROLE))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            return response.read().decode()
    except OSError:
        return None


def metric(text: str, name: str) -> list[float]:
    return [float(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)]


def test_the_role_is_created_by_sql_and_is_not_privileged(postgres_stack):
    admin = superuser(postgres_stack)
    role = admin.rows(
        f"SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin"
        f"  FROM pg_roles WHERE rolname = '{ROLE}'"
    )
    assert role == [
        {
            "rolsuper": "f",
            "rolcreaterole": "f",
            "rolcreatedb": "f",
            "rolreplication": "f",
            "rolbypassrls": "f",
            "rolcanlogin": "t",
        }
    ]
    # Member of pg_monitor (and what pg_monitor holds), of no role that reads or writes data.
    memberships = {
        r["rolname"]
        for r in admin.rows(
            f"SELECT rolname FROM pg_roles WHERE pg_has_role('{ROLE}', oid, 'MEMBER') AND rolname <> '{ROLE}'"
        )
    }
    assert memberships == {"pg_monitor", "pg_read_all_settings", "pg_read_all_stats", "pg_stat_scan_tables"}


def test_the_real_exporter_scrapes_every_collector_as_the_role(postgres_stack):
    assert EXPORTER, "prometheus-postgres-exporter is not installed (.ci/run installs it)"
    pg = postgres_stack.status()["endpoints"]["postgres"]
    dsn = (
        f"postgresql://{ROLE}:{urllib.parse.quote(role_password(ROLE))}@{pg['host']}:{pg['port']}"
        f"/{pg['database']}?sslmode=disable"
    )
    port = free_port()
    # The native stack's flags (deploy/stack/monitoring.py); the password only in the environment.
    process = subprocess.Popen(
        [EXPORTER, f"--web.listen-address=127.0.0.1:{port}", "--collector.database", "--disable-settings-metrics"],
        env=dict(os.environ, DATA_SOURCE_NAME=dsn),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        text = wait_for("the exporter's first scrape", lambda: scrape(port), timeout=60)
        text = scrape(port)  # a second scrape: the builtin metric maps are loaded on the first one
    finally:
        process.terminate()
        log = process.communicate(timeout=30)[0]
    assert metric(text, "pg_up") == [1.0], log
    assert metric(text, "pg_exporter_last_scrape_error") == [0.0], log
    assert "permission denied" not in log, log
    # What the dashboards query (grafana/dashboards) and the other builtin maps.
    for family in (
        "pg_database_size_bytes",
        "pg_stat_database_tup_inserted",
        "pg_stat_database_tup_updated",
        "pg_stat_activity_count",
        "pg_locks_count",
        r"pg_stat_bgwriter_\w+",
    ):
        assert metric(text, family), f"{family} missing from the scrape as {ROLE}:\n{log}"
    assert {m for m in re.findall(r'datname="([^"]+)"', text)} >= {pg["database"]}


def test_the_role_reads_what_the_collectors_read(postgres_stack, exporter_db):
    # The queries of the exporter's collectors, including the newer default ones of the compose image (wal,
    # replication slots, postmaster, long-running transactions): each answers as the role, none needs more.
    for sql in (
        "SELECT datname, pg_database_size(datname) FROM pg_database WHERE datallowconn",
        "SELECT count(*) FROM pg_ls_waldir()",
        "SELECT slot_name, pg_current_wal_lsn() FROM pg_replication_slots",
        "SELECT * FROM pg_stat_replication",
        "SELECT pg_postmaster_start_time()",
        "SELECT * FROM pg_stat_user_tables",
        "SELECT * FROM pg_statio_user_tables",
        "SELECT * FROM pg_stat_bgwriter",
        "SELECT * FROM pg_stat_database",
        "SELECT count(*) FROM pg_locks",
        "SELECT max(EXTRACT(EPOCH FROM clock_timestamp() - xact_start)) FROM pg_stat_activity",
    ):
        exporter_db.run(sql)
    # pg_read_all_stats: another role's session shows its query, not "<insufficient privilege>".
    admin = superuser(postgres_stack)
    marker = "SELECT pg_sleep(60) AS exporter_role_test"
    other = subprocess.Popen(
        [PSQL, "-X", "-h", admin.host, "-p", str(admin.port), "-U", admin.user, "-d", admin.database, "-c", marker],
        env=dict(os.environ, PGPASSWORD=admin.password),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        seen = wait_for(
            "the other session in pg_stat_activity as the exporter's role",
            lambda: exporter_db.value(
                f"SELECT query FROM pg_stat_activity WHERE usename = '{admin.user}' AND query LIKE '%exporter_role_test'"
                f" AND pid <> pg_backend_pid()"
            ),
            timeout=30,
        )
        assert seen == marker
    finally:
        other.terminate()
        other.wait(timeout=30)


@pytest.mark.parametrize(
    "sql",
    [f"SELECT * FROM {r} LIMIT 1" for r in SCHEMA_RELATIONS]
    + [
        "INSERT INTO anomalies SELECT * FROM anomalies LIMIT 0",
        "CREATE TABLE public.exporter_was_here (x int)",
        "CREATE SCHEMA exporter_was_here",
        "CREATE DATABASE exporter_was_here",
        "SELECT pg_read_file('PG_VERSION')",
        "SELECT rolpassword FROM pg_authid",
    ],
)
def test_the_role_reads_no_data_and_changes_nothing(exporter_db, sql):
    result = exporter_db.run(sql, check=False)
    assert result.returncode != 0, f"{ROLE} was allowed: {sql}"
    assert re.search(r"permission denied|must be superuser|must be owner", result.stderr), result.stderr
