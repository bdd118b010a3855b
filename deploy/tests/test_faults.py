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

import base64
import json
import os
import random
import signal
import time

import pytest
from books import (
    BOOK_COUNTS,
    BadRecord,
    Books,
    Monitor,
    Synthetic,
    assert_books,
    header,
    num_restarts,
    psql,
    record_result,
    rows,
    running_job,
    set_background_producer,
    shared_stack,
    take_background_producer,
    value,
)
from confluent_kafka import Producer
from conftest import REPO as REPO_DIR
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
    set_background_producer(producer)
    stack.books, stack.background_run, stack.runs = books, background, []
    wait_for("the job running", lambda: (j := running_job(stack)) and j["all_running"], timeout=180)
    yield stack
    producer.stop()
    take_background_producer()


def _stream_with_fault(stack, name: str, faults: list, duration: int = 45, inject_every: int = 10) -> dict:
    """A paced stream of RATE ticks/s for `duration` s with spikes and drops injected; each (at_s, label, action)
    of `faults` runs at its time; returns the books and the recovery of each fault."""
    books: Books = stack.books
    run = books.new_run(name)
    monitor = Monitor(stack, books, run)
    monitor.start()
    started = time.monotonic()
    producer = Synthetic(
        stack, run, "--rate", str(RATE), "--duration", str(duration), inject="spike,drop", inject_every=inject_every
    )
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
        recoveries[label] = {
            "fault_command_s": round(took, 1),
            **(detail or {}),
            **monitor.recovery(t, producing_until, report["distinct_ticks"], until),
        }
    result = {
        "fault": name,
        "rate": RATE,
        "duration_s": duration,
        "producer": out.strip().splitlines()[-1:],
        **{
            k: report[k]
            for k in (
                *BOOK_COUNTS,
                "anomalies_in_table",
                "anomalies_on_topic",
                "topic_duplicates",
                "labels",
                "labels_required",
            )
            if k in report
        },
        "labels_unmatched": len(report["labels_unmatched"]),
        "recovery": recoveries,
    }
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
        t = {
            "v": 1,
            "exchange": "synthetic",
            "symbol": symbol_,
            "trade_id": str(tid),
            "price": price,
            "size": size,
            "side": "buy",
            "ts": ts_,
            "recv_ts": now,
        }
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
    dupes = good[10:30] + [
        (key(run.symbols[0]), tick(run.symbols[0], 1000 + 40, now - 30_000 + 40 * 100, price="999.99"))
    ]

    sym = run.symbols[0]
    ts = now - 1000
    big = 1024 * 1024
    bad = [
        BadRecord(key(sym), b"not json at all " + p.encode(), "not valid JSON"),
        BadRecord(key(sym), tick(sym, 1, ts)[:-7], "not valid JSON"),  # truncated
        BadRecord(
            key(sym), b'{"v":1,"exchange":"synthetic","symbol":"' + sym.encode() + b'","trade_id":"2"', "not valid JSON"
        ),
        BadRecord(key(sym), b"[" + p.encode() + b"]", "not a JSON object"),
        BadRecord(key(sym), b"", "empty value"),
        BadRecord(key(sym), b'{"pad":"' + p.encode() + b"x" * big + b'"}', "record too large"),  # 1 MiB JSON
        BadRecord(key(sym), p.encode() + b"\x00\xff" * (big // 2), "record too large"),  # 1 MiB binary
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
        BadRecord(key(sym), tick(sym, 19, 1_700_000), "ts is before 2009"),  # seconds, not ms
        BadRecord(key(sym), tick(sym, 20, 10**20), "field ts is out of range"),
        BadRecord(f"nasdaq:{sym}".encode(), tick(sym, 21, ts, exchange="nasdaq"), "unknown exchange 'nasdaq'"),
        BadRecord(None, tick(sym, 22, ts), "missing key"),  # no key
        BadRecord(b"", tick(sym, 23, ts), "missing key"),  # empty key
        BadRecord(key(run.symbols[1]), tick(sym, 24, ts), "key does not match"),
        BadRecord(key(sym), tick(sym, 25, ts, symbol=p.lower() + "-usd"), "symbol must be BASE-QUOTE"),
        BadRecord(key(sym), tick(sym, 26, ts, side="long"), "side must be buy, sell or unknown"),
        BadRecord(key(sym), tick(sym, 27, ts, v=2), "unsupported version v=2"),
        BadRecord(key(sym), tick(sym, 28, ts)[:-1] + b',"price":"1.0"}', "not valid JSON"),  # duplicate field
        BadRecord(key(sym), tick(sym, 29, ts) + b" {}", "trailing content"),
        BadRecord(
            key(sym),
            b'{"v":1,"exchange":"synthetic","symbol":"' + sym.encode() + b'","trade_id":"30"}',
            "missing field price",
        ),
    ]
    run.bad = bad
    run.expected_ticks = expected
    stack.runs.append(run)
    producer = Producer(
        {
            "bootstrap.servers": stack.bootstrap,
            "message.max.bytes": 2_000_000,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
        }
    )
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
    exceptions = [
        e.get("exceptionName")
        for e in http_json_safe(f"{stack.rest}/jobs/{job['jid']}/exceptions")
        .get("exceptionHistory", {})
        .get("entries", [])
    ]
    result = {
        "fault": "poison",
        "bad_records_sent": len(bad),
        "duplicates_sent": len(dupes),
        **{k: report[k] for k in (*BOOK_COUNTS,)},
        "dead_letter_problems": report["dead_letter_problems"],
        "job_id_unchanged": job_after["jid"] == job["jid"],
        "num_restarts_delta": restarts_after - restarts_before,
        "exceptions": exceptions,
    }
    record_result(stack, result)
    assert_books(report)
    assert job_after["jid"] == job["jid"] and job_after["all_running"], job_after
    assert restarts_after == restarts_before, (
        f"the job restarted {restarts_after - restarts_before} times: {exceptions}"
    )


# --- (5b) an adversarial corpus and generated records, while a counted stream flows ------------------------------------
CORPUS = REPO_DIR / "deploy" / "tests" / "data" / "adversarial-ticks.jsonl"
GENERATED = 1500
GENERATED_SEED = 20261201


def _corpus_record(
    entry: dict, symbol: str, trade_id: str, ts: int, recv: int
) -> tuple[bytes | None, bytes, str | None]:
    """(key, value, compression) of one corpus entry, on the run's symbol: a valid tick changed as the entry says."""
    key = f"synthetic:{symbol}".encode()
    if "key_repeat" in entry:
        key = entry["key_repeat"]["char"].encode() * entry["key_repeat"]["bytes"]
    if "value" in entry:
        return key, entry["value"].encode(), entry.get("compression")
    if "value_b64" in entry:
        return key, base64.b64decode(entry["value_b64"]), entry.get("compression")
    if "value_repeat" in entry:
        r = entry["value_repeat"]
        return key, r["prefix"].encode() + r["char"].encode() * r["bytes"], entry.get("compression")
    # A trade stamped after its receipt: received that long before its (past) trade time, so only --max-trade-ahead
    # (not the clock skew) can tell.
    recv = ts - entry["ts_after_recv_ms"] if "ts_after_recv_ms" in entry else recv
    fields = {
        "v": "1",
        "exchange": '"synthetic"',
        "symbol": json.dumps(symbol),
        "trade_id": json.dumps(entry.get("trade_id", trade_id)),
        "price": json.dumps(entry.get("price", "100.25")),
        "size": '"0.5"',
        "side": json.dumps(entry.get("side", "buy")),
        "ts": str(ts * entry.get("ts_scale", 1)),
        "recv_ts": str(recv),
    }
    if "nest_extra" in entry:
        fields["extra"] = "[" * entry["nest_extra"] + "1" + "]" * entry["nest_extra"]
    fields.update(entry.get("raw", {}))
    text = "{" + ",".join(f'"{k}":{v}' for k, v in fields.items()) + entry.get("raw_extra", "") + "}"
    return key, text.encode(), entry.get("compression")


def _generated_records(
    rng: random.Random, symbol: str, first_id: int, ts: int, recv: int
) -> list[tuple[dict, bytes, bytes]]:
    """Valid ticks with one field replaced by a random JSON value: (the fields as sent, key, value)."""
    strings = [
        "",
        "0",
        "-1",
        "1e5",
        "NaN",
        "1.5",
        "0.000",
        "\u0661\u0662\u0663",
        "x\\",
        "\\N",
        "\\t",
        "a\u0000b",
        "\u00e9",
        "\ud800",
        "buy",
        "sell",
        "unknown",
        "binance",
        "BTC-USD",
        "7" * 70,
        "7" * 41,
    ]
    values = [json.dumps(v) for v in strings] + ["null", "true", "[]", "{}", "1", "-0", "1E400", "99999999999999999999"]
    out = []
    for i in range(GENERATED):
        fields = {
            "v": "1",
            "exchange": '"synthetic"',
            "symbol": json.dumps(symbol),
            "trade_id": json.dumps(f"g{first_id + i}"),
            "price": json.dumps(f"{100 + rng.random():.4f}"),
            "size": '"0.5"',
            "side": '"sell"',
            "ts": str(ts + i),
            "recv_ts": str(recv + i),
        }
        name = rng.choice(list(fields))
        choice = rng.choice(values)
        if name == "trade_id" and choice.startswith('"'):  # a string id stays unique to the record
            choice = json.dumps(json.loads(choice) + f"#{i}")
        fields[name] = choice
        value = ("{" + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}").encode()
        out.append((fields, f"synthetic:{symbol}".encode(), value))
    return out


def test_adversarial_and_generated_records_each_end_in_exactly_one_place_and_never_fail_the_job(stack):
    """Issue-found records (tests/data/adversarial-ticks.jsonl: escapes COPY misread, a 9 MB lz4-compressed value, a
    trade minutes ahead of its receipt, ...) and generated ones (a valid tick with one field replaced by a random JSON
    value), spread through a counted good stream: the job never fails (its exception history stays empty), every good
    tick is stored once, every other record is a row or a dead letter — exactly one of the two — and the dead-letter
    topic holds exactly as many records of the run as there are ones that are not rows."""
    books: Books = stack.books
    job = _job(stack)
    exceptions_before = _exceptions(stack, job["jid"])
    run = books.new_run("adversarial", n_symbols=1)
    good_symbol = run.symbols[0]
    # The corpus and the generated records on a symbol of another prefix: the run's books (ticks, candles by numeric
    # trade order) cover the good stream; this test checks where each of the others went.
    bad_symbol = books.new_run("adversarial-records", n_symbols=1).symbols[0]
    now = int(time.time() * 1000)
    rng = random.Random(GENERATED_SEED)

    good = []
    expected = set()
    for i in range(3000):
        ts = now - 40_000 + i * 10
        tick = {
            "v": 1,
            "exchange": "synthetic",
            "symbol": good_symbol,
            "trade_id": str(1000 + i),
            "price": f"{100 + (i % 17) * 0.01:.2f}",
            "size": "0.5",
            "side": "buy",
            "ts": ts,
            "recv_ts": ts + 20,
        }
        good.append((f"synthetic:{good_symbol}".encode(), json.dumps(tick, separators=(",", ":")).encode(), None))
        expected.add(("synthetic", good_symbol, str(1000 + i), ts))

    corpus = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]
    poison = []  # (entry, key, value, compression)
    for i, entry in enumerate(corpus):
        key, value, compression = _corpus_record(entry, bad_symbol, f"c{i}", now - 30_000 + i, now - 30_000 + i + 20)
        poison.append((entry, key, value, compression))
    generated = _generated_records(rng, bad_symbol, 100_000, now - 20_000, now - 20_000 + 20)

    producers = {
        None: Producer(
            {
                "bootstrap.servers": stack.bootstrap,
                "message.max.bytes": 20_000_000,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
            }
        ),
        "lz4": Producer(
            {
                "bootstrap.servers": stack.bootstrap,
                "message.max.bytes": 20_000_000,
                "compression.type": "lz4",
                "enable.idempotence": True,
                "acks": "all",
            }
        ),
    }
    delivered, failures = {}, []

    def sent(tag):
        def cb(err, msg):
            if err:
                failures.append((tag, err))
            else:
                delivered[tag] = (msg.partition(), msg.offset())

        return cb

    stream = [("good", k, v, None) for k, v, _ in good]
    others = [(f"corpus{i}", k, v, c) for i, (_, k, v, c) in enumerate(poison)] + [
        (f"gen{i}", k, v, None) for i, (_, k, v) in enumerate(generated)
    ]
    for j, item in enumerate(others):
        stream.insert(j * len(good) // len(others) + j, item)
    for tag, k, v, compression in stream:
        producers[compression].produce("ticks", v, k, on_delivery=sent(tag))
        producers[compression].poll(0)
    for p in producers.values():
        assert p.flush(120) == 0
    assert not failures, failures[:5]
    books.finish(run)
    run.expected_ticks = expected
    stack.runs.append(run)

    report = books.check(run, timeout=120)
    assert_books(report)

    # Where every other record went: a row of its symbol, or a dead letter at its offset (read until all are seen).
    def where_they_went():
        stored = {
            (r["trade_id"], int(r["ts"]))
            for r in rows(
                stack,
                f"SELECT trade_id, (extract(epoch FROM time) * 1000)::bigint AS ts FROM ticks WHERE symbol = '{bad_symbol}'",
            )
        }
        letters = {}
        for m in books.dead_letters():
            if header(m, "source.topic") == "ticks" and header(m, "source.offset") is not None:
                where = (int(header(m, "source.partition")), int(header(m, "source.offset")))
                if run.ticks_start[where[0]] <= where[1] < run.ticks_end[where[0]]:
                    letters.setdefault(where, []).append(m)
        return stored, letters

    try:
        stored, run_letters = wait_for(
            "every record of the run as a row or a dead letter",
            lambda: (
                seen if len((seen := where_they_went())[0]) + len(seen[1]) >= len(poison) + len(generated) else None
            ),
            timeout=90,
            interval=2,
        )
    except AssertionError:
        stored, run_letters = where_they_went()  # what is missing is reported record by record below
    problems = [f"{w}: {len(ms)} dead letters" for w, ms in run_letters.items() if len(ms) != 1]

    for i, (entry, _key, value, _) in enumerate(poison):
        where = delivered[f"corpus{i}"]
        in_dlq = len(run_letters.get(where, []))
        if entry["expect"] == "row":
            tick = json.loads(value)
            if in_dlq or (tick["trade_id"], tick["ts"]) not in stored:
                problems.append(f"corpus {entry['name']!r}: expected a row, dead letters {in_dlq}")
        else:
            letter = (run_letters.get(where) or [None])[0]
            if letter is None:
                problems.append(f"corpus {entry['name']!r}: no dead letter")
                continue
            reason = header(letter, "error") or ""
            if not reason.startswith(entry["reason"]):
                problems.append(f"corpus {entry['name']!r}: reason {reason[:120]!r}")
            if entry.get("truncated"):
                if header(letter, "value.original.bytes") != str(len(value)) or not value.startswith(letter.value()):
                    problems.append(f"corpus {entry['name']!r}: not cut to a prefix with its length")
            elif (letter.value() or b"") != value:
                problems.append(f"corpus {entry['name']!r}: dead letter's value differs")
    generated_rows = generated_letters = 0
    for i, (fields, _key, value) in enumerate(generated):
        where = delivered[f"gen{i}"]
        in_dlq = len(run_letters.get(where, []))
        trade_id = json.loads(fields["trade_id"])
        ts = json.loads(fields["ts"])
        identity = (trade_id, ts) if isinstance(trade_id, str) and type(ts) is int else None
        in_rows = 1 if identity in stored else 0
        generated_rows += in_rows
        generated_letters += in_dlq
        if in_dlq + in_rows != 1:
            problems.append(f"generated {value[:160]!r}: {in_rows} rows, {in_dlq} dead letters")
    expected_letters = sum(1 for e, *_ in poison if e["expect"] == "dead_letter") + generated_letters
    if len(run_letters) != expected_letters:
        problems.append(f"{len(run_letters)} dead letters of the run, expected {expected_letters}")
    exceptions_after = _exceptions(stack, job["jid"])
    job_after = running_job(stack)
    result = {
        "fault": "adversarial",
        "corpus": len(poison),
        "generated": len(generated),
        "generated_rows": generated_rows,
        "generated_dead_letters": generated_letters,
        "dead_letters_of_run": len(run_letters),
        "good_ticks": len(good),
        **{k: report[k] for k in ("rows", "duplicates", "lost", "extra")},
        "exceptions": exceptions_after,
        "problems": problems[:10],
    }
    record_result(stack, result)
    assert not problems, "\n".join(problems[:20])
    assert exceptions_before == [] and exceptions_after == [], exceptions_after
    assert job_after["jid"] == job["jid"] and job_after["all_running"], job_after


def _exceptions(stack, job_id: str) -> list:
    """The job's exception history (Flink REST): root causes since the job started."""
    history = http_json_safe(f"{stack.rest}/jobs/{job_id}/exceptions").get("exceptionHistory", {})
    return [e.get("exceptionName") for e in history.get("entries", [])]


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
    wait_for(
        "part of the stream in Kafka",
        lambda: (
            sum(end_offsets(stack.bootstrap, "ticks", 5).values()) - before >= count // 5
            or first.proc.poll() is not None
        ),
        timeout=60,
        interval=0.05,
    )
    killed_at = time.monotonic()
    rc = first.kill()
    assert rc == -signal.SIGKILL, f"the producer had already finished (rc {rc}): raise the count"
    partial = sum(end_offsets(stack.bootstrap, "ticks", 5).values()) - before
    # The same command again: same seed and simulated clock, the same ticks from the first one on.
    second = Synthetic(stack, run, *args, inject="spike,drop", inject_every=2)
    out = second.wait(timeout=300)
    books.finish(run)
    report = books.check(run)
    result = {
        "fault": "producer-kill",
        "deterministic_count": count,
        "in_kafka_before_kill_approx": partial,
        "producer": out.strip().splitlines()[-1:],
        **{
            k: report[k]
            for k in (
                *BOOK_COUNTS,
                "anomalies_in_table",
                "anomalies_on_topic",
                "labels",
                "labels_required",
                "catch_up_s",
            )
        },
        "labels_unmatched": len(report["labels_unmatched"]),
        "rerun_to_all_rows_s": round(time.monotonic() - killed_at, 1),
    }
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
            out = psql(
                stack, "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE usename = 'tickstream'"
            ).stdout.split()
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

    _stream_with_fault(
        stack, "postgres-restart", [(12, "postgres stop 5 s + start (+ up --only flink)", restart)], duration=50
    )


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

    result = _stream_with_fault(
        stack, "jobmanager", [(12, "jobmanager SIGKILL + up --only flink + up --only job", kill_jm)], duration=60
    )
    new = running_job(stack)
    assert new["jid"] != old["jid"]
    assert "restored from" in result["recovery"]["jobmanager SIGKILL + up --only flink + up --only job"]["resubmitted"]


# --- every fault at once: the background stream's books, and every run's candles once their minutes closed -------------
def test_background_stream_books_across_all_faults_and_every_runs_candles(stack):
    """The slow stream that ran through every fault above: every tick once, candles agree, alerts once. Then the
    candles of every earlier run, now that the watermark has closed their last minutes."""
    from books import candle_watermark

    books: Books = stack.books
    runs = list(stack.runs)
    if runs:
        newest = max(
            int(
                value(
                    stack,
                    f"SELECT (extract(epoch FROM max(time)) * 1000)::bigint FROM ticks WHERE symbol LIKE '{r.like()}'",
                )
                or 0
            )
            for r in runs
        )
        last_minute_end = (newest // 60_000 + 1) * 60_000
        wait_for(
            "the watermark past the last minute of every run",
            lambda: (candle_watermark(stack) or 0) >= last_minute_end,
            timeout=150,
            interval=2,
        )
    producer = take_background_producer()
    if producer is not None:
        producer.stop()
    run = stack.background_run
    books.finish(run)
    report = books.check(run)
    record_result(
        stack,
        {
            "fault": "background (all of the above)",
            **{
                k: report[k]
                for k in (
                    *BOOK_COUNTS,
                    "anomalies_in_table",
                    "anomalies_on_topic",
                )
            },
        },
    )
    assert_books(report)
    mark = candle_watermark(stack) or int(time.time() * 1000) - 70_000
    for r in runs:
        closed, bad = books.candle_disagreements(r, mark)
        record_result(stack, {"fault": f"candles of run {r.name}", "closed_minutes": closed, "disagreements": len(bad)})
        assert closed > 0 and not bad, (r.name, closed, bad)
