"""The connection lifecycle every venue shares: connect, subscribe, keepalive, a staleness watchdog that
counts trade frames (not heartbeats), reconnect with exponential backoff and jitter, resubscribe, and planned
rollover (open the new connection before closing the old one; the trade filter drops the overlap).

A venue that accepts connections and drops them at once must not be hammered: the backoff starts again from its
minimum only after a connection delivered live trades (a snapshot of past trades does not count) or lived
``healthy_after`` seconds, and every venue has a bound on connection attempts per window (``connect_limit`` per
``connect_window``, shared by the clients of one FeedOptions), besides a venue's own documented limit."""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from .metrics import Metrics
from .venues import ACK, HEARTBEAT, SHUTDOWN, SNAPSHOT, TRADES, Frame, VenueSpec

log = logging.getLogger("tickstream.feed")

# on_frame(text, recv_ts) -> the parsed frame, or None when it could not be read
FrameHandler = Callable[[str, int], "Frame | None"]


class ConnectLimiter:
    """At most ``limit`` connection attempts in any ``per`` seconds (Binance: 300 per 5 minutes per IP)."""

    def __init__(self, limit: int, per: float):
        self.limit, self.per = limit, per
        self.attempts: deque[float] = deque()

    def wait_time(self, now: float) -> float:
        """Seconds until an attempt is allowed (0: now)."""
        while self.attempts and now - self.attempts[0] >= self.per:
            self.attempts.popleft()
        return 0.0 if len(self.attempts) < self.limit else self.per - (now - self.attempts[0])

    def record(self, now: float) -> None:
        self.attempts.append(now)


@dataclass
class FeedOptions:
    url: str | None = None  # endpoint override (tests, proxies)
    stale_after: float | None = None  # override the venue's watchdog limit
    silent_after: float | None = None
    max_connection_age: float | None = None  # override the venue's rollover age; math.inf: no rollover
    backoff_min: float = 0.5
    backoff_max: float = 30.0
    healthy_after: float = 60.0  # a connection that lived this long resets the backoff, trades or not
    connect_limit: int = 12  # at most this many connection attempts ...
    connect_window: float = 60.0  # ... in any window of this many seconds, per venue
    open_timeout: float = 10.0
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 60.0
    rollover_wait: float = 10.0  # how long the old connection overlaps the new one at most
    keepalive_every: float | None = None  # override the venue's application ping interval
    limiter: ConnectLimiter | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        for name in ("stale_after", "silent_after", "max_connection_age", "keepalive_every"):
            v = getattr(self, name)
            if v is not None and not v > 0:
                raise ValueError(f"{name} must be more than 0 seconds, got {v!r} (None: the venue's default)")
        for name in ("backoff_min", "healthy_after", "connect_window", "open_timeout", "rollover_wait"):
            v = getattr(self, name)
            if not 0 < v < math.inf:
                raise ValueError(f"{name} must be a number of seconds more than 0, got {v!r}")
        if not self.backoff_max >= self.backoff_min:
            raise ValueError(f"backoff_max ({self.backoff_max!r}) must be at least backoff_min ({self.backoff_min!r})")
        if not (isinstance(self.connect_limit, int) and self.connect_limit >= 1):
            raise ValueError(f"connect_limit must be at least 1 connection attempt, got {self.connect_limit!r}")
        # one limiter for every client sharing these options (the CLI gives each venue its own options)
        self.limiter = ConnectLimiter(self.connect_limit, self.connect_window)


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
        self.trades = 0  # live trade frames (snapshots not counted)
        self.frames = 0
        self.shutdown_announced = False
        self.first_data = asyncio.Event()
        self.task: asyncio.Task | None = None


class FeedClient:
    """One WebSocket connection's worth of symbols on one venue, kept alive until ``stop`` is set."""

    def __init__(
        self,
        spec: VenueSpec,
        symbols: list[str],
        on_frame: FrameHandler,
        metrics: Metrics,
        options: FeedOptions | None = None,
        stop: asyncio.Event | None = None,
    ):
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
        self.connections = 0  # opened so far
        self.reconnects = 0
        self.last_reason = ""
        self.backoff_attempt = 0  # exponent of the next reconnect delay; 0 after a healthy connection
        self.losses: deque[tuple[str, bool, float]] = deque(maxlen=64)  # (reason, healthy, delay) of recent losses
        self._ping_id = 0
        self.connected = asyncio.Event()  # set while a connection is subscribed (tests wait on it)
        metrics.exchange(spec.exchange)
        if spec.connect_limit and spec.name not in _limiters:
            _limiters[spec.name] = ConnectLimiter(*spec.connect_limit)

    # ------------------------------------------------------------------ connections
    async def _admit(self) -> bool:
        """Waits until the connection-rate limits allow one more attempt and counts it; False when stopped."""
        limiters = [self.options.limiter] + ([_limiters[self.spec.name]] if self.spec.name in _limiters else [])
        while not self.stop.is_set():
            now = time.monotonic()
            wait = max(limiter.wait_time(now) for limiter in limiters)
            if wait <= 0:
                for limiter in limiters:
                    limiter.record(now)
                return True
            log.warning(
                "%s: connection attempt limit reached (%s); next attempt in %.1fs",
                self.spec.name,
                ", ".join(f"{lim.limit} per {lim.per:g}s" for lim in limiters if lim.wait_time(now) > 0),
                wait,
            )
            await self._wait_stop(wait)
        return False

    async def _open(self, reconnect: bool) -> _Connection:
        url = self.spec.connect_url(self.base_url, self.symbols)
        ws = await connect(
            url,
            open_timeout=self.options.open_timeout,
            ping_interval=self.options.ping_interval,
            ping_timeout=self.options.ping_timeout,
            close_timeout=2,
            max_size=2**24,
            max_queue=4096,
            compression=None,
        )
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
        log.info(
            "%s: connection %d open to %s (%d symbols)", self.spec.name, conn.number, _redact(url), len(self.symbols)
        )
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
            if kind == TRADES:
                if frame.ticks:  # live trades (a snapshot replays the past: it proves no live feed)
                    conn.last_trade = now
                    conn.trades += 1
                    self._stale_limit = self.stale_after
                conn.first_data.set()
            elif kind == SNAPSHOT or kind == ACK or kind == HEARTBEAT:
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
                    return (
                        f"closed by server ({code})"
                        if exc is None or isinstance(exc, ConnectionClosed)
                        else f"connection failed: {exc!r}"
                    ), conn
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
            if not await self._admit():
                return old
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
        except TimeoutError:
            pass
        await self._close(old)
        return new

    async def run(self) -> None:
        reconnect = False
        while not self.stop.is_set():
            if not await self._admit():
                break
            try:
                conn = await self._open(reconnect)
            except (TimeoutError, OSError, InvalidHandshake, InvalidURI, ConnectionClosed) as e:
                self.metrics.error(self.spec.exchange, "connect")
                delay = backoff_delay(self.backoff_attempt, self.options.backoff_min, self.options.backoff_max)
                log.warning("%s: connect failed (%s); retry in %.1fs", self.spec.name, e, delay)
                self.backoff_attempt += 1
                await self._wait_stop(delay)
                continue
            self.connected.set()
            try:
                reason, conn = await self._supervise(conn)
            except ConnectionError as e:
                reason = str(e)
            finally:
                self.connected.clear()
            # healthy: it delivered live trades or lived long enough; anything else (a venue that sends a snapshot
            # or an ack and closes) makes the next wait longer
            healthy = conn.trades > 0 or time.monotonic() - conn.opened >= self.options.healthy_after
            await self._close(conn)
            if reason == "stop":
                break
            self.last_reason = reason
            self.reconnects += 1
            self.metrics.reconnect(self.spec.exchange)
            self.backoff_attempt = 0 if healthy else self.backoff_attempt + 1
            delay = backoff_delay(self.backoff_attempt, self.options.backoff_min, self.options.backoff_max)
            self.losses.append((reason, healthy, delay))
            log.warning(
                "%s: connection %d lost (%s%s); reconnecting in %.2fs",
                self.spec.name,
                conn.number,
                reason,
                "" if healthy else ", no live trade",
                delay,
            )
            reconnect = True
            await self._wait_stop(delay)

    async def _wait_stop(self, delay: float) -> None:
        try:
            await asyncio.wait_for(self.stop.wait(), delay)
        except TimeoutError:
            pass


def _redact(url: str) -> str:
    """Never log credentials that may sit in a URL's query (jwt=..., token=...)."""
    base, _, query = url.partition("?")
    if not query:
        return url
    safe = [
        p if not p.lower().startswith(("jwt", "token", "key", "secret", "signature")) else p.split("=")[0] + "=***"
        for p in query.split("&")
    ]
    return base + "?" + "&".join(safe)


def chunk(symbols: list[str], size: int) -> list[list[str]]:
    return [symbols[i : i + size] for i in range(0, len(symbols), size)]
