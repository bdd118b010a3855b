"""Faults against one real local stack while a known, counted stream of ticks flows, then exact books (books.py).

The stack (shared with test_security.py): PostgreSQL, Kafka, the Flink session cluster and the job with
`--delivery exactly-once --checkpoint-interval 2 s`, on free ports; no stack producers. A slow background stream
(its own symbols) keeps event time moving, so the candles of every run's minutes close. Each fault test sends its
own stream on symbols unique to it, injects the fault mid-stream, measures the recovery and checks the books:
every tick once in `ticks`, candles equal to the ticks, every alert once in the table and once on the topic
(read_committed), the injected anomalies found, every bad record in `ticks.dlq` with its reason.

The faults that take minutes (TaskManager, JobManager, Kafka broker) run only with TICKSTREAM_SLOW_FAULTS=1;
deploy/faults/*.sh run each of them (and say how to do the same by hand). Every result is appended to
deploy/target/fault-results.jsonl.
"""
import json
import os
import signal
import time

import pytest
from confluent_kafka import Producer

from books import (Books, Monitor, Synthetic, BadRecord, assert_books, num_restarts, psql, record_result,
                   running_job, shared_stack, value)
from conftest import wait_for

SLOW = os.environ.get("TICKSTREAM_SLOW_FAULTS") == "1"
slow = pytest.mark.skipif(not SLOW, reason="takes minutes: run with TICKSTREAM_SLOW_FAULTS=1 or deploy/faults/*.sh")
RATE = int(os.environ.get("TICKSTREAM_FAULT_RATE", "2000"))


@pytest.fixture(scope="module")
def stack(request):
    stack = shared_stack(request.config)
    books = Books(stack)
    background = books.new_run("background", n_symbols=10)
    producer = Synthetic(stack, background, "--rate", "100")
    from books import _SHARED
    _SHARED["background"] = producer
    stack.books, stack.background_run, stack.runs = books, background, []
    wait_for("the job running", lambda: (j := running_job(stack)) and j["all_running"], timeout=180)
    yield stack
    producer.stop()
    _SHARED.pop("background", None)


def _stream_with_fault(stack, name: str, faults: list, duration: int = 45, inject_every: int = 10) -> dict:
    """A paced stream of RATE ticks/s for `duration` s with spikes and drops injected; each (at_s, label, action)
    of `faults` runs at its time; returns the books and the recovery of each fault."""
    books: Books = stack.books
    run = books.new_run(name)
    monitor = Monitor(stack, books, run)
    monitor.start()
    started = time.monotonic()
    producer = Synthetic(stack, run, "--rate", str(RATE), "--duration", str(duration), inject="spike,drop",
                         inject_every=inject_every)
    fault_times = []
    try:
        for at, label, action in faults:
            time.sleep(max(0.0, started + at - time.monotonic()))
            t = time.monotonic()
            detail = action()
            fault_times.append((label, t, time.monotonic() - t, detail))
        out = producer.wait(timeout=duration + 300)
        producing_until = time.monotonic()
        books.finish(run)
        report = books.check(run)
    finally:
        producer.stop()
        monitor.stop()
    stack.runs.append(run)
    recoveries = {}
    for i, (label, t, took, detail) in enumerate(fault_times):
        until = fault_times[i + 1][1] if i + 1 < len(fault_times) else None
        recoveries[label] = {"fault_command_s": round(took, 1), **(detail or {}),
                             **monitor.recovery(t, producing_until, report["distinct_ticks"], until)}
    result = {"fault": name, "rate": RATE, "duration_s": duration, "producer": out.strip().splitlines()[-1:],
              **{k: report[k] for k in ("ticks_in_kafka", "distinct_ticks", "rows", "duplicates", "lost", "extra",
                                        "candle_minutes_closed", "candle_disagreements", "anomalies_in_table",
                                        "anomalies_on_topic", "topic_duplicates", "labels", "labels_required")
                 if k in report},
              "labels_unmatched": len(report["labels_unmatched"]), "recovery": recoveries}
    record_result(stack, result)
    assert_books(report)
    return result


def _job(stack) -> dict:
    return wait_for("the job running", lambda: (j := running_job(stack)) and j["all_running"] and j, timeout=300)


# --- (5) poison stream -------------------------------------------------------------------------------------------
def test_poison_stream_goes_to_the_dlq_or_is_deduplicated_and_never_restarts_the_job(stack):
    books: Books = stack.books
    job = _job(stack)
    restarts_before = num_restarts(stack, job["jid"])
    run = books.new_run("poison", n_symbols=3)
    now = int(time.time() * 1000)
    p = run.prefix
    key = lambda s: f"synthetic:{s}".encode()

    def tick(symbol_, tid, ts_, price="100.25", size="0.5", **over):
        t = {"v": 1, "exchange": "synthetic", "symbol": symbol_, "trade_id": str(tid), "price": price, "size": size,
             "side": "buy", "ts": ts_, "recv_ts": now}
        t.update(over)
        return json.dumps(t, separators=(",", ":")).encode()

    good = []  # (key, value)
    expected = set()
    for s, symbol in enumerate(run.symbols):
        for i in range(300):
            ts = now - 30_000 + i * 100
            price = f"{100 + (i % 17) * 0.01 + s:.2f}"
            good.append((key(symbol), tick(symbol, 1000 + i, ts, price=price)))
            expected.add(("synthetic", symbol, str(1000 + i), ts))
    # Duplicate trade ids: exact re-sends (a producer retry or replay) and the same trade with a different price
    # (same time): one row each, first write wins.
    dupes = good[10:30] + [(key(run.symbols[0]), tick(run.symbols[0], 1000 + 40, now - 30_000 + 40 * 100, price="999.99"))]

    sym = run.symbols[0]
    ts = now - 1000
    big = 1024 * 1024
    bad = [
        BadRecord(key(sym), b"not json at all " + p.encode(), "not valid JSON"),
        BadRecord(key(sym), tick(sym, 1, ts)[:-7], "not valid JSON"),                         # truncated
        BadRecord(key(sym), b'{"v":1,"exchange":"synthetic","symbol":"' + sym.encode() + b'","trade_id":"2"', "not valid JSON"),
        BadRecord(key(sym), b"[" + p.encode() + b"]", "not a JSON object"),
        BadRecord(key(sym), b"", "empty value"),
        BadRecord(key(sym), b'{"pad":"' + p.encode() + b"x" * big + b'"}', "record too large"),   # 1 MiB JSON
        BadRecord(key(sym), p.encode() + b"\x00\xff" * (big // 2), "record too large"),          # 1 MiB binary
        BadRecord(key(sym), tick(sym, 3, ts, price=100.5), "field price must be a string"),
        BadRecord(key(sym), tick(sym, 4, ts, size=2), "field size must be a string"),
        BadRecord(key(sym), tick(sym, 5, str(ts)), "field ts must be an integer"),
        BadRecord(key(sym), tick(sym, 6, ts, trade_id=6), "field trade_id must be a string"),
        BadRecord(key(sym), tick(sym, 7, ts, v="1"), "field v must be an integer"),
        BadRecord(key(sym), tick(sym, 8, ts).replace(b'"100.25"', b"NaN"), "not valid JSON"),
        BadRecord(key(sym), tick(sym, 9, ts, price="NaN"), "price must be a decimal string"),
        BadRecord(key(sym), tick(sym, 10, ts, price="Infinity"), "price must be a decimal string"),
        BadRecord(key(sym), tick(sym, 11, ts, size="-Infinity"), "size must be a decimal string"),
        BadRecord(key(sym), tick(sym, 12, ts, price="-1.5"), "price must be positive"),
        BadRecord(key(sym), tick(sym, 13, ts, size="-0.1"), "size must be positive"),
        BadRecord(key(sym), tick(sym, 14, ts, price="0"), "price must be positive"),
        BadRecord(key(sym), tick(sym, 15, ts, size="0.000"), "size must be positive"),
        BadRecord(key(sym), tick(sym, 16, ts, price="1e3"), "price must be a decimal string"),
        BadRecord(key(sym), tick(sym, 17, now + 365 * 86_400_000), "ts is in the future"),
        BadRecord(key(sym), tick(sym, 18, 1_100_000_000_000), "ts is before 2009"),
        BadRecord(key(sym), tick(sym, 19, 1_700_000), "ts is before 2009"),                     # seconds, not ms
        BadRecord(key(sym), tick(sym, 20, 10 ** 20), "field ts is out of range"),
        BadRecord(f"nasdaq:{sym}".encode(), tick(sym, 21, ts, exchange="nasdaq"), "unknown exchange 'nasdaq'"),
        BadRecord(None, tick(sym, 22, ts), "missing key"),                                       # no key
        BadRecord(b"", tick(sym, 23, ts), "missing key"),                                        # empty key
        BadRecord(key(run.symbols[1]), tick(sym, 24, ts), "key does not match"),
        BadRecord(key(sym), tick(sym, 25, ts, symbol=p.lower() + "-usd"), "symbol must be BASE-QUOTE"),
        BadRecord(key(sym), tick(sym, 26, ts, side="long"), "side must be buy, sell or unknown"),
        BadRecord(key(sym), tick(sym, 27, ts, v=2), "unsupported version v=2"),
        BadRecord(key(sym), tick(sym, 28, ts)[:-1] + b',"price":"1.0"}', "not valid JSON"),     # duplicate field
        BadRecord(key(sym), tick(sym, 29, ts) + b" {}", "trailing content"),
        BadRecord(key(sym), b'{"v":1,"exchange":"synthetic","symbol":"' + sym.encode() + b'","trade_id":"30"}',
                  "missing field price"),
    ]
    run.bad = bad
    run.expected_ticks = expected
    stack.runs.append(run)
    producer = Producer({"bootstrap.servers": stack.bootstrap, "message.max.bytes": 2_000_000,
                         "enable.idempotence": True, "acks": "all", "linger.ms": 5})
    failures = []
    cb = lambda err, msg: err and failures.append(err)
    stream = list(good)
    for j, b in enumerate(bad):  # bad records spread through the good ones
        stream.insert(j * len(good) // len(bad) + j, (b.key, b.value))
    for k, v in stream + dupes:
        producer.produce("ticks", v, k, on_delivery=cb)
        producer.poll(0)
    assert producer.flush(60) == 0 and not failures, failures
    books.finish(run)

    report = books.check(run, timeout=120)
    job_after = running_job(stack)
    restarts_after = num_restarts(stack, job["jid"])
    exceptions = [e.get("exceptionName") for e in http_json_safe(f"{stack.rest}/jobs/{job['jid']}/exceptions")
                  .get("exceptionHistory", {}).get("entries", [])]
    result = {"fault": "poison", "bad_records_sent": len(bad), "duplicates_sent": len(dupes),
              **{k: report[k] for k in ("ticks_in_kafka", "distinct_ticks", "rows", "duplicates", "lost", "extra",
                                        "candle_minutes_closed", "candle_disagreements")},
              "dead_letter_problems": report["dead_letter_problems"], "job_id_unchanged": job_after["jid"] == job["jid"],
              "num_restarts_delta": restarts_after - restarts_before, "exceptions": exceptions}
    record_result(stack, result)
    assert_books(report)
    assert job_after["jid"] == job["jid"] and job_after["all_running"], job_after
    assert restarts_after == restarts_before, f"the job restarted {restarts_after - restarts_before} times: {exceptions}"


def http_json_safe(url):
    from books import http_json
    try:
        return http_json(url)
    except (OSError, ValueError):
        return {}


# --- (6) producer killed and restarted -----------------------------------------------------------------------------
def test_producer_killed_mid_stream_and_rerun_loses_and_duplicates_nothing(stack):
    books: Books = stack.books
    _job(stack)
    run = books.new_run("producer-kill")
    count, sim_rate = 100_000, 10_000
    start_ts = int(time.time() * 1000)
    args = ["--seed", "4242", "--start-ts", str(start_ts), "--rate", str(sim_rate), "--count", str(count)]
    before = sum(run.ticks_start.values())
    stack.runs.append(run)
    first = Synthetic(stack, run, *args, inject="spike,drop", inject_every=2)
    from books import end_offsets
    # SIGKILL once part of the stream is in Kafka: no flush, no goodbye.
    wait_for("part of the stream in Kafka", lambda: sum(end_offsets(stack.bootstrap, "ticks", 5).values()) - before
             >= count // 5 or first.proc.poll() is not None, timeout=60, interval=0.05)
    killed_at = time.monotonic()
    rc = first.kill()
    assert rc == -signal.SIGKILL, f"the producer had already finished (rc {rc}): raise the count"
    partial = sum(end_offsets(stack.bootstrap, "ticks", 5).values()) - before
    # The same command again: same seed and simulated clock, the same ticks from the first one on.
    second = Synthetic(stack, run, *args, inject="spike,drop", inject_every=2)
    out = second.wait(timeout=300)
    books.finish(run)
    report = books.check(run)
    result = {"fault": "producer-kill", "deterministic_count": count,
              "in_kafka_before_kill_approx": partial, "producer": out.strip().splitlines()[-1:],
              **{k: report[k] for k in ("ticks_in_kafka", "distinct_ticks", "rows", "duplicates", "lost", "extra",
                                        "candle_minutes_closed", "candle_disagreements", "anomalies_in_table",
                                        "anomalies_on_topic", "labels", "labels_required", "catch_up_s")},
              "labels_unmatched": len(report["labels_unmatched"]),
              "rerun_to_all_rows_s": round(time.monotonic() - killed_at, 1)}
    record_result(stack, result)
    assert report["distinct_ticks"] == count, "the rerun did not regenerate the same ticks"
    assert report["ticks_in_kafka"] > count, "nothing was sent twice: the kill came too late to test anything"
    assert_books(report)


# --- (3) PostgreSQL: connections killed, then a restart --------------------------------------------------------------
def test_postgres_connections_killed_the_sink_reconnects(stack):
    _job(stack)

    def terminate():
        killed = 0
        for _ in range(3):
            out = psql(stack, "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity"
                              " WHERE usename = 'tickstream'").stdout.split()
            killed += int(out[-1])
            time.sleep(1.0)
        return {"connections_terminated": killed}

    _stream_with_fault(stack, "postgres-connections", [(10, "pg_terminate_backend x3", terminate)], duration=30)


@slow
def test_postgres_restarted_the_job_recovers(stack):
    _job(stack)

    def restart():
        tm = stack.pid("flink-taskmanager")
        stack.run("down", "--only", "postgres")
        time.sleep(5)
        stack.run("up", "--only", "postgres")
        # Known: a JDBC sink whose flush fails while its task is being cancelled throws from close(); Flink then
        # treats it as a fatal error and the TaskManager exits. `up --only flink` starts a new one when so.
        time.sleep(5)
        died = not os.path.exists(f"/proc/{tm}")
        up = stack.run("up", "--only", "flink")
        return {"taskmanager_exited": died, "up_flink": up.stdout.strip().splitlines()[1:2]}

    _stream_with_fault(stack, "postgres-restart", [(12, "postgres stop 5 s + start (+ up --only flink)", restart)],
                       duration=50)


# --- (2) Kafka broker stopped and restarted ----------------------------------------------------------------------------
@slow
def test_kafka_broker_stopped_and_restarted(stack):
    _job(stack)

    def bounce():
        stack.run("down", "--only", "kafka")
        time.sleep(10)
        stack.run("up", "--only", "kafka")
        return {}

    _stream_with_fault(stack, "kafka", [(12, "kafka stop 10 s + start", bounce)], duration=45)


# --- (1) TaskManager SIGKILL ---------------------------------------------------------------------------------------------
@slow
def test_taskmanager_killed_job_restarts_from_last_checkpoint(stack):
    _job(stack)

    def kill_tm():
        pid = stack.pid("flink-taskmanager")
        os.killpg(pid, signal.SIGKILL)
        stack.run("up", "--only", "flink")
        return {"killed_pid": pid}

    _stream_with_fault(stack, "taskmanager", [(12, "taskmanager SIGKILL + up --only flink", kill_tm)], duration=45)


# --- (4) JobManager SIGKILL, restart, resubmission from the newest retained checkpoint -------------------------------------
@slow
def test_jobmanager_killed_and_job_resubmitted_from_latest_checkpoint(stack):
    old = _job(stack)

    def kill_jm():
        pid = stack.pid("flink-jobmanager")
        os.killpg(pid, signal.SIGKILL)
        time.sleep(2)
        stack.run("up", "--only", "flink")
        up = stack.run("up", "--only", "job")
        restored = [l for l in up.stdout.splitlines() if "restored from" in l]
        return {"killed_pid": pid, "resubmitted": restored[0].strip() if restored else up.stdout.strip()}

    result = _stream_with_fault(stack, "jobmanager", [(12, "jobmanager SIGKILL + up --only flink + up --only job",
                                                       kill_jm)], duration=60)
    new = running_job(stack)
    assert new["jid"] != old["jid"]
    assert "restored from" in result["recovery"]["jobmanager SIGKILL + up --only flink + up --only job"]["resubmitted"]


# --- every fault at once: the background stream's books, and every run's candles once their minutes closed -------------
def test_background_stream_books_across_all_faults_and_every_runs_candles(stack):
    """The slow stream that ran through every fault above: every tick once, candles agree, alerts once. Then the
    candles of every earlier run, now that the watermark has closed their last minutes."""
    from books import _SHARED, candle_watermark
    books: Books = stack.books
    runs = list(stack.runs)
    if runs:
        newest = max(int(value(stack, f"SELECT (extract(epoch FROM max(time)) * 1000)::bigint FROM ticks"
                                      f" WHERE symbol LIKE '{r.like()}'") or 0) for r in runs)
        last_minute_end = (newest // 60_000 + 1) * 60_000
        wait_for("the watermark past the last minute of every run",
                 lambda: (candle_watermark(stack) or 0) >= last_minute_end, timeout=150, interval=2)
    producer = _SHARED.pop("background", None)
    if producer is not None:
        producer.stop()
    run = stack.background_run
    books.finish(run)
    report = books.check(run)
    record_result(stack, {"fault": "background (all of the above)",
                          **{k: report[k] for k in ("ticks_in_kafka", "distinct_ticks", "rows", "duplicates", "lost",
                                                    "extra", "candle_minutes_closed", "candle_disagreements",
                                                    "anomalies_in_table", "anomalies_on_topic")}})
    assert_books(report)
    mark = candle_watermark(stack) or int(time.time() * 1000) - 70_000
    for r in runs:
        closed, bad = books.candle_disagreements(r, mark)
        record_result(stack, {"fault": f"candles of run {r.name}", "closed_minutes": closed, "disagreements": len(bad)})
        assert closed > 0 and not bad, (r.name, closed, bad)
