"""The producers: the live venues when they can be reached, else synthetic ticks with injected anomalies."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from . import kafka, procs
from .procs import StackError
from .state import REPO, Stack

NAME = "producers"
VENV_PYTHON = REPO / "producers" / ".venv" / "bin" / "python"
# Where each venue's public WebSocket endpoint lives (the producers hold the full URLs).
VENUE_HOSTS = {"binance": ("stream.binance.com", 9443), "coinbase": ("advanced-trade-ws.coinbase.com", 443),
               "kraken": ("ws.kraken.com", 443)}
SYNTHETIC_RATE = 200
SYNTHETIC_ANOMALIES = "spike,drop,volume"


def ensure_venv() -> Path:
    if not VENV_PYTHON.exists():
        print("  producers    creating producers/.venv (once) ...", flush=True)
        script = REPO / "producers" / "scripts" / "ensure_venv.py"
        cmd = [sys.executable, str(script)] if script.exists() else None
        if cmd is None:
            base = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
            subprocess.run([base, "-m", "venv", "--system-site-packages", str(VENV_PYTHON.parent.parent)], check=True)
            cmd = [str(VENV_PYTHON), "-m", "pip", "install", "-q", "-e", str(REPO / "producers")]
        result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        if result.returncode != 0 or not VENV_PYTHON.exists():
            raise StackError(f"could not set up the producers' Python environment:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    check = subprocess.run([str(VENV_PYTHON), "-c", "import confluent_kafka"], capture_output=True)
    if check.returncode != 0:
        raise StackError("the producers need confluent-kafka: `pip install confluent-kafka` (PyPI) or "
                         "`apt-get install python3-confluent-kafka` (Debian), then recreate producers/.venv")
    return VENV_PYTHON


def reachable_venues(timeout: float = 3.0) -> list[str]:
    up = []
    for venue, (host, port) in VENUE_HOSTS.items():
        try:
            with socket.create_connection((host, port), timeout=timeout):
                up.append(venue)
        except OSError:
            pass
    return up


def _marker(stack: Stack) -> str:
    return str(stack.path("producers"))


def owns(stack: Stack, pid) -> bool:
    """Our producers run in the state dir's producers/ folder: that is how pid reuse is caught."""
    if not pid or not procs.is_alive(pid):
        return False
    try:
        return os.readlink(f"/proc/{pid}/cwd") == _marker(stack)
    except OSError:
        return procs.owns(pid, _marker(stack))


def up(stack: Stack, synthetic_only: bool = False) -> None:
    current = stack.component(NAME)
    if owns(stack, current.get("pid")):
        print(f"  producers    already running (pid {current['pid']}, {current.get('mode')})")
        return
    port = stack.port("producer_metrics")
    if not procs.port_free(port):
        raise StackError(f"port {port} (producer_metrics) is taken by {procs.port_holder(port)}; "
                         f"stop it, or start the stack with --port producer_metrics=<free port>")
    python = ensure_venv()
    common = ["--bootstrap", kafka.bootstrap(stack), "--metrics-port", str(port), "--metrics-host", "127.0.0.1"]
    venues = [] if synthetic_only else reachable_venues()
    stack.path("producers").mkdir(parents=True, exist_ok=True)
    if venues:
        mode = f"live: {', '.join(venues)}"
        cmd = [str(python), "-m", "tickstream_producers", "live", "--venue", ",".join(venues), *common]
    else:
        labels = stack.path("producers", "labels.jsonl")
        mode = f"synthetic, {SYNTHETIC_RATE} ticks/s, injected {SYNTHETIC_ANOMALIES}"
        cmd = [str(python), "-m", "tickstream_producers", "synthetic", "--rate", str(SYNTHETIC_RATE),
               "--inject", SYNTHETIC_ANOMALIES, "--labels", str(labels), *common]
        print("  producers    ****************************************************************")
        print("  producers    no exchange reachable: publishing SYNTHETIC ticks with injected")
        print(f"  producers    anomalies ({SYNTHETIC_ANOMALIES}); their labels go to {labels}")
        print("  producers    ****************************************************************")
    log = stack.log(NAME)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    pid = procs.start_detached(cmd, log, env=env, cwd=stack.path("producers"))
    if not procs.wait_until(lambda: procs.port_open(port) or not procs.is_alive(pid), 30) or not procs.is_alive(pid):
        raise StackError(f"the producers did not start; log tail:\n{procs.log_tail(log)}")
    stack.record(NAME, pid=pid, log=str(log), port=port, mode=mode)
    print(f"  producers    started (pid {pid}, {mode}), metrics on http://127.0.0.1:{port}/metrics")


def down(stack: Stack) -> None:
    current = stack.component(NAME)
    if owns(stack, current.get("pid")):
        procs.stop(current["pid"])  # SIGTERM: the producers flush what is in flight first
        print(f"  producers    stopped (pid {current['pid']})")
    stack.forget(NAME)


def status(stack: Stack) -> dict:
    current = stack.component(NAME)
    running = owns(stack, current.get("pid"))
    return {"component": NAME, "pid": current.get("pid") if running else None, "port": stack.port("producer_metrics"),
            "state": "running" if running else "stopped", "log": current.get("log")}
