"""The notifier against a real Kafka broker and a real Alertmanager (Debian's prometheus-alertmanager, started here
on a free port): offsets committed only once Alertmanager accepted, retries while it is down, repeats merged, junk
and expired anomalies skipped; the anomaly -> alert mapping on generated input; the alert log receiving what
Alertmanager sends."""

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
import uuid

import pytest
from conftest import wait_until
from hypothesis import given, settings
from hypothesis import strategies as st

from tickstream_producers.alertlog import AlertLog, make_server
from tickstream_producers.notify import (
    AlertmanagerClient,
    AlertOptions,
    InvalidAnomaly,
    Notifier,
    NotifierMetrics,
    parse_anomaly,
    to_alert,
)

pytestmark = pytest.mark.timeout(120)
ALERTMANAGER = shutil.which("prometheus-alertmanager")


def anomaly(**over):
    now = int(time.time() * 1000)
    a = {
        "v": 1,
        "id": str(uuid.uuid4()),
        "exchange": "binance",
        "symbol": "BTC-USDT",
        "type": "PRICE_DROP",
        "ts": now - 50,
        "price": "67000.5",
        "ref_price": "70500.0",
        "change_pct": -4.96,
        "window_ms": 60000,
        "zscore": None,
        "trade_id": "42",
        "detected_at": now - 20,
        "details": {"from": "70500.0"},
    }
    a.update(over)
    return a


# ---------------------------------------------------------------------------------------------- mapping
def test_an_anomaly_becomes_one_alert_with_its_labels_annotations_and_times():
    a = anomaly(exchange="coinbase", symbol="ETH-USDC", ts=1_732_500_000_123, change_pct=-5.5)
    alert = to_alert(
        parse_anomaly(json.dumps(a).encode()), AlertOptions(active_for_ms=600_000), now_ms=1_732_500_001_000
    )
    assert alert["labels"] == {
        "alertname": "TickStreamAnomaly",
        "type": "PRICE_DROP",
        "asset": "ETH",
        "quote_class": "USD",
        "venue": "coinbase",
        "symbol": "ETH-USDC",
        "severity": "critical",
        "anomaly_id": a["id"],
    }
    # Started when posted (Alertmanager's group_wait counts from it), ended --active-for after the trade.
    assert alert["startsAt"] == "2024-11-25T02:00:01.000Z" and alert["endsAt"] == "2024-11-25T02:10:00.123Z"
    assert alert["annotations"]["trade_time"] == "2024-11-25T02:00:00.123Z"
    notes = alert["annotations"]
    assert notes["price"] == "67000.5" and notes["change_pct"] == "-5.5" and notes["window_ms"] == "60000"
    assert notes["details"] == '{"from":"70500.0"}' and "zscore" not in notes
    assert "ETH-USDC on coinbase" in notes["summary"] and "-5.50 %" in notes["summary"]
    assert notes["dashboard"].startswith("http://127.0.0.1:3000/d/tickstream-market/")
    assert "var-symbol=coinbase%3AETH-USDC" in notes["dashboard"] and "from=1732499100123" in notes["dashboard"]
    small = to_alert(parse_anomaly(json.dumps(anomaly(change_pct=1.2)).encode()), AlertOptions())
    assert small["labels"]["severity"] == "warning"


@pytest.mark.parametrize(
    "value, reason",
    [
        (b"not json", "not valid JSON"),
        (b"[1]", "not a JSON object"),
        (b'{"v":2}', "unsupported version"),
        (json.dumps(anomaly(id=None)).encode(), "missing field id"),
        (json.dumps(anomaly(ts="1")).encode(), "ts must be"),
        (json.dumps(anomaly(symbol="BTCUSDT")).encode(), "BASE-QUOTE"),
        (json.dumps(anomaly(change_pct="x")).encode(), "change_pct must be a number"),
    ],
)
def test_records_that_are_not_anomalies_are_refused_with_the_reason(value, reason):
    with pytest.raises(InvalidAnomaly, match=reason):
        parse_anomaly(value)


text = st.text(min_size=1, max_size=300)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=400),
        st.dictionaries(
            st.sampled_from(
                ["v", "id", "exchange", "symbol", "type", "ts", "price", "change_pct", "window_ms", "zscore", "details"]
            ),
            st.one_of(st.none(), st.integers(), st.floats(), text, st.lists(st.integers(), max_size=3)),
            max_size=11,
        ).map(lambda d: json.dumps(d).encode()),
    )
)
def test_any_record_is_an_anomaly_or_refused_never_a_crash(value):
    try:
        a = parse_anomaly(value)
    except InvalidAnomaly:
        return
    to_alert(a, AlertOptions())


@settings(max_examples=200, deadline=None)
@given(
    exchange=text,
    base=text.filter(lambda s: "-" not in s),
    quote=text,
    tid=text,
    price=text,
    details=st.one_of(st.none(), st.dictionaries(text, text, max_size=3), text),
)
def test_alerts_of_any_anomaly_are_bounded_strings_and_deterministic(exchange, base, quote, tid, price, details):
    a = parse_anomaly(
        json.dumps(
            anomaly(exchange=exchange, symbol=f"{base}-{quote}", trade_id=tid, price=price, details=details)
        ).encode()
    )
    alert = to_alert(a, AlertOptions(), now_ms=1_800_000_000_000)
    assert alert == to_alert(a, AlertOptions(), now_ms=1_800_000_000_000)
    assert all(isinstance(v, str) and len(v) <= 256 for v in alert["labels"].values())
    assert all(isinstance(v, str) and len(v) <= 2048 for v in alert["annotations"].values())
    assert alert.get("generatorURL", "") == alert["annotations"].get("dashboard", "")


def test_an_instrument_too_long_for_a_dashboard_link_gets_none_rather_than_a_cut_one():
    a = parse_anomaly(json.dumps(anomaly(symbol="BTC-" + "Q" * 3000)).encode())
    alert = to_alert(a, AlertOptions(), now_ms=1_800_000_000_000)
    assert "dashboard" not in alert["annotations"] and "generatorURL" not in alert
    assert len(alert["labels"]["symbol"]) == 256 and alert["labels"]["symbol"].endswith("…")
    short = to_alert(parse_anomaly(json.dumps(anomaly()).encode()), AlertOptions(), now_ms=1_800_000_000_000)
    assert short["generatorURL"] == short["annotations"]["dashboard"]
    assert "var-symbol=binance%3ABTC-USDT" in short["generatorURL"]


# ---------------------------------------------------------------------------------------------- real components
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RealAlertmanager:
    """prometheus-alertmanager on a free port, sending to an in-process alert log."""

    def __init__(self, tmp, port: int, webhook_port: int):
        self.url = f"http://127.0.0.1:{port}"
        config = tmp / "alertmanager.yml"
        config.write_text(f"""route:
  receiver: log
  group_by: [alertname, type, asset, quote_class]
  group_wait: 100ms
  group_interval: 1s
receivers:
  - name: log
    webhook_configs:
      - url: http://127.0.0.1:{webhook_port}/anomalies
        send_resolved: false
""")
        self.cmd = [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={tmp / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self._ready(), 20, "Alertmanager ready")

    def _ready(self):
        try:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=1):
                return True
        except OSError:
            return False

    def alerts(self, anomaly_ids):
        with urllib.request.urlopen(self.url + "/api/v2/alerts", timeout=5) as r:
            return [a for a in json.loads(r.read()) if a["labels"].get("anomaly_id") in anomaly_ids]

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def topic(kafka_bootstrap):
    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"anomalies-notify-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics([NewTopic(name, 2, 1)])[name].result(30)
    return name


def produce(bootstrap, topic, *values, partition=None):
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap})
    for v in values:
        p.produce(
            topic,
            v if isinstance(v, bytes) else json.dumps(v).encode(),
            b"binance:BTC-USDT",
            **({} if partition is None else {"partition": partition}),
        )
    assert p.flush(20) == 0


def committed(bootstrap, topic, group):
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        return sum(max(0, tp.offset) for tp in c.committed([TopicPartition(topic, p) for p in range(2)], timeout=10))
    finally:
        c.close()


class Running:
    """A Notifier on its own consumer, in a thread (as `notify` runs it)."""

    def __init__(self, bootstrap, topic, group, am_url, opts=None):
        from confluent_kafka import Consumer

        opts = opts or AlertOptions()

        self.metrics = NotifierMetrics()
        self.stop_event = threading.Event()
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "fetch.wait.max.ms": 50,
            }
        )
        self.notifier = Notifier(
            self.consumer,
            topic,
            AlertmanagerClient(am_url, timeout=2),
            self.metrics,
            opts,
            self.stop_event,
            backoff=(0.05, 0.2),
        )
        self.thread = threading.Thread(target=self.notifier.run, daemon=True)
        self.thread.start()

    def value(self, name, **labels):
        return self.metrics.registry.get_sample_value(name, labels) or 0

    def stop(self):
        self.stop_event.set()
        self.thread.join(20)
        self.consumer.close()


@pytest.mark.skipif(not ALERTMANAGER, reason="prometheus-alertmanager is not installed")
def test_offsets_are_committed_only_once_alertmanager_accepted_and_repeats_are_merged(kafka_bootstrap, topic, tmp_path):
    group = f"notify-{uuid.uuid4().hex[:8]}"
    log_path = tmp_path / "notifications.jsonl"
    alert_log = AlertLog(log_path, echo=None)
    server = make_server("127.0.0.1", 0, alert_log)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    am = RealAlertmanager(tmp_path, free_port(), server.server_address[1])
    drops = [anomaly(exchange=v, symbol="BTC-USD" if v == "kraken" else "BTC-USDT") for v in ("binance", "kraken")]
    old = anomaly(ts=int(time.time() * 1000) - 3_600_000)
    pullback = anomaly(type="PRICE_RETRACEMENT", incident_id=drops[0]["id"], change_pct=2.1)
    produce(kafka_bootstrap, topic, *drops, b"junk", old, pullback)
    first = Running(kafka_bootstrap, topic, group, am.url)
    try:
        # Alertmanager is not there yet: retried, nothing committed.
        wait_until(lambda: first.value("tickstream_notifier_failed_total") >= 3, 20, "failed posts")
        assert committed(kafka_bootstrap, topic, group) == 0
        am.start()
        wait_until(lambda: first.value("tickstream_notifier_sent_total", type="PRICE_DROP") == 2, 30, "sent")
        wait_until(lambda: committed(kafka_bootstrap, topic, group) == 5, 20, "offsets committed")
        assert first.value("tickstream_notifier_invalid_total") == 1
        assert first.value("tickstream_notifier_expired_total") == 1
        # an update of the first drop's incident, not an alert of its own
        assert first.value("tickstream_notifier_incident_updates_total", type="PRICE_RETRACEMENT") == 1
        ids = {a["id"] for a in drops}
        assert {a["labels"]["anomaly_id"] for a in am.alerts(ids)} == ids
        # The same anomaly twice on the topic: this notifier skips the repeat.
        produce(kafka_bootstrap, topic, drops[0])
        wait_until(lambda: first.value("tickstream_notifier_duplicates_total") == 1, 20, "duplicate skipped")
    finally:
        first.stop()
    # A new notifier of the group (a restart) forgot what it posted: the repeat goes to Alertmanager, which merges it.
    produce(kafka_bootstrap, topic, drops[1])
    second = Running(kafka_bootstrap, topic, group, am.url)
    try:
        wait_until(lambda: second.value("tickstream_notifier_sent_total", type="PRICE_DROP") == 1, 30, "re-sent")
        assert len(am.alerts(ids)) == 2
        wait_until(lambda: log_path.exists() and log_path.read_text().strip(), 10, "a notification")
        time.sleep(2.5)  # two group intervals: a repeat would have been notified by now
        notified = [
            a["labels"]["anomaly_id"]
            for line in log_path.read_text().splitlines()
            for a in json.loads(line)["payload"]["alerts"]
        ]
        assert sorted(notified) == sorted(ids), notified  # both venues, once, in one group
        assert len(log_path.read_text().splitlines()) == 1
    finally:
        second.stop()
        am.stop()
        server.shutdown()
        alert_log.close()


@pytest.mark.skipif(not ALERTMANAGER, reason="prometheus-alertmanager is not installed")
def test_a_partition_taken_over_while_alertmanager_is_down_loses_nothing(kafka_bootstrap, topic, tmp_path):
    """Two notifiers of a group, each retrying its partition's anomaly; one stops, so the other gets its partition in
    the middle of its retries and polls that anomaly there: it must be posted after the retry, not dropped."""
    group = f"notify-{uuid.uuid4().hex[:8]}"
    am = RealAlertmanager(tmp_path, free_port(), free_port())
    drops = [anomaly(exchange=v, symbol=f"BTC-USD{v[0].upper()}") for v in ("binance", "coinbase")]
    kept, leaving = (Running(kafka_bootstrap, topic, group, am.url) for _ in range(2))
    try:
        wait_until(
            lambda: len(kept.consumer.assignment()) == 1 and len(leaving.consumer.assignment()) == 1,
            60,
            "one partition each",
        )
        produce(kafka_bootstrap, topic, drops[0], partition=0)
        produce(kafka_bootstrap, topic, drops[1], partition=1)
        wait_until(
            lambda: (
                kept.value("tickstream_notifier_failed_total") >= 1
                and leaving.value("tickstream_notifier_failed_total") >= 1
            ),
            60,
            "both notifiers retrying",
        )
        leaving.stop()
        # The rebalance gives the kept notifier both partitions while it still retries; give it a few polls.
        wait_until(lambda: len(kept.consumer.assignment()) == 2, 30, "both partitions on the kept notifier")
        time.sleep(1)
        assert committed(kafka_bootstrap, topic, group) == 0
        am.start()
        ids = {a["id"] for a in drops}
        wait_until(lambda: {a["labels"]["anomaly_id"] for a in am.alerts(ids)} == ids, 30, "both anomalies posted")
        wait_until(lambda: committed(kafka_bootstrap, topic, group) == 2, 20, "both offsets committed")
    finally:
        kept.stop()
        am.stop()
