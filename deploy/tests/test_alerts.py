"""Alerts on a real stack: anomalies reach a webhook receiver through the notifier and Alertmanager (grouped across
venues, once, silenced on request, nothing lost or repeated across a notifier restart), and each pipeline-health
rule fires in Alertmanager when its condition is made to happen, and resolves when it ends.

One stack (PostgreSQL, Kafka, Flink and the job with exactly-once delivery, the postgres exporter, Alertmanager,
Prometheus, the notifier and the alert log) on free ports, with Prometheus scraping and evaluating every 3 s and
the shipped rules rendered with test timings (alerting.py: `for: 4s`, 15 s windows, a few thresholds scaled).
The producers run live against local fake Binance and Kraken servers, on the stack's producer metrics port.

Every rule is proven here, in CI (`./mvnw verify`); nothing waits for TICKSTREAM_SLOW_FAULTS (the whole module
takes about 3 minutes).
"""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml
from alerting import AlertLog, Alertmanager, FakeVenues, alertmanager_config, write_test_rules
from confluent_kafka import Producer
from conftest import REPO, StackCli, wait_for

PRODUCERS_PY = REPO / "producers" / ".venv" / "bin" / "python"
# A table's writer holds one batch more while the database is busy (the default holds 250,000 rows, two minutes of this
# test's load): a locked ticks table then stalls the job within a second.
JOB_ARGS = (
    "--delivery exactly-once --checkpoint-interval '2 s' --checkpoint-timeout '25 s' --restart-max-delay '2 s'"
    " --jdbc-max-buffered-rows 2000"
)
COMPONENTS = "postgres,kafka,flink,job,pg-exporter,alert-log,alertmanager,prometheus,notifier"


class AlertStack(StackCli):
    def __init__(self, home, env):
        super().__init__(home)
        self.env = env

    def run(self, *args, check=True, timeout=600):
        result = subprocess.run(
            [str(PRODUCERS_PY), str(REPO / "deploy" / "tickstream"), "--state-dir", str(self.home), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"deploy/tickstream {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result

    def pid(self, name):
        return self.stack_json()["components"][name]["pid"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("alerts")
    log_port = _free_port()
    (tmp / "alertmanager.yml").write_text(yaml.safe_dump(alertmanager_config(log_port), sort_keys=False))
    env = dict(
        os.environ,
        TICKSTREAM_PROMETHEUS_INTERVAL="3s",
        TICKSTREAM_PROMETHEUS_RULES=str(write_test_rules(tmp / "tickstream.rules.yml")),
        TICKSTREAM_ALERTMANAGER_CONFIG=str(tmp / "alertmanager.yml"),
        TICKSTREAM_JOB_ARGS=JOB_ARGS,
    )
    s = AlertStack(REPO / "deploy" / "target" / f"alerts-{uuid.uuid4().hex[:8]}", env)
    venues, producer = FakeVenues(rate=50), None
    try:
        up = s.run("up", "--free-ports", "--port", f"alert_log={log_port}", "--only", COMPONENTS)
        assert "alertmanager started" in up.stdout and f"on http://127.0.0.1:{s.port('alertmanager')}" in up.stdout
        s.am = Alertmanager(f"http://127.0.0.1:{s.port('alertmanager')}")
        s.log = AlertLog(s.home / "alerts" / "notifications.jsonl")
        s.bootstrap = s.stack_json()["endpoints"]["kafka_bootstrap"]
        venues.start()
        s.venues = venues
        producer = subprocess.Popen(
            [
                str(PRODUCERS_PY),
                "-m",
                "tickstream_producers",
                "live",
                "--venue",
                "binance,kraken",
                "--url",
                f"binance={venues.urls['binance']}",
                "--url",
                f"kraken={venues.urls['kraken']}",
                "--bootstrap",
                s.bootstrap,
                "--metrics-port",
                str(s.port("producer_metrics")),
                "--backoff-min",
                "0.2",
                "--backoff-max",
                "1",
                "--status-every",
                "0",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(s.home / "logs" / "test-producers.log", "w"),
        )
        s.producer = producer
        yield s
    finally:
        if producer is not None:
            producer.terminate()
            producer.wait(20)
        venues.stop()
        down = s.run("down", check=False)
        assert down.returncode == 0, down.stdout + down.stderr


# ---------------------------------------------------------------------------------------------- anomalies
def anomaly(exchange, symbol, type_="PRICE_DROP", change=-5.2, **over):
    now = int(time.time() * 1000)
    a = {
        "v": 1,
        "id": str(uuid.uuid4()),
        "exchange": exchange,
        "symbol": symbol,
        "type": type_,
        "ts": now - 40,
        "price": "67000.5",
        "ref_price": "70675.0",
        "change_pct": change,
        "window_ms": 60000,
        "zscore": None,
        "trade_id": "123",
        "detected_at": now - 10,
    }
    a.update(over)
    return a


class Anomalies:
    def __init__(self, bootstrap):
        self.producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})

    def send(self, *anomalies, partition=None):
        for a in anomalies:
            kwargs = {} if partition is None else {"partition": partition}
            self.producer.produce(
                "anomalies", json.dumps(a).encode(), f"{a['exchange']}:{a['symbol']}".encode(), **kwargs
            )
        assert self.producer.flush(30) == 0

    def sentinels(self) -> list[str]:
        """One anomaly per partition: once all are notified, everything sent before them has been read."""
        ids = []
        for p in range(5):
            a = anomaly("binance", f"SENT{p}{uuid.uuid4().hex[:4].upper()}-USDT", "VOLUME_SPIKE", change=None)
            self.send(a, partition=p)
            ids.append(a["id"])
        return ids


def notified(stack, ids) -> bool:
    seen = {i for n in stack.log.anomaly_ids() for i in n}
    return set(ids) <= seen


def test_anomalies_grouped_once_silenced_and_nothing_lost_or_repeated_across_a_notifier_restart(stack):
    am, log = stack.am, stack.log
    send = Anomalies(stack.bootstrap)

    # The same drop on two venues (BTC-USDT and BTC-USD: one asset, quote class USD): one notification, both in it.
    drop_binance, drop_coinbase = anomaly("binance", "BTC-USDT"), anomaly("coinbase", "BTC-USD")
    send.send(drop_binance, drop_coinbase)
    wait_for("the drop notified", lambda: notified(stack, [drop_binance["id"], drop_coinbase["id"]]), timeout=60)
    holding = [n for n in log.anomaly_ids() if drop_binance["id"] in n or drop_coinbase["id"] in n]
    assert len(holding) == 1 and sorted(holding[0]) == sorted([drop_binance["id"], drop_coinbase["id"]]), holding
    payload = next(
        n["payload"]
        for n in log.notifications()
        if n["path"] == "/anomalies"
        and drop_binance["id"] in [a["labels"]["anomaly_id"] for a in n["payload"]["alerts"]]
    )
    assert payload["groupLabels"] == {
        "alertname": "TickStreamAnomaly",
        "type": "PRICE_DROP",
        "asset": "BTC",
        "quote_class": "USD",
    }
    first = payload["alerts"][0]
    assert {"venue", "severity", "symbol", "anomaly_id"} <= set(first["labels"])
    assert first["labels"]["severity"] == "critical"
    assert {"summary", "price", "change_pct", "window_ms", "dashboard", "trade_time"} <= set(first["annotations"])
    assert "tickstream-market" in first["annotations"]["dashboard"]

    # A notifier restart in the middle: half the anomalies before a SIGKILL, half while it is down.
    batch = [
        anomaly("binance", f"R{i}X{uuid.uuid4().hex[:4].upper()}-USDT", "PRICE_SPIKE", change=2.0) for i in range(20)
    ]
    send.send(*batch[:10])
    wait_for("the first half notified", lambda: notified(stack, [a["id"] for a in batch[:10]]), timeout=60)
    os.killpg(stack.pid("notifier"), signal.SIGKILL)
    send.send(*batch[10:])
    up = stack.run("up", "--only", "notifier")
    assert "notifier     started" in up.stdout, up.stdout
    wait_for("the second half notified", lambda: notified(stack, [a["id"] for a in batch[10:]]), timeout=60)
    # Every one of them again, as the job's at-least-once replay would send them, then one per partition after.
    send.send(drop_binance, drop_coinbase, *batch)
    sentinels = send.sentinels()
    wait_for("the sentinels notified", lambda: notified(stack, sentinels), timeout=60)
    counts = {}
    for ids in log.anomaly_ids():
        for i in ids:
            counts[i] = counts.get(i, 0) + 1
    every = [drop_binance["id"], drop_coinbase["id"], *(a["id"] for a in batch)]
    assert {i: counts.get(i, 0) for i in every} == {i: 1 for i in every}

    # A silence set through Alertmanager's API suppresses the next one.
    silence = am.silence({"asset": "SIL", "type": "PRICE_SPIKE"}, comment="maintenance of SIL")
    silenced = anomaly("kraken", "SIL-USD", "PRICE_SPIKE", change=3.0)
    send.send(silenced)
    sentinels = send.sentinels()
    wait_for("the sentinels after the silence notified", lambda: notified(stack, sentinels), timeout=60)
    assert not notified(stack, [silenced["id"]])
    held = am.alerts(anomaly_id=silenced["id"])
    assert held and held[0]["status"]["state"] == "suppressed" and held[0]["status"]["silencedBy"] == [silence]

    # The notifier's own metrics.
    with urllib.request.urlopen(f"http://127.0.0.1:{stack.port('notifier_metrics')}/metrics", timeout=5) as r:
        text = r.read().decode()
    sent = sum(
        float(line.split()[-1]) for line in text.splitlines() if line.startswith("tickstream_notifier_sent_total")
    )
    assert sent >= 10 + 5 + 1, text  # this process (after the restart): second half, sentinels, the silenced one
    assert "tickstream_notifier_latency_seconds_count" in text and "tickstream_notifier_failed_total" in text


# ---------------------------------------------------------------------------------------------- pipeline health
def fired(stack, alertname, **labels):
    """In Alertmanager, active or held back by a silence or an inhibition (a cause that fired too)."""
    return [a for a in stack.am.alerts(alertname=alertname, **labels)]


def wait_fired(stack, alertname, timeout=120, **labels):
    wait_all_fired(stack, [(alertname, labels)], timeout)


def wait_all_fired(stack, alerts, timeout=120, seen=None):
    """Every (alertname, labels) in Alertmanager; on a timeout, says which did not come and what Prometheus saw.
    With `seen` (a set), also notes every other alert of that set's watch list as it comes, for a later call."""
    started = time.monotonic()
    missing = [(name, labels) for name, labels in alerts if seen is None or (name, str(labels)) not in seen]
    watch = list(getattr(seen, "watch", []))
    deadline = time.monotonic() + timeout
    while missing and time.monotonic() < deadline:
        missing = [(name, labels) for name, labels in missing if not fired(stack, name, **labels)]
        if seen is not None:
            seen.update((name, str(labels)) for name, labels in watch if fired(stack, name, **labels))
            missing = [(name, labels) for name, labels in missing if (name, str(labels)) not in seen]
        time.sleep(1)
    if missing:
        states = {
            r["name"]: (r["state"], [a["labels"] for a in r.get("alerts", [])], r.get("lastError"))
            for g in prom_api(stack, "/api/v1/rules")["groups"]
            for r in g["rules"]
        }
        raise AssertionError(
            f"not fired in Alertmanager within {timeout} s: {missing}; Prometheus rules: "
            f"{ {name: states.get(name) for name, _ in missing} }"
        )
    print(f"fired after {time.monotonic() - started:.0f} s: {[name for name, _ in alerts]}")


class Seen(set):
    """Alerts seen firing, watching for `watch` meanwhile (a restart's alert may come and go while waiting for
    another)."""

    def __init__(self, watch):
        super().__init__()
        self.watch = watch


def wait_resolved(stack, alertname, timeout=120, **labels):
    started = time.monotonic()
    wait_for(
        f"{alertname} {labels} resolved in Alertmanager",
        lambda: not fired(stack, alertname, **labels),
        timeout=timeout,
        interval=1,
    )
    print(f"resolved after {time.monotonic() - started:.0f} s: {alertname}")


def job_running(stack):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{stack.port('flink_rest')}/jobs/overview", timeout=5) as r:
            jobs = json.loads(r.read())["jobs"]
    except OSError:
        return False
    return any(j["name"] == "tickstream" and j["state"] == "RUNNING" for j in jobs)


def psql_session(stack):
    """A psql session as the superuser, kept open (for a lock held across statements)."""
    from stack_fixtures import PSQL

    pg = stack.stack_json()["endpoints"]["postgres"]
    password = (stack.home / "postgres" / "superuser.password").read_text().strip()
    return subprocess.Popen(
        [PSQL, "-X", "-q", "-At", "-h", pg["host"], "-p", str(pg["port"]), "-U", "postgres", "-d", pg["database"]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, PGPASSWORD=password),
    )


def test_bad_records_a_dead_feed_and_a_reconnect_storm(stack):
    wait_for(
        "ticks from both venues in Prometheus",
        lambda: len(prom(stack, "rate(tickstream_producer_messages_total[20s]) > 0")) == 2,
        timeout=90,
        interval=1,
    )
    # Bad records for 20 s (20/s against ~100 good ticks/s) and Kraken's feed dead (every connection closed at once).
    stack.venues.mode["kraken"] = "refuse"
    junk = Producer({"bootstrap.servers": stack.bootstrap, "linger.ms": 5})
    until = time.monotonic() + 20
    while time.monotonic() < until:
        for i in range(10):
            junk.produce("ticks", b"not a tick " + str(i).encode(), b"binance:BTC-USDT")
        junk.flush(10)
        time.sleep(0.5)
    wait_all_fired(
        stack,
        [
            ("TickStreamDeadLettersAboveNormal", {}),
            ("TickStreamVenueSilent", {"exchange": "kraken"}),
            ("TickStreamReconnectStorm", {"exchange": "kraken"}),
        ],
    )
    assert not fired(stack, "TickStreamVenueSilent", exchange="binance")
    stack.venues.mode["kraken"] = "trade"
    wait_resolved(stack, "TickStreamDeadLettersAboveNormal")
    wait_resolved(stack, "TickStreamVenueSilent", exchange="kraken")
    wait_resolved(stack, "TickStreamReconnectStorm", exchange="kraken")
    # The receiver was told both ways.
    wait_for(
        "the resolved notification",
        lambda: stack.log.health("TickStreamVenueSilent", "resolved", exchange="kraken"),
        timeout=30,
    )
    assert stack.log.health("TickStreamVenueSilent", "firing", exchange="kraken")


def lock_ticks(stack):
    """Holds an exclusive lock on ticks in an open transaction until the session gets COMMIT."""
    session = psql_session(stack)
    session.stdin.write("BEGIN; LOCK TABLE ticks IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n")
    session.stdin.flush()
    assert session.stdout.readline().strip() == "locked"
    return session


def unlock(session):
    session.stdin.write("COMMIT;\n\\q\n")
    session.stdin.flush()
    session.wait(30)


def test_database_lock_stalls_rows_lag_and_checkpoints(stack):
    """ticks locked: the job's tick sink waits, so no row is inserted, the job falls behind Kafka, a checkpoint
    stays in progress (slow) until it expires (25 s timeout) and, as Flink tolerates no failed checkpoint by
    default, the job restarts; released, everything resolves."""
    wait_for("the job running", lambda: job_running(stack), timeout=120)
    session = lock_ticks(stack)
    load = None
    try:
        load = subprocess.Popen(
            [
                str(PRODUCERS_PY),
                "-m",
                "tickstream_producers",
                "synthetic",
                "--rate",
                "2000",
                "--duration",
                "30",
                "--bootstrap",
                stack.bootstrap,
                "--no-metrics",
                "--status-every",
                "0",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_all_fired(
            stack,
            [
                ("TickStreamRowsNotGrowing", {}),
                ("TickStreamKafkaLagGrowing", {}),
                ("TickStreamCheckpointsSlow", {}),
                ("TickStreamCheckpointsFailing", {}),
                ("TickStreamJobRestarting", {}),
            ],
            timeout=120,
        )
    finally:
        unlock(session)
        if load is not None:
            load.wait(60)
    wait_for("the job running", lambda: job_running(stack), timeout=120)
    print("job running again")
    for name in ("TickStreamRowsNotGrowing", "TickStreamKafkaLagGrowing", "TickStreamCheckpointsSlow"):
        wait_resolved(stack, name, timeout=150)


def postgres_processes(postmaster: int) -> list[int]:
    """The postmaster and its children (each backend is in a session of its own, so no process group has them all)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            children.append(int(stat.parent.name))
    return [postmaster, *children]


def test_postgres_stopped_and_a_scrape_target_down(stack):
    """Every PostgreSQL process frozen (SIGSTOP): the exporter's queries hang, its scrape fails."""
    pids = postgres_processes(stack.pid("postgres"))
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        wait_all_fired(stack, [("TickStreamPostgresDown", {}), ("TickStreamTargetDown", {"job": "postgres"})])
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    wait_resolved(stack, "TickStreamPostgresDown")
    wait_resolved(stack, "TickStreamTargetDown", job="postgres")


def test_job_cancelled_then_resubmitted(stack):
    wait_for("the job running", lambda: job_running(stack), timeout=120)
    rest = f"http://127.0.0.1:{stack.port('flink_rest')}"
    with urllib.request.urlopen(f"{rest}/jobs/overview", timeout=5) as r:
        jid = next(j["jid"] for j in json.loads(r.read())["jobs"] if j["state"] == "RUNNING")
    urllib.request.urlopen(urllib.request.Request(f"{rest}/jobs/{jid}?mode=cancel", method="PATCH"), timeout=10).read()
    wait_fired(stack, "TickStreamJobNotRunning")
    stack.run("up", "--only", "job")
    wait_resolved(stack, "TickStreamJobNotRunning", timeout=150)


def test_taskmanager_killed_restart_alert(stack):
    """The TaskManager killed: its scrape target is down and the job is not running (it waits for slots); a new
    TaskManager: the job restarts, and everything resolves."""
    wait_for("the job running", lambda: job_running(stack), timeout=120)
    restarting = ("TickStreamJobRestarting", {})
    seen = Seen([restarting])
    os.killpg(stack.pid("flink-taskmanager"), signal.SIGKILL)
    # The job restarts when the TaskManager is found lost, or once a new one gives it slots: watch from the kill.
    wait_all_fired(stack, [("TickStreamTargetDown", {"job": "flink"}), ("TickStreamJobNotRunning", {})], seen=seen)
    stack.run("up", "--only", "flink")
    wait_all_fired(stack, [restarting], timeout=180, seen=seen)
    wait_for("the job running", lambda: job_running(stack), timeout=180)
    for name, labels in (
        ("TickStreamTargetDown", {"job": "flink"}),
        ("TickStreamJobNotRunning", {}),
        ("TickStreamJobRestarting", {}),
    ):
        wait_resolved(stack, name, timeout=180, **labels)


def prom_api(stack, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{stack.port('prometheus')}{path}", timeout=5) as r:
        return json.loads(r.read())["data"]


def prom(stack, query):
    return prom_api(stack, f"/api/v1/query?query={urllib.parse.quote(query)}")["result"]
