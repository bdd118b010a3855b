"""Upgrading and rescaling on a real stack of two TaskManagers: release 0.1's savepoint (committed by
deploy/fixture-savepoint under job/src/test/resources/savepoints/0.1) restores into this release's job.jar at
parallelism 4 with its state intact, and the job rescales 2 -> 4 -> 1 while a counted stream flows with exact books
and the alerts of an unscaled run of the same stream.
"""

import itertools
import json
import os
import random
import secrets
import time
import uuid

import pytest
from books import (
    BOOK_COUNTS,
    Books,
    FaultStack,
    Synthetic,
    assert_books,
    http_json,
    record_result,
    rows,
    running_job,
    value,
)
from confluent_kafka import Producer
from conftest import REPO, wait_for

FIXTURE = REPO / "job" / "src" / "test" / "resources" / "savepoints" / "0.1"
REREAD = "REREAD-USD"  # the padding of the ticks topic: records the restored job must never read


@pytest.fixture(scope="module")
def stack():
    env = dict(
        os.environ,
        TICKSTREAM_JDBC_PASSWORD=f"tsjob-{secrets.token_urlsafe(16)}",
        # --state-ttl: state TTL runs on processing time, so the fixture's per-instrument state, silent since the
        # savepoint was taken, would expire 6 h (the default) after that, and the restore would start cold.
        TICKSTREAM_JOB_ARGS="--delivery exactly-once --checkpoint-interval '2 s' --state-ttl '3650 d'",
    )
    stack = FaultStack(REPO / "deploy" / "target" / f"upgrade-{uuid.uuid4().hex[:8]}", env)
    try:
        stack.run("up", "--free-ports", "--only", "postgres,kafka,flink", "--taskmanagers", "2")
        stack.books = Books(stack)
        yield stack
    finally:
        down = stack.run("down", check=False)
        assert down.returncode == 0, down.stdout + down.stderr


def _producer(stack) -> Producer:
    return Producer({"bootstrap.servers": stack.bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5})


def _send(producer: Producer, records: list[tuple[int, str, dict]]) -> None:
    for partition, key, tick in records:
        producer.produce("ticks", json.dumps(tick, separators=(",", ":")).encode(), key.encode(), partition=partition)
        producer.poll(0)
    assert producer.flush(60) == 0


def _job(stack) -> dict:
    return wait_for("the job running", lambda: (j := running_job(stack)) and j["all_running"] and j, timeout=240)


def _exceptions(stack, job_id: str) -> list:
    history = http_json(f"{stack.rest}/jobs/{job_id}/exceptions").get("exceptionHistory", {})
    return [e.get("exceptionName") for e in history.get("entries", [])]


def _count(stack, sql: str) -> int:
    return int(value(stack, sql) or 0)


def test_release_0_1_savepoint_restores_into_this_release_at_parallelism_4(stack):
    fixture = json.loads((FIXTURE / "fixture.json").read_text())
    t0, rate, first = fixture["t0"], fixture["rate_per_instrument"], fixture["first_seq"]
    step = 1000 // rate
    producer = _producer(stack)
    # The ticks topic up to the offsets the savepoint's Kafka source resumes at, with records it must never read.
    padding = []
    for partition, end in fixture["ticks_end_offsets"].items():
        for i in range(end):
            ts = t0 + 60_000 + i
            padding.append(
                (
                    int(partition),
                    f"synthetic:{REREAD}",
                    {
                        "v": 1,
                        "exchange": "synthetic",
                        "symbol": REREAD,
                        "trade_id": f"{partition}-{i}",
                        "price": "1.0",
                        "size": "1",
                        "side": "buy",
                        "ts": ts,
                        "recv_ts": ts,
                    },
                )
            )
    _send(producer, padding)

    stack.run("up", "--only", "job", "--savepoint", str(FIXTURE / "savepoint"), "--parallelism", "4")
    job = _job(stack)
    assert job["tasks"]["total"] >= 4

    # After the restore: every instrument's trades go on where the savepoint left them (trade ids and times, and sizes
    # as deploy/fixture-savepoint drew them: log-normal around 0.05), for 35 s of trade time; on binance, 10 s on, a
    # second of trades of 25 (VOLUME_SPIKE: only a detector whose baseline survived is warm enough to see it), its trade
    # skipped before the savepoint (a gap the sequencer remembers: late, for the first minute's candle), and its last
    # trade before the savepoint again (a duplicate the sequencer drops).
    after = []
    sent_after = set()
    seconds = fixture["seconds"]
    sizes = random.Random(15)
    for instrument in fixture["instruments"]:
        exchange, symbol = instrument.split(":")
        partition = fixture["partition_of"][instrument]
        for i in range(seconds * rate, 130 * rate):
            ts = t0 + i * step
            seq = first + i
            burst = exchange == "binance" and 10 * rate <= i - seconds * rate < 11 * rate
            tick = {
                "v": 1,
                "exchange": exchange,
                "symbol": symbol,
                "trade_id": str(seq) if exchange != "synthetic" else f"t-{seq}",
                "price": "91000.00" if symbol != "FIXTURE-USD" else "100.00",
                "size": "25.000000" if burst else f"{sizes.lognormvariate(-3, 1):.6f}",
                "side": "buy",
                "ts": ts,
                "recv_ts": ts + 20,
            }
            after.append((partition, instrument, tick))
            sent_after.add((exchange, symbol, tick["trade_id"]))
    binance = fixture["partition_of"]["binance:BTC-USDT"]
    skipped = fixture["skipped_seq"]["binance:BTC-USDT"]
    late_ts = t0 + (skipped - first) * step
    after.append(
        (
            binance,
            "binance:BTC-USDT",
            {
                "v": 1,
                "exchange": "binance",
                "symbol": "BTC-USDT",
                "trade_id": str(skipped),
                "price": "91000.00",
                "size": "0.010000",
                "side": "sell",
                "ts": late_ts,
                "recv_ts": late_ts + 20,
            },
        )
    )
    last = fixture["last_trade"]["binance:BTC-USDT"]
    after.append(
        (
            binance,
            "binance:BTC-USDT",
            {
                "v": 1,
                "exchange": "binance",
                "symbol": "BTC-USDT",
                "trade_id": last["trade_id"],
                "price": last["price"],
                "size": "0.010000",
                "side": "buy",
                "ts": last["ts"],
                "recv_ts": last["ts"] + 20,
            },
        )
    )
    sent_after |= {("binance", "BTC-USDT", str(skipped)), ("binance", "BTC-USDT", last["trade_id"])}
    # Event time past the second minute and its allowed lateness on every partition with data, so its candles close.
    for partition in sorted(set(fixture["partition_of"].values())):
        ts = t0 + 300_000
        after.append(
            (
                partition,
                f"synthetic:CLOSE{partition}-USD",
                {
                    "v": 1,
                    "exchange": "synthetic",
                    "symbol": f"CLOSE{partition}-USD",
                    "trade_id": "1",
                    "price": "1.0",
                    "size": "1",
                    "side": "buy",
                    "ts": ts,
                    "recv_ts": ts,
                },
            )
        )
    # In trade-time order across partitions, 5 s of trade time at a time, the next only once every partition's trades
    # were read (stored): every partition is idle after the restore, and one read ahead of the others (its subtask's
    # consumer started first) would carry event time past their open candles before their trades were read, since
    # idle partitions do not hold the watermark back. Live venues trade continuously and keep every partition active.
    symbols = "('BTC-USDT', 'BTC-USD', 'FIXTURE-USD')"
    after.sort(key=lambda record: record[2]["ts"] if "CLOSE" not in record[1] else float("inf"))
    sent = set()
    for _, records in itertools.groupby(after, key=lambda r: r[2]["ts"] // 5000 if "CLOSE" not in r[1] else -1):
        records = list(records)
        _send(producer, records)
        sent |= {(t["exchange"], t["symbol"], t["trade_id"]) for _, _, t in records} & sent_after
        wait_for(
            f"the trades sent after the restore, {len(sent)} so far, in the ticks table",
            lambda: _count(stack, f"SELECT count(*) FROM ticks WHERE symbol IN {symbols}") >= len(sent),
            timeout=120,
            interval=0.5,
        )

    wait_for(
        "the trades sent after the restore in the ticks table",
        lambda: _count(stack, f"SELECT count(*) FROM ticks WHERE symbol IN {symbols}") >= len(sent_after),
        timeout=120,
        interval=1,
    )
    minute2 = (t0 + 60_000) // 1000
    wait_for(
        "the second minute's candles",
        lambda: _count(stack, f"SELECT count(*) FROM candles_1m WHERE bucket = to_timestamp({minute2})") == 4,
        timeout=120,
        interval=1,
    )
    # The warmed-up volume baseline of release 0.1 sees the burst (a cold one needs a minute of warm-up).
    wait_for(
        "the volume burst's alert",
        lambda: (
            _count(stack, "SELECT count(*) FROM anomalies WHERE type = 'VOLUME_SPIKE' AND symbol = 'BTC-USDT'") >= 1
        ),
        timeout=60,
        interval=1,
    )

    stored = {
        (r["exchange"], r["symbol"], r["trade_id"])
        for r in rows(stack, f"SELECT exchange, symbol, trade_id FROM ticks WHERE symbol IN {symbols}")
    }
    reread = _count(stack, f"SELECT count(*) FROM ticks WHERE symbol = '{REREAD}'")
    candles = {
        (r["exchange"], int(r["bucket"])): int(r["trades"])
        for r in rows(
            stack,
            f"SELECT exchange, extract(epoch FROM bucket)::bigint AS bucket, trades FROM candles_1m"
            f" WHERE symbol IN {symbols}",
        )
    }
    job_now = running_job(stack)
    exceptions = _exceptions(stack, job_now["jid"])
    record_result(
        stack,
        {
            "fault": "upgrade from release 0.1",
            "parallelism": 4,
            "rows_after_restore": len(stored),
            "reread_rows": reread,
            "candles": {f"{k[0]}@{k[1]}": v for k, v in candles.items()},
            "exceptions": exceptions,
        },
    )
    # The restored Kafka source resumed at the savepoint's offsets: nothing before them was read again.
    assert reread == 0
    assert stored == sent_after
    # The open candle of the second minute survived (350 trades before the savepoint, 250 after), the duplicate was
    # dropped by the sequencer's restored progress, and the late trade reached the first minute's restored window.
    per_minute = 60 * rate
    for exchange in ("binance", "coinbase", "kraken", "synthetic"):
        assert candles[(exchange, minute2)] == per_minute, (exchange, candles)
    assert candles[("binance", minute2 - 60)] == per_minute, candles
    assert job_now["jid"] == job["jid"] and job_now["all_running"] and exceptions == [], (job_now, exceptions)


def _comparable(stack, prefix: str) -> list[tuple]:
    """The alerts of a run, without its symbol prefix and the wall-clock fields."""
    return sorted(
        (
            r["exchange"],
            r["symbol"].removeprefix(prefix),
            r["type"],
            r["trade_id"],
            r["ts"],
            r["price"],
            r["ref_price"],
            r["change_pct"],
        )
        for r in rows(
            stack,
            f"SELECT exchange, symbol, type, trade_id, (extract(epoch FROM time) * 1000)::bigint AS ts, price,"
            f" ref_price, change_pct FROM anomalies WHERE symbol LIKE '{prefix}%'",
        )
    )


def test_rescale_2_to_4_to_1_while_a_counted_stream_flows(stack):
    books: Books = stack.books
    if running_job(stack) is None:  # run on its own, without the restore test before it
        stack.run("up", "--only", "job", "--parallelism", "2")
    _job(stack)
    stack.run("scale", "2")
    _job(stack)
    # A minute's start, three minutes back: after each run a trade on every partition at its end closes its candles.
    start_ts = (int(time.time() * 1000) - 180_000) // 60_000 * 60_000
    close = [
        (
            p,
            f"synthetic:CLOSE{p}-USD",
            {
                "v": 1,
                "exchange": "synthetic",
                "symbol": f"CLOSE{p}-USD",
                "trade_id": "1",
                "price": "1.0",
                "size": "1",
                "side": "buy",
                "ts": start_ts + 150_000,
                "recv_ts": start_ts + 150_000,
            },
        )
        for p in range(5)
    ]
    args = ["--seed", "777", "--start-ts", str(start_ts), "--rate", "2000", "--count", "70000"]

    # The same stream twice on symbols of their own: unscaled, then rescaled while it flows. Its trade times are
    # simulated (--start-ts), so the records do not depend on the pace: the unscaled run is sent as fast as it goes
    # (it was paced too: 35 s), the rescaled one paced to 2,000/s (--pace, 35 s) so that it flows across both scalings.
    steady = books.new_run("unscaled")
    Synthetic(stack, steady, *args, inject="spike,drop,volume", inject_every=5).wait(timeout=240)
    books.finish(steady)
    _send(_producer(stack), close)
    steady_report = books.check(steady)
    assert_books(steady_report)
    assert steady_report["candle_minutes_closed"] > 0

    rescaled = books.new_run("rescaled")
    producer = Synthetic(stack, rescaled, *args, "--pace", inject="spike,drop,volume", inject_every=5)
    scaled = []
    for at, parallelism in ((10, 4), (22, 1)):
        time.sleep(max(0.0, at - (time.monotonic() - producer.started)))
        t = time.monotonic()
        stack.run("scale", str(parallelism))
        job = _job(stack)
        scaled.append({"to": parallelism, "at_s": at, "took_s": round(time.monotonic() - t, 1), "job": job["jid"]})
    producer.wait(timeout=240)
    books.finish(rescaled)
    _send(_producer(stack), [(p, k, {**t, "trade_id": "2"}) for p, k, t in close])
    report = books.check(rescaled)
    unscaled_alerts, rescaled_alerts = _comparable(stack, steady.prefix), _comparable(stack, rescaled.prefix)
    record_result(
        stack,
        {
            "fault": "rescale 2 -> 4 -> 1",
            "scaled": scaled,
            **{
                k: report[k]
                for k in (
                    *BOOK_COUNTS,
                    "anomalies_in_table",
                )
            },
            "alerts_unscaled": len(unscaled_alerts),
            "alerts_rescaled": len(rescaled_alerts),
        },
    )
    assert_books(report)
    assert report["candle_minutes_closed"] > 0
    assert unscaled_alerts and rescaled_alerts == unscaled_alerts
