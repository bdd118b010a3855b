"""Shared fixtures: a real Kafka broker (the repo's stack tool), local venue WebSocket servers, waits."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PRODUCERS = HERE.parent
REPO = PRODUCERS.parent
DATA = HERE / "data"
RECORDINGS = DATA / "recordings"
EXPECTED = DATA / "expected"
STACK_DIR = PRODUCERS / "target" / "test-stack"


def recording(venue: str) -> list[dict]:
    return [json.loads(line) for line in (RECORDINGS / f"{venue}.jsonl").read_text().splitlines() if line.strip()]


def wait_until(condition, timeout: float = 10.0, message: str = "condition"):
    """Blocking wait for a condition (checked every 10 ms) with a deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(0.01)


async def until(condition, timeout: float = 10.0, message: str = "condition"):
    """Async wait for a condition (checked every 10 ms) with a deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        await asyncio.sleep(0.01)


@pytest.fixture(scope="session")
def kafka_bootstrap():
    """A real broker: $TICKSTREAM_KAFKA_BOOTSTRAP, or one started by deploy/tickstream for this session."""
    env = os.environ.get("TICKSTREAM_KAFKA_BOOTSTRAP")
    if env:
        yield env
        return
    tool = [
        sys.executable if Path(sys.executable).exists() else "python3",
        str(REPO / "deploy" / "tickstream"),
        "--state-dir",
        str(STACK_DIR),
    ]
    state = STACK_DIR / "stack.json"
    was_running = False
    if state.exists():
        try:
            os.kill(json.loads(state.read_text())["components"]["kafka"]["pid"], 0)
            was_running = True
        except (OSError, KeyError, ValueError):
            was_running = False
    up = subprocess.run(
        tool + ["up", "--only", "kafka", "--free-ports"], capture_output=True, text=True, cwd=REPO, timeout=180
    )
    if up.returncode != 0:
        pytest.fail(
            "could not start the test broker (run `./mvnw -q -pl deploy/runtime/kafka package` first?):\n"
            + up.stdout
            + up.stderr
        )
    bootstrap = json.loads(state.read_text())["endpoints"]["kafka_bootstrap"]
    yield bootstrap
    if not was_running or os.environ.get("TICKSTREAM_TEST_STACK_DOWN") == "1":
        subprocess.run(tool + ["down", "--only", "kafka"], capture_output=True, text=True, cwd=REPO, timeout=120)


class FakeVenue:
    """A local WebSocket server on 127.0.0.1 speaking a venue's protocol, scripted per connection by
    ``script(conn_number, ws, venue)``. Records requests, received messages and open connections."""

    def __init__(self, script):
        self.script = script
        self.connections = 0
        self.open_now = 0
        self.max_open = 0
        self.paths: list[str] = []
        self.received: dict[int, list[str]] = {}
        self.server = None
        self.url = ""

    async def _handler(self, ws):
        self.connections += 1
        n = self.connections
        self.open_now += 1
        self.max_open = max(self.max_open, self.open_now)
        self.paths.append(ws.request.path)
        self.received[n] = []
        try:
            await self.script(n, ws, self)
        except Exception:
            pass
        finally:
            self.open_now -= 1

    async def recv(self, ws, n, timeout=5.0):
        msg = await asyncio.wait_for(ws.recv(), timeout)
        self.received[n].append(msg)
        return msg

    async def __aenter__(self):
        from websockets.asyncio.server import serve

        self.server = await serve(self._handler, "127.0.0.1", 0, ping_interval=None)
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc):
        self.server.close()
        await self.server.wait_closed()


class ListSink:
    def __init__(self):
        self.ticks = []

    def publish(self, tick):
        self.ticks.append(tick)

    def poll(self):
        pass

    def flush(self, timeout=0):
        return 0

    def close(self):
        return 0
