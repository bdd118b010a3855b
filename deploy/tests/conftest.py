import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "deploy" / "tickstream"
# The stack's own modules (deploy/stack, deploy/bench): the tests use its job lookup and psql rather than copies.
sys.path.insert(0, str(REPO / "deploy"))


class StackCli:
    """deploy/tickstream against one state dir."""

    def __init__(self, home: Path):
        self.home = home

    def run(
        self, *args: str, check: bool = True, timeout: float = 600, env: dict | None = None
    ) -> subprocess.CompletedProcess:
        """deploy/tickstream ARGS; env adds to this process's environment."""
        result = subprocess.run(
            [sys.executable, str(TOOL), "--state-dir", str(self.home), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"deploy/tickstream {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result

    def status(self) -> dict:
        return json.loads(self.run("status", "--json").stdout)

    def stack_json(self) -> dict:
        return json.loads((self.home / "stack.json").read_text())

    def port(self, name: str) -> int:
        return int(self.stack_json()["ports"][name])


def wait_for(what: str, condition, timeout: float = 180, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


@pytest.fixture
def stack_cli(tmp_path_factory):
    """A stack in a fresh state dir (a left-over one would resume an older build's savepoint)."""
    cli = StackCli(REPO / "deploy" / "target" / f"stack-{tmp_path_factory.mktemp('s').name}")
    if cli.home.exists():
        cli.run("down", check=False)
        shutil.rmtree(cli.home)
    return cli


# --- the whole stack, shared by the dashboards test and the end-to-end test -------------------------------------------
WHOLE_STACK_LAST = "test_stack_end_to_end.py"  # its test upgrades the whole stack and brings it down


@pytest.fixture(scope="session")
def whole_stack():
    """Every component (producers, synthetic when no venue answers; Kafka, Flink and the job, PostgreSQL, the
    exporter, Prometheus, Alertmanager, the notifier and the alert log) from one `up --free-ports` in a fresh state
    dir; `stack.up` is that first `up`. Started once for test_dashboards.py and test_stack_end_to_end.py (whose test
    ends it with an upgrade and a `down`): two whole stacks started, warmed up and stopped one after the other took
    a minute more. Defined here, not imported into each module, so that it is one stack for the session."""
    stack = StackCli(REPO / "deploy" / "target" / f"whole-{uuid.uuid4().hex[:8]}")
    try:
        stack.up = stack.run("up", "--free-ports")
        yield stack
    finally:
        down = stack.run("down", check=False)
        assert down.returncode == 0, down.stdout + down.stderr


def pytest_collection_modifyitems(items):
    """The tests of the whole stack last, test_stack_end_to_end.py's after the others (it brings the stack down), so
    the whole stack runs beside no other stack and is not kept up for the rest of the session."""
    users = [i for i in items if "whole_stack" in getattr(i, "fixturenames", ())]
    users.sort(key=lambda i: i.path.name == WHOLE_STACK_LAST)
    items[:] = [i for i in items if i not in users] + users
