"""Helpers of the alert tests: the shipped rules and Alertmanager config rendered with test timings, the
Alertmanager API, the alert log (the stack's webhook receiver) and local fake venues for the producers."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy" / "prometheus" / "rules" / "tickstream.rules.yml"
ALERTMANAGER = REPO / "deploy" / "alertmanager" / "alertmanager.yml"

# The stack tests' timings: Prometheus scrapes and evaluates every TEST_INTERVAL, each rule holds for TEST_FOR and
# looks back TEST_WINDOW (every range in an expression); thresholds that are absolute sizes are scaled to what a
# test can make happen in seconds. Each replacement must apply, so a changed rule fails here rather than silently
# testing something else.
TEST_INTERVAL = "3s"
TEST_FOR = "4s"
TEST_WINDOW = "15s"
TEST_THRESHOLDS = {
    "TickStreamCheckpointsSlow": [("> 60000", "> 2500")],
    "TickStreamKafkaLagGrowing": [("> 10000", "> 200")],
    "TickStreamReconnectStorm": [(") > 10", ") > 3")],
}


def rules_for_tests() -> dict:
    """The shipped rules with the test timings."""
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule["for"] = TEST_FOR
            expr = re.sub(r"\[\d+[smh]\]", f"[{TEST_WINDOW}]", rule["expr"])
            for old, new in TEST_THRESHOLDS.get(rule["alert"], []):
                assert expr.count(old) == 1, f"{rule['alert']}: {old!r} not found once in {expr!r}"
                expr = expr.replace(old, new)
            rule["expr"] = expr
    return rules


def write_test_rules(path: Path) -> Path:
    path.write_text(yaml.safe_dump(rules_for_tests(), sort_keys=False))
    return path


def alertmanager_config(alert_log_port: int, health_group_wait: str = "1s", health_interval: str = "2s") -> dict:
    """The shipped config, its webhooks on the test's alert log, pipeline-health notifications sped up; the
    anomaly route's timings as shipped."""
    config = yaml.safe_load(ALERTMANAGER.read_text())
    config["route"].update(group_wait=health_group_wait, group_interval=health_interval)
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{alert_log_port}", hook["url"])
    return config


def uncommented_examples(text: str) -> str:
    """alertmanager.yml with the commented receivers between the EXAMPLES markers made live."""
    out, inside = [], False
    for line in text.splitlines():
        if "--- BEGIN EXAMPLES" in line:
            inside = True
        elif "--- END EXAMPLES" in line:
            inside = False
        elif inside:
            m = re.match(r"^(\s*)# ((?:- |  ).*)$", line)
            if m:
                out.append(m.group(1) + m.group(2))
        else:
            out.append(line)
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------- Alertmanager API
class Alertmanager:
    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def _call(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            text = r.read()
        return json.loads(text) if text else None

    def alerts(self, **labels) -> list[dict]:
        query = "&".join(f"filter={urllib.parse.quote(f'{k}={json.dumps(v)}')}" for k, v in labels.items())
        return self._call("GET", f"/api/v2/alerts?{query}")

    def firing(self, alertname: str, **labels) -> list[dict]:
        return [a for a in self.alerts(alertname=alertname, **labels) if a["status"]["state"] == "active"]

    def silence(self, matchers: dict, minutes: int = 30, comment: str = "test") -> str:
        now = time.time()
        body = {
            "matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in matchers.items()],
            "startsAt": _iso(now - 1),
            "endsAt": _iso(now + minutes * 60),
            "createdBy": "deploy/tests",
            "comment": comment,
        }
        return self._call("POST", "/api/v2/silences", body)["silenceID"]


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


# ---------------------------------------------------------------------------------------------- the alert log
class AlertLog:
    """The notifications the stack's webhook receiver (alert-log) wrote, in arrival order."""

    def __init__(self, path: Path):
        self.path = path

    def notifications(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def anomaly_ids(self) -> list[list[str]]:
        """Per anomaly notification, the anomaly ids it holds."""
        return [
            [a["labels"]["anomaly_id"] for a in n["payload"]["alerts"]]
            for n in self.notifications()
            if n["path"] == "/anomalies"
        ]

    def health(self, alertname: str, status: str, **labels) -> list[dict]:
        """The alerts of that name and status (firing/resolved) notified so far."""
        return [
            a
            for n in self.notifications()
            if n["path"] == "/alerts"
            for a in n["payload"]["alerts"]
            if a["labels"].get("alertname") == alertname
            and a["status"] == status
            and all(a["labels"].get(k) == v for k, v in labels.items())
        ]


# ---------------------------------------------------------------------------------------------- fake venues
class FakeVenues:
    """Local WebSocket servers speaking Binance's and Kraken's trade streams: each sends fresh trades (~`rate`
    per second per symbol) while its mode is "trade"; in "refuse" it closes every connection at once (a dead feed
    that also makes the producer reconnect over and over)."""

    def __init__(self, rate: int = 50):
        self.rate = rate
        self.mode = {"binance": "trade", "kraken": "trade"}
        self.urls: dict[str, str] = {}
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.trade_ids = {venue: 1_000_000 for venue in self.mode}

    def start(self) -> FakeVenues:
        self.thread.start()
        assert self.ready.wait(10), "fake venues did not start"
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        from websockets.asyncio.server import serve

        self.servers = {}
        for venue in self.mode:
            server = await serve(lambda ws, v=venue: self._handler(v, ws), "127.0.0.1", 0, ping_interval=None)
            self.servers[venue] = server
            self.urls[venue] = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        self.stopped = asyncio.Event()
        self.ready.set()
        await self.stopped.wait()
        for server in self.servers.values():
            server.close()
            await server.wait_closed()

    def _frame(self, venue: str, now_ms: int) -> str:
        self.trade_ids[venue] += 1
        trade_id = self.trade_ids[venue]
        price = 97000 + (trade_id % 7) * 0.5
        if venue == "binance":
            return json.dumps(
                {
                    "stream": "btcusdt@trade",
                    "data": {
                        "e": "trade",
                        "E": now_ms,
                        "s": "BTCUSDT",
                        "t": trade_id,
                        "p": f"{price:.2f}",
                        "q": "0.01000000",
                        "T": now_ms,
                        "m": trade_id % 2 == 0,
                        "M": True,
                    },
                }
            )
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now_ms / 1000)) + f".{now_ms % 1000:03d}000Z"
        return json.dumps(
            {
                "channel": "trade",
                "type": "update",
                "data": [
                    {
                        "symbol": "BTC/USD",
                        "side": "buy",
                        "price": price,
                        "qty": 0.01,
                        "ord_type": "market",
                        "trade_id": trade_id,
                        "timestamp": stamp,
                    }
                ],
            }
        )

    async def _handler(self, venue: str, ws) -> None:
        if self.mode[venue] != "trade":
            await ws.close()
            return
        try:
            while self.mode[venue] == "trade":
                for _ in range(max(1, self.rate // 10)):
                    await ws.send(self._frame(venue, int(time.time() * 1000)))
                await asyncio.sleep(0.1)
            await ws.close()
        except Exception:  # the client went away
            pass

    def stop(self) -> None:
        if self.ready.is_set():
            self.loop.call_soon_threadsafe(self.stopped.set)
            self.thread.join(10)
