"""The producers: the live venues when they can be reached, else synthetic ticks with injected anomalies."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from . import kafka, procs
from .component import ProcessComponent
from .procs import StackError
from .state import REPO, Stack

NAME = "producers"
ENSURE_VENV = REPO / "producers" / "scripts" / "ensure_venv.py"
PRODUCERS_SRC = REPO / "producers" / "src"
SYNTHETIC_RATE = 200
SYNTHETIC_ANOMALIES = "spike,drop,volume"
# The stack's broker runs on this host: compressing batches would save no network and cost CPU in the producers,
# the broker (which decompresses to validate) and the job. A user's TICKSTREAM_KAFKA_COMPRESSION still wins.
KAFKA_COMPRESSION = os.environ.get("TICKSTREAM_KAFKA_COMPRESSION", "none")


def _venv_tool() -> ModuleType:
    """The producers' own ensure_venv.py (stdlib only), so the stack and the tests judge the venv alike."""
    spec = importlib.util.spec_from_file_location("tickstream_ensure_venv", ENSURE_VENV)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def venv_python() -> Path:
    """producers/.venv (or $TICKSTREAM_PRODUCERS_VENV)'s python."""
    tool = _venv_tool()
    return tool.python_of(tool.venv_dir())


def venv_ready() -> bool:
    tool = _venv_tool()
    return tool.up_to_date(tool.venv_dir())


def base_python() -> str | None:
    """The Python the venv is made over (it takes confluent_kafka from there)."""
    return _venv_tool().base_python()


def ensure_venv() -> Path:
    """Runs ensure_venv.py on every `up` (well under a second when the venv is ready): a half-made venv, e.g. from
    a run that failed before python3-confluent-kafka was installed, is repaired instead of reused broken."""
    tool = _venv_tool()
    if tool.up_to_date(tool.venv_dir()):
        return tool.python_of(tool.venv_dir())
    print(f"  producers    setting up {tool.venv_dir()} ...", flush=True)
    result = subprocess.run([sys.executable, str(ENSURE_VENV)], cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        raise StackError(
            f"could not set up the producers' Python environment:\n{result.stdout[-2000:]}{result.stderr[-3000:]}"
        )
    for line in result.stdout.splitlines():
        print(f"  producers    {line}")
    return tool.python_of(tool.venv_dir())


def venue_hosts() -> dict[str, tuple[str, int]]:
    """venue -> (host, port) of its public WebSocket endpoint, from the producers' venue registry (stdlib only, so
    it is imported from the source tree, venv or not)."""
    if str(PRODUCERS_SRC) not in sys.path:
        sys.path.append(str(PRODUCERS_SRC))
    from tickstream_producers.venues import registry

    return registry.stack_hosts()


def reachable_venues(timeout: float = 3.0) -> list[str]:
    up = []
    for venue, (host, port) in venue_hosts().items():
        try:
            with socket.create_connection((host, port), timeout=timeout):
                up.append(venue)
        except OSError:
            pass
    return up


class _Producers(ProcessComponent):
    def workdir(self, stack: Stack) -> Path:
        """Our producers run in the state dir's producers/ folder: that is how pid reuse is caught."""
        return stack.path("producers")

    def marker(self, stack: Stack) -> str:
        return str(self.workdir(stack))


PROCESS = _Producers(NAME, "the producers")


def up(stack: Stack, synthetic_only: bool = False) -> None:
    pid = PROCESS.pid(stack)
    if pid:
        print(f"  producers    already running (pid {pid}, {stack.component(NAME).get('mode')})")
        return
    port = stack.port("producer_metrics")
    procs.require_free_port(port, "producer_metrics")
    python = ensure_venv()
    common = [
        "--bootstrap",
        kafka.bootstrap(stack),
        "--compression",
        KAFKA_COMPRESSION,
        "--metrics-port",
        str(port),
        "--metrics-host",
        "127.0.0.1",
    ]
    venues = [] if synthetic_only else reachable_venues()
    stack.path("producers").mkdir(parents=True, exist_ok=True)
    if venues:
        mode = f"live: {', '.join(venues)}"
        cmd = [str(python), "-m", "tickstream_producers", "live", "--venue", ",".join(venues), *common]
    else:
        labels = stack.path("producers", "labels.jsonl")
        mode = f"synthetic, {SYNTHETIC_RATE} ticks/s, injected {SYNTHETIC_ANOMALIES}"
        cmd = [
            str(python),
            "-m",
            "tickstream_producers",
            "synthetic",
            "--rate",
            str(SYNTHETIC_RATE),
            "--inject",
            SYNTHETIC_ANOMALIES,
            "--labels",
            str(labels),
            *common,
        ]
        print("  producers    ****************************************************************")
        print("  producers    no exchange reachable: publishing SYNTHETIC ticks with injected")
        print(f"  producers    anomalies ({SYNTHETIC_ANOMALIES}); their labels go to {labels}")
        print("  producers    ****************************************************************")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    pid = PROCESS.start(stack, cmd, port=port, env=env, mode=mode)
    print(f"  producers    started (pid {pid}, {mode}), metrics on http://127.0.0.1:{port}/metrics")


def down(stack: Stack) -> None:
    PROCESS.down(stack)  # SIGTERM: the producers flush what is in flight first


def status(stack: Stack) -> dict:
    return PROCESS.status_row(stack, stack.port("producer_metrics"))
