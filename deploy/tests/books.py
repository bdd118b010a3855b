"""Exact books of one run of ticks through the real stack, and the shared stack the fault and security tests drive.

A *run* is a set of symbols unique to it (a random letter prefix), so runs on one stack never see each other's
rows. `Books.check(run)` proves, against Kafka and PostgreSQL:

- ticks: every distinct tick of the run in Kafka (exchange, symbol, trade_id, ts) is one row of `ticks`, no row is
  missing, extra or doubled (count == count(DISTINCT trade_id) == ticks sent);
- candles: every minute the job's watermark has closed agrees with the ticks (open/close by trade order,
  high/low/volume/trades), and no candle is missing or extra;
- anomalies: every id in the `anomalies` table is on the `anomalies` topic exactly once, read with
  isolation.level=read_committed (the stack runs `--delivery exactly-once`), and the topic holds no other id of
  the run; the table's alerts cover the run's injected labels (each PRICE_SPIKE/PRICE_DROP/VOLUME_SPIKE label is
  matched by an alert of that type on that instrument within [start, end + 5 s]);
- dead letters: every bad record of the run is in `ticks.dlq` exactly once, byte for byte, with its reason header.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import secrets
import signal
import string
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from conftest import REPO, StackCli, wait_for

from stack import job as stack_job
from stack import postgres as stack_postgres

VENV_PYTHON = REPO / "producers" / ".venv" / "bin" / "python"
TICKS_PARTITIONS, ANOMALY_PARTITIONS = 5, 5
# The job the fault tests run: Kafka sinks in transactions committed on each checkpoint, checkpoints every 2 s.
JOB_ARGS = "--delivery exactly-once --checkpoint-interval '2 s'"
LABEL_TYPES = ("PRICE_SPIKE", "PRICE_DROP", "VOLUME_SPIKE")
# Detector properties the label check has to respect (README, job parameters): VOLUME_SPIKE needs
# --volume-warmup (1 min) of trade time on the instrument first; a price move injected in the last
# seconds of a run may not have reached --spike-threshold-pct when the run stops.
VOLUME_WARMUP_MS = 60_000
# The counts of Books.check that every fault result records: ticks once, candles equal to the ticks.
BOOK_COUNTS = (
    "ticks_in_kafka",
    "distinct_ticks",
    "rows",
    "duplicates",
    "lost",
    "extra",
    "candle_minutes_closed",
    "candle_disagreements",
)
LABEL_TAIL_MS = 5_000
LABEL_SLACK_MS = 5_000


def unique_prefix(n: int = 5) -> str:
    return "".join(random.choice(string.ascii_uppercase) for _ in range(n))


# --- the shared stack ----------------------------------------------------------------------------------------
class FaultStack(StackCli):
    """deploy/tickstream with this stack's environment: a random job password, exactly-once job arguments."""

    def __init__(self, home: Path, env: dict):
        super().__init__(home)
        self.env = env

    def run(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, str(REPO / "deploy" / "tickstream"), "--state-dir", str(self.home), *args],
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

    # endpoints, read from stack.json without spawning the CLI
    @property
    def bootstrap(self) -> str:
        return self.stack_json()["endpoints"]["kafka_bootstrap"]

    @property
    def rest(self) -> str:
        return f"http://127.0.0.1:{self.port('flink_rest')}"

    def pid(self, component: str) -> int | None:
        return self.stack_json()["components"].get(component, {}).get("pid")

    def superuser_password(self) -> str:
        return (self.home / "postgres" / "superuser.password").read_text().strip()

    def job_password(self) -> str:
        return self.env["TICKSTREAM_JDBC_PASSWORD"]


_SHARED: dict = {}


def shared_stack(config) -> FaultStack:
    """One stack for the fault and security modules (started once, on free ports, without producers): Flink,
    Kafka, PostgreSQL and the job with JOB_ARGS and a random job password. `release_shared_stack` (or the end of
    the session) brings it down."""
    if "stack" in _SHARED:
        return _SHARED["stack"]
    env = dict(os.environ, TICKSTREAM_JOB_ARGS=JOB_ARGS, TICKSTREAM_JDBC_PASSWORD=f"tsjob-{secrets.token_urlsafe(24)}")
    stack = FaultStack(REPO / "deploy" / "target" / f"faults-{uuid.uuid4().hex[:8]}", env)
    _SHARED["stack"] = stack
    config.add_cleanup(release_shared_stack)
    started = time.monotonic()
    stack.run("up", "--free-ports", "--only", "postgres,kafka,flink,job")
    stack.up_seconds = time.monotonic() - started
    return stack


def set_background_producer(producer) -> None:
    """The synthetic producer that runs beside the shared stack's tests: stopped before the stack goes down."""
    _SHARED["background"] = producer


def take_background_producer():
    """The background producer (None when there is none or it was taken): the caller stops it."""
    return _SHARED.pop("background", None)


def release_shared_stack() -> None:
    stack = _SHARED.pop("stack", None)
    if stack is None:
        return
    background = _SHARED.pop("background", None)
    if background is not None:
        background.stop()
    down = stack.run("down", check=False)
    if down.returncode != 0:
        # stop-with-savepoint fails while the job restarts: cancel it (its checkpoints are retained), stop the rest.
        print(down.stdout, down.stderr[-2000:], file=sys.stderr)
        job = running_job(stack)
        if job:
            try:
                urllib.request.urlopen(
                    urllib.request.Request(f"{stack.rest}/jobs/{job['jid']}?mode=cancel", method="PATCH"), timeout=10
                ).read()
                time.sleep(3)
            except OSError:
                pass
        down = stack.run("down", check=False)
        assert down.returncode == 0, down.stdout + down.stderr


# --- Flink REST ----------------------------------------------------------------------------------------------
def http_json(url: str, timeout: float = 5.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def running_job(stack: FaultStack) -> dict | None:
    """The tickstream job that is not terminal, with all_running (deploy/stack/job.py)."""
    try:
        return stack_job.live_job(http_json(f"{stack.rest}/jobs/overview", 3)["jobs"])
    except (OSError, ValueError):
        return None


def num_restarts(stack: FaultStack, job_id: str) -> int:
    metrics = http_json(f"{stack.rest}/jobs/{job_id}/metrics?get=numRestarts")
    return int(float(metrics[0]["value"])) if metrics else 0


def candle_watermark(stack: FaultStack) -> int | None:
    """The input watermark (epoch ms) of the candles window operator: minutes ending at or before it are closed."""
    job = running_job(stack)
    if not job:
        return None
    try:
        detail = http_json(f"{stack.rest}/jobs/{job['jid']}")
        vertex = next(v for v in detail["vertices"] if "candles-1m" in v["name"])
        marks = http_json(f"{stack.rest}/jobs/{job['jid']}/vertices/{vertex['id']}/watermarks")
        values = [int(float(m["value"])) for m in marks if m["id"].endswith("currentInputWatermark")]
        mark = min(values) if values else None
        return mark if mark is not None and mark > 1_230_940_800_000 else None  # no watermark yet: Long.MIN_VALUE
    except (OSError, ValueError, StopIteration, KeyError):
        return None


# --- PostgreSQL ----------------------------------------------------------------------------------------------
def psql(
    stack: FaultStack, sql: str, user: str = "postgres", password: str | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    """One statement through psql --csv, the password through the environment (never argv)."""
    pg = stack.stack_json()["endpoints"]["postgres"]
    env = dict(
        os.environ, PGPASSWORD=password if password is not None else stack.superuser_password(), PGCONNECT_TIMEOUT="5"
    )
    result = subprocess.run(
        [
            str(stack_postgres.psql_binary()),
            "-X",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            pg["host"],
            "-p",
            str(pg["port"]),
            "-U",
            user,
            "-d",
            pg["database"],
            "--csv",
            "-c",
            sql,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"psql as {user} failed: {result.stderr.strip()}\n--- SQL:\n{sql}")
    return result


def rows(stack: FaultStack, sql: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(psql(stack, sql).stdout)))


def value(stack: FaultStack, sql: str):
    r = rows(stack, sql)
    return next(iter(r[0].values())) if r else None


# --- Kafka ---------------------------------------------------------------------------------------------------
def end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "books-offsets"})
    try:
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=15)[1] for p in range(partitions)}
    finally:
        consumer.close()


def read_topic(
    bootstrap: str,
    topic: str,
    partitions: int,
    start: dict[int, int] | None = None,
    end: dict[int, int] | None = None,
    committed_only: bool = False,
    idle: float = 4.0,
    deadline: float = 90.0,
) -> list:
    """Records of topic from start (default: the beginning) to end (default: the high watermarks now). With
    committed_only the consumer is read_committed: it cannot pass an open transaction, so reading stops at end or
    after `idle` seconds without a record."""
    end = end or end_offsets(bootstrap, topic, partitions)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"books-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "fetch.message.max.bytes": 10_485_760,
            "isolation.level": "read_committed" if committed_only else "read_uncommitted",
        }
    )
    out = []
    try:
        tps = [TopicPartition(topic, p, (start or {}).get(p, OFFSET_BEGINNING)) for p in range(partitions)]
        consumer.assign(tps)
        stop_at = time.monotonic() + deadline
        last_record = time.monotonic()
        while time.monotonic() < stop_at:
            batch = consumer.consume(num_messages=10_000, timeout=0.5)
            for m in batch:
                if m.error():
                    continue
                if m.offset() < end.get(m.partition(), 0):
                    out.append(m)
            if batch:
                last_record = time.monotonic()
            positions = consumer.position([TopicPartition(topic, p) for p in range(partitions)])
            if all(tp.offset >= end[tp.partition] or end[tp.partition] == 0 for tp in positions):
                break
            if all(end[p] == (start or {}).get(p, 0) for p in range(partitions)):
                break
            if time.monotonic() - last_record > idle:
                break
        return out
    finally:
        consumer.close()


def header(msg, name: str) -> str | None:
    for k, v in msg.headers() or []:
        if k == name:
            return v.decode("utf-8", "replace") if v is not None else None
    return None


# --- runs ----------------------------------------------------------------------------------------------------
@dataclass
class BadRecord:
    key: bytes | None
    value: bytes
    reason: str  # the `error` header starts with this

    def describe(self) -> str:
        v = self.value[:60]
        return f"key={self.key[:40] if self.key else self.key!r} value={v!r}{'...' if len(self.value) > 60 else ''}"


@dataclass
class Run:
    name: str
    prefix: str
    symbols: list[str]
    home: Path
    ticks_start: dict[int, int]
    ticks_end: dict[int, int] | None = None
    bad: list[BadRecord] = field(default_factory=list)
    # When set, the ticks the job must keep (exchange, symbol, trade_id, ts): the run's good ticks are not all
    # valid-looking records of the run in Kafka (a poison stream), so the test says which ones.
    expected_ticks: set | None = None

    @property
    def labels(self) -> Path:
        return self.home / "labels.jsonl"

    def like(self) -> str:
        return f"{self.prefix}%"


class Books:
    def __init__(self, stack: FaultStack):
        self.stack = stack

    def new_run(self, name: str, n_symbols: int = 8) -> Run:
        prefix = unique_prefix()
        symbols = [f"{prefix}{chr(ord('A') + i)}-USDT" for i in range(n_symbols)]
        home = self.stack.home / "runs" / f"{name}-{prefix}"
        home.mkdir(parents=True, exist_ok=True)
        return Run(name, prefix, symbols, home, end_offsets(self.stack.bootstrap, "ticks", TICKS_PARTITIONS))

    def finish(self, run: Run) -> None:
        run.ticks_end = end_offsets(self.stack.bootstrap, "ticks", TICKS_PARTITIONS)

    # what went in
    def sent(self, run: Run) -> tuple[int, set]:
        """(records of the run in Kafka, the distinct ticks among them) over the run's offset range."""
        marker = f":{run.prefix}".encode()
        records = [
            m
            for m in read_topic(self.stack.bootstrap, "ticks", TICKS_PARTITIONS, run.ticks_start, run.ticks_end)
            if m.key() and marker in m.key()
        ]
        distinct = set()
        for m in records:
            try:
                t = json.loads(m.value())
                distinct.add((t["exchange"], t["symbol"], t["trade_id"], int(t["ts"])))
            except (ValueError, KeyError, TypeError):
                pass
        return len(records), distinct

    # what came out
    def tick_rows(self, run: Run) -> list[tuple]:
        return [
            (r["exchange"], r["symbol"], r["trade_id"], int(r["ts"]))
            for r in rows(
                self.stack,
                f"SELECT exchange, symbol, trade_id, (extract(epoch FROM time) * 1000)::bigint AS ts"
                f" FROM ticks WHERE symbol LIKE '{run.like()}'",
            )
        ]

    def tick_count(self, run: Run) -> int:
        return int(value(self.stack, f"SELECT count(*) FROM ticks WHERE symbol LIKE '{run.like()}'"))

    def candle_disagreements(self, run: Run, closed_before_ms: int) -> tuple[int, list[dict]]:
        """(closed minutes of the run, the ones whose candle is missing, extra or differs from its ticks)."""
        sql = f"""
            WITH t AS (SELECT exchange, symbol, price, size, date_trunc('minute', time) AS bucket,
                         row_number() OVER (PARTITION BY exchange, symbol, date_trunc('minute', time)
                                            ORDER BY trade_id::numeric) AS first_rank,
                         row_number() OVER (PARTITION BY exchange, symbol, date_trunc('minute', time)
                                            ORDER BY trade_id::numeric DESC) AS last_rank
                       FROM ticks WHERE symbol LIKE '{run.like()}'),
                 e AS (SELECT exchange, symbol, bucket, max(price) FILTER (WHERE first_rank = 1) AS open,
                         max(price) AS high, min(price) AS low, max(price) FILTER (WHERE last_rank = 1) AS close,
                         sum(size) AS volume, count(*) AS trades FROM t GROUP BY 1, 2, 3),
                 c AS (SELECT exchange, symbol, bucket, open, high, low, close, volume, trades
                       FROM candles_1m WHERE symbol LIKE '{run.like()}'),
                 j AS (SELECT exchange, symbol, bucket, e.trades IS NULL AS extra, c.trades IS NULL AS missing,
                         (c.open, c.high, c.low, c.close, c.volume, c.trades)
                           IS DISTINCT FROM (e.open, e.high, e.low, e.close, e.volume, e.trades) AS differs,
                         e.trades AS ticks_trades, c.trades AS candle_trades, e.volume AS ticks_volume,
                         c.volume AS candle_volume
                       FROM e FULL JOIN c USING (exchange, symbol, bucket)
                       WHERE bucket + interval '1 minute' <= to_timestamp({closed_before_ms} / 1000.0))
            SELECT count(*) OVER () AS closed, * FROM j ORDER BY differs DESC LIMIT 20"""
        result = rows(self.stack, sql)
        closed = int(result[0]["closed"]) if result else 0
        return closed, [r for r in result if r["differs"] == "t"]

    def anomaly_rows(self, run: Run) -> list[dict]:
        return rows(
            self.stack,
            f"SELECT id, exchange, symbol, type, (extract(epoch FROM time) * 1000)::bigint AS ts"
            f" FROM anomalies WHERE symbol LIKE '{run.like()}'",
        )

    def anomalies_on_topic(self, run: Run) -> Counter:
        ids = Counter()
        for m in read_topic(self.stack.bootstrap, "anomalies", ANOMALY_PARTITIONS, committed_only=True):
            try:
                a = json.loads(m.value())
            except ValueError:
                continue
            if a.get("symbol", "").startswith(run.prefix):
                ids[a["id"]] += 1
        return ids

    def read_labels(self, run: Run) -> list[dict]:
        if not run.labels.exists():
            return []
        return [json.loads(line) for line in run.labels.read_text().splitlines() if line.strip()]

    def dead_letters(self) -> list:
        return read_topic(self.stack.bootstrap, "ticks.dlq", 1, committed_only=True)

    # the books
    def check(self, run: Run, timeout: float = 240) -> dict:
        """Waits (up to timeout) for the job to catch up with the run, then returns the books; `assert_books`
        fails on any difference."""
        started = time.monotonic()
        in_kafka, distinct = self.sent(run)
        expected = run.expected_ticks if run.expected_ticks is not None else distinct
        try:
            wait_for(
                f"{len(expected)} ticks of run {run.name} in the database",
                lambda: self.tick_count(run) >= len(expected),
                timeout=timeout,
                interval=1.0,
            )
        except AssertionError:
            pass  # reported below as losses
        caught_up_s = time.monotonic() - started
        time.sleep(1.0)  # a retried batch still in flight would show as a duplicate now, not after the check
        db = self.tick_rows(run)
        db_set = set(db)
        dupes = len(db) - len({r[:3] for r in db})
        report = {
            "run": run.name,
            "prefix": run.prefix,
            "ticks_in_kafka": in_kafka,
            "distinct_ticks": len(expected),
            "rows": len(db),
            "duplicates": dupes,
            "lost": len(expected - db_set),
            "extra": len(db_set - expected),
            "lost_sample": sorted(expected - db_set)[:5],
            "extra_sample": sorted(db_set - expected)[:5],
            "catch_up_s": round(caught_up_s, 1),
        }

        # Candles of every minute the watermark has closed (the sink writes them a moment after the window fires).
        report.update(candle_minutes_closed=0, candle_disagreements=None, candle_sample=[])

        def candles_agree():
            mark = candle_watermark(self.stack) or int(time.time() * 1000) - 70_000
            closed, bad = self.candle_disagreements(run, mark)
            report.update(candle_minutes_closed=closed, candle_disagreements=len(bad), candle_sample=bad[:3])
            return not bad

        try:
            wait_for("candles that agree with the ticks", candles_agree, timeout=60, interval=2.0)
        except AssertionError:
            pass

        # Anomalies: table ids once each on the topic (read_committed; exactly-once commits on checkpoints).
        def topic_matches_table():
            table = self.anomaly_rows(run)
            topic = self.anomalies_on_topic(run)
            ids = Counter(r["id"] for r in table)
            report.update(
                anomalies_in_table=len(table),
                table_duplicate_ids=sum(1 for c in ids.values() if c > 1),
                anomalies_on_topic=sum(topic.values()),
                missing_on_topic=sorted(i for i in ids if topic[i] == 0)[:5],
                missing_on_topic_count=sum(1 for i in ids if topic[i] == 0),
                topic_duplicates=sum(c - 1 for c in topic.values() if c > 1),
                topic_not_in_table=sum(1 for i in topic if i not in ids),
                anomaly_types=dict(Counter(r["type"] for r in table)),
            )
            return (
                report["missing_on_topic_count"] == 0
                and report["topic_duplicates"] == 0
                and report["topic_not_in_table"] == 0
                and report["table_duplicate_ids"] == 0
            )

        try:
            wait_for("each anomaly of the table once on the topic", topic_matches_table, timeout=60, interval=3.0)
        except AssertionError:
            pass

        # Labels: each injected anomaly matched by an alert of its type on its instrument.
        table = self.anomaly_rows(run)
        labels = [l for l in self.read_labels(run) if l["type"] in LABEL_TYPES]
        first_ts = min((r[3] for r in expected), default=0)
        last_ts = max((r[3] for r in expected), default=0)
        required = [
            l
            for l in labels
            if l["start_ts"] <= last_ts - LABEL_TAIL_MS
            and not (l["type"] == "VOLUME_SPIKE" and l["start_ts"] < first_ts + VOLUME_WARMUP_MS)
        ]
        unmatched = [
            l
            for l in required
            if not any(
                a["exchange"] == l["exchange"]
                and a["symbol"] == l["symbol"]
                and a["type"] == l["type"]
                and l["start_ts"] <= int(a["ts"]) <= l["end_ts"] + LABEL_SLACK_MS
                for a in table
            )
        ]
        report.update(labels=len(labels), labels_required=len(required), labels_unmatched=unmatched)

        # Dead letters: each bad record once, unchanged, with its reason.
        if run.bad:
            letters = self.dead_letters()
            problems = []
            for b in run.bad:
                found = [m for m in letters if dead_letter_of(m, b.key, b.value)]
                if len(found) != 1:
                    problems.append(f"{b.describe()}: {len(found)} dead letters")
                elif not (header(found[0], "error") or "").startswith(b.reason):
                    problems.append(f"{b.describe()}: reason {header(found[0], 'error')!r}, expected {b.reason!r}...")
                elif header(found[0], "source.topic") != "ticks" or header(found[0], "source.offset") is None:
                    problems.append(f"{b.describe()}: origin headers {found[0].headers()}")
            report.update(bad_records=len(run.bad), dead_letter_problems=problems)
        return report


def dead_letter_of(m, key: bytes | None, value: bytes) -> bool:
    """Whether dead letter m holds this key and value: byte for byte, or (past the dead letters' bounds) a prefix with
    the whole length in a header."""

    def same(got: bytes | None, sent: bytes | None, length_header: str) -> bool:
        got, sent = got or b"", sent or b""
        whole = header(m, length_header)
        return got == sent if whole is None else (int(whole) == len(sent) and sent.startswith(got))

    return same(m.value(), value, "value.original.bytes") and same(m.key(), key, "key.original.bytes")


def assert_books(report: dict) -> None:
    problems = []
    if report["lost"] or report["extra"] or report["duplicates"]:
        problems.append(
            f"ticks: {report['lost']} lost {report['lost_sample']}, {report['extra']} extra "
            f"{report['extra_sample']}, {report['duplicates']} duplicated"
        )
    if report["rows"] != report["distinct_ticks"]:
        problems.append(f"ticks: {report['rows']} rows for {report['distinct_ticks']} ticks")
    if report.get("candle_disagreements", 0) is None:
        problems.append("candles: not checked (the comparison query failed)")
    elif report.get("candle_disagreements"):
        problems.append(
            f"candles: {report['candle_disagreements']} of {report['candle_minutes_closed']} closed minutes "
            f"disagree with the ticks: {report['candle_sample']}"
        )
    for k in ("missing_on_topic_count", "topic_duplicates", "topic_not_in_table", "table_duplicate_ids"):
        if report.get(k):
            problems.append(f"anomalies: {k} = {report[k]} (missing: {report.get('missing_on_topic')})")
    if report.get("labels_unmatched"):
        problems.append(f"labels without an alert: {report['labels_unmatched']}")
    if report.get("dead_letter_problems"):
        problems.append("dead letters: " + "; ".join(report["dead_letter_problems"]))
    assert not problems, f"books of run {report['run']} ({report['prefix']}):\n  " + "\n  ".join(problems)


def record_result(stack: FaultStack, result: dict) -> None:
    """Appends one fault's numbers to deploy/target/fault-results.jsonl (and prints them: pytest -s shows them)."""
    line = json.dumps(result, default=str)
    print(f"\nFAULT RESULT {line}")
    with open(REPO / "deploy" / "target" / "fault-results.jsonl", "a") as f:
        f.write(line + "\n")


# --- producers -----------------------------------------------------------------------------------------------
class Synthetic:
    """The synthetic producer as a child process on the run's symbols."""

    def __init__(
        self, stack: FaultStack, run: Run, *args: str, inject: str | None = None, inject_every: float | None = None
    ):
        cmd = [
            str(VENV_PYTHON),
            "-m",
            "tickstream_producers",
            "synthetic",
            "--bootstrap",
            stack.bootstrap,
            "--symbols",
            ",".join(run.symbols),
            "--no-metrics",
            "--status-every",
            "0",
            *args,
        ]
        if inject:
            cmd += ["--inject", inject, "--labels", str(run.labels)]
            if inject_every:
                cmd += ["--inject-every", str(inject_every)]
        self.cmd = cmd
        self.log = run.home / f"producer-{int(time.time() * 1000)}.log"
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            cmd,
            stdout=open(self.log, "wb"),
            stderr=subprocess.STDOUT,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
            cwd=run.home,
        )

    def wait(self, timeout: float = 300) -> str:
        rc = self.proc.wait(timeout)
        out = self.log.read_text()
        assert rc == 0, f"producer exited {rc}:\n{out[-3000:]}"
        return out

    def kill(self) -> int:
        self.proc.send_signal(signal.SIGKILL)
        return self.proc.wait(30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Monitor(threading.Thread):
    """Samples, every half second, the run's rows in the database and the job's state, to time a recovery."""

    def __init__(self, stack: FaultStack, books: Books, run: Run):
        super().__init__(daemon=True)
        self.stack, self.books, self.run_ = stack, books, run
        self.samples: list[tuple] = []  # (monotonic, rows, newest tick time ms or None, job state, job id)
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            t = time.monotonic()
            try:
                r = rows(
                    self.stack,
                    f"SELECT count(*) AS n, (extract(epoch FROM max(time)) * 1000)::bigint AS newest"
                    f" FROM ticks WHERE symbol LIKE '{self.run_.like()}'",
                )[0]
                n, newest = int(r["n"]), (int(r["newest"]) if r["newest"] else None)
            except (AssertionError, subprocess.SubprocessError, IndexError, ValueError):
                n, newest = None, None
            job = running_job(self.stack)
            state = ("RUNNING" if job["all_running"] else job["state"]) if job else "NONE"
            self.samples.append((t, n, newest, state, job["jid"] if job else None, time.time() * 1000))
            self._halt.wait(0.5)

    def stop(self):
        self._halt.set()
        self.join(10)

    def recovery(self, fault_at: float, producing_until: float, final_rows: int, until: float | None = None) -> dict:
        """Seconds from the fault to: the job running again (every task), and the rows caught up: the newest row of
        the run within 3 s of the wall clock again while the producer still sends, or every row in once it stopped."""
        after = [s for s in self.samples if s[0] >= fault_at and (until is None or s[0] <= until)]
        left = next((s for s in after if s[3] != "RUNNING"), None)
        running = None
        if left is not None:
            running = next((s for s in after if s[0] > left[0] and s[3] == "RUNNING"), None)
        producing = [s for s in after if s[0] <= producing_until]
        lagging = next((s for s in producing if s[2] is not None and s[5] - s[2] > 3000), None)
        caught = None
        if lagging is not None:
            caught = next(
                (
                    s
                    for s in after
                    if s[0] > lagging[0]
                    and (
                        (s[0] <= producing_until and s[2] is not None and s[5] - s[2] <= 3000)
                        or (s[1] is not None and s[1] >= final_rows)
                    )
                ),
                None,
            )
        max_lag = max((s[5] - s[2] for s in producing if s[2] is not None), default=None)
        return {
            "job_left_running_after_s": round(left[0] - fault_at, 1) if left else None,
            "job_running_again_s": round(running[0] - fault_at, 1) if running else None,
            "rows_lagged": lagging is not None,
            "rows_caught_up_s": round(caught[0] - fault_at, 1) if caught else (0.0 if lagging is None else None),
            "max_row_lag_s": round(max_lag / 1000, 1) if max_lag is not None else None,
        }
