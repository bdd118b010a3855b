"""The anomaly notifier (anomalies topic -> Alertmanager) and the alert log (Alertmanager's default webhook
receiver, notifications into <state>/alerts/notifications.jsonl): Python processes of the producers' venv."""

from __future__ import annotations

import os
import shlex

from . import kafka, procs, producers
from .procs import StackError
from .state import Stack


def _owns(stack: Stack, name: str, pid) -> bool:
    """Ours when it runs in the state dir's folder for it (as the producers): guards pid reuse."""
    if not pid or not procs.is_alive(pid):
        return False
    try:
        return os.readlink(f"/proc/{pid}/cwd") == str(stack.path(name, "x").parent)
    except OSError:
        return procs.owns(pid, str(stack.home))


class _PythonComponent:
    def __init__(self, name: str, port_name: str):
        self.name, self.port_name = name, port_name

    def args(self, stack: Stack) -> list[str]:
        raise NotImplementedError

    def describe(self, stack: Stack) -> str:
        return f"on 127.0.0.1:{stack.port(self.port_name)}"

    def up(self, stack: Stack) -> None:
        current = stack.component(self.name)
        port = stack.port(self.port_name)
        if _owns(stack, self.name, current.get("pid")):
            print(f"  {self.name:<12} already running (pid {current['pid']}) {self.describe(stack)}")
            return
        if not procs.port_free(port):
            raise StackError(
                f"port {port} ({self.port_name}) is taken by {procs.port_holder(port)}; "
                f"stop it, or start the stack with --port {self.port_name}=<free port>"
            )
        python = producers.ensure_venv()
        cwd = stack.path(self.name, "x").parent
        cwd.mkdir(parents=True, exist_ok=True)
        log = stack.log(self.name)
        cmd = [str(python), "-m", "tickstream_producers", *self.args(stack)]
        pid = procs.start_detached(cmd, log, env=dict(os.environ, PYTHONUNBUFFERED="1"), cwd=cwd)
        stack.record(self.name, pid=pid, log=str(log), port=port)
        if not procs.wait_until(lambda: procs.port_open(port) or not procs.is_alive(pid), 30) or not procs.is_alive(
            pid
        ):
            raise StackError(f"{self.name} did not start on port {port}; log tail:\n{procs.log_tail(log)}")
        print(f"  {self.name:<12} started (pid {pid}) {self.describe(stack)}")

    def down(self, stack: Stack) -> None:
        current = stack.component(self.name)
        if _owns(stack, self.name, current.get("pid")):
            procs.stop(current["pid"])
            print(f"  {self.name:<12} stopped (pid {current['pid']})")
        stack.forget(self.name)

    def status(self, stack: Stack) -> dict:
        current = stack.component(self.name)
        running = _owns(stack, self.name, current.get("pid"))
        return {
            "component": self.name,
            "pid": current.get("pid") if running else None,
            "port": stack.port(self.port_name),
            "state": "running" if running else "stopped",
            "log": current.get("log"),
        }


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
