"""Prometheus, Alertmanager and the PostgreSQL exporter, from Debian's packages when installed (each is optional)."""

from __future__ import annotations

import os
import re
import shutil
import urllib.parse
from pathlib import Path

from . import postgres, procs
from .component import ProcessComponent
from .state import REPO, Stack

# The default-port config, with the port each scrape target has in docs/contracts.md -> the stack's port name.
TEMPLATE = REPO / "deploy" / "prometheus" / "prometheus.yml"
TARGET_PORTS = {
    9091: "producer_metrics",
    9250: "flink_jm_metrics",
    9251: "flink_tm_metrics",
    9187: "postgres_exporter",
    9308: "kafka_metrics",
    9090: "prometheus",
    9093: "alertmanager",
    9096: "notifier_metrics",
}
RULES = REPO / "deploy" / "prometheus" / "rules"
ALERTMANAGER_TEMPLATE = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
# Alertmanager's webhook receivers in the template -> the stack's port name.
WEBHOOK_PORTS = {9097: "alert_log"}


def render_config(stack: Stack) -> Path:
    """prometheus.yml with the stack's ports, and its rules beside it (rules/*.yml). TICKSTREAM_PROMETHEUS_RULES
    (a rules file or a directory of them) replaces the repo's rules, TICKSTREAM_PROMETHEUS_INTERVAL (e.g. 2s) the
    scrape and evaluation interval: for tests and trials with shorter timings."""
    text = TEMPLATE.read_text()
    for default, name in TARGET_PORTS.items():
        text = text.replace(f'127.0.0.1:{default}"', f'127.0.0.1:{stack.port(name)}"')
    # Every TaskManager of the stack (`up --taskmanagers N`), not only the first.
    from . import flink

    tms = ", ".join(f'"127.0.0.1:{p}"' for p in flink.metrics_ports(stack))
    text = text.replace(
        f'["127.0.0.1:{stack.port("flink_jm_metrics")}", "127.0.0.1:{stack.port("flink_tm_metrics")}"]', f"[{tms}]"
    )
    interval = os.environ.get("TICKSTREAM_PROMETHEUS_INTERVAL")
    if interval:
        if not re.fullmatch(r"[0-9]+(ms|s|m)", interval):
            raise procs.StackError(f"TICKSTREAM_PROMETHEUS_INTERVAL={interval!r}: write a duration such as 2s or 15s")
        text = re.sub(r"(?m)^(  (?:scrape|evaluation)_interval:) \S+", rf"\1 {interval}", text)
    out = stack.path("prometheus", "prometheus.yml")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    rules = stack.path("prometheus", "rules")
    shutil.rmtree(rules, ignore_errors=True)
    rules.mkdir(parents=True)
    source = Path(os.environ.get("TICKSTREAM_PROMETHEUS_RULES") or RULES)
    files = sorted(source.glob("*.yml")) if source.is_dir() else [source]
    for f in files:
        if not f.is_file():
            raise procs.StackError(f"no Prometheus rules file {f} (TICKSTREAM_PROMETHEUS_RULES)")
        shutil.copy(f, rules / f.name)
    return out


def render_alertmanager(stack: Stack) -> Path:
    """alertmanager.yml: TICKSTREAM_ALERTMANAGER_CONFIG (your own file, used as it is) or the repo's, with the
    stack's alert-log port."""
    own = os.environ.get("TICKSTREAM_ALERTMANAGER_CONFIG")
    if own:
        if not Path(own).is_file():
            raise procs.StackError(f"TICKSTREAM_ALERTMANAGER_CONFIG={own}: no such file")
        text = Path(own).read_text()
    else:
        text = ALERTMANAGER_TEMPLATE.read_text()
        for default, name in WEBHOOK_PORTS.items():
            text = text.replace(f"http://127.0.0.1:{default}/", f"http://127.0.0.1:{stack.port(name)}/")
    out = stack.path("alertmanager", "alertmanager.yml")
    out.write_text(text)
    return out


class _Service(ProcessComponent):
    """A single binary started with a port; skipped with a clear line when it is not installed."""

    def __init__(self, name: str, binary: str, port_name: str, package: str):
        super().__init__(name)
        self.binary, self.port_name, self.package = binary, port_name, package

    def command(self, stack: Stack) -> list[str]:
        raise NotImplementedError

    def env(self, stack: Stack) -> dict:
        return dict(os.environ)

    def argv0(self, stack: Stack) -> str | None:
        return None

    def up(self, stack: Stack) -> None:
        port = stack.port(self.port_name)
        pid = self.pid(stack)
        if pid and procs.port_open(port):
            print(f"  {self.name:<12} already running (pid {pid}) on 127.0.0.1:{port}")
            return
        if not shutil.which(self.binary):
            print(
                f"  {self.name:<12} not installed, skipped: install it with `apt-get install {self.package}` "
                f"(Debian) and run `deploy/tickstream up` again"
            )
            return
        procs.require_free_port(port, self.port_name)
        pid = self.start(stack, self.command(stack), port=port, env=self.env(stack), argv0=self.argv0(stack))
        print(f"  {self.name:<12} started (pid {pid}) on http://127.0.0.1:{port}")

    def status(self, stack: Stack) -> dict:
        return self.status_row(
            stack, stack.port(self.port_name), stopped="stopped" if shutil.which(self.binary) else "missing"
        )


class _Prometheus(_Service):
    def command(self, stack: Stack) -> list[str]:
        data = stack.path("prometheus", "data")
        data.mkdir(parents=True, exist_ok=True)
        # The state dir in the command line is how `down` recognises its own process.
        return [
            shutil.which(self.binary),
            f"--config.file={render_config(stack)}",
            f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{stack.port(self.port_name)}",
            "--storage.tsdb.retention.time=7d",
        ]


class _PostgresExporter(_Service):
    def command(self, stack: Stack) -> list[str]:
        return [
            shutil.which(self.binary),
            f"--web.listen-address=127.0.0.1:{stack.port(self.port_name)}",
            "--log.level=warn",
            "--collector.database",
            "--disable-settings-metrics",
        ]

    def argv0(self, stack: Stack) -> str:
        # Its flags hold no path, so its argv[0] carries the state dir: how `down` recognises its own process.
        return str(stack.path("bin", self.binary))

    def env(self, stack: Stack) -> dict:
        adm = postgres.admin(stack)
        # As the least-privilege role of sql/015 and 095 (pg_monitor), never the superuser. The password goes
        # through the environment, never the command line (visible in ps).
        role = "postgres_exporter"
        dsn = (
            f"postgresql://{role}:{urllib.parse.quote(postgres.role_password(role))}@{adm.host}:{adm.port}"
            f"/{postgres.DATABASE}?sslmode=disable"
        )
        return dict(os.environ, DATA_SOURCE_NAME=dsn)


class _Alertmanager(_Service):
    def command(self, stack: Stack) -> list[str]:
        data = stack.path("alertmanager", "data")
        data.mkdir(parents=True, exist_ok=True)
        port = stack.port(self.port_name)
        # One instance: no cluster (its gossip port would be 9094 on every interface). Silences and the
        # notification log live in the state dir, so they survive a restart.
        return [
            shutil.which(self.binary),
            f"--config.file={render_alertmanager(stack)}",
            f"--storage.path={data}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            f"--web.external-url=http://127.0.0.1:{port}",
            "--log.level=warn",
        ]

    def up(self, stack: Stack) -> None:
        super().up(stack)
        if stack.component(self.name):
            stack.set_endpoint("alertmanager", f"http://127.0.0.1:{stack.port(self.port_name)}")


prometheus = _Prometheus("prometheus", "prometheus", "prometheus", "prometheus")
alertmanager = _Alertmanager("alertmanager", "prometheus-alertmanager", "alertmanager", "prometheus-alertmanager")
postgres_exporter = _PostgresExporter(
    "pg-exporter", "prometheus-postgres-exporter", "postgres_exporter", "prometheus-postgres-exporter"
)
