"""The connection lifecycle every venue shares: connect, subscribe, keepalive, a staleness watchdog that
counts trade frames (not heartbeats), reconnect with exponential backoff and jitter, resubscribe, and planned
rollover (open the new connection before closing the old one; the trade filter drops the overlap)."""
from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from .metrics import Metrics
from .venues import ACK, HEARTBEAT, SHUTDOWN, SNAPSHOT, TRADES, Frame, VenueSpec

log = logging.getLogger("tickstream.feed")

# on_frame(text, recv_ts) -> the parsed frame, or None when it could not be read
FrameHandler = Callable[[str, int], "Frame | None"]


@dataclass
class FeedOptions:
    url: str | None = None                 # endpoint override (tests, proxies)
    stale_after: float | None = None       # override the venue's watchdog limit
    silent_after: float | None = None
    max_connection_age: float | None = None
    backoff_min: float = 0.5
    backoff_max: float = 30.0
    open_timeout: float = 10.0
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 60.0
    rollover_wait: float = 10.0            # how long the old connection overlaps the new one at most
    keepalive_every: float | None = None   # override the venue's application ping interval


class ConnectLimiter:
    """At most ``limit`` connection attempts in any ``per`` seconds (Binance: 300 per 5 minutes per IP)."""

    def __init__(self, limit: int, per: float):
        self.limit, self.per = limit, per
        self.attempts: deque[float] = deque()

    async def acquire(self) -> None:
        while True:
            now = time.monotonic()
            while self.attempts and now - self.attempts[0] >= self.per:
                self.attempts.popleft()
            if len(self.attempts) < self.limit:
                self.attempts.append(now)
                return
            await asyncio.sleep(self.per - (now - self.attempts[0]))


_limiters: dict[str, ConnectLimiter] = {}


def backoff_delay(attempt: int, lo: float, hi: float) -> float:
    """Exponential backoff with jitter: uniform in [d/2, d], d = lo·2^attempt capped at hi."""
    d = min(hi, lo * (2 ** min(attempt, 30)))
    return random.uniform(d / 2, d)


class _Connection:
    def __init__(self, ws, number: int):
        self.ws = ws
        self.number = number
        now = time.monotonic()
        self.opened = now
        self.last_frame = now
        self.last_trade = now
        self.trades = 0
        self.frames = 0
        self.shutdown_announced = False
        self.first_data = asyncio.Event()
        self.task: asyncio.Task | None = None


class FeedClient:
    """One WebSocket connection's worth of symbols on one venue, kept alive until ``stop`` is set."""

    def __init__(self, spec: VenueSpec, symbols: list[str], on_frame: FrameHandler, metrics: Metrics,
                 options: FeedOptions | None = None, stop: asyncio.Event | None = None):
        if len(symbols) > spec.max_symbols:
            raise ValueError(f"{spec.name}: {len(symbols)} symbols on one connection, limit {spec.max_symbols}")
        self.spec = spec
        self.symbols = list(symbols)
        self.on_frame = on_frame
        self.metrics = metrics
        self.options = options or FeedOptions()
        self.stop = stop or asyncio.Event()
        o = self.options
        self.base_url = o.url or spec.url
        self.stale_after = o.stale_after if o.stale_after is not None else spec.stale_after
        self.silent_after = o.silent_after if o.silent_after is not None else spec.silent_after
        self.max_age = o.max_connection_age if o.max_connection_age is not None else spec.max_connection_age
        self._stale_limit = self.stale_after
        self.connections = 0     # opened so far
        self.reconnects = 0
        self.last_reason = ""
        self._ping_id = 0
        self.connected = asyncio.Event()   # set while a connection is subscribed (tests wait on it)
        metrics.exchange(spec.exchange)
        if spec.connect_limit and spec.name not in _limiters:
            _limiters[spec.name] = ConnectLimiter(*spec.connect_limit)

    # ------------------------------------------------------------------ connections
    async def _open(self, reconnect: bool) -> _Connection:
        limiter = _limiters.get(self.spec.name)
        if limiter:
            await limiter.acquire()
        url = self.spec.connect_url(self.base_url, self.symbols)
        ws = await connect(url, open_timeout=self.options.open_timeout, ping_interval=self.options.ping_interval,
                           ping_timeout=self.options.ping_timeout, close_timeout=2, max_size=2 ** 24,
                           max_queue=4096, compression=None)
        self.connections += 1
        conn = _Connection(ws, self.connections)
        try:
            for i, message in enumerate(self.spec.subscribe_messages(self.symbols, reconnect)):
                if i and self.spec.min_send_interval:
                    await asyncio.sleep(self.spec.min_send_interval)  # venue's client-message rate limit
                await ws.send(message)
        except Exception:
            await ws.close()
            raise
        conn.task = asyncio.create_task(self._pump(conn), name=f"{self.spec.name}-conn{conn.number}")
        log.info("%s: connection %d open to %s (%d symbols)", self.spec.name, conn.number, _redact(url),
                 len(self.symbols))
        return conn

    async def _pump(self, conn: _Connection) -> None:
        on_frame = self.on_frame
        async for message in conn.ws:
            text = message if isinstance(message, str) else message.decode("utf-8", "replace")
            now = time.monotonic()
            conn.last_frame = now
            conn.frames += 1
            frame = on_frame(text, int(time.time() * 1000))
            if frame is None:
                continue
            kind = frame.kind
            if kind == TRADES or kind == SNAPSHOT:
                conn.last_trade = now
                conn.trades += 1
                self._stale_limit = self.stale_after
                conn.first_data.set()
            elif kind == ACK or kind == HEARTBEAT:
                conn.first_data.set()
            elif kind == SHUTDOWN:
                conn.shutdown_announced = True

    async def _keepalive(self, conn: _Connection) -> None:
        if self.spec.keepalive is None:
            return
        every = self.options.keepalive_every or self.spec.keepalive_every
        while True:
            await asyncio.sleep(every)  # the keepalive's own period
            self._ping_id += 1
            await conn.ws.send(self.spec.keepalive(self._ping_id))

    async def _close(self, conn: _Connection) -> None:
        try:
            await asyncio.wait_for(conn.ws.close(), 3)
        except Exception:
            pass
        if conn.task is not None:
            conn.task.cancel()
            try:
                await conn.task
            except BaseException:
                pass

    # ------------------------------------------------------------------ supervision
    async def _supervise(self, conn: _Connection) -> tuple[str, _Connection]:
        """Watch a connection until it must be replaced. Returns (reason, connection)."""
        stop_wait = asyncio.create_task(self.stop.wait())
        keepalive = asyncio.create_task(self._keepalive(conn))
        try:
            while True:
                tick = max(0.02, min(1.0, self.silent_after / 4, self._stale_limit / 4))
                await asyncio.wait({conn.task, stop_wait}, timeout=tick, return_when=asyncio.FIRST_COMPLETED)
                if self.stop.is_set():
                    return "stop", conn
                if conn.task.done():
                    exc = conn.task.exception() if not conn.task.cancelled() else None
                    code = getattr(conn.ws, "close_code", None)
                    return (f"closed by server ({code})" if exc is None or isinstance(exc, ConnectionClosed)
                            else f"connection failed: {exc!r}"), conn
                now = time.monotonic()
                if now - conn.last_frame > self.silent_after:
                    return f"silent for {now - conn.last_frame:.1f}s", conn
                if now - conn.last_trade > self._stale_limit:
                    # a quiet pair must not become a reconnect storm: double the limit until trades flow again
                    self._stale_limit = min(self._stale_limit * 2, self.stale_after * 16)
                    return f"no trade for {now - conn.last_trade:.1f}s", conn
                if conn.shutdown_announced or (self.max_age and now - conn.opened > self.max_age):
                    keepalive.cancel()
                    conn = await self._rollover(conn)
                    keepalive = asyncio.create_task(self._keepalive(conn))
        finally:
            stop_wait.cancel()
            keepalive.cancel()

    async def _rollover(self, old: _Connection) -> _Connection:
        """Planned disconnect: the new connection is subscribed and delivering before the old one closes;
        trades arriving on both meanwhile are dropped by the trade filter."""
        why = "serverShutdown" if old.shutdown_announced else f"age {time.monotonic() - old.opened:.0f}s"
        log.info("%s: rolling over connection %d (%s)", self.spec.name, old.number, why)
        attempt = 0
        while not self.stop.is_set():
            try:
                new = await self._open(reconnect=True)
                break
            except Exception as e:  # keep the old one meanwhile, if it still lives
                self.metrics.error(self.spec.exchange, "connect")
                if old.task.done():
                    raise ConnectionError(f"rollover failed and old connection closed: {e!r}") from e
                await asyncio.sleep(backoff_delay(attempt, self.options.backoff_min, self.options.backoff_max))
                attempt += 1
        else:
            return old
        try:
            await asyncio.wait_for(new.first_data.wait(), self.options.rollover_wait)
        except asyncio.TimeoutError:
            pass
        await self._close(old)
        return new

    async def run(self) -> None:
        attempt = 0
        reconnect = False
        while not self.stop.is_set():
            try:
                conn = await self._open(reconnect)
            except (OSError, InvalidHandshake, InvalidURI, asyncio.TimeoutError, ConnectionClosed) as e:
                self.metrics.error(self.spec.exchange, "connect")
                delay = backoff_delay(attempt, self.options.backoff_min, self.options.backoff_max)
                log.warning("%s: connect failed (%s); retry in %.1fs", self.spec.name, e, delay)
                attempt += 1
                await self._wait_stop(delay)
                continue
            self.connected.set()
            try:
                reason, conn = await self._supervise(conn)
            except ConnectionError as e:
                reason = str(e)
            finally:
                self.connected.clear()
            healthy = conn.trades > 0
            await self._close(conn)
            if reason == "stop":
                break
            self.last_reason = reason
            self.reconnects += 1
            self.metrics.reconnect(self.spec.exchange)
            attempt = 0 if healthy else attempt + 1
            delay = backoff_delay(attempt, self.options.backoff_min, self.options.backoff_max)
            log.warning("%s: connection %d lost (%s); reconnecting in %.2fs", self.spec.name, conn.number,
                        reason, delay)
            reconnect = True
            await self._wait_stop(delay)

    async def _wait_stop(self, delay: float) -> None:
        try:
            await asyncio.wait_for(self.stop.wait(), delay)
        except asyncio.TimeoutError:
            pass


def _redact(url: str) -> str:
    """Never log credentials that may sit in a URL's query (jwt=..., token=...)."""
    base, _, query = url.partition("?")
    if not query:
        return url
    safe = [p if not p.lower().startswith(("jwt", "token", "key", "secret", "signature")) else p.split("=")[0] + "=***"
            for p in query.split("&")]
    return base + "?" + "&".join(safe)


def chunk(symbols: list[str], size: int) -> list[list[str]]:
    return [symbols[i:i + size] for i in range(0, len(symbols), size)]
