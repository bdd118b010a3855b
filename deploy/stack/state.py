"""The stack's state directory: ports chosen at the first `up`, what was started (pid, log), endpoints.

Everything lives under one directory (default <repo>/.stack, or --state-dir / TICKSTREAM_HOME), so
several stacks (a developer's and a test run's) can live side by side on one machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from .procs import StackError, free_ports

REPO = Path(__file__).resolve().parents[2]

# The default ports (docs/contracts.md); Flink RPC gets the usual default; the Kafka controller is on 9095
# because 9093 is Alertmanager's (and 9094 its cluster port).
DEFAULT_PORTS = {
    "kafka": 9092,
    "kafka_controller": 9095,
    "kafka_metrics": 9308,
    "postgres": 5432,
    "flink_rest": 8081,
    "flink_rpc": 6123,
    "flink_jm_metrics": 9250,
    "flink_tm_metrics": 9251,
    "prometheus": 9090,
    "producer_metrics": 9091,
    "postgres_exporter": 9187,
    "alertmanager": 9093,
    "notifier_metrics": 9096,
    "alert_log": 9097,
}


class Stack:
    def __init__(self, home: Path):
        self.home = home.resolve()
        self.file = self.home / "stack.json"
        self.data = {"ports": {}, "components": {}, "endpoints": {}}
        if self.file.exists():
            self.data.update(json.loads(self.file.read_text()))

    @classmethod
    def open(cls, state_dir: str | None) -> Stack:
        home = Path(state_dir or os.environ.get("TICKSTREAM_HOME") or REPO / ".stack")
        home.mkdir(parents=True, exist_ok=True)
        return cls(home)

    def save(self) -> None:
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, sort_keys=True) + "\n")
        tmp.replace(self.file)

    # ports ---------------------------------------------------------------------------------------------
    def choose_ports(self, free: bool, overrides: dict[str, int]) -> None:
        """Fixes the ports at the first `up`; later commands reuse them. --free-ports is for tests."""
        ports = self.data["ports"]
        missing = [name for name in DEFAULT_PORTS if name not in ports]
        fresh = (
            dict(zip(missing, free_ports(len(missing)), strict=True))
            if free
            else {n: DEFAULT_PORTS[n] for n in missing}
        )
        for name, value in overrides.items():
            if name not in DEFAULT_PORTS:
                raise StackError(f"unknown port name {name!r}; known: {', '.join(DEFAULT_PORTS)}")
            fresh[name] = value
        if fresh:
            ports.update(fresh)
            self.save()

    def port(self, name: str) -> int:
        return int(self.data["ports"].get(name, DEFAULT_PORTS[name]))

    # components ----------------------------------------------------------------------------------------
    def component(self, name: str) -> dict:
        return self.data["components"].get(name, {})

    def record(self, name: str, **fields) -> None:
        self.data["components"][name] = fields
        self.save()

    def forget(self, name: str) -> None:
        self.data["components"].pop(name, None)
        self.save()

    def set_endpoint(self, name: str, value) -> None:
        self.data["endpoints"][name] = value
        self.save()

    def endpoint(self, name: str):
        return self.data["endpoints"].get(name)

    def path(self, *parts: str) -> Path:
        p = self.home.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def log(self, name: str) -> Path:
        return self.path("logs", f"{name}.log")


def java() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise StackError(
            "no java found: install a JDK 17+ (Debian: apt-get install openjdk-17-jdk-headless) or set JAVA_HOME"
        )
    return found


def runtime_lib(name: str) -> Path:
    """deploy/runtime/<name>/target/lib, assembled from Maven Central on first use."""
    lib = REPO / "deploy" / "runtime" / name / "target" / "lib"
    if not lib.is_dir() or not any(lib.glob("*.jar")):
        print(f"  assembling the {name} runtime from Maven Central (once) ...", flush=True)
        result = subprocess.run(
            [str(REPO / "mvnw"), "-q", "-pl", f"deploy/runtime/{name}", "package"],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise StackError(f"could not assemble the {name} runtime:\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    return lib


def classpath(lib: Path) -> str:
    return os.pathsep.join(str(p) for p in sorted(lib.glob("*.jar")))
