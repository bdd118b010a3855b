"""``notify``: every anomaly of the Kafka topic ``anomalies`` (anomaly JSON v1) posted to Alertmanager's API.

One alert per anomaly, identified by its labels (Alertmanager's fingerprint): ``alertname=TickStreamAnomaly``,
``type``, ``asset``, ``quote_class``, ``venue``, ``symbol``, ``severity`` and ``anomaly_id``. The anomaly id is a
label so that two anomalies never merge into one alert, and a repeat of the same anomaly (the job's at-least-once
replay, or this consumer's own re-read after a restart) is the same alert: Alertmanager merges it and notifies
nobody again (it keeps the earliest ``startsAt``). ``endsAt`` is the trade time plus ``--active-for``.
``startsAt`` is when this notifier posts the alert, not the trade time: Alertmanager flushes a new group at once
when its first alert's startsAt is more than group_wait ago, so an anomaly reaching it late (with exactly-once
delivery it waits for a checkpoint; a post retried while Alertmanager was down) would be sent alone, before the
same move on the other venues could join it. The trade time is the ``trade_time`` annotation.

Offsets are committed only once Alertmanager has accepted the batch (HTTP 200); until then the batch is retried,
so a crash or a restart loses nothing and at most repeats the last batch, which Alertmanager merges. Reads with
isolation.level=read_committed, so with the job's ``--delivery exactly-once`` only committed alerts are sent (in
at-least-once mode nothing is transactional and this costs nothing).
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import logging
import math
import signal
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

log = logging.getLogger("tickstream.notify")

ALERTNAME = "TickStreamAnomaly"
DEFAULT_QUOTE_CLASSES = "USDT:USD,USDC:USD"
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
# Annotation values are cut to this many characters (a detector's details are small; a hostile record is not).
MAX_ANNOTATION = 2048
TYPES_WITH_CHANGE = ("PRICE_SPIKE", "PRICE_DROP", "CROSS_VENUE_DIVERGENCE")
# Records that update an incident already alerted (a move's pullback) rather than raise one: not posted.
INCIDENT_UPDATES = ("PRICE_RETRACEMENT",)


class InvalidAnomaly(ValueError):
    """A record that is not anomaly JSON v1; the message says which field is wrong."""


# ---------------------------------------------------------------------------------------------- alert shape
@dataclass(frozen=True)
class AlertOptions:
    active_for_ms: int = 10 * 60_000
    quote_classes: dict = field(default_factory=lambda: parse_quote_classes(DEFAULT_QUOTE_CLASSES))
    critical_pct: float = 5.0
    dashboard_url: str = "http://127.0.0.1:3000"
    dashboard_span_ms: int = 15 * 60_000


def parse_quote_classes(text: str) -> dict:
    out = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        quote, sep, cls = part.partition(":")
        if not sep or not quote.strip() or not cls.strip():
            raise ValueError(f"{part!r}: write QUOTE:CLASS, e.g. USDT:USD")
        out[quote.strip().upper()] = cls.strip().upper()
    return out


def _iso(ms: int) -> str:
    seconds, millis = divmod(int(ms), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def _text(value, limit: int = MAX_ANNOTATION) -> str:
    s = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _field(a: dict, name: str, kind, required: bool = True):
    value = a.get(name)
    if value is None:
        if required:
            raise InvalidAnomaly(f"missing field {name}")
        return None
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidAnomaly(f"field {name} must be an integer")
    if kind is float and (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)):
        raise InvalidAnomaly(f"field {name} must be a number")
    if kind is str and (not isinstance(value, str) or not value):
        raise InvalidAnomaly(f"field {name} must be a non-empty string")
    return value


def parse_anomaly(value: bytes) -> dict:
    try:
        a = json.loads(value)
    except (ValueError, UnicodeDecodeError, TypeError) as e:
        raise InvalidAnomaly(f"not valid JSON ({e})") from None
    if not isinstance(a, dict):
        raise InvalidAnomaly("not a JSON object")
    if a.get("v") != 1:
        raise InvalidAnomaly(f"unsupported version v={a.get('v')!r}")
    for name in ("id", "exchange", "symbol", "type", "price"):
        _field(a, name, str)
    _field(a, "ts", int)
    for name in ("change_pct", "zscore"):
        _field(a, name, float, required=False)
    for name in ("window_ms", "detected_at"):
        _field(a, name, int, required=False)
    base, sep, quote = a["symbol"].partition("-")
    if not sep or not base or not quote:
        raise InvalidAnomaly(f"symbol {a['symbol'][:64]!r} is not BASE-QUOTE")
    return a


def dashboard_link(a: dict, opts: AlertOptions) -> str:
    query = urllib.parse.urlencode(
        {
            "var-symbol": f"{a['exchange']}:{a['symbol']}",
            "from": a["ts"] - opts.dashboard_span_ms,
            "to": a["ts"] + opts.dashboard_span_ms,
        }
    )
    return f"{opts.dashboard_url.rstrip('/')}/d/tickstream-market/tickstream-market?{query}"


def severity(a: dict, opts: AlertOptions) -> str:
    change = a.get("change_pct")
    if a["type"] in TYPES_WITH_CHANGE and change is not None and abs(change) >= opts.critical_pct:
        return "critical"
    return "warning"


def _summary(a: dict) -> str:
    where = f"{a['symbol']} on {a['exchange']}"
    change = a.get("change_pct")
    window = a.get("window_ms")
    parts = [f"{a['type']} {where} at {a['price']}"]
    if change is not None:
        parts.append(f"{change:+.2f} %" + (f" in {window / 1000:g} s" if window else ""))
    if a.get("zscore") is not None:
        parts.append(f"z {a['zscore']:.1f}")
    return _text(", ".join(parts), 512)


def to_alert(a: dict, opts: AlertOptions, now_ms: int | None = None) -> dict:
    """The Alertmanager API v2 alert of one anomaly (postableAlert), posted at now_ms (default: now)."""
    base, _, quote = a["symbol"].partition("-")
    labels = {
        "alertname": ALERTNAME,
        "type": a["type"],
        "asset": base,
        "quote_class": opts.quote_classes.get(quote, quote),
        "venue": a["exchange"],
        "symbol": a["symbol"],
        "severity": severity(a, opts),
        "anomaly_id": a["id"],
    }
    link = dashboard_link(a, opts)
    # A link cut short would lead nowhere: an instrument name too long for one (never a real venue's) has none.
    link = link if len(link) <= MAX_ANNOTATION else ""
    annotations = {"summary": _summary(a), "price": _text(a["price"], 64), "trade_time": _iso(a["ts"])}
    if link:
        annotations["dashboard"] = link
    for key, name in (
        ("ref_price", "ref_price"),
        ("change_pct", "change_pct"),
        ("window_ms", "window_ms"),
        ("zscore", "zscore"),
        ("trade_id", "trade_id"),
        ("details", "details"),
    ):
        if a.get(key) is not None:
            annotations[name] = _text(a[key])
    if isinstance(a.get("detected_at"), int):
        annotations["detected_at"] = _iso(a["detected_at"])
    return {
        "labels": {k: _text(v, 256) for k, v in labels.items()},
        "annotations": annotations,
        "startsAt": _iso(time.time() * 1000 if now_ms is None else now_ms),
        "endsAt": _iso(a["ts"] + opts.active_for_ms),
        **({"generatorURL": link} if link else {}),
    }


# ---------------------------------------------------------------------------------------------- Alertmanager
class AlertmanagerError(Exception):
    pass


class AlertmanagerClient:
    """POST /api/v2/alerts over one kept-alive connection (re-opened after any error)."""

    def __init__(self, url: str, timeout: float = 5.0):
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"--alertmanager {url!r}: write http(s)://host:port")
        self.parsed, self.timeout = parsed, timeout
        self.path = parsed.path.rstrip("/") + "/api/v2/alerts"
        self.conn = None

    def _connect(self):
        cls = http.client.HTTPSConnection if self.parsed.scheme == "https" else http.client.HTTPConnection
        return cls(self.parsed.hostname, self.parsed.port, timeout=self.timeout)

    def post(self, alerts: list[dict]) -> None:
        body = json.dumps(alerts, separators=(",", ":")).encode()
        try:
            if self.conn is None:
                self.conn = self._connect()
            self.conn.request("POST", self.path, body, {"Content-Type": "application/json"})
            response = self.conn.getresponse()
            text = response.read()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise AlertmanagerError(f"{type(e).__name__}: {e}") from None
        if response.status != 200:
            raise AlertmanagerError(f"HTTP {response.status}: {text[:300].decode(errors='replace')}")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# ---------------------------------------------------------------------------------------------- metrics
class NotifierMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        r = self.registry = registry or CollectorRegistry()
        self.sent = Counter(
            "tickstream_notifier_sent_total", "Anomalies accepted by Alertmanager", ["type"], registry=r
        )
        self.failed = Counter(
            "tickstream_notifier_failed_total", "Posts to Alertmanager that failed (retried)", registry=r
        )
        self.duplicates = Counter(
            "tickstream_notifier_duplicates_total", "Anomalies seen again (same id) and not posted again", registry=r
        )
        self.expired = Counter(
            "tickstream_notifier_expired_total", "Anomalies older than --active-for when read: not posted", registry=r
        )
        self.invalid = Counter("tickstream_notifier_invalid_total", "Records that are not anomaly JSON v1", registry=r)
        self.updates = Counter(
            "tickstream_notifier_incident_updates_total",
            "Updates of an incident already alerted (e.g. PRICE_RETRACEMENT): not posted",
            ["type"],
            registry=r,
        )
        self.latency = Histogram(
            "tickstream_notifier_latency_seconds",
            "Trade time of the anomaly to Alertmanager's acceptance",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.last_success = Gauge(
            "tickstream_notifier_last_success_timestamp_seconds", "When Alertmanager last accepted a batch", registry=r
        )
        self.server = None

    def serve(self, host: str, port: int) -> int:
        result = start_http_server(port, addr=host, registry=self.registry)
        self.server = result[0] if isinstance(result, tuple) else None
        return self.server.server_port if self.server is not None else port

    def shutdown(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


# ---------------------------------------------------------------------------------------------- the loop
class RecentIds:
    """The ids posted lately (bounded), so a repeat on the topic is not posted twice by this process."""

    def __init__(self, size: int = 100_000):
        self.size, self.ids = size, collections.OrderedDict()

    def __contains__(self, key: str) -> bool:
        return key in self.ids

    def add(self, key: str) -> None:
        self.ids[key] = None
        self.ids.move_to_end(key)
        while len(self.ids) > self.size:
            self.ids.popitem(last=False)


class Notifier:
    def __init__(
        self,
        consumer,
        topic: str,
        client: AlertmanagerClient,
        metrics: NotifierMetrics,
        opts: AlertOptions,
        stop: threading.Event,
        batch: int = 500,
        backoff: tuple[float, float] = (0.1, 5.0),
    ):
        self.consumer, self.topic, self.client, self.metrics, self.opts = consumer, topic, client, metrics, opts
        self.stop, self.batch, self.backoff = stop, batch, backoff
        self.recent = RecentIds()
        self.invalid_logged = 0

    def _alerts(self, messages) -> tuple[list[dict], list[dict]]:
        """(alerts to post, their anomalies), skipping errors, invalid records, repeats and expired ones."""
        alerts, anomalies, now_ms = [], [], time.time() * 1000
        for msg in messages:
            if msg.error():
                log.warning("kafka: %s", msg.error())
                continue
            try:
                a = parse_anomaly(msg.value())
            except InvalidAnomaly as e:
                self.metrics.invalid.inc()
                if self.invalid_logged < 100:  # bounded: a flood of junk must not flood the log
                    self.invalid_logged += 1
                    log.warning("skipped record %s[%d]@%d: %s", msg.topic(), msg.partition(), msg.offset(), e)
                continue
            if a["type"] in INCIDENT_UPDATES:
                self.metrics.updates.labels(a["type"]).inc()
                continue
            if a["id"] in self.recent:
                self.metrics.duplicates.inc()
                continue
            if a["ts"] + self.opts.active_for_ms <= now_ms:
                self.metrics.expired.inc()
                self.recent.add(a["id"])
                continue
            self.recent.add(a["id"])
            alerts.append(to_alert(a, self.opts, now_ms))
            anomalies.append(a)
        return alerts, anomalies

    def _post_until_accepted(self, alerts: list[dict]) -> bool:
        """Retries with backoff until Alertmanager takes the batch; False when stopped first. The partitions are
        paused meanwhile and the consumer keeps polling, so it stays in its group however long it takes."""
        delay, paused, held = self.backoff[0], False, set()
        try:
            while True:
                starts = _iso(time.time() * 1000)  # posted now (see the module's doc: group_wait counts from it)
                for alert in alerts:
                    alert["startsAt"] = starts
                try:
                    self.client.post(alerts)
                    return True
                except AlertmanagerError as e:
                    self.metrics.failed.inc()
                    log.warning("Alertmanager did not take %d alert(s) (%s); retrying in %.1f s", len(alerts), e, delay)
                if not paused:
                    self.consumer.pause(self.consumer.assignment())
                    paused = True
                deadline = time.monotonic() + delay
                while time.monotonic() < deadline:
                    if self.stop.is_set():
                        return False
                    self._hold(self.consumer.poll(min(0.1, max(0.0, deadline - time.monotonic()))), held)
                delay = min(self.backoff[1], delay * 2)
        finally:
            if paused:
                self.consumer.resume(self.consumer.assignment())

    def _hold(self, msg, held: set) -> None:
        """A record polled while retrying (its partition assigned by a rebalance meanwhile, so not paused) is read
        again after the retry: its partition goes back to it and pauses. Only the first record of a partition
        counts; one fetched before the pause must not move the position past it."""
        if msg is None or msg.error() or (msg.topic(), msg.partition()) in held:
            return
        from confluent_kafka import TopicPartition

        held.add((msg.topic(), msg.partition()))
        part = TopicPartition(msg.topic(), msg.partition(), msg.offset())
        self.consumer.seek(part)
        self.consumer.pause([part])

    def _commit(self, messages) -> None:
        from confluent_kafka import KafkaException, TopicPartition

        last = {}
        for msg in messages:
            if not msg.error():
                last[(msg.topic(), msg.partition())] = msg.offset()
        if not last:
            return
        try:
            self.consumer.commit(
                offsets=[TopicPartition(t, p, o + 1) for (t, p), o in last.items()], asynchronous=False
            )
        except KafkaException as e:
            # E.g. a rebalance took the partition: its next owner re-reads the batch; Alertmanager merges repeats.
            log.warning("offset commit failed (%s): the batch may be read again, and is then merged", e)

    def run_once(self, timeout: float = 0.1) -> int:
        # Wait for the first record only, then take what is already there: consume(n, timeout) would hold a lone
        # anomaly back until n records or the timeout.
        first = self.consumer.poll(timeout)
        if first is None:
            return 0
        messages = [first, *self.consumer.consume(num_messages=self.batch - 1, timeout=0)]
        alerts, anomalies = self._alerts(messages)
        if alerts:
            if not self._post_until_accepted(alerts):
                return -1
            now = time.time()
            self.metrics.last_success.set(now)
            for a in anomalies:
                self.metrics.sent.labels(a["type"]).inc()
                self.metrics.latency.observe(max(0.0, now - a["ts"] / 1000))
        self._commit(messages)
        return len(alerts)

    def run(self) -> None:
        self.consumer.subscribe([self.topic])
        while not self.stop.is_set():
            if self.run_once() < 0:
                break


# ---------------------------------------------------------------------------------------------- command
def _duration_ms(text: str) -> int:
    units = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}
    t = text.strip().lower()
    for unit in ("ms", "s", "m", "h"):
        if t.endswith(unit) and t[: -len(unit)].strip().replace(".", "", 1).isdigit():
            value = float(t[: -len(unit)]) * units[unit]
            if value > 0:
                return int(value)
    raise argparse.ArgumentTypeError(f"{text!r}: write a positive duration such as 500ms, 30s, 10m or 1h")


def _quote_classes(text: str) -> dict:
    try:
        return parse_quote_classes(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_parser(sub) -> None:
    sp = sub.add_parser("notify", help="post every anomaly of the Kafka topic to Alertmanager (one alert per anomaly)")
    sp.add_argument(
        "--bootstrap",
        default=None,
        help="Kafka bootstrap servers (default: $TICKSTREAM_KAFKA_BOOTSTRAP or 127.0.0.1:9092)",
    )
    sp.add_argument("--topic", default="anomalies", help="anomalies topic (default: %(default)s)")
    sp.add_argument(
        "--group-id",
        default="tickstream-notifier",
        help="Kafka consumer group; offsets are committed once Alertmanager accepted (default: %(default)s)",
    )
    sp.add_argument(
        "--instance-id",
        default=None,
        help="static group membership (group.instance.id), unique per notifier of the group: a restarted "
        "notifier takes its partitions back at once instead of waiting for its old session to time out",
    )
    sp.add_argument("--alertmanager", default="http://127.0.0.1:9093", help="Alertmanager URL (default: %(default)s)")
    sp.add_argument(
        "--active-for",
        type=_duration_ms,
        default=10 * 60_000,
        help="an anomaly's alert is active from its trade time for this long (endsAt); older anomalies "
        "are not posted (default: 10m)",
    )
    sp.add_argument(
        "--quote-classes",
        type=_quote_classes,
        default=parse_quote_classes(DEFAULT_QUOTE_CLASSES),
        help="quote currencies priced as one, QUOTE:CLASS (the job's --divergence-quote-classes; "
        "default: %s)" % DEFAULT_QUOTE_CLASSES,
    )
    sp.add_argument(
        "--critical-pct",
        type=float,
        default=5.0,
        help="price moves and divergences of at least this %% are severity=critical, the rest warning "
        "(default: %(default)s)",
    )
    sp.add_argument(
        "--dashboard-url",
        default="http://127.0.0.1:3000",
        help="Grafana's base URL, for the link to the market dashboard (default: %(default)s)",
    )
    sp.add_argument("--metrics-host", default="127.0.0.1")
    sp.add_argument("--metrics-port", type=int, default=9096, help="Prometheus /metrics port (default: %(default)s)")
    sp.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])


def cmd_notify(args, parser) -> int:
    import os

    from confluent_kafka import Consumer

    try:
        client = AlertmanagerClient(args.alertmanager)
    except ValueError as e:
        parser.error(str(e))
    if args.critical_pct <= 0:
        parser.error("--critical-pct must be positive")
    bootstrap = args.bootstrap or os.environ.get("TICKSTREAM_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    metrics = NotifierMetrics()
    try:
        port = metrics.serve(args.metrics_host, args.metrics_port)
    except OSError as e:
        parser.error(
            f"cannot serve metrics on {args.metrics_host}:{args.metrics_port} ({e}); pick another --metrics-port"
        )
    config = {
        "bootstrap.servers": bootstrap,
        "group.id": args.group_id,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "fetch.wait.max.ms": 50,
        "enable.partition.eof": False,
    }
    if args.instance_id:
        config["group.instance.id"] = args.instance_id
    consumer = Consumer(config)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    opts = AlertOptions(
        active_for_ms=args.active_for,
        quote_classes=args.quote_classes,
        critical_pct=args.critical_pct,
        dashboard_url=args.dashboard_url,
    )
    print(
        f"notify: {args.topic} on {bootstrap} -> {args.alertmanager}; metrics on "
        f"http://{args.metrics_host}:{port}/metrics",
        file=sys.stderr,
        flush=True,
    )
    try:
        Notifier(consumer, args.topic, client, metrics, opts, stop).run()
    finally:
        consumer.close()
        client.close()
        metrics.shutdown()
    return 0
