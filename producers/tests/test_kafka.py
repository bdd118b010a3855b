"""Publishing to the real Kafka broker: keys and values read back exactly; metrics scraped over HTTP;
the `live` command end to end (local venue server → Kafka, SIGTERM flushes); synthetic load."""

import asyncio
import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
from conftest import EXPECTED, PRODUCERS, RECORDINGS, FakeVenue, until

from tickstream_producers.metrics import Metrics
from tickstream_producers.pipeline import Pipeline
from tickstream_producers.replay import replay
from tickstream_producers.sinks import KafkaSink

pytestmark = pytest.mark.timeout(120)
TOPIC = "ticks"


def watermarks(bootstrap):
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"t-{uuid.uuid4()}", "enable.auto.commit": False})
    try:
        parts = c.list_topics(TOPIC, timeout=10).topics[TOPIC].partitions
        return {p: c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1] for p in parts}
    finally:
        c.close()


def read_from(bootstrap, start, n, timeout=30.0):
    """The n messages after the `start` offsets: [(key, value)] (order kept within a partition)."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"t-{uuid.uuid4()}", "enable.auto.commit": False})
    c.assign([TopicPartition(TOPIC, p, off) for p, off in start.items()])
    out = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < n and time.monotonic() < deadline:
            for m in c.consume(1000, 0.5):
                if m.error() is None:
                    out.append((m.key().decode(), m.value().decode()))
    finally:
        c.close()
    return out


def scrape(port):
    return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()


def sample(text, name, **labels):
    lab = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    m = re.search(rf"^{re.escape(name)}\{{{re.escape(lab)}\}} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def test_replayed_recordings_are_published_with_exact_keys_and_values(kafka_bootstrap):
    before = watermarks(kafka_bootstrap)
    metrics = Metrics()
    port = metrics.serve("127.0.0.1", 0)
    try:
        sink = KafkaSink(kafka_bootstrap, TOPIC, metrics)
        files = [str(RECORDINGS / f"{v}.jsonl") for v in ("binance", "coinbase", "kraken")]
        replay(files, Pipeline(sink, metrics), speed=None)
        assert sink.close(30) == 0
        expected = [
            line
            for v in ("binance", "coinbase", "kraken")
            for line in (EXPECTED / f"{v}.ticks.jsonl").read_text().splitlines()
        ]
        got = read_from(kafka_bootstrap, before, len(expected))
        want = [(f"{json.loads(v)['exchange']}:{json.loads(v)['symbol']}", v) for v in expected]
        assert sorted(got) == sorted(want)
        # per instrument (one key → one partition) the order is the trade order
        for key in {k for k, _ in want}:
            assert [v for k, v in got if k == key] == [v for k, v in want if k == key]
        text = scrape(port)
        assert sample(text, "tickstream_producer_messages_total", exchange="binance") == 8
        assert sample(text, "tickstream_producer_messages_total", exchange="kraken") == 6
        assert sample(text, "tickstream_producer_latency_seconds_count", exchange="coinbase") == 6
        assert sample(text, "tickstream_producer_errors_total", exchange="kraken", kind="parse") == 1
        assert sample(text, "tickstream_producer_gaps_total", exchange="binance") == 1
        assert sample(text, "tickstream_producer_reconnects_total", exchange="binance") == 0
        assert sample(text, "tickstream_producer_last_message_age_seconds", exchange="binance") >= 0
    finally:
        metrics.shutdown()


def test_delivery_failures_are_counted_and_reported_not_dropped_silently():
    metrics = Metrics()
    # nothing listens on port 1: every delivery times out
    sink = KafkaSink(
        "127.0.0.1:1",
        TOPIC,
        metrics,
        max_retries=0,
        **{"delivery.timeout.ms": 500, "socket.connection.setup.timeout.ms": 1000},
    )
    from tickstream_producers.ticks import Tick

    sink.publish(Tick("binance", "BTC-USDT", "1", "1.0", "1.0", "buy", 1, 2))
    left = sink.close(5)
    assert left == 0 and sink.dropped == 1
    assert (
        metrics.registry.get_sample_value(
            "tickstream_producer_errors_total", {"exchange": "binance", "kind": "delivery"}
        )
        == 1
    )
    assert (
        metrics.registry.get_sample_value(
            "tickstream_producer_errors_total", {"exchange": "binance", "kind": "delivery_dropped"}
        )
        == 1
    )


@pytest.mark.parametrize("compression", ["lz4", "none"])
def test_synthetic_load_reaches_the_broker(kafka_bootstrap, compression):
    before = watermarks(kafka_bootstrap)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "tickstream_producers",
            "synthetic",
            "--rate",
            "0",
            "--count",
            "20000",
            "--bootstrap",
            kafka_bootstrap,
            "--no-metrics",
            "--venues",
            "synthetic,kraken",
            "--compression",
            compression,
        ],
        capture_output=True,
        text=True,
        cwd=PRODUCERS,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "undelivered 0" in r.stderr
    after = watermarks(kafka_bootstrap)
    assert sum(after.values()) - sum(before.values()) == 20000


async def test_live_command_end_to_end_metrics_and_sigterm_flush(kafka_bootstrap):
    trades = '{"channel":"trade","type":"update","data":[%s]}' % ",".join(
        '{"symbol":"BTC/USD","side":"sell","price":97000.5,"qty":0.25,"ord_type":"limit","trade_id":%d,'
        '"timestamp":"2024-11-25T01:20:00.000100Z"}' % t
        for t in (501, 502, 503)
    )

    async def script(n, ws, venue):
        await venue.recv(ws, n)
        await ws.send(
            '{"method":"subscribe","result":{"channel":"trade","snapshot":false,"symbol":"BTC/USD"},'
            '"success":true,"time_in":"2024-11-25T01:20:00Z","time_out":"2024-11-25T01:20:00Z"}'
        )
        await ws.send(trades)
        await ws.wait_closed()

    before = watermarks(kafka_bootstrap)
    async with FakeVenue(script) as venue:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tickstream_producers",
            "live",
            "--venue",
            "kraken",
            "--symbols",
            "BTC-USD",
            "--url",
            f"kraken={venue.url}",
            "--bootstrap",
            kafka_bootstrap,
            "--metrics-port",
            "0",
            "--status-every",
            "0.2",
            cwd=str(PRODUCERS),
            stderr=asyncio.subprocess.PIPE,
        )
        port = None
        while port is None:
            line = (await asyncio.wait_for(proc.stderr.readline(), 20)).decode()
            assert line, "live exited early"
            m = re.search(r"metrics on http://127.0.0.1:(\d+)/metrics", line)
            port = int(m.group(1)) if m else None
        text_holder = {}

        def delivered():
            text_holder["t"] = scrape(port)
            return sample(text_holder["t"], "tickstream_producer_messages_total", exchange="kraken") == 3

        await until(delivered, timeout=20, message="3 messages acked")
        proc.send_signal(signal.SIGTERM)
        err = (await asyncio.wait_for(proc.stderr.read(), 20)).decode()
        assert await asyncio.wait_for(proc.wait(), 20) == 0, err
    assert "status | kraken" in err
    got = read_from(kafka_bootstrap, before, 3)
    assert [k for k, _ in got] == ["kraken:BTC-USD"] * 3
    assert [json.loads(v)["trade_id"] for _, v in got] == ["501", "502", "503"]
    assert json.loads(got[0][1])["price"] == "97000.5"
