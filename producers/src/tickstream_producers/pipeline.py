"""From a venue frame to published ticks, shared by live feeds and replay: parse, account for bad frames, drop
(and count) trades the job would refuse, drop duplicates and already-seen snapshot trades, detect trade-id gaps,
publish."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable

from .metrics import Metrics
from .sinks import Sink
from .ticks import Tick, contract_violation
from .venues import ERROR, SNAPSHOT, Frame, ParseError

log = logging.getLogger("tickstream.pipeline")


class _Instrument:
    __slots__ = ("seen", "order", "horizon_ts", "last_id")

    def __init__(self):
        self.seen: set[str] = set()
        self.order: deque[tuple[str, int]] = deque()
        self.horizon_ts = -1  # trades at or before this time have left the window: treated as seen
        self.last_id: int | None = None


class TradeFilter:
    """Per instrument: a bounded window of recent trade ids (duplicates across reconnects and rollover
    overlaps are dropped), the snapshot policy, and gap detection where ids are consecutive.

    Snapshot policy: a snapshot for an instrument of which nothing has been seen yet holds trades from
    before we started, which an earlier run may already have published: it only primes the window. A
    snapshot after a reconnect backfills the outage: its trades are published unless already seen.
    """

    def __init__(self, exchange: str, sequential: bool, metrics: Metrics, window: int = 10_000):
        self.exchange = exchange
        self.sequential = sequential
        self.metrics = metrics
        self.window = window
        self.instruments: dict[str, _Instrument] = {}
        self.duplicates = 0
        self._last_gap_log = 0.0
        self._gaps_unlogged = 0

    def accept(self, frame: Frame) -> list[Tick]:
        snapshot = frame.kind == SNAPSHOT
        out: list[Tick] = []
        priming: set[str] = set()
        for tick in frame.ticks:
            inst = self.instruments.get(tick.symbol)
            if inst is None:
                inst = self.instruments[tick.symbol] = _Instrument()
            if snapshot and not inst.order:
                priming.add(tick.symbol)  # nothing seen yet: the snapshot predates us
            prime = tick.symbol in priming
            tid = tick.trade_id
            if tid in inst.seen or (snapshot and tick.ts <= inst.horizon_ts):
                self.duplicates += 1
                continue
            inst.seen.add(tid)
            inst.order.append((tid, tick.ts))
            if len(inst.order) > self.window:
                old_id, old_ts = inst.order.popleft()
                inst.seen.discard(old_id)
                if old_ts > inst.horizon_ts:
                    inst.horizon_ts = old_ts
            if self.sequential:
                self._check_gap(tick, inst, prime)
            if not prime:
                out.append(tick)
        return out

    def _check_gap(self, tick: Tick, inst: _Instrument, prime: bool) -> None:
        try:
            n = int(tick.trade_id)
        except ValueError:
            return
        last = inst.last_id
        if last is None or n > last:
            if last is not None and n > last + 1 and not prime:
                self.metrics.gap(self.exchange)
                self._log_gap(tick.symbol, last, n)
            inst.last_id = n

    def _log_gap(self, symbol: str, last: int, n: int) -> None:
        now = time.monotonic()
        if now - self._last_gap_log >= 10:
            more = f" (+{self._gaps_unlogged} more gaps since the last report)" if self._gaps_unlogged else ""
            log.warning(
                "%s %s: %d trade(s) missing between ids %d and %d%s", self.exchange, symbol, n - last - 1, last, n, more
            )
            self._last_gap_log = now
            self._gaps_unlogged = 0
        else:
            self._gaps_unlogged += 1


class Pipeline:
    def __init__(self, sink: Sink, metrics: Metrics):
        self.sink = sink
        self.metrics = metrics
        self.filters: dict[str, TradeFilter] = {}
        self._logged_kinds: set[tuple[str, str]] = set()
        self.parse_errors = 0
        self.bad_trades = 0

    def filter_for(self, exchange: str, sequential: bool) -> TradeFilter:
        f = self.filters.get(exchange)
        if f is None:
            f = self.filters[exchange] = TradeFilter(exchange, sequential, self.metrics)
            self.metrics.exchange(exchange)
        return f

    def parse_error(self, exchange: str, err: ParseError) -> None:
        self.parse_errors += 1
        self.metrics.error(exchange, "parse")
        if (exchange, err.kind) not in self._logged_kinds:
            self._logged_kinds.add((exchange, err.kind))
            log.warning(
                "unreadable %s frame (%s, counted; logged once per kind): %s; sample: %r",
                exchange,
                err.kind,
                err,
                err.sample,
            )

    def venue_error(self, exchange: str, message: str) -> None:
        self.metrics.error(exchange, "venue")
        if (exchange, message) not in self._logged_kinds and len(self._logged_kinds) < 1000:
            self._logged_kinds.add((exchange, message))
            log.warning("%s reported: %r", exchange, message[:500])

    def bad_trade(self, exchange: str, tick: Tick, field: str) -> None:
        """A trade the job's parser would refuse: counted (errors{kind="bad_trade"}), logged once per field."""
        self.bad_trades += 1
        self.metrics.error(exchange, "bad_trade")
        if (exchange, "bad_trade:" + field) not in self._logged_kinds:
            self._logged_kinds.add((exchange, "bad_trade:" + field))
            log.warning(
                "%s trade dropped: its %s breaks the tick contract (counted; logged once per field): %.300r",
                exchange,
                field,
                tick,
            )

    def _contract_ticks(self, exchange: str, ticks: list[Tick]) -> list[Tick]:
        """The ticks the job will take; the others are counted and dropped here rather than dead-lettered there."""
        now = int(time.time() * 1000)
        for i, tick in enumerate(ticks):  # noqa: B007 (i: where the good prefix ends, used after the loop)
            if contract_violation(tick, now) is not None:
                break
        else:
            return ticks
        good = ticks[:i]
        for tick in ticks[i:]:
            field = contract_violation(tick, now)
            if field is None:
                good.append(tick)
            else:
                self.bad_trade(exchange, tick, field)
        return good

    def process(
        self, read: Callable[[str, int], Frame], exchange: str, sequential: bool, text: str, recv_ts: int
    ) -> Frame | None:
        """Publishes a frame's trades; returns the frame with the trades that passed the contract check, or None
        when it could not be read. Never raises for what the frame holds."""
        try:
            frame = read(text, recv_ts)
        except ParseError as e:
            self.parse_error(exchange, e)
            return None
        except Exception as e:  # a parser bug: the feed goes on, the frame is counted and logged like an unreadable one
            self.parse_error(exchange, ParseError("unexpected", f"{exchange}: parser failed ({e!r})", text))
            return None
        if frame.ticks:
            ticks = self._contract_ticks(exchange, frame.ticks)
            if ticks is not frame.ticks:
                frame = Frame(frame.kind, ticks, frame.message)
            if ticks:
                self.metrics.received(exchange)
                publish = self.sink.publish
                for tick in self.filter_for(exchange, sequential).accept(frame):
                    publish(tick)
        elif frame.kind == ERROR:
            self.venue_error(exchange, frame.message)
        return frame
