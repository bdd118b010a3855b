"""TickStream benchmark: each part's own ceiling and the whole pipeline at stepped offered loads, in one run.

Run with `deploy/benchmark` (see --help). Writes results.md, results.json and throughput_latency.png to a
results folder and prints the table with the targets beside the measured figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

from confluent_kafka import TIMESTAMP_LOG_APPEND_TIME, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource

DEPLOY = Path(__file__).resolve().parents[1]
REPO = DEPLOY.parent
sys.path.insert(0, str(DEPLOY))

from stack import flink, kafka, postgres, producers  # noqa: E402
from stack.state import Stack, classpath, java, runtime_lib  # noqa: E402

from .procstat import cpu_seconds, machine_cpu, major_faults, proactive_reclaim, rss_mib, steal_pct  # noqa: E402
from .tickrows import TickRows  # noqa: E402

PRODUCERS_PY = REPO / "producers" / ".venv" / "bin" / "python"
TARGET_SUSTAINED = 50_000
TARGET_RATIO = 0.70
TARGET_ALERT_P99_MS = 100
ALERT_LATENCY_LOADS = (5_000, 20_000)
TARGET_CPU_US_PER_TICK = 22  # all processes together: two cores then carry ~90,000 ticks/s in principle
DATABASES = ("timescaledb", "postgres")
TARGET_NOTIFY_P99_MS = 500
NOTIFY_LATENCY_LOAD = 5_000
# Each step trades new symbols, and the trade sequencer holds a new instrument's first trades until the watermark
# passes them (the out-of-orderness bound, 2 s): anomalies start after that, and alert latency counts the alerts on
# trades from then on (an alert the step's first trades raised by themselves waited for the watermark by design), so
# it is the steady state's.
INJECT_AFTER_S = 5
# An alert that reached the consumer this long after the broker appended it is put beside the broker's major faults.
SLOW_AFTER_APPEND_MS = 50
SYMBOLS_PER_STEP = 20
SYNTHETIC = "synthetic"  # the exchange id of the synthetic producer's ticks
RUN_ID = f"{int(time.time()) % 100_000:05d}"  # in each step's symbols


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------- ceilings


def kafka_ceiling(stack: Stack, records: int) -> dict:
    lib = classpath(runtime_lib("kafka"))
    bootstrap = kafka.bootstrap(stack)
    base = [java(), "-Xmx512m", f"-Dlog4j2.configurationFile={REPO / 'deploy/kafka/log4j2.properties'}", "-cp", lib]
    topic = f"bench-kafka-{time.time_ns()}"  # one per pass: passes can start within a second
    subprocess.run(
        base
        + [
            "org.apache.kafka.tools.TopicCommand",
            "--bootstrap-server",
            bootstrap,
            "--create",
            "--topic",
            topic,
            "--partitions",
            "5",
            "--replication-factor",
            "1",
        ],
        check=True,
        capture_output=True,
    )
    produce = subprocess.run(
        base
        + [
            "org.apache.kafka.tools.ProducerPerformance",
            "--topic",
            topic,
            "--num-records",
            str(records),
            "--record-size",
            "200",
            "--throughput",
            "-1",
            "--producer-props",
            f"bootstrap.servers={bootstrap}",
            "acks=all",
            "enable.idempotence=true",
            f"compression.type={producers.KAFKA_COMPRESSION}",
            "linger.ms=5",
            "batch.size=262144",
        ],
        capture_output=True,
        text=True,
    )
    m = re.search(r"(\d+) records sent, ([\d.]+) records/sec", produce.stdout.strip().splitlines()[-1])
    consume = subprocess.run(
        base
        + [
            "org.apache.kafka.tools.ConsumerPerformance",
            "--bootstrap-server",
            bootstrap,
            "--topic",
            topic,
            "--messages",
            str(records),
            "--timeout",
            "60000",
        ],
        capture_output=True,
        text=True,
    )
    lines = consume.stdout.splitlines()
    at = next(i for i, l in enumerate(lines) if "nMsg.sec" in l)  # the CSV header; the client logs around it
    header = [h.strip() for h in lines[at].split(",")]
    values = next([v.strip() for v in l.split(",")] for l in lines[at + 1 :] if l.count(",") == lines[at].count(","))
    consumed = float(values[header.index("nMsg.sec")])
    return {
        "produce_msgs_per_s": float(m.group(2)),
        "consume_msgs_per_s": consumed,
        "msgs_per_s": min(float(m.group(2)), consumed),
        "records": records,
        "record_bytes": 200,
    }


def job_test_classpath() -> str:
    cp_file = REPO / "job" / "target" / "bench-classpath.txt"
    if not cp_file.exists():
        subprocess.run(
            [
                str(REPO / "mvnw"),
                "-q",
                "-pl",
                "job",
                "dependency:build-classpath",
                "-Dmdep.includeScope=test",
                f"-Dmdep.outputFile={cp_file}",
            ],
            cwd=REPO,
            check=True,
        )
    classes = REPO / "job" / "target"
    if not (classes / "test-classes" / "io" / "tickstream" / "bench" / "PostgresIngestCeiling.class").exists():
        subprocess.run([str(REPO / "mvnw"), "-q", "-pl", "job", "test-compile"], cwd=REPO, check=True)
    return os.pathsep.join([str(classes / "classes"), str(classes / "test-classes"), cp_file.read_text().strip()])


def ingest_rates(stack: Stack, rows: int, prefix: str) -> dict[str, int]:
    """Rows/s of each tick write path of PostgresIngestCeiling (its method name to rate), `rows` rows each."""
    out = subprocess.run(
        [
            java(),
            "-Xmx512m",
            "-cp",
            job_test_classpath(),
            "io.tickstream.bench.PostgresIngestCeiling",
            stack.endpoint("jdbc_url"),
            str(rows),
            prefix,
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, TICKSTREAM_JDBC_PASSWORD=postgres.job_password()),
    )
    if out.returncode != 0:
        raise RuntimeError(f"PostgresIngestCeiling failed:\n{out.stdout}\n{out.stderr[-3000:]}")
    lines = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
    return {l["method"]: l["rows_per_s"] for l in lines}


CEILING_REPETITIONS = 3


def median_of_passes(passes: list[dict], key: str) -> float:
    """The middle pass of a ceiling's repetitions. Not the best: this host's cores ran up to half again as fast from
    one minute to the next (the CPU reference read 0.16 to 0.29 s between passes), so the best pass measured a fast
    moment the pipeline's steps, 40 s each, do not have; nor one pass, which read 67k rows/s where the pipeline then
    wrote 81k/s through the same path. The middle of three passes neither."""
    return statistics.median(p[key] for p in passes)


def repeated(measure, repetitions: int = CEILING_REPETITIONS) -> list[dict]:
    return [measure(i) for i in range(repetitions)]


def kafka_ceilings(stack: Stack, records: int) -> dict:
    passes = repeated(lambda i: kafka_ceiling(stack, records))
    return {
        "produce_msgs_per_s": median_of_passes(passes, "produce_msgs_per_s"),
        "consume_msgs_per_s": median_of_passes(passes, "consume_msgs_per_s"),
        "msgs_per_s": median_of_passes(passes, "msgs_per_s"),
        "passes": [round(p["msgs_per_s"]) for p in passes],
        "records": records,
        "record_bytes": 200,
    }


def postgres_ceiling(stack: Stack, rows: int) -> dict:
    """Each write path's middle pass of three (median_of_passes)."""
    prefix = f"PGC{int(time.time()) % 100000}"
    passes = repeated(lambda i: ingest_rates(stack, rows, f"{prefix}{i}"))
    return {
        "sink_path_rows_per_s": median_of_passes(passes, "copy-direct"),
        "replay_path_rows_per_s": median_of_passes(passes, "copy-staging-insert"),
        "insert_rows_per_s": median_of_passes(passes, "jdbc-batched-insert"),
        "sink_path_passes": [p["copy-direct"] for p in passes],
        "rows": rows,
    }


def producers_ceilings(stack: Stack, count: int) -> dict:
    passes = repeated(lambda i: producers_ceiling(stack, count))
    return {
        "msgs_per_s": median_of_passes(passes, "msgs_per_s"),
        "passes": [round(p["msgs_per_s"]) for p in passes],
        "messages": count,
    }


def producers_ceiling(stack: Stack, count: int) -> dict:
    topic = f"bench-synthetic-{time.time_ns()}"  # one per pass, as above
    subprocess.run(
        [
            java(),
            "-Xmx256m",
            f"-Dlog4j2.configurationFile={REPO / 'deploy/kafka/log4j2.properties'}",
            "-cp",
            classpath(runtime_lib("kafka")),
            "org.apache.kafka.tools.TopicCommand",
            "--bootstrap-server",
            kafka.bootstrap(stack),
            "--create",
            "--topic",
            topic,
            "--partitions",
            "5",
            "--replication-factor",
            "1",
        ],
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        [
            str(PRODUCERS_PY),
            "-m",
            "tickstream_producers",
            "synthetic",
            "--rate",
            "0",
            "--count",
            str(count),
            "--topic",
            topic,
            "--bootstrap",
            kafka.bootstrap(stack),
            "--compression",
            producers.KAFKA_COMPRESSION,
            "--no-metrics",
            "--status-every",
            "0",
            "--log-level",
            "WARNING",
        ],
        capture_output=True,
        text=True,
    )
    m = re.search(r"all acknowledged in ([\d.]+)s \(([\d,]+) msg/s\)", out.stderr)
    if not m:
        raise RuntimeError(f"synthetic ceiling run failed:\n{out.stderr[-3000:]}")
    return {"msgs_per_s": float(m.group(2).replace(",", "")), "messages": count}


# ---------------------------------------------------------------------------------------------- pipeline


def stamp_anomalies_on_append(bootstrap: str) -> None:
    """The bench stack's anomalies topic takes the broker's clock at append as each record's timestamp (the job's
    writer stamps the alert's trade time otherwise): an alert's latency then splits into the job's part (trade to the
    broker) and the broker's and the consumer's (append to arrival)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    # alter_configs replaces every setting of the topic: the stack's own (if any) go with it
    settings = {**kafka.TOPIC_CONFIGS.get("anomalies", {}), "message.timestamp.type": "LogAppendTime"}
    change = ConfigResource("topic", "anomalies", set_config=settings)
    for future in admin.alter_configs([change]).values():
        future.result(30)


class AnomalyWatch(threading.Thread):
    """Reads the anomalies topic from its current end; latency = arrival here - the trade's time.
    For synthetic ticks the trade time is the producer's receive time (both are the generation instant). Where the
    topic stamps records on append (stamp_anomalies_on_append), `appended` holds the broker's time per alert id."""

    def __init__(self, bootstrap: str):
        super().__init__(daemon=True)
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"bench-{time.time()}",
                "auto.offset.reset": "latest",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
            }
        )
        self.received: list[tuple[float, dict]] = []  # (arrival ms, alert): to line outliers up with events
        self.appended: dict[str, int] = {}  # alert id -> the broker's append time (ms), when the topic stamps it
        self.stop_event = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        self.consumer.subscribe(["anomalies"], on_assign=lambda c, parts: self.ready.set())
        while not self.stop_event.is_set():
            msg = self.consumer.poll(0.2)
            if msg is None or msg.error():
                continue
            now = time.time() * 1000
            a = json.loads(msg.value())
            self.received.append((now, a))
            kind, stamp = msg.timestamp()
            if kind == TIMESTAMP_LOG_APPEND_TIME and "id" in a:  # a record without one must not end the watch
                self.appended[a["id"]] = stamp
        self.consumer.close()


class MajorFaults(threading.Thread):
    """A process's major page faults, read every 50 ms: a slow alert is seen beside any page the broker had to read
    back from disk meanwhile (on a machine that pages idle memory out, see procstat.proactive_reclaim)."""

    INTERVAL_S = 0.05

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, int]] = []  # (wall ms, the process's major faults so far)
        self.stop_event = threading.Event()

    def run(self) -> None:
        while True:
            count = major_faults(self.pid)
            if count is not None:
                self.samples.append((time.time() * 1000, count))
            if self.stop_event.wait(self.INTERVAL_S):
                return

    def between(self, start_ms: float, end_ms: float) -> int | None:
        """Faults in the sampling intervals that overlap [start_ms, end_ms]; None when the samples do not cover it."""
        before = [count for t, count in self.samples if t <= start_ms]
        after = [count for t, count in self.samples if t >= end_ms]
        return after[0] - before[-1] if before and after else None

    def total(self) -> int:
        return self.samples[-1][1] - self.samples[0][1] if self.samples else 0


# A sampler due every 50 ms that ran this much later stood still with the whole machine: a platform that snapshots
# its virtual machine stops every process for tens of seconds (seen: 33 s), and that step's figures are not the
# pipeline's.
PAUSE_MS = 1000


def pauses(times_ms: list[float], min_gap_ms: float = PAUSE_MS) -> list[dict]:
    """The gaps of at least min_gap_ms between consecutive sample times: when the sampler (one thread of this
    process, due every 50 ms) did not run, as {"at_ms", "seconds"}."""
    return [
        {"at_ms": round(a), "seconds": round((b - a) / 1000, 1)}
        for a, b in itertools.pairwise(times_ms)
        if b - a >= min_gap_ms
    ]


class Deliveries:
    """What the stack's webhook receiver (alert-log) got during a step: trade time -> delivery of the notification
    that first held each anomaly (the receiver stamps each delivery on arrival; Alertmanager's group_wait is the
    shipped one)."""

    def __init__(self, stack: Stack):
        self.path = stack.path("alerts", "notifications.jsonl")
        self.start = self.path.stat().st_size if self.path.exists() else 0

    def latencies(self, symbols: list[str]) -> list[float]:
        return [latency for latency, _ in self.first_deliveries(symbols)]

    def first_deliveries(self, symbols: list[str]) -> list[tuple[float, bool]]:
        """(latency, joined) of each of the step's anomalies at its first delivery; joined: an earlier notification
        of its Alertmanager group (GROUP_LABELS) had been delivered, so it waited for the group's next notification
        (up to the route's group_interval) rather than for group_wait."""
        if not self.path.exists():
            return []
        with open(self.path, "rb") as f:
            before = f.read(self.start).splitlines()
            lines = f.read().splitlines()
        notified_groups = {group for line in before for group in _groups(json.loads(line))}
        first: dict[str, tuple[float, bool]] = {}
        for line in lines:
            n = json.loads(line)
            for a in n["payload"].get("alerts", []) if n.get("path") == "/anomalies" else []:
                labels = a["labels"]
                if labels.get("symbol") in symbols and labels["anomaly_id"] not in first:
                    trade = (
                        dt.datetime.fromisoformat(a["annotations"]["trade_time"].replace("Z", "+00:00")).timestamp()
                        * 1000
                    )
                    first[labels["anomaly_id"]] = (n["received_at"] - trade, _group(labels) in notified_groups)
            notified_groups.update(_groups(n))
        return list(first.values())


# The anomaly route's group_by besides alertname (deploy/alertmanager/alertmanager.yml).
GROUP_LABELS = ("type", "asset", "quote_class")


def _group(labels: dict) -> tuple:
    return tuple(labels.get(name) for name in GROUP_LABELS)


def _groups(notification: dict) -> set[tuple]:
    if notification.get("path") != "/anomalies":
        return set()
    return {_group(a["labels"]) for a in notification["payload"].get("alerts", [])}


class EndOffsets:
    """How many messages the ticks topic holds (one consumer for a whole step, not one per sample)."""

    def __init__(self, bootstrap: str, topic: str = "ticks"):
        self.topic = topic
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-offsets"})
        self.partitions = sorted(self.consumer.list_topics(topic, timeout=10).topics[topic].partitions)

    def per_partition(self) -> list[int]:
        return [
            self.consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=10)[1] for p in self.partitions
        ]

    def total(self) -> int:
        return sum(self.per_partition())

    def close(self) -> None:
        self.consumer.close()


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def measured_pids(stack: Stack) -> dict[str, int]:
    comps = stack.data["components"]
    return {
        name: comps[name]["pid"]
        for name in ("kafka", "postgres", "flink-jobmanager", "flink-taskmanager", "prometheus", "pg-exporter")
        if comps.get(name, {}).get("pid")
    }


def checkpoints_since(stack: Stack, wall_start: float) -> list[dict]:
    """The running job's checkpoints triggered since `wall_start` (as far as Flink's history of them reaches):
    seconds from then, and how long each took end to end."""
    try:
        jobs = flink.rest(stack, "/jobs/overview")["jobs"]
        running = [j["jid"] for j in jobs if j["state"] == "RUNNING"]
        history = flink.rest(stack, f"/jobs/{running[0]}/checkpoints")["history"] if running else []
    except (OSError, ValueError, KeyError) as e:
        return [{"error": str(e)}]
    return sorted(
        (
            {"t": round(c["trigger_timestamp"] / 1000 - wall_start, 2), "duration_ms": c["end_to_end_duration"]}
            for c in history
            if c["trigger_timestamp"] / 1000 >= wall_start
        ),
        key=lambda c: c["t"],
    )


def partition_of(symbol: str, partitions: int) -> int:
    """The ticks partition the producers' Kafka client puts a synthetic instrument's trades on: librdkafka's default
    partitioner (consistent_random) takes the CRC-32 of the key, exchange:symbol."""
    return zlib.crc32(f"{SYNTHETIC}:{symbol}".encode()) % partitions


def step_symbols(index: int | str, partitions: int, count: int = SYMBOLS_PER_STEP) -> list[str]:
    """New instruments for each step of each run (a stack kept from an earlier run, --keep, has seen that run's
    symbols, whose trade ids would start again: duplicates and gaps, not a measurement), as many on every partition of
    the ticks topic: a partition that got none would hold the job's event time back, and with it every new
    instrument's first trades, until the idle timeout (10 s) after its last trade of the step before."""
    per_partition = -(-count // partitions)
    taken = [0] * partitions
    symbols: list[str] = []
    i = 0
    while len(symbols) < count:
        symbol = f"S{RUN_ID}{index}{chr(65 + i // 26)}{chr(65 + i % 26)}-USDT"
        p = partition_of(symbol, partitions)
        if taken[p] < per_partition:
            taken[p] += 1
            symbols.append(symbol)
        i += 1
    return symbols


def run_step(stack: Stack, index: int | str, load: int, seconds: int, drain_timeout: int) -> dict:
    bootstrap = kafka.bootstrap(stack)
    offsets = EndOffsets(bootstrap)
    symbols = step_symbols(index, len(offsets.partitions))
    watch = AnomalyWatch(bootstrap)
    watch.start()
    watch.ready.wait(15)
    pids = measured_pids(stack)
    broker_faults = MajorFaults(pids["kafka"])
    broker_faults.start()
    deliveries = Deliveries(stack)
    table = TickRows(postgres.admin(stack), postgres.DATABASE)
    sent_before, inserted_before = offsets.total(), table.inserted()
    per_partition_before = offsets.per_partition()
    cpu_before = {n: cpu_seconds(p) for n, p in pids.items()}
    machine_before = machine_cpu()
    counted_from_ms = (time.time() + INJECT_AFTER_S) * 1000  # trade times before this: the instruments' first trades
    producer = subprocess.Popen(
        [
            str(PRODUCERS_PY),
            "-m",
            "tickstream_producers",
            "synthetic",
            "--rate",
            str(load),
            "--duration",
            str(seconds),
            "--symbols",
            ",".join(symbols),
            "--inject",
            "spike,drop,volume",
            "--inject-every",
            "1",
            "--inject-after",
            str(INJECT_AFTER_S),
            "--bootstrap",
            bootstrap,
            "--compression",
            producers.KAFKA_COMPRESSION,
            "--no-metrics",
            "--status-every",
            "0",
            "--log-level",
            "WARNING",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    pids["producers"] = producer.pid
    cpu_before["producers"] = 0.0
    started = time.monotonic()
    samples, fresh, rss_peak = [], [], {n: 0.0 for n in pids}
    counted_mid_step = False
    while producer.poll() is None:
        time.sleep(1.0)
        t = time.monotonic() - started
        sent = offsets.total() - sent_before
        rows = table.inserted() - inserted_before
        samples.append({"t": round(t, 1), "sent": sent, "rows": rows, "backlog": sent - rows})
        if not counted_mid_step and t >= seconds / 2:
            # counted exactly once mid-step: growth is judged between this and the exact count at the end
            counted_mid_step = True
            # sent first: the count sees the rows committed when it starts, and it takes a while at high loads
            sent_mid = offsets.total() - sent_before
            t_mid = round(time.monotonic() - started, 1)
            rows_mid = table.exact(SYNTHETIC, symbols)
            samples.append(
                {"t": t_mid, "sent": sent_mid, "rows": rows_mid, "backlog": sent_mid - rows_mid, "exact": True}
            )
        f = table.age_ms(SYNTHETIC, symbols[0])
        if f is not None and t > 5:
            fresh.append(f)
        for n, p in pids.items():
            rss_peak[n] = max(rss_peak[n], rss_mib(p))
        cpu_producer = cpu_seconds(producer.pid)
    elapsed = time.monotonic() - started
    cpu_after = {n: cpu_seconds(p) for n, p in pids.items() if n != "producers"}
    machine_after = machine_cpu()
    cpu_after["producers"] = cpu_producer
    stderr = producer.stderr.read()
    sent_total = offsets.total() - sent_before
    quiet_partitions = sum(1 for b, a in zip(per_partition_before, offsets.per_partition(), strict=True) if a == b)
    offsets.close()
    # The step's last sample, counted exactly: what the end-of-step backlog is judged on.
    rows_at_end = table.exact(SYNTHETIC, symbols)
    samples.append(
        {
            "t": round(time.monotonic() - started, 1),
            "sent": sent_total,
            "rows": rows_at_end,
            "backlog": sent_total - rows_at_end,
            "exact": True,
        }
    )
    drain_started = time.monotonic()
    rows_final = rows_at_end
    while rows_final < sent_total and time.monotonic() - drain_started < drain_timeout:
        time.sleep(0.5)
        rows_final = table.exact(SYNTHETIC, symbols)
    drain_s = time.monotonic() - drain_started
    table.close()
    time.sleep(2)
    watch.stop_event.set()
    watch.join(5)
    broker_faults.stop_event.set()
    broker_faults.join(5)
    counted = [(arrived, a) for arrived, a in watch.received if a["symbol"] in symbols and a["ts"] >= counted_from_ms]
    latencies = [arrived - a["ts"] for arrived, a in counted]
    after_append = [arrived - watch.appended[a["id"]] for arrived, a in counted if a.get("id") in watch.appended]
    # The broker's major faults between each alert's append and its arrival (a page read back from disk meanwhile).
    faults_of = {
        a["id"]: broker_faults.between(watch.appended[a["id"]], arrived)
        for arrived, a in watch.received
        if a.get("id") in watch.appended
    }
    slow_after_append = [
        faults_of[a["id"]]
        for arrived, a in counted
        if a.get("id") in watch.appended and arrived - watch.appended[a["id"]] > SLOW_AFTER_APPEND_MS
    ]
    detection = [a["detected_at"] - a["ts"] for _, a in counted]
    # Each alert of the step and the job's checkpoints during it, in seconds from the step's start (results.json
    # only): a latency outlier is then seen next to what happened at its time.
    wall_start = time.time() - (time.monotonic() - started)
    alert_times = [
        {
            "t": round(a["ts"] / 1000 - wall_start, 2),
            "type": a["type"],
            "latency_ms": round(arrived - a["ts"]),
            "detection_ms": a["detected_at"] - a["ts"],
            # trade -> the broker's append: detection_ms plus the job's writer and the produce request
            "appended_ms": watch.appended[a["id"]] - a["ts"] if a.get("id") in watch.appended else None,
            "broker_major_faults": faults_of.get(a.get("id")),
            "counted": a["ts"] >= counted_from_ms,
        }
        for arrived, a in watch.received
        if a["symbol"] in symbols
    ]
    first_deliveries = deliveries.first_deliveries(symbols)
    notify = [latency for latency, _ in first_deliveries]
    opened = [latency for latency, joined in first_deliveries if not joined]

    growth_per_s, bounded = lag_bounded(samples, load)
    return {
        "offered_per_s": load,
        "seconds": round(elapsed, 1),
        "produced_per_s": round(sent_total / elapsed),
        "persisted_per_s": round(rows_at_end / elapsed),
        "sent": sent_total,
        "rows": rows_final,
        "all_persisted": rows_final == sent_total,
        "backlog_end": samples[-1]["backlog"] if samples else 0,
        "backlog_growth_per_s": round(growth_per_s),
        "lag_bounded": bounded,
        "drain_s": round(drain_s, 1),
        "alerts": len(latencies),
        "alerts_before_counting": len(alert_times) - len(latencies),
        "quiet_partitions": quiet_partitions,
        "alert_latency_ms": {q: pct(latencies, v) for q, v in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
        "detection_latency_ms": {q: pct(detection, v) for q, v in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
        "arrival_after_append_ms": {q: pct(after_append, v) for q, v in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
        "slow_after_append": {
            "alerts": len(slow_after_append),
            "with_broker_major_fault": sum(1 for n in slow_after_append if n),
        },
        "broker_major_faults": broker_faults.total(),
        "machine_paused": pauses([t for t, _ in broker_faults.samples]),
        "alert_times": alert_times,
        "checkpoints": checkpoints_since(stack, wall_start),
        "notifications": len(notify),
        "notify_latency_ms": {q: pct(notify, v) for q, v in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
        "notifications_joined": len(notify) - len(opened),
        "notify_opened_latency_ms": {q: pct(opened, v) for q, v in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
        "tick_to_row_ms": {q: pct(fresh, v) for q, v in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
        "cpu_pct": {n: round(100 * (cpu_after[n] - cpu_before[n]) / elapsed) for n in pids},
        "steal_pct": steal_pct(machine_before, machine_after),
        "rss_peak_mib": {n: round(v) for n, v in rss_peak.items()},
        "samples": samples,
        "producer_summary": stderr.strip().splitlines()[-1:] if stderr else [],
    }


# ---------------------------------------------------------------------------------------------- report


def cpu_reference(repeats: int = 5) -> dict:
    """CPU seconds of a fixed pure-Python loop, min and median of a few: how fast this machine's cores ran while
    the benchmark did (a shared host's cores slow down under its neighbours; compare runs by it)."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        sum(i * i for i in range(5_000_000))
        times.append(time.process_time() - start)
    times.sort()
    return {"min_s": round(times[0], 3), "median_s": round(times[len(times) // 2], 3)}


def machine(database: dict) -> dict:
    mem = next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1]
    jv = subprocess.run([java(), "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(int(mem) / 1024 / 1024, 1),
        "jdk": jv,
        "kernel": platform.release(),
        "proactive_reclaim": proactive_reclaim(),
        "python": platform.python_version(),
        "versions": "Flink 2.2.1, Kafka 4.2.0 (KRaft), " + database["name"],
        "cpu": next(
            (
                l.split(":", 1)[1].strip()
                for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")
            ),
            "?",
        ),
    }


def database_in_use(stack: Stack) -> dict:
    """The database the stack's ticks went to, as its server reports it: PostgreSQL's version and, when the
    tickstream database uses it, TimescaleDB's (then ticks, candles_1m and anomalies are hypertables)."""
    out = postgres.admin(stack).psql(
        "SELECT current_setting('server_version') || '|' || coalesce((SELECT extversion"
        " FROM pg_extension WHERE extname = 'timescaledb'), '')",
        db=postgres.DATABASE,
    )
    server, timescaledb = out.strip().split("|", 1)
    server = server.split()[0]
    if timescaledb:
        return {
            "kind": "timescaledb",
            "postgres": server,
            "timescaledb": timescaledb,
            "name": f"TimescaleDB {timescaledb} hypertables on PostgreSQL {server}",
        }
    return {"kind": "postgres", "postgres": server, "timescaledb": None, "name": f"plain PostgreSQL {server}"}


def default_database() -> str:
    """TimescaleDB, the production database, when it is installed into the stack's PostgreSQL; else plain."""
    try:
        return "timescaledb" if postgres.timescaledb_installed() else "postgres"
    except Exception:  # no server binaries: `up` says what is missing
        return "postgres"


def lag_bounded(samples: list[dict], load: float) -> tuple[float, bool]:
    """(growth per s, bounded) of a step's Kafka→database backlog samples ({"t", "backlog"}, one a second or so).
    Bounded when the backlog over the second half of the step does not keep growing — by less than 2 % of the
    offered load a second — and what is left at the end is less than 3 s of it. Growth is measured between the
    step's exact counts (samples marked "exact": one at mid-step, one at the end) when it has two: the other samples
    come from PostgreSQL's insert statistics, which publish rows late and in bursts (±10,000 rows at 30k ticks/s), so
    a slope fitted through them judged steps with nothing left growing, and a step 2 s behind bounded. Without two
    exact counts, the least-squares slope of the sampled backlog over the second half."""
    exact = [s for s in samples if s.get("exact")]
    if len(exact) >= 2 and exact[-1]["t"] > exact[0]["t"]:
        growth_per_s = (exact[-1]["backlog"] - exact[0]["backlog"]) / (exact[-1]["t"] - exact[0]["t"])
    else:
        sampled = [s for s in samples if not s.get("exact")]
        half = sampled[len(sampled) // 2 :] or [{"t": 0.0, "backlog": 0}]
        growth_per_s = slope([s["t"] for s in half], [s["backlog"] for s in half])
    end = samples[-1]["backlog"] if samples else 0
    return growth_per_s, growth_per_s < 0.02 * load and end < 3 * load


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs (0 for fewer than two distinct xs)."""
    if len(set(xs)) < 2:
        return 0.0
    return statistics.linear_regression(xs, ys).slope


def fmt(v, unit="") -> str:
    if v is None:
        return "–"
    return f"{v:,.0f}{unit}" if isinstance(v, (int, float)) else str(v)


PROCESSES = (
    ("flink-taskmanager", "TaskManager"),
    ("postgres", "PostgreSQL"),
    ("producers", "producers"),
    ("kafka", "Kafka"),
    ("flink-jobmanager", "JobManager"),
)


def cpu_per_tick(step: dict | None) -> dict[str, float] | None:
    """CPU µs per persisted tick of each process at one step (None without a step or rows)."""
    if not step or not step["persisted_per_s"]:
        return None
    return {
        name: round(step["cpu_pct"].get(key, 0) / 100 * 1e6 / step["persisted_per_s"], 2) for key, name in PROCESSES
    }


def cpu_budget(step: dict, cores: int) -> list[str]:
    """CPU time per persisted tick of each process at one step, and what that cost allows on this box."""
    per_tick = cpu_per_tick(step)
    if not per_tick:
        return []
    total = sum(per_tick.values())
    lines = [
        f"## CPU per tick at {fmt(step['offered_per_s'])} ticks/s offered (the highest sustained step)",
        "",
        "| process | CPU µs per tick | cores at " + f"{TARGET_SUSTAINED:,}/s |",
        "| --- | ---: | ---: |",
    ]
    for name, us in per_tick.items():
        lines.append(f"| {name} | {us:.1f} | {us * TARGET_SUSTAINED / 1e6:.2f} |")
    lines += [
        f"| all | {total:.1f} | {total * TARGET_SUSTAINED / 1e6:.2f} |",
        "",
        f"At this cost per tick, {cores} fully used cores carry at most {fmt(cores * 1e6 / total)} ticks/s; "
        f"{fmt(TARGET_SUSTAINED)}/s needs {total * TARGET_SUSTAINED / 1e6:.2f} cores, so every process together "
        f"must cost at most {cores * 1e6 / TARGET_SUSTAINED:.0f} µs per tick.",
        "",
    ]
    return lines


def cpu_reference_line(ref: dict | None) -> str:
    if not ref or "after" not in ref:
        return ""
    b, a = ref["before"], ref["after"]
    return (
        f"CPU reference (CPU seconds of a fixed pure-Python loop, min/median of 5; lower is faster): "
        f"{b['min_s']}/{b['median_s']} s before the run, {a['min_s']}/{a['median_s']} s after. One machine of "
        "this kind read 0.20 to 0.41 s within an hour (a shared host): runs whose references differ are not comparable."
    )


def reclaim_line(reclaim: str | None, steps: list[dict]) -> str:
    """The machine's proactive reclaim and, per alert-latency step, how many alerts reached the consumer late after
    their append and how many of those while the broker read a page back from disk."""
    slow = "; ".join(
        f"{fmt(s['offered_per_s'])}/s: {s['slow_after_append']['alerts']}, "
        f"{s['slow_after_append']['with_broker_major_fault']} of them with a broker major fault"
        for s in steps
        if s["offered_per_s"] in ALERT_LATENCY_LOADS and "slow_after_append" in s
    )
    return (
        f"Proactive memory reclaim: {reclaim or 'none'}. Alerts that reached the consumer more than "
        f"{SLOW_AFTER_APPEND_MS} ms after the broker appended them: {slow or '–'} (results.json: per alert "
        "`broker_major_faults` between its append and its arrival)."
    )


def pauses_line(steps: list[dict]) -> str:
    """The steps during which the whole machine stood still (pauses), or that none did."""
    paused = [
        f"{fmt(s['offered_per_s'])}/s: " + ", ".join(f"{p['seconds']} s" for p in s["machine_paused"])
        for s in steps
        if s.get("machine_paused")
    ]
    gap = f"a {PAUSE_MS / 1000:.0f} s or longer gap in a {MajorFaults.INTERVAL_S * 1000:.0f} ms sampler"
    if not paused:
        return f"Machine pauses ({gap}): none during any step."
    return (
        f"**Machine pauses** ({gap}: every process stood still, "
        f"e.g. the platform snapshotting its virtual machine) during the steps at {'; '.join(paused)}: those steps, "
        "and the ones after while caches refill, measured the platform, not the pipeline."
    )


def warmup_line(warmup: dict | None) -> str:
    if not warmup:
        return "No warm-up: the first step measured a job whose hot paths were still being compiled."
    return (
        f"Warm-up: {warmup['offered_per_s']:,} ticks/s for {warmup['seconds']} s before the first measured step "
        "(every JVM and the producers compile their hot paths; not measured, not in the tables)."
    )


def passes_text(ceiling: dict, key: str = "passes") -> str:
    """'median of a / b / c' for a ceiling measured in passes; 'one pass' for results from before."""
    passes = ceiling.get(key)
    return "median of " + " / ".join(fmt(p) for p in passes) if passes else "one pass"


def kept_up(step: dict) -> bool:
    return step["lag_bounded"] and step["all_persisted"]


def climbing(loads: list[int], steps: list[dict], climb: int, climb_by: int, ceiling: float):
    """The listed loads, then up to `climb` more, each `climb_by` above the last, while every step so far kept up
    and the next stays within the slowest part's ceiling: the highest sustained load is then the pipeline's, not
    the top of the list. `steps` is read as it grows (the caller appends each step's result before the next)."""
    yield from loads
    load = max(loads)
    for _ in range(climb):
        load += climb_by
        if load > ceiling or len(kept_up_from_the_lowest(steps)) < len(steps):
            return
        yield load


def slowest_ceiling(c: dict) -> tuple[str, float]:
    return min(
        ("Kafka produce→consume", c["kafka"]["msgs_per_s"]),
        ("PostgreSQL, job sink path", c["postgres"]["sink_path_rows_per_s"]),
        ("producers synthetic", c["producers"]["msgs_per_s"]),
        key=lambda x: x[1],
    )


def kept_up_from_the_lowest(steps: list[dict]) -> list[dict]:
    """The steps up to the first, by offered load, that did not keep up: a load is sustained only when every lower
    one was too (a higher step that kept up after a lower one fell behind had luck, not capacity)."""
    ordered = sorted(steps, key=lambda s: s["offered_per_s"])
    for i, step in enumerate(ordered):
        if not kept_up(step):
            return ordered[:i]
    return ordered


def report(results: dict, out_dir: Path) -> str:
    c = results["ceilings"]
    slowest = slowest_ceiling(c)
    steps = results["steps"]
    sustained = kept_up_from_the_lowest(steps)
    best = max((s["persisted_per_s"] for s in sustained), default=0)
    p99 = {
        load: next((st["alert_latency_ms"]["p99"] for st in steps if st["offered_per_s"] == load), None)
        for load in ALERT_LATENCY_LOADS
    }
    best_step = max(sustained, key=lambda st: st["persisted_per_s"], default=None)
    cpu_us = cpu_per_tick(best_step)
    at5k = next((s for s in steps if s["offered_per_s"] == NOTIFY_LATENCY_LOAD), None)
    notify_5k = (at5k.get("notify_latency_ms") or {}) if at5k else {}
    results["summary"] = {
        "database": results["database"]["name"],
        "highest_sustained_per_s": best,
        "slowest_ceiling": slowest[0],
        "slowest_ceiling_per_s": slowest[1],
        "ratio": round(best / slowest[1], 3) if slowest[1] else None,
        "alert_p99_ms": {str(k): v for k, v in p99.items()},
        "cpu_us_per_tick": cpu_us,
        "notify_p99_ms_at_5k": notify_5k.get("p99"),
    }
    m = results["machine"]
    lines = [
        f"# TickStream benchmark — {results['started']}",
        "",
        f"Database: **{results['database']['name']}**.",
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, {m['jdk']}, kernel {m['kernel']}; "
        f"{m['versions']}. Every component on this one machine.",
        "",
        reclaim_line(m.get("proactive_reclaim"), steps),
        "",
        pauses_line(steps),
        "",
        f"Command: `{results['command']}`",
        "",
        warmup_line(results.get("warmup")),
        "",
        cpu_reference_line(results.get("cpu_reference")),
        "",
        "## Ceilings of the parts alone",
        "",
        "| part | messages or rows/s |",
        "| --- | ---: |",
        f"| Kafka produce (200 B, acks=all, idempotent, compression {producers.KAFKA_COMPRESSION}) | {fmt(c['kafka']['produce_msgs_per_s'])} |",
        f"| Kafka consume | {fmt(c['kafka']['consume_msgs_per_s'])} |",
        f"| Kafka produce→consume (each pass's lower rate; {passes_text(c['kafka'])}) | {fmt(c['kafka']['msgs_per_s'])} |",
        f"| PostgreSQL tick rows, job sink path (one COPY into ticks per batch; {passes_text(c['postgres'], 'sink_path_passes')}) | {fmt(c['postgres']['sink_path_rows_per_s'])} |",
        f"| PostgreSQL tick rows, the sink's replay path (COPY to staging + INSERT … SELECT … ON CONFLICT DO NOTHING; comparison) | {fmt(c['postgres'].get('replay_path_rows_per_s'))} |",
        f"| PostgreSQL tick rows, batched INSERT … ON CONFLICT DO NOTHING (comparison) | {fmt(c['postgres'].get('insert_rows_per_s'))} |",
        f"| producers `synthetic` publish (acknowledged; {passes_text(c['producers'])}) | {fmt(c['producers']['msgs_per_s'])} |",
        "",
        "## Full pipeline at stepped offered loads",
        "",
        "| offered/s | produced/s | persisted/s | all persisted | lag bounded | backlog end | drain s | alerts (+ before counting) | alert p50/p95/p99 ms | detection p50/p95/p99 ms | tick→row p50/p99 ms | CPU % (TM, Kafka, PG, prod, JM) | steal % | RSS MiB (TM, Kafka, PG) |",
        "| ---: | ---: | ---: | :---: | :---: | ---: | ---: | ---: | --- | --- | --- | --- | ---: | --- |",
    ]
    for s in steps:
        a, f, cpu, rss = s["alert_latency_ms"], s["tick_to_row_ms"], s["cpu_pct"], s["rss_peak_mib"]
        d = s.get("detection_latency_ms") or {"p50": None, "p95": None, "p99": None}
        lines.append(
            f"| {fmt(s['offered_per_s'])}{' ↑' if s.get('climbed') else ''} | {fmt(s['produced_per_s'])} | "
            f"{fmt(s['persisted_per_s'])} | "
            f"{'yes' if s['all_persisted'] else 'NO'} | {'yes' if s['lag_bounded'] else 'NO'} | "
            f"{fmt(s['backlog_end'])} | {s['drain_s']} | {s['alerts']} (+{s.get('alerts_before_counting', 0)}) | "
            f"{fmt(a['p50'])}/{fmt(a['p95'])}/{fmt(a['p99'])} | {fmt(d['p50'])}/{fmt(d['p95'])}/{fmt(d['p99'])} | "
            f"{fmt(f['p50'])}/{fmt(f['p99'])} | "
            f"{cpu.get('flink-taskmanager')}, {cpu.get('kafka')}, {cpu.get('postgres')}, {cpu.get('producers')}, {cpu.get('flink-jobmanager')} | "
            f"{'–' if s.get('steal_pct') is None else format(s['steal_pct'], '.1f')} | "
            f"{rss.get('flink-taskmanager')}, {rss.get('kafka')}, {rss.get('postgres')} |"
        )
    lines += [
        "",
        "## Anomaly notifications (trade time → delivered to the webhook receiver)",
        "",
        "Through the notifier and Alertmanager (the shipped `group_wait` of the anomaly route) to the stack's "
        "alert log, each anomaly at its first delivery.",
        "",
        "An anomaly whose Alertmanager group (type, asset, quote class) had already been notified joins the group's",
        "next notification, up to the route's `group_interval` (2 s) later; the last column leaves those out.",
        "",
        "| offered/s | anomalies notified (joined a group) | p50 ms | p95 ms | p99 ms | p99 ms, those that opened a group |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in steps:
        n, o = s.get("notify_latency_ms") or {}, s.get("notify_opened_latency_ms") or {}
        lines.append(
            f"| {fmt(s['offered_per_s'])} | {s.get('notifications', 0)} ({fmt(s.get('notifications_joined'))}) | "
            f"{fmt(n.get('p50'))} | {fmt(n.get('p95'))} | {fmt(n.get('p99'))} | {fmt(o.get('p99'))} |"
        )
    sm = results["summary"]
    lines += [""] + (cpu_budget(best_step, m["cores"]) if best_step else [])
    total_us = sum(cpu_us.values()) if cpu_us else None
    lines += [
        "## Against the targets",
        "",
        "| target | measured | met |",
        "| --- | --- | :---: |",
        f"| ≥ {TARGET_SUSTAINED:,} ticks/s sustained end to end, every tick persisted | {fmt(best)} ticks/s | {'yes' if best >= TARGET_SUSTAINED else 'no'} |",
        f"| pipeline ≥ {TARGET_RATIO:.0%} of the slowest part's ceiling ({sm['slowest_ceiling']}: {fmt(sm['slowest_ceiling_per_s'])}/s) | {sm['ratio']:.0%} | {'yes' if sm['ratio'] and sm['ratio'] >= TARGET_RATIO else 'no'} |",
        *(
            f"| alert latency p99 ≤ {TARGET_ALERT_P99_MS} ms at {load:,} ticks/s | {fmt(v)} ms | {'yes' if v is not None and v <= TARGET_ALERT_P99_MS else 'no'} |"
            for load, v in p99.items()
        ),
        f"| CPU per tick ≤ {TARGET_CPU_US_PER_TICK} µs, all processes, at the highest sustained step | {'–' if total_us is None else f'{total_us:.1f}'} µs | {'yes' if total_us is not None and total_us <= TARGET_CPU_US_PER_TICK else 'no'} |",
        f"| notification latency p99 ≤ {TARGET_NOTIFY_P99_MS} ms at {NOTIFY_LATENCY_LOAD:,} ticks/s | {fmt(sm['notify_p99_ms_at_5k'])} ms | {'yes' if sm['notify_p99_ms_at_5k'] is not None and sm['notify_p99_ms_at_5k'] <= TARGET_NOTIFY_P99_MS else 'no'} |",
        "",
        "Notes: alert latency is from the tick's time (= the producer's receive time for synthetic ticks) to the",
        "alert's arrival at a consumer of `anomalies`; detection latency from the tick's time to the detector's clock",
        "when it raised the alert (`detected_at`), both over the alerts on trades from "
        f"{INJECT_AFTER_S} s into the step on: each step",
        "trades new instruments, whose first trades the sequencer holds until the watermark passes them (2 s), so an",
        "alert among them waits for it by design; the step's instruments are spread evenly over the ticks topic's",
        "partitions, since a partition left without trades holds the watermark back for the idle timeout (10 s).",
        "Steps with a partition that got no trades anyway: "
        + (", ".join(fmt(s["offered_per_s"]) for s in steps if s.get("quiet_partitions")) or "none")
        + ". Tick→row is the age of the newest row of one instrument,",
        "sampled each second; RSS of PostgreSQL sums its processes (shared buffers counted more than once). Steal is",
        "the share of the machine's CPU time the hypervisor gave to other guests during the step (/proc/stat).",
        "The highest sustained step is the highest below which every step kept up (all persisted, lag bounded);",
        "when the highest listed load kept up, the benchmark climbed on (steps marked ↑) until one did not, so the",
        "pipeline's own limit is measured, not the top of the list. Percentiles are nearest-rank over the step's",
        "alerts; the steps whose alert latency is a target run longer than the others (see `seconds` in results.json)",
        "so that their p99 rests on dozens of alerts, not on the slowest of a few. The bench stack's `anomalies` topic",
        "stamps each record with the broker's clock at append: results.json splits each alert's latency into the",
        "job's part (`alert_times`: `detection_ms`, then `appended_ms`, trade to append) and the broker's and the",
        "consumer's (`latency_ms` - `appended_ms`; per step: `arrival_after_append_ms`).",
        "'lag bounded': the Kafka→database backlog did not grow over the second half of the step by 2 % of the offered",
        "load a second or more (between exact counts of the step's rows at mid-step and at its end) and less than 3 s",
        "of it was left at the end. The backlog is also sampled each second from PostgreSQL's insert statistics (late",
        "and bursty; a count(*) per sample grew with the step and loaded the database it measured).",
    ]
    text = "\n".join(lines) + "\n"
    (out_dir / "results.md").write_text(text)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2))
    plot(results, out_dir / "throughput_latency.png")
    return text


def plot(results: dict, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib missing: no plot (pip install matplotlib)")
        return
    steps = results["steps"]
    x = [s["offered_per_s"] for s in steps]
    fig, ax1 = plt.subplots(figsize=(8, 4.5))
    ax1.plot(x, [s["persisted_per_s"] for s in steps], "o-", label="persisted ticks/s")
    ax1.plot(x, x, ":", color="grey", label="offered")
    ax1.set_xscale("log"), ax1.set_yscale("log")
    ax1.set_xlabel("offered load (ticks/s)"), ax1.set_ylabel("ticks/s")
    ax2 = ax1.twinx()
    ax2.plot(
        x,
        [s["alert_latency_ms"]["p99"] or float("nan") for s in steps],
        "s--",
        color="tab:red",
        label="alert latency p99 (ms)",
    )
    ax2.plot(
        x,
        [s["alert_latency_ms"]["p50"] or float("nan") for s in steps],
        "^--",
        color="tab:orange",
        label="alert latency p50 (ms)",
    )
    ax2.set_ylabel("ms"), ax2.set_yscale("log")
    fig.legend(loc="upper left", bbox_to_anchor=(0.1, 0.9))
    fig.suptitle("TickStream: throughput and alert latency against offered load")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="deploy/benchmark", description=__doc__)
    parser.add_argument(
        "--state-dir",
        default=str(REPO / "deploy" / "target" / "bench-stack"),
        help="stack state dir (a separate stack on free ports; removed first unless --keep)",
    )
    parser.add_argument(
        "--loads",
        default="1000,5000,10000,20000,40000,55000,65000,70000,72000,74000,76000,80000",
        help="offered ticks/s per step",
    )
    parser.add_argument("--step-seconds", type=int, default=40)
    parser.add_argument(
        "--latency-step-seconds",
        type=int,
        default=120,
        help="length of the steps whose alert latency is a target (5,000 and 20,000/s): long enough for ~70 alerts, "
        "so their p99 is not simply the slowest alert of a few dozen",
    )
    parser.add_argument(
        "--climb",
        type=int,
        default=4,
        help="when the highest listed load kept up, offer up to this many further steps, each --climb-by higher, "
        "until one does not keep up (0: only the listed loads)",
    )
    parser.add_argument("--climb-by", type=int, default=6_000, help="ticks/s added by each further step")
    parser.add_argument(
        "--warmup-seconds",
        type=int,
        default=60,
        help="an unmeasured step before the first measured one, so every process has compiled its hot paths (0: none)",
    )
    parser.add_argument("--warmup-load", type=int, default=20_000, help="offered ticks/s of the warm-up step")
    parser.add_argument("--drain-timeout", type=int, default=60)
    parser.add_argument("--kafka-records", type=int, default=1_000_000)
    parser.add_argument("--pg-rows", type=int, default=300_000)
    parser.add_argument("--producer-count", type=int, default=500_000)
    parser.add_argument("--out", default=str(REPO / "deploy" / "results"))
    parser.add_argument("--keep", action="store_true", help="reuse a running bench stack and leave it up")
    parser.add_argument(
        "--database",
        choices=DATABASES,
        default=None,
        help="timescaledb: the tables are hypertables (the default when TimescaleDB is installed "
        "into the server); postgres: plain PostgreSQL tables (TICKSTREAM_TIMESCALEDB=off)",
    )
    args = parser.parse_args(argv)
    database = args.database or default_database()
    loads = [int(x) for x in args.loads.split(",")]

    home = Path(args.state_dir)
    tool_cmd = [sys.executable, str(DEPLOY / "tickstream"), "--state-dir", str(home)]
    if not args.keep:
        subprocess.run(tool_cmd + ["down"], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
    log(f"starting the stack on {database} (no producers: the benchmark drives the load)")
    subprocess.run(
        tool_cmd
        + [
            "up",
            "--free-ports",
            "--only",
            "postgres,kafka,flink,job,pg-exporter,prometheus,alert-log,alertmanager,notifier",
        ],
        check=True,
        env=dict(os.environ, TICKSTREAM_TIMESCALEDB="on" if database == "timescaledb" else "off"),
    )
    stack = Stack.open(str(home))
    db = database_in_use(stack)
    if db["kind"] != database:
        # --keep reuses a stack as it is; a database cannot be switched under it
        raise SystemExit(
            f"the bench stack runs {db['name']}, not {database}: run without --keep, or pick --database {db['kind']}"
        )
    log(f"database: {db['name']}")
    results = {
        "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "deploy/benchmark " + " ".join(argv),
        "database": db,
        "machine": machine(db),
        "ceilings": {},
        "steps": [],
        "cpu_reference": {"before": cpu_reference()},
    }
    try:
        log("ceiling: Kafka")
        results["ceilings"]["kafka"] = kafka_ceilings(stack, args.kafka_records)
        log(f"  {results['ceilings']['kafka']}")
        log("ceiling: PostgreSQL")
        results["ceilings"]["postgres"] = postgres_ceiling(stack, args.pg_rows)
        log(f"  {results['ceilings']['postgres']}")
        log("ceiling: producers synthetic")
        results["ceilings"]["producers"] = producers_ceilings(stack, args.producer_count)
        log(f"  {results['ceilings']['producers']}")
        stamp_anomalies_on_append(kafka.bootstrap(stack))
        if args.warmup_seconds > 0:
            log(f"warm-up: {args.warmup_load:,} ticks/s for {args.warmup_seconds} s (not measured)")
            run_step(stack, "W", args.warmup_load, args.warmup_seconds, args.drain_timeout)
            results["warmup"] = {"offered_per_s": args.warmup_load, "seconds": args.warmup_seconds}
        ceiling = slowest_ceiling(results["ceilings"])[1]
        for i, load in enumerate(climbing(loads, results["steps"], args.climb, args.climb_by, ceiling)):
            seconds = args.latency_step_seconds if load in ALERT_LATENCY_LOADS else args.step_seconds
            climbed = i >= len(loads)
            log(
                f"pipeline step {i + 1}{'' if climbed else f'/{len(loads)}'}{' (climbing)' if climbed else ''}: "
                f"{load:,} ticks/s for {seconds} s"
            )
            step = run_step(stack, i, load, seconds, args.drain_timeout)
            step["climbed"] = climbed
            results["steps"].append(step)
            log(
                f"  produced {step['produced_per_s']:,}/s persisted {step['persisted_per_s']:,}/s "
                f"all persisted {step['all_persisted']} lag bounded {step['lag_bounded']} "
                f"alert p99 {step['alert_latency_ms']['p99']} ms, detection p50/p95/p99 {step['detection_latency_ms']}, "
                f"notification p50/p95/p99 {step['notify_latency_ms']} ({step['notifications']} anomalies)"
            )
    finally:
        if not args.keep:
            subprocess.run(tool_cmd + ["down"], capture_output=True)
    results["cpu_reference"]["after"] = cpu_reference()
    out_dir = Path(args.out) / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir.mkdir(parents=True, exist_ok=True)
    text = report(results, out_dir)
    shutil.copy(out_dir / "results.md", Path(args.out) / "latest.md")
    if (out_dir / "throughput_latency.png").exists():
        shutil.copy(out_dir / "throughput_latency.png", Path(args.out) / "latest.png")
    print(text)
    log(f"results in {out_dir}")
    return 0
