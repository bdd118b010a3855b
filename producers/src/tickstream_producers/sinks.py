"""Where ticks go: Kafka (the ``ticks`` topic) or stdout. One small interface so that ``replay --stdout`` and
live publishing share every line up to the last step."""

from __future__ import annotations

import logging
import sys
import time
from functools import partial
from typing import Protocol

from .metrics import Metrics
from .ticks import Tick

log = logging.getLogger("tickstream.sink")


class Sink(Protocol):
    def publish(self, tick: Tick) -> None: ...
    def poll(self) -> None: ...
    def flush(self, timeout: float = 30.0) -> int: ...  # returns what could not be delivered
    def close(self) -> None: ...


class StdoutSink:
    """Tick JSON v1 lines on stdout (or any text stream)."""

    def __init__(self, metrics: Metrics | None = None, stream=None):
        self.metrics = metrics
        self.stream = stream if stream is not None else sys.stdout
        self.count = 0

    def publish(self, tick: Tick) -> None:
        self.stream.write(tick.to_json() + "\n")
        self.count += 1
        if self.metrics is not None:
            self.metrics.delivered(tick.exchange)

    def publish_batch(self, msgs: list[tuple[bytes, str]], ts: int) -> None:
        """Messages already rendered as (key, tick JSON v1), all of trade time ``ts`` (synthetic load)."""
        write = self.stream.write
        for _key, value in msgs:
            write(value)
            write("\n")
        self.count += len(msgs)

    def poll(self) -> None:
        pass

    def flush(self, timeout: float = 30.0) -> int:
        self.stream.flush()
        return 0

    def close(self) -> None:
        self.flush()


def kafka_config(bootstrap: str, **overrides) -> dict:
    conf = {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,  # retries never duplicate or reorder
        "acks": "all",
        "compression.type": "lz4",
        "linger.ms": 10,
        "batch.num.messages": 10000,
        "batch.size": 1_000_000,
        "queue.buffering.max.messages": 1_000_000,
        "queue.buffering.max.kbytes": 1_048_576,
        "delivery.timeout.ms": 120_000,
        "client.id": "tickstream-producers",
    }
    conf.update(overrides)
    return conf


class KafkaSink:
    """confluent-kafka producer. Every delivery is accounted for: acked → messages_total and the latency
    histogram (venue trade time → ack); failed → errors{kind="delivery"} and produced again, up to
    ``max_retries`` times, after which it is counted as errors{kind="delivery_dropped"} and logged."""

    def __init__(
        self,
        bootstrap: str,
        topic: str = "ticks",
        metrics: Metrics | None = None,
        latency_every: int = 1,
        max_retries: int = 5,
        **overrides,
    ):
        from confluent_kafka import Producer  # imported here so --stdout works without librdkafka

        self.topic = topic
        self.metrics = metrics or Metrics()
        self.latency_every = max(1, latency_every)
        self.max_retries = max_retries
        self._n = 0
        self._retry: list[tuple[str, bytes, bytes, int, int]] = []
        self.failed = 0
        self.dropped = 0
        self._last_error_log = 0.0
        conf = kafka_config(bootstrap, **overrides)
        conf["error_cb"] = self._on_error
        self.producer = Producer(conf)
        self._produce = self.producer.produce
        self._poll = self.producer.poll
        self._acked_cb = self._on_delivery
        # Acks of the running poll/flush by message key, counted into the metrics when it returns: a Prometheus
        # counter per ack was about a sixth of the CPU a synthetic message cost.
        self._acked: dict[bytes, int] = {}
        self._exchange_of_key: dict[bytes, str] = {}

    # --- delivery reports (run inside poll/flush, on this thread) ---
    def _on_delivery(self, err, msg, exchange=None, ts=None, attempt=0):
        if err is None and exchange is None:
            key = msg.key() or b""
            self._acked[key] = self._acked.get(key, 0) + 1
            return
        if exchange is None:
            exchange = self._exchange_of(msg.key() or b"")
        if err is None:
            self.metrics.delivered(exchange)
            if ts is not None:
                self.metrics.latency(exchange, max(0.0, time.time() - ts / 1000.0))
            return
        self.failed += 1
        self.metrics.error(exchange, "delivery")
        if attempt < self.max_retries and not err.fatal():
            self._retry.append((exchange, msg.key(), msg.value(), ts, attempt + 1))
        else:
            self.dropped += 1
            self.metrics.error(exchange, "delivery_dropped")
            self._log_rate_limited("delivery failed for good after %d attempts: %s", attempt + 1, err)

    def _on_error(self, err):
        self._log_rate_limited("kafka: %s", err)

    def _log_rate_limited(self, fmt, *args):
        now = time.monotonic()
        if now - self._last_error_log > 10:
            self._last_error_log = now
            log.warning(fmt, *args)

    # --- producing ---
    def _send(self, exchange: str, key, value, ts: int | None, attempt: int = 0) -> None:
        self._n += 1
        if ts is not None and (attempt or self._n % self.latency_every == 0):
            cb = partial(self._on_delivery, exchange=exchange, ts=ts, attempt=attempt)
        elif attempt:
            cb = partial(self._on_delivery, exchange=exchange, ts=None, attempt=attempt)
        else:
            cb = self._acked_cb
        while True:
            try:
                self._produce(self.topic, value, key, on_delivery=cb)
                return
            except BufferError:
                self.poll(0.05)  # queue full: let deliveries drain, then try again

    def publish(self, tick: Tick) -> None:
        self._send(tick.exchange, tick.key, tick.to_json(), tick.ts)

    def publish_batch(self, msgs: list[tuple[bytes, str]], ts: int) -> None:
        """Messages already rendered as (key, tick JSON v1), all of trade time ``ts``: the synthetic load's fast
        path. The first carries its trade time for the latency histogram; the others are counted by key when acked
        (a partial per message cost more than the message)."""
        key, value = msgs[0]
        self._send(self._exchange_of(key), key, value, ts)
        produce, topic, acked = self._produce, self.topic, self._acked_cb
        for key, value in msgs[1:]:
            try:
                produce(topic, value, key, on_delivery=acked)
            except BufferError:
                self.poll(0.05)  # queue full: let deliveries drain; _send tries until it is taken
                self._send(self._exchange_of(key), key, value, ts)
        self.poll(0)

    def _resend(self) -> None:
        retry, self._retry = self._retry, []
        for exchange, key, value, ts, attempt in retry:
            self._send(exchange, key, value, ts, attempt)

    def _exchange_of(self, key: bytes) -> str:
        """The venue of a message key (`exchange:symbol`), looked up once per key."""
        exchange = self._exchange_of_key.get(key)
        if exchange is None:
            exchange = self._exchange_of_key[key] = key[: key.find(b":")].decode() if b":" in key else "unknown"
        return exchange

    def _count_acked(self) -> None:
        acked, self._acked = self._acked, {}
        for key, n in acked.items():
            self.metrics.delivered(self._exchange_of(key), n)

    def poll(self, timeout: float = 0) -> None:
        self._poll(timeout)
        if self._acked:
            self._count_acked()
        if self._retry:
            self._resend()

    def flush(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while True:
            remaining = self.producer.flush(max(0.0, deadline - time.monotonic()))
            self._count_acked()
            if self._retry and time.monotonic() < deadline:
                self._resend()
                continue
            return remaining + len(self._retry)

    def close(self, timeout: float = 30.0) -> int:
        left = self.flush(timeout)
        if left:
            log.error("%d messages not delivered at exit", left)
        return left
