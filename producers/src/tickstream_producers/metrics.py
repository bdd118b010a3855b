"""Producer metrics (names: docs/contracts.md), their HTTP endpoint, and the one-line status on stderr."""

from __future__ import annotations

import logging
import sys
import time
from collections import defaultdict

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

log = logging.getLogger("tickstream.metrics")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


# The error kinds the producers count (errors_total{kind}).
# bad_trade: a trade the job's parser would refuse (ticks.contract_violation), dropped before publishing.
ERROR_KINDS = ("parse", "bad_trade", "delivery", "delivery_dropped", "connect", "venue")


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self._messages = Counter(
            "tickstream_producer_messages_total",
            "Ticks delivered (acked by Kafka, or written)",
            ["exchange"],
            registry=r,
        )
        self._errors = Counter(
            "tickstream_producer_errors_total",
            "Errors by kind (parse, bad_trade, delivery, connect, venue...)",
            ["exchange", "kind"],
            registry=r,
        )
        self._reconnects = Counter(
            "tickstream_producer_reconnects_total", "Connections lost and re-opened", ["exchange"], registry=r
        )
        self._latency = Histogram(
            "tickstream_producer_latency_seconds",
            "Venue trade time to Kafka ack",
            ["exchange"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self._age = Gauge(
            "tickstream_producer_last_message_age_seconds",
            "Seconds since the last trade was received",
            ["exchange"],
            registry=r,
        )
        self._gaps = Counter(
            "tickstream_producer_gaps_total", "Trade-id gaps detected (sequential venues)", ["exchange"], registry=r
        )
        # plain counts for the status line
        self.messages: dict[str, int] = defaultdict(int)
        self.errors: dict[str, int] = defaultdict(int)
        self.reconnects: dict[str, int] = defaultdict(int)
        self.gaps: dict[str, int] = defaultdict(int)
        self.last_trade: dict[str, float] = {}
        self._message_children: dict[str, object] = {}
        self._latency_children: dict[str, object] = {}
        self.server = None

    def exchange(self, exchange: str) -> None:
        """Make the exchange's series exist from the start (zeros rather than absent)."""
        if exchange in self._message_children:
            return
        self._message_children[exchange] = self._messages.labels(exchange)
        self._latency_children[exchange] = self._latency.labels(exchange)
        self._reconnects.labels(exchange)
        self._gaps.labels(exchange)
        # Every known error kind exists from the start at 0, so rate() and dashboards have a series to show.
        for kind in ERROR_KINDS:
            self._errors.labels(exchange, kind)
        self.messages[exchange] += 0
        self._age.labels(exchange).set_function(lambda ex=exchange: self.age(ex))

    def age(self, exchange: str) -> float:
        t = self.last_trade.get(exchange)
        return float("nan") if t is None else max(0.0, time.monotonic() - t)

    def delivered(self, exchange: str, n: int = 1) -> None:
        child = self._message_children.get(exchange)
        if child is None:
            self.exchange(exchange)
            child = self._message_children[exchange]
        child.inc(n)
        self.messages[exchange] += n

    def latency(self, exchange: str, seconds: float) -> None:
        child = self._latency_children.get(exchange)
        if child is None:
            self.exchange(exchange)
            child = self._latency_children[exchange]
        child.observe(seconds)

    def received(self, exchange: str) -> None:
        self.last_trade[exchange] = time.monotonic()

    def error(self, exchange: str, kind: str, n: int = 1) -> None:
        self._errors.labels(exchange, kind).inc(n)
        self.errors[exchange] += n

    def reconnect(self, exchange: str) -> None:
        self._reconnects.labels(exchange).inc()
        self.reconnects[exchange] += 1

    def gap(self, exchange: str) -> None:
        self._gaps.labels(exchange).inc()
        self.gaps[exchange] += 1

    def serve(self, host: str, port: int) -> int:
        """Start the /metrics endpoint; port 0 picks a free port. Returns the port bound."""
        result = start_http_server(port, addr=host, registry=self.registry)
        server = result[0] if isinstance(result, tuple) else None
        self.server = server
        return server.server_port if server is not None else port

    def shutdown(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


class StatusLine:
    """Every few seconds one line on stderr: rate per exchange, errors, reconnects, gaps, last-message age."""

    def __init__(self, metrics: Metrics, every: float = 5.0, stream=None):
        self.metrics = metrics
        self.every = every
        self.stream = stream or sys.stderr
        self._last_time = time.monotonic()
        self._last_counts: dict[str, int] = {}
        self.next_due = self._last_time + every

    def maybe_report(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if self.every > 0 and now >= self.next_due:
            self.report(now)

    def report(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        m = self.metrics
        dt = max(1e-9, now - self._last_time)
        parts = []
        for ex in sorted(m.messages):
            n = m.messages[ex]
            rate = (n - self._last_counts.get(ex, 0)) / dt
            self._last_counts[ex] = n
            age = m.age(ex)
            parts.append(
                f"{ex} {rate:,.0f}/s total {n} err {m.errors.get(ex, 0)} reconn {m.reconnects.get(ex, 0)}"
                f" gaps {m.gaps.get(ex, 0)} age {'-' if age != age else f'{age:.1f}s'}"
            )
        if parts:
            print("status | " + " | ".join(parts), file=self.stream, flush=True)
        self._last_time = now
        self.next_due = now + self.every
