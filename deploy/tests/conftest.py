import json
import os
import shutil
import subprocess
import sys
import time
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
