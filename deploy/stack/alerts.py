"""The anomaly notifier (anomalies topic -> Alertmanager) and the alert log (Alertmanager's default webhook
receiver, notifications into <state>/alerts/notifications.jsonl): Python processes of the producers' venv."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from . import kafka, procs, producers
from .component import ProcessComponent
from .procs import StackError
from .state import Stack


class _PythonComponent(ProcessComponent):
    def __init__(self, name: str, port_name: str):
        super().__init__(name)
        self.port_name = port_name

    def workdir(self, stack: Stack) -> Path:
        """Ours when it runs in the state dir's folder for it (as the producers): guards pid reuse."""
        return stack.path(self.name, "x").parent

    def args(self, stack: Stack) -> list[str]:
        raise NotImplementedError

    def describe(self, stack: Stack) -> str:
        return f"on 127.0.0.1:{stack.port(self.port_name)}"

    def up(self, stack: Stack) -> None:
        port = stack.port(self.port_name)
        pid = self.pid(stack)
        if pid:
            print(f"  {self.name:<12} already running (pid {pid}) {self.describe(stack)}")
            return
        procs.require_free_port(port, self.port_name)
        cmd = [str(producers.ensure_venv()), "-m", "tickstream_producers", *self.args(stack)]
        pid = self.start(stack, cmd, port=port, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        print(f"  {self.name:<12} started (pid {pid}) {self.describe(stack)}")

    def status(self, stack: Stack) -> dict:
        return self.status_row(stack, stack.port(self.port_name))


class _AlertLog(_PythonComponent):
    def notifications(self, stack: Stack):
        return stack.path("alerts", "notifications.jsonl")

    def args(self, stack: Stack) -> list[str]:
        return ["alert-log", "--port", str(stack.port(self.port_name)), "--out", str(self.notifications(stack))]

    def describe(self, stack: Stack) -> str:
        return f"on http://127.0.0.1:{stack.port(self.port_name)}, notifications in {self.notifications(stack)}"


class _Notifier(_PythonComponent):
    def args(self, stack: Stack) -> list[str]:
        # Extra flags (e.g. "--active-for 30m --dashboard-url http://grafana:3000") from TICKSTREAM_NOTIFY_ARGS.
        return [
            "notify",
            "--bootstrap",
            kafka.bootstrap(stack),
            "--instance-id",
            "tickstream-notifier",
            "--alertmanager",
            f"http://127.0.0.1:{stack.port('alertmanager')}",
            "--metrics-port",
            str(stack.port(self.port_name)),
            *shlex.split(os.environ.get("TICKSTREAM_NOTIFY_ARGS", "")),
        ]

    def describe(self, stack: Stack) -> str:
        return (
            f"anomalies -> Alertmanager http://127.0.0.1:{stack.port('alertmanager')}, "
            f"metrics :{stack.port(self.port_name)}"
        )

    def up(self, stack: Stack) -> None:
        if not procs.port_open(stack.port("kafka")):
            raise StackError("the notifier needs Kafka: `deploy/tickstream up --only kafka` first")
        if not procs.port_open(stack.port("alertmanager")):
            print(f"  {self.name:<12} skipped: Alertmanager is not running (install prometheus-alertmanager)")
            return
        super().up(stack)


alert_log = _AlertLog("alert-log", "alert_log")
notifier = _Notifier("notifier", "notifier_metrics")
