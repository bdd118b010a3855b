"""Each live client against a local WebSocket server that speaks its venue's protocol: subscribe handshake
and acks, pings, server-initiated close, a silent socket, malformed frames, a reconnect that replays recent
trades. Proves reconnect, resubscribe, gap detection, dedup and no loss."""

import asyncio
import json
import math
import time

import pytest
from conftest import FakeVenue, ListSink, until

from tickstream_producers.lifecycle import FeedClient, FeedOptions, backoff_delay
from tickstream_producers.metrics import Metrics
from tickstream_producers.pipeline import Pipeline
from tickstream_producers.venues import binance, coinbase, kraken

pytestmark = pytest.mark.timeout(30)


def make_client(spec, symbols, url, **opts):
    sink, metrics = ListSink(), Metrics()
    pipeline = Pipeline(sink, metrics)
    options = FeedOptions(url=url, ping_interval=None, **{"backoff_min": 0.01, "backoff_max": 0.05, **opts})
    client = FeedClient(
        spec,
        symbols,
        lambda text, ts: pipeline.process(spec.read, spec.exchange, spec.sequential_ids, text, ts),
        metrics,
        options,
    )
    return client, sink, metrics


def ids(sink):
    return [t.trade_id for t in sink.ticks]


def bn(t, sym="BTCUSDT", m=False):
    return json.dumps(
        {
            "stream": f"{sym.lower()}@trade",
            "data": {
                "e": "trade",
                "E": 1732497600000 + t + 1,
                "s": sym,
                "t": t,
                "p": f"97000.{t:02d}",
                "q": "0.01000000",
                "T": 1732497600000 + t,
                "m": m,
                "M": True,
            },
        }
    )


async def stop(client, task):
    client.stop.set()
    await asyncio.wait_for(task, 10)


# ---------------------------------------------------------------- Binance
async def test_binance_server_close_then_reconnect_replaying_trades_dedups_and_counts_the_gap():
    async def script(n, ws, venue):
        if n == 1:
            for t in range(1, 6):
                await ws.send(bn(t))
            await ws.send('{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCU')  # malformed
            await ws.send(bn(1, "ETHUSDT"))
            await ws.close(1001, "going away")  # server-initiated close
        else:
            for t in (4, 5, 6, 7, 9):  # replays 4, 5; 8 is lost
                await ws.send(bn(t))
            await ws.wait_closed()

    async with FakeVenue(script) as venue:
        client, sink, metrics = make_client(binance.SPEC, ["BTC-USDT", "ETH-USDT"], venue.url)
        task = asyncio.create_task(client.run())
        await until(lambda: len(sink.ticks) >= 9, message="9 ticks")
        await stop(client, task)
    assert venue.paths[0] == "/stream?streams=btcusdt@trade/ethusdt@trade"
    assert venue.paths[1] == venue.paths[0]  # resubscribed (streams are in the URL)
    assert [(t.symbol, t.trade_id) for t in sink.ticks] == [
        ("BTC-USDT", "1"),
        ("BTC-USDT", "2"),
        ("BTC-USDT", "3"),
        ("BTC-USDT", "4"),
        ("BTC-USDT", "5"),
        ("ETH-USDT", "1"),
        ("BTC-USDT", "6"),
        ("BTC-USDT", "7"),
        ("BTC-USDT", "9"),
    ]
    assert metrics.reconnects["binance"] == 1
    assert metrics.gaps["binance"] == 1
    assert (
        metrics.registry.get_sample_value("tickstream_producer_errors_total", {"exchange": "binance", "kind": "parse"})
        == 1
    )
    assert "closed by server" in client.last_reason


@pytest.mark.parametrize("trigger", ["serverShutdown", "max_connection_age"])
async def test_binance_planned_rollover_opens_the_new_connection_before_closing_the_old(trigger):
    second_open = asyncio.Event()
    old_closed_by_client = asyncio.Event()

    async def script(n, ws, venue):
        if n == 1:
            for t in (1, 2, 3):
                await ws.send(bn(t))
            if trigger == "serverShutdown":
                await ws.send('{"e":"serverShutdown","E":1732497600100}')
            await second_open.wait()
            await ws.send(bn(4))  # still flowing on the old connection
            await ws.send(bn(5))
            await ws.wait_closed()
            old_closed_by_client.set()
        else:
            second_open.set()
            for t in (4, 5, 6, 7):  # overlap: 4 and 5 arrive on both connections
                await ws.send(bn(t))
            await ws.wait_closed()

    async with FakeVenue(script) as venue:
        opts = {"max_connection_age": 0.3} if trigger == "max_connection_age" else {}
        client, sink, metrics = make_client(binance.SPEC, ["BTC-USDT"], venue.url, **opts)
        task = asyncio.create_task(client.run())
        await until(lambda: len(sink.ticks) >= 7 and old_closed_by_client.is_set(), message="rollover")
        await stop(client, task)
    assert venue.max_open == 2  # both open at once: nothing missed in between
    assert ids(sink) == ["1", "2", "3", "4", "5", "6", "7"]
    assert metrics.reconnects["binance"] == 0 and metrics.gaps["binance"] == 0


# ---------------------------------------------------------------- Coinbase
def cb_trades(kind, trades, seq=1):
    return json.dumps(
        {
            "channel": "market_trades",
            "client_id": "",
            "timestamp": "2024-11-25T01:20:00.1Z",
            "sequence_num": seq,
            "events": [
                {
                    "type": kind,
                    "trades": [
                        {
                            "trade_id": str(t),
                            "product_id": "BTC-USD",
                            "price": f"97000.{t}",
                            "size": "0.5",
                            "side": "BUY" if t % 2 else "SELL",
                            "time": f"2024-11-25T01:20:{t % 60:02d}.000123Z",
                        }
                        for t in sorted(trades, reverse=True)
                    ],
                }
            ],
        }
    )


HEARTBEAT = json.dumps(
    {
        "channel": "heartbeats",
        "client_id": "",
        "timestamp": "2024-11-25T01:20:01.001Z",
        "sequence_num": 9,
        "events": [{"current_time": "2024-11-25 01:20:01 +0000 UTC", "heartbeat_counter": "1"}],
    }
)


async def test_coinbase_subscribe_handshake_snapshot_skipped_silent_socket_reconnects_and_backfills():
    async def script(n, ws, venue):
        subs = [json.loads(await venue.recv(ws, n, timeout=5)) for _ in range(2)]  # within Coinbase's 5 s
        assert [s["channel"] for s in subs] == ["market_trades", "heartbeats"]
        await ws.send(
            json.dumps(
                {
                    "channel": "subscriptions",
                    "client_id": "",
                    "timestamp": "2024-11-25T01:20:00Z",
                    "sequence_num": 0,
                    "events": [{"subscriptions": {"market_trades": ["BTC-USD"]}}],
                }
            )
        )
        if n == 1:
            await ws.send(cb_trades("snapshot", [10, 11, 12]))  # history from before we started
            await ws.send(HEARTBEAT)
            await ws.send(cb_trades("update", [13, 14]))
            await ws.send('{"channel":"market_trades",')  # malformed
            await ws.send(HEARTBEAT)
            await ws.wait_closed()  # then silence: no trades, no heartbeats
        else:
            await ws.send(cb_trades("snapshot", [12, 13, 14, 15]))  # 15 was missed while we were away
            await ws.send(cb_trades("update", [16]))
            await ws.wait_closed()

    async with FakeVenue(script) as venue:
        client, sink, metrics = make_client(coinbase.SPEC, ["BTC-USD"], venue.url, silent_after=0.3)
        task = asyncio.create_task(client.run())
        await until(lambda: len(sink.ticks) >= 4, message="4 ticks")
        await stop(client, task)
    assert ids(sink) == ["13", "14", "15", "16"]
    assert [t.side for t in sink.ticks] == ["buy", "sell", "buy", "sell"]
    assert metrics.reconnects["coinbase"] == 1 and client.last_reason.startswith("silent")
    assert len(venue.received[2]) == 2  # resubscribed, one message per channel
    assert (
        metrics.registry.get_sample_value("tickstream_producer_errors_total", {"exchange": "coinbase", "kind": "parse"})
        == 1
    )


# ---------------------------------------------------------------- Kraken
def kr(kind, tids, sym="BTC/USD"):
    return '{"channel":"trade","type":"%s","data":[%s]}' % (
        kind,
        ",".join(
            '{"symbol":"%s","side":"buy","price":97000.%d,"qty":0.5,"ord_type":"market","trade_id":%d,'
            '"timestamp":"2024-11-25T01:20:00.%06dZ"}' % (sym, t, t, t)
            for t in tids
        ),
    )


async def test_kraken_heartbeats_do_not_hide_a_stale_feed_ping_pong_and_snapshot_backfill():
    pings = []

    async def heartbeats(ws):
        while True:
            await ws.send('{"channel":"heartbeat"}')
            await asyncio.sleep(0.05)  # the server's heartbeat period

    async def script(n, ws, venue):
        sub = json.loads(await venue.recv(ws, n))
        assert sub["method"] == "subscribe" and sub["params"]["channel"] == "trade"
        assert sub["params"]["snapshot"] is (n > 1)  # backfill only after a reconnect
        await ws.send(
            '{"channel":"status","data":[{"api_version":"v2","connection_id":1,"system":"online",'
            '"version":"2.0.9"}],"type":"update"}'
        )
        await ws.send(
            '{"method":"subscribe","result":{"channel":"trade","snapshot":%s,"symbol":"BTC/USD"},'
            '"success":true,"time_in":"2024-11-25T01:20:00.1Z","time_out":"2024-11-25T01:20:00.1Z"}'
            % ("true" if n > 1 else "false")
        )
        hb = asyncio.create_task(heartbeats(ws))
        try:
            if n == 1:
                await ws.send(kr("update", [10, 11]))
            else:
                await ws.send(kr("snapshot", [10, 11, 12]))  # 12 happened while we were away
                await ws.send(kr("update", [14]))  # 13 is lost: a gap
            async for msg in ws:  # answer pings until the client leaves
                m = json.loads(msg)
                if m.get("method") == "ping":
                    pings.append(m)
                    await ws.send(
                        json.dumps(
                            {
                                "method": "pong",
                                "req_id": m.get("req_id"),
                                "time_in": "2024-11-25T01:20:01Z",
                                "time_out": "2024-11-25T01:20:01Z",
                            }
                        )
                    )
        finally:
            hb.cancel()

    async with FakeVenue(script) as venue:
        client, sink, metrics = make_client(kraken.SPEC, ["BTC-USD"], venue.url, stale_after=0.5, keepalive_every=0.1)
        task = asyncio.create_task(client.run())
        await until(lambda: len(sink.ticks) >= 4 and pings, message="4 ticks and a ping")
        await stop(client, task)
    assert ids(sink) == ["10", "11", "12", "14"]
    assert [t.price for t in sink.ticks] == ["97000.10", "97000.11", "97000.12", "97000.14"]
    assert metrics.reconnects["kraken"] >= 1 and client.last_reason.startswith("no trade")
    assert metrics.gaps["kraken"] == 1
    assert pings and pings[0]["method"] == "ping"


async def test_connect_failures_back_off_and_are_counted():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    client, sink, metrics = make_client(kraken.SPEC, ["BTC-USD"], f"ws://127.0.0.1:{port}")
    task = asyncio.create_task(client.run())
    await until(lambda: metrics.errors["kraken"] >= 3, message="3 connect errors")
    await stop(client, task)
    assert (
        metrics.registry.get_sample_value("tickstream_producer_errors_total", {"exchange": "kraken", "kind": "connect"})
        >= 3
    )


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    for attempt in range(8):
        d = backoff_delay(attempt, 0.5, 30)
        cap = min(30, 0.5 * 2**attempt)
        assert cap / 2 <= d <= cap
    assert len({backoff_delay(3, 0.5, 30) for _ in range(20)}) > 1


async def test_record_writes_frames_untouched_and_they_replay(tmp_path):
    import signal
    import sys

    from conftest import PRODUCERS

    frames = [bn(1), '{"result":null,"id":1}', bn(2, m=True), '{"stream":"btcusdt@trade","data":{"e":"tr']

    async def script(n, ws, venue):
        for f in frames:
            await ws.send(f)
        await ws.wait_closed()

    out = tmp_path / "rec.jsonl"
    async with FakeVenue(script) as venue:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tickstream_producers",
            "record",
            "--venue",
            "binance",
            "--symbols",
            "BTC-USDT",
            "--url",
            f"binance={venue.url}",
            "--out",
            str(out),
            "--no-metrics",
            cwd=str(PRODUCERS),
            stderr=asyncio.subprocess.PIPE,
        )
        await until(lambda: out.exists() and len(out.read_text().splitlines()) >= 4, timeout=20, message="4 frames")
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["raw"] for r in recs] == frames and {r["exchange"] for r in recs} == {"binance"}
    assert all(isinstance(r["recv_ts"], int) for r in recs)
    r = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tickstream_producers",
        "replay",
        "--max-speed",
        "--stdout",
        str(out),
        cwd=str(PRODUCERS),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await r.communicate()
    lines = stdout.decode().splitlines()
    assert [json.loads(line)["trade_id"] for line in lines] == ["1", "2"]
    assert [json.loads(line)["side"] for line in lines] == ["buy", "sell"]
    assert b"1 unreadable frames" in stderr


# ---------------------------------------------------------------- a venue that closes right after connecting
def _venue_scenario(venue: str, then: str):
    """A script for FakeVenue: the venue's subscribe handshake, then ``then``: "snapshot" (recent trades, then
    close), "close" (close at once), or "live" (one new live trade per connection, then close)."""

    async def script(n, ws, fake):
        if venue == "kraken":
            await fake.recv(ws, n)
            await ws.send(
                '{"method":"subscribe","result":{"channel":"trade","snapshot":true,"symbol":"BTC/USD"},'
                '"success":true,"time_in":"2024-11-25T01:20:00.1Z","time_out":"2024-11-25T01:20:00.1Z"}'
            )
            frame = kr("snapshot", [10, 11, 12]) if then == "snapshot" else kr("update", [100 + n])
        elif venue == "coinbase":
            for _ in range(2):
                await fake.recv(ws, n)
            frame = cb_trades("snapshot", [10, 11, 12]) if then == "snapshot" else cb_trades("update", [100 + n])
        elif venue == "coinbase-matches":
            await fake.recv(ws, n)
            frame = json.dumps(
                {
                    "type": "last_match" if then == "snapshot" else "match",
                    "trade_id": 10 if then == "snapshot" else 100 + n,
                    "sequence": 1,
                    "time": "2024-11-25T01:20:00.000123Z",
                    "product_id": "BTC-USD",
                    "size": "0.5",
                    "price": "97000.5",
                    "side": "sell",
                }
            )
        else:  # binance has no snapshot: the streams are in the URL, trades simply flow
            frame = bn(100 + n)
        if then != "close":
            await ws.send(frame)
        await ws.close(1000)

    return script


SPECS = {
    "kraken": kraken.SPEC,
    "coinbase": coinbase.SPEC,
    "coinbase-matches": coinbase.MATCHES_SPEC,
    "binance": binance.SPEC,
}
SYMBOL = {"kraken": "BTC-USD", "coinbase": "BTC-USD", "coinbase-matches": "BTC-USD", "binance": "BTC-USDT"}


@pytest.mark.parametrize(
    "venue,then",
    [("kraken", "snapshot"), ("coinbase", "snapshot"), ("coinbase-matches", "snapshot"), ("binance", "close")],
)
async def test_a_venue_that_closes_after_its_snapshot_gets_ever_longer_waits_not_a_reconnect_storm(venue, then):
    """Issue: 24 connections in 10 s against a Kraken server that sends a snapshot and closes, because snapshot
    frames counted as trades and reset the backoff. A snapshot is the past: only live trades (or a connection that
    lived healthy_after) reset it."""
    async with FakeVenue(_venue_scenario(venue, then)) as fake:
        client, sink, metrics = make_client(
            SPECS[venue], [SYMBOL[venue]], fake.url, backoff_min=0.01, backoff_max=0.32, healthy_after=30
        )
        task = asyncio.create_task(client.run())
        await until(lambda: len(client.losses) >= 6, message="6 lost connections")
        await stop(client, task)
    assert not any(healthy for _, healthy, _ in client.losses)
    for k, (_, _, delay) in enumerate(list(client.losses)[:6], 1):
        assert delay >= min(0.32, 0.01 * 2**k) / 2  # doubled after every connection without a live trade
    assert sink.ticks == []  # the same snapshot every time: seen before, nothing published


@pytest.mark.parametrize("venue", ["kraken", "coinbase", "coinbase-matches", "binance"])
async def test_a_connection_that_delivered_live_trades_resets_the_backoff(venue):
    async with FakeVenue(_venue_scenario(venue, "live")) as fake:
        client, sink, metrics = make_client(
            SPECS[venue], [SYMBOL[venue]], fake.url, backoff_min=0.01, backoff_max=5.0, healthy_after=30
        )
        task = asyncio.create_task(client.run())
        await until(lambda: len(client.losses) >= 4, message="4 lost connections")
        await stop(client, task)
    assert all(healthy for _, healthy, _ in client.losses)
    assert all(delay <= 0.01 for _, _, delay in client.losses)  # always the first step of the backoff
    assert len(sink.ticks) >= 4


async def test_a_connection_that_lived_long_enough_resets_the_backoff_without_trades():
    async def script(n, ws, fake):
        await fake.recv(ws, n)
        for _ in range(8):  # heartbeats only, for 0.4 s, then the venue closes
            await ws.send('{"channel":"heartbeat"}')
            await asyncio.sleep(0.05)  # the server's heartbeat period
        await ws.close(1000)

    async with FakeVenue(script) as fake:
        client, sink, metrics = make_client(
            kraken.SPEC, ["BTC-USD"], fake.url, backoff_min=0.01, backoff_max=5.0, healthy_after=0.3
        )
        task = asyncio.create_task(client.run())
        await until(lambda: len(client.losses) >= 3, message="3 lost connections")
        await stop(client, task)
    assert all(healthy and delay <= 0.01 for _, healthy, delay in client.losses)


async def test_every_venue_has_a_bound_on_connection_attempts_per_window():
    """Backoff alone is not enough (its minimum could be tiny, and trades-then-close resets it): at most
    connect_limit attempts in any connect_window, counted where the server sees them."""
    arrivals = []

    async def script(n, ws, fake):
        arrivals.append(time.monotonic())
        await ws.send(kr("update", [100 + n]))  # a live trade: the backoff resets every time
        await ws.close(1000)

    async with FakeVenue(script) as fake:
        client, sink, metrics = make_client(
            kraken.SPEC,
            ["BTC-USD"],
            fake.url,
            backoff_min=0.001,
            backoff_max=0.001,
            connect_limit=3,
            connect_window=0.6,
        )
        task = asyncio.create_task(client.run())
        await until(lambda: len(arrivals) >= 10, message="10 connections")
        await stop(client, task)
    for i in range(len(arrivals) - 3):
        # any 4 consecutive connections span at least the window (less what the server's clock can differ by)
        assert arrivals[i + 3] - arrivals[i] >= 0.6 - 0.15, arrivals


def test_feed_options_refuse_values_that_would_loop_or_silently_disable_something():
    for bad in (
        {"stale_after": 0},
        {"silent_after": 0},
        {"max_connection_age": 0},
        {"backoff_min": 0},
        {"backoff_min": 2.0, "backoff_max": 1.0},
        {"connect_limit": 0},
        {"connect_window": 0},
        {"healthy_after": 0},
        {"stale_after": float("nan")},
        {"backoff_min": float("inf")},
    ):
        with pytest.raises(ValueError, match="must be"):
            FeedOptions(**bad)
    defaults = FeedOptions()
    assert (defaults.connect_limit, defaults.connect_window, defaults.healthy_after) == (12, 60.0, 60.0)
    assert FeedOptions(max_connection_age=math.inf).max_connection_age == math.inf  # rollover off, explicitly
