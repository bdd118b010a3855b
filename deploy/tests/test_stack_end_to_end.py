"""The README's first command, end to end: the whole pipeline on free ports, ticks to rows and anomalies,
the job's metrics in Prometheus, an idempotent second `up`, `flink list`, an upgrade by savepoint without
losing or duplicating a tick, and a `down` that stops everything it started. The stack is conftest.whole_stack,
which test_dashboards.py queries before this test (pytest_collection_modifyitems runs this module's test last)."""

import json
import os
import socket
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition
from conftest import REPO, StackCli, wait_for


def http_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def prometheus_value(stack: StackCli, query: str) -> float:
    url = f"http://127.0.0.1:{stack.port('prometheus')}/api/v1/query?query={urllib.parse.quote(query)}"
    result = http_json(url)["data"]["result"]
    return sum(float(r["value"][1]) for r in result) if result else 0.0


def ticks_in_kafka(bootstrap: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "e2e-offsets"})
    try:
        total = 0
        for p in range(5):
            low, high = consumer.get_watermark_offsets(TopicPartition("ticks", p), timeout=10)
            total += high - low
        return total
    finally:
        consumer.close()


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_whole_pipeline_up_upgrade_down(whole_stack: StackCli):
    stack_cli = whole_stack
    try:
        up = stack_cli.up  # the first `up --free-ports` of this stack
        assert "producers    started" in up.stdout, up.stdout
        assert ("SYNTHETIC" in up.stdout) or ("live:" in up.stdout)
        assert "alertmanager started (pid" in up.stdout
        assert f"on http://127.0.0.1:{stack_cli.port('alertmanager')}" in up.stdout, up.stdout

        status = stack_cli.status()
        states = {c["component"]: c["state"] for c in status["components"]}
        for component in (
            "postgres",
            "kafka",
            "flink-jobmanager",
            "flink-taskmanager",
            "job",
            "producers",
            "prometheus",
            "pg-exporter",
            "alertmanager",
            "notifier",
            "alert-log",
        ):
            assert states[component] == "running", (component, states)
        pids = {c["component"]: c["pid"] for c in status["components"]}
        # Its broker is on this host: the producers do not compress unless told to (README, the producers' flags).
        producer_args = Path(f"/proc/{pids['producers']}/cmdline").read_bytes().split(b"\0")
        compression = os.environ.get("TICKSTREAM_KAFKA_COMPRESSION", "none").encode()
        assert producer_args[producer_args.index(b"--compression") + 1] == compression, producer_args

        # Ticks become rows, and anomalies (the synthetic feed injects them) arrive.
        wait_for(
            "ticks and anomalies in the database",
            lambda: (d := stack_cli.status()["data"]) and d["ticks"] > 1000 and d["anomalies"] > 0,
            timeout=240,
        )

        # The injected anomalies reach people: job -> anomalies topic -> notifier -> Alertmanager -> the alert log.
        notifications = stack_cli.home / "alerts" / "notifications.jsonl"
        wait_for(
            "an anomaly notification at the alert log",
            lambda: (
                notifications.exists()
                and any(
                    a["labels"].get("alertname") == "TickStreamAnomaly" and a["labels"].get("venue") == "synthetic"
                    for line in notifications.read_text().splitlines()
                    for a in json.loads(line)["payload"]["alerts"]
                )
            ),
            timeout=120,
        )

        # The job's own metrics reach Prometheus through Flink's PrometheusReporter.
        wait_for(
            "the job's records_in in Prometheus",
            lambda: prometheus_value(stack_cli, "flink_taskmanager_job_task_operator_tickstream_records_in") > 0,
            timeout=120,
        )
        wait_for(
            "the producers' message counter in Prometheus",
            lambda: prometheus_value(stack_cli, "tickstream_producer_messages_total") > 0,
            timeout=60,
        )

        # A second `up` reuses everything.
        again = stack_cli.run("up")
        assert "already running" in again.stdout
        assert {c["component"]: c["pid"] for c in stack_cli.status()["components"]} == pids

        listing = subprocess.run(
            [str(REPO / "deploy" / "bin" / "flink"), "list"],
            capture_output=True,
            text=True,
            env={"TICKSTREAM_HOME": str(stack_cli.home), "PATH": "/usr/bin:/bin"},
            timeout=120,
        )
        assert ": tickstream (RUNNING)" in listing.stdout, listing.stdout + listing.stderr

        # Upgrade: stop with a savepoint, run the jar from it.
        old_job = stack_cli.stack_json()["components"]["job"]["job_id"]
        upgrade = stack_cli.run("upgrade", str(REPO / "job" / "target" / "job.jar"))
        assert "savepoint: file:" in upgrade.stdout
        savepoint = upgrade.stdout.split("savepoint: file:")[1].split()[0]
        assert (REPO / savepoint).exists() or __import__("pathlib").Path(savepoint).exists()
        new_job = stack_cli.stack_json()["components"]["job"]["job_id"]
        assert new_job != old_job
        rest = f"http://127.0.0.1:{stack_cli.port('flink_rest')}"
        wait_for("the upgraded job running", lambda: http_json(f"{rest}/jobs/{new_job}")["state"] == "RUNNING")

        # Lose nothing, duplicate nothing: once the producers stop, every tick in Kafka is one row.
        stack_cli.run("down", "--only", "producers")
        bootstrap = stack_cli.stack_json()["endpoints"]["kafka_bootstrap"]
        sent = ticks_in_kafka(bootstrap)
        wait_for(f"{sent} ticks in the database", lambda: stack_cli.status()["data"]["ticks"] == sent, timeout=120)
    finally:
        down = stack_cli.run("down", check=False)
    assert down.returncode == 0, down.stdout + down.stderr
    assert "stopped with savepoint" in down.stdout
    for name in (
        "kafka",
        "postgres",
        "flink_rest",
        "prometheus",
        "postgres_exporter",
        "alertmanager",
        "notifier_metrics",
        "alert_log",
    ):
        assert not port_open(stack_cli.port(name)), name


def test_a_taken_port_is_reported_with_what_to_do(stack_cli: StackCli):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        result = stack_cli.run("up", "--only", "kafka", "--free-ports", "--port", f"kafka={taken}", check=False)
    assert result.returncode == 1
    assert f"port {taken} (kafka) is taken" in result.stderr
    assert "--port kafka=<free port>" in result.stderr
