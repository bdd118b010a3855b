"""Proof that the Grafana dashboards show data: the whole stack runs (real exporters, Prometheus, the job writing
the database), then every query of every panel of grafana/dashboards/*.json, the template variables and the
annotations are evaluated the way Grafana would send them — PromQL through Prometheus's HTTP API, SQL through
the database as the read-only `grafana` role with Grafana's macros expanded to real time ranges. A query that
errors or returns no series/rows fails the test, named by dashboard and panel. None is skipped."""

import json
import re
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from conftest import REPO, StackCli, wait_for
from stack_fixtures import role_password, superuser

DASHBOARDS = sorted((REPO / "grafana" / "dashboards").glob("*.json"))
DATASOURCES = REPO / "grafana" / "provisioning" / "datasources" / "datasources.yaml"
PROM_UID, DB_UID = "prometheus", "tickstream-db"
# The Prometheus data source's scrape interval (timeInterval; test_deployment_configs.py checks that it is the
# scrape interval of deploy/prometheus/prometheus.yml and the compose copy).
SCRAPE_INTERVAL = next(
    d["jsonData"]["timeInterval"]
    for d in yaml.safe_load(DATASOURCES.read_text())["datasources"]
    if d["uid"] == PROM_UID
)
# What Grafana substitutes for its interval variables on the dashboards' default range: $__interval is
# range / data points (~4 s for an hour), raised to the scrape interval; $__rate_interval is
# max($__interval + scrape interval, 4 x scrape interval).
INTERVAL, DEFAULT_RANGE = SCRAPE_INTERVAL, timedelta(hours=1)
SETTLE_SECONDS = 90  # how long a query may still come back empty while the pipeline warms up


# ---- Grafana's expansion of a query ------------------------------------------------------------------------


def seconds(interval: str) -> int:
    m = re.fullmatch(r"\s*'?(\d+)(ms|s|m|h|d)'?\s*", interval)
    assert m, f"unsupported interval {interval!r}"
    n, unit = int(m.group(1)), m.group(2)
    return {"ms": n // 1000 or 1, "s": n, "m": n * 60, "h": n * 3600, "d": n * 86400}[unit]


RATE_INTERVAL = f"{max(seconds(INTERVAL) + seconds(SCRAPE_INTERVAL), 4 * seconds(SCRAPE_INTERVAL))}s"


def relative_range(text: str) -> timedelta:
    """A panel's relative time ("7d", "24h") or a dashboard's "now-1h"."""
    return timedelta(seconds=seconds(text.removeprefix("now-")))


def substitute_variables(text: str, variables: dict[str, str]) -> str:
    for name, value in variables.items():
        text = text.replace(f"${{{name}}}", value).replace(f"[[{name}]]", value)
        text = re.sub(rf"\${name}\b", lambda _: value, text)
    return text


def expand_sql(sql: str, variables: dict[str, str], start: datetime, end: datetime, timescaledb: bool) -> str:
    """Grafana's PostgreSQL data source macros, as it expands them (pkg/tsdb/grafana-postgresql-datasource)."""
    sql = substitute_variables(
        sql, {"__interval_ms": str(seconds(INTERVAL) * 1000), "__interval": INTERVAL, **variables}
    )
    iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")

    def time_group(m: re.Match, alias: bool) -> str:
        column, interval = m.group(1).strip(), m.group(2)
        secs = seconds(interval)
        expr = (
            f"time_bucket('{secs}s',{column})" if timescaledb else f"floor(extract(epoch from {column})/{secs})*{secs}"
        )
        return expr + (' AS "time"' if alias else "")

    group = r"\(\s*([^,()]+?)\s*,\s*('?[0-9]+[a-z]+'?)\s*(?:,[^)]*)?\)"
    sql = re.sub(r"\$__timeGroupAlias" + group, lambda m: time_group(m, True), sql)
    sql = re.sub(r"\$__timeGroup" + group, lambda m: time_group(m, False), sql)
    sql = re.sub(
        r"\$__timeFilter\(\s*([^()]+?)\s*\)", lambda m: f"{m.group(1)} BETWEEN '{iso(start)}' AND '{iso(end)}'", sql
    )
    sql = re.sub(
        r"\$__unixEpochFilter\(\s*([^()]+?)\s*\)",
        lambda m: f"{m.group(1)} >= {int(start.timestamp())} AND {m.group(1)} <= {int(end.timestamp())}",
        sql,
    )
    sql = sql.replace("$__timeFrom()", f"'{iso(start)}'").replace("$__timeTo()", f"'{iso(end)}'")
    sql = sql.replace("$__unixEpochFrom()", str(int(start.timestamp()))).replace(
        "$__unixEpochTo()", str(int(end.timestamp()))
    )
    assert "$" not in sql.replace("$$", ""), f"unexpanded macro or variable left in:\n{sql}"
    return sql


def expand_promql(expr: str) -> str:
    expr = substitute_variables(expr, {"__rate_interval": RATE_INTERVAL, "__interval": INTERVAL, "__range": "1h"})
    assert "$" not in expr, f"unexpanded variable left in: {expr}"
    return expr


# ---- the dashboards' queries -------------------------------------------------------------------------------


def all_panels(panels: list[dict]):
    for p in panels:
        yield p
        yield from all_panels(p.get("panels", []))  # panels inside collapsed rows


def queries(dashboard: dict):
    """(where, datasource uid, query text, panel relative time, format) for every query the dashboard sends:
    template variables, annotations (except Grafana's built-in one, which queries nothing) and every panel
    target. A panel without targets would show nothing: it is reported."""
    title = dashboard["title"]
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            q = var["query"] if isinstance(var["query"], str) else var["query"].get("rawSql") or var["query"]["query"]
            yield f"{title} / variable ${var['name']}", var["datasource"]["uid"], q, None, "table"
    for ann in dashboard.get("annotations", {}).get("list", []):
        if ann.get("builtIn"):
            continue
        target = ann.get("target") or ann
        yield (
            f"{title} / annotation {ann['name']}",
            ann["datasource"]["uid"],
            target.get("rawSql") or target.get("expr"),
            None,
            "table",
        )
    for panel in all_panels(dashboard["panels"]):
        if panel.get("type") == "row":
            continue
        where = f"{title} / panel {panel['title']!r}"
        assert panel.get("targets"), f"{where} has no query"
        for t in panel["targets"]:
            uid = (t.get("datasource") or panel["datasource"])["uid"]
            text = t.get("expr") if uid == PROM_UID else t.get("rawSql")
            assert text, f"{where} target {t.get('refId')} has no query text"
            yield f"{where} [{t['refId']}]", uid, text, panel.get("timeFrom"), t.get("format", "time_series")


def test_dashboards_are_valid_grafana_json():
    assert {p.name for p in DASHBOARDS} == {"pipeline.json", "market.json"}
    uids = set()
    for path in DASHBOARDS:
        d = json.loads(path.read_text())
        assert d["uid"] not in uids and d["schemaVersion"] >= 36 and d["title"]
        uids.add(d["uid"])
        ids = [p["id"] for p in all_panels(d["panels"])]
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel ids"
        for p in all_panels(d["panels"]):
            assert p["datasource"]["uid"] in (PROM_UID, DB_UID), (path.name, p["title"])
            assert {"h", "w", "x", "y"} <= set(p["gridPos"]), (path.name, p["title"])
            for t in p["targets"]:
                assert t["datasource"]["uid"] == p["datasource"]["uid"], (path.name, p["title"])
    provisioning = (REPO / "grafana" / "provisioning" / "datasources" / "datasources.yaml").read_text()
    for uid in (PROM_UID, DB_UID):
        assert f"uid: {uid}" in provisioning
    assert "$__env{TICKSTREAM_GRAFANA_PASSWORD}" in provisioning and "timescaledb: true" in provisioning


# ---- against the running stack -----------------------------------------------------------------------------


def prometheus_query(stack: StackCli, expr: str) -> tuple[str | None, list]:
    url = f"http://127.0.0.1:{stack.port('prometheus')}/api/v1/query"
    data = urllib.parse.urlencode({"query": expr}).encode()
    try:
        with urllib.request.urlopen(url, data=data, timeout=10) as r:
            body = json.loads(r.read())
    except urllib.error.HTTPError as e:
        return f"HTTP {e.code}: {e.read().decode(errors='replace')[:300]}", []
    if body.get("status") != "success":
        return f"{body.get('errorType')}: {body.get('error')}", []
    return None, body["data"]["result"]


@pytest.fixture(scope="module")
def flowing(whole_stack: StackCli):
    """The stack once data flows: rows in every table, and the rate() of the job's and producers' counters has
    the two samples it needs."""
    wait_for(
        "ticks, candles and anomalies in the database",
        lambda: (
            (d := whole_stack.status()["data"])
            and d.get("ticks", 0) > 1000
            and d.get("anomalies", 0) > 0
            and superuser(whole_stack).value("SELECT count(*) FROM candles_1m") not in (None, "0")
        ),
        timeout=180,
        interval=3,
    )
    for expr in (
        f"rate(flink_taskmanager_job_task_operator_tickstream_records_in[{RATE_INTERVAL}])",
        f"rate(tickstream_producer_messages_total[{RATE_INTERVAL}])",
        f'rate(pg_stat_database_tup_inserted{{datname="tickstream"}}[{RATE_INTERVAL}])',
    ):
        wait_for(f"{expr} in Prometheus", lambda: prometheus_query(whole_stack, expr)[1], timeout=90, interval=2)
    return whole_stack


def test_every_dashboard_query_returns_data(flowing: StackCli):
    admin = superuser(flowing)
    grafana = admin.as_role("grafana", role_password("grafana"))
    timescaledb = admin.value("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'") == "1"

    # $symbol as Grafana would fill it: values from its own query, the one with the most anomalies first
    # (so the per-instrument annotation has marks to show). Multi-value variables are quoted, comma-joined.
    market = json.loads((REPO / "grafana" / "dashboards" / "market.json").read_text())
    var = next(v for v in market["templating"]["list"] if v["name"] == "symbol")
    choices = [next(iter(r.values())) for r in grafana.rows(var["query"])]
    assert choices, "the $symbol variable query returns no instruments"
    busiest = admin.value("SELECT exchange || ':' || symbol FROM anomalies GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
    chosen = busiest if busiest in choices else choices[0]
    variables = {"symbol": f"'{chosen}'"}

    pending = [(path.name, *q) for path in DASHBOARDS for q in queries(json.loads(path.read_text()))]
    assert len(pending) >= 25, f"only {len(pending)} queries found in the dashboards"
    failures: dict[str, str] = {}
    deadline = time.monotonic() + SETTLE_SECONDS
    while pending:
        still = []
        for name, where, uid, text, time_from, fmt in pending:
            end = datetime.now(UTC)
            start = end - (relative_range(time_from) if time_from else DEFAULT_RANGE)
            if uid == PROM_UID:
                error, result = prometheus_query(flowing, expand_promql(text))
                problem = error or (None if result else "no series")
            elif uid == DB_UID:
                sql = expand_sql(text, variables, start, end, timescaledb)
                run = grafana.run(sql, check=False)
                if run.returncode != 0:
                    problem = f"SQL error: {run.stderr.strip()}\n{sql}"
                else:
                    lines = run.stdout.splitlines()
                    header = lines[0].split(",") if lines else []
                    problem = None if len(lines) > 1 else f"no rows\n{sql}"
                    if not problem and fmt == "time_series" and "time" not in header:
                        problem = f"a time series query without a time column ({header})"
            else:
                problem = f"unknown data source uid {uid}"
            if problem:
                failures[where] = problem
                still.append((name, where, uid, text, time_from, fmt))
            else:
                failures.pop(where, None)
        pending = still
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(5)
    assert not failures, "dashboard queries without data:\n" + "\n".join(f"- {w}: {p}" for w, p in failures.items())


def test_the_broker_exporter_serves_every_family_its_rules_name(flowing: StackCli):
    """deploy/kafka/jmx-exporter.yaml reads only the MBeans it lists (includeObjectNames): a family whose MBeans the
    list leaves out would vanish without an error. (Its group-coordinator rule matches no MBean of Kafka 4.2.)"""
    expected = [
        f"kafka_server_brokertopicmetrics_{m}persec_total"
        for m in (
            "messagesin",
            "bytesin",
            "bytesout",
            "totalproducerequests",
            "totalfetchrequests",
            "failedproducerequests",
            "failedfetchrequests",
        )
    ] + [
        "kafka_server_replicamanager_partitioncount",
        "kafka_server_replicamanager_leadercount",
        "kafka_server_replicamanager_underreplicatedpartitions",
        "kafka_server_replicamanager_offlinereplicacount",
        "kafka_network_requestmetrics_totaltimems",
        "kafka_log_size",
        "kafka_log_logendoffset",
        "kafka_jvm_heap_used_bytes",
    ]
    url = f"http://127.0.0.1:{flowing.port('kafka_metrics')}/metrics"
    with urllib.request.urlopen(url, timeout=30) as r:
        served = {re.split(r"[{ ]", line, maxsplit=1)[0] for line in r.read().decode().splitlines() if line[:1] != "#"}
    assert not [name for name in expected if name not in served]
