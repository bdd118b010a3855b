"""What every process the stack runs has in common: started detached with its log in the state dir, recorded in
stack.json, recognised as ours by a marker in its command line (so a reused pid is never stopped), waited for until it
is ready or has died, stopped by process group, and reported by `status`. PostgreSQL is the exception: pg_ctl starts
and stops it (deploy/stack/postgres.py)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from . import procs
from .procs import StackError
from .state import Stack


class ProcessComponent:
    def __init__(self, name: str, title: str | None = None):
        """name: its key in stack.json and its log's name; title: how errors name it (e.g. 'the Flink JobManager')."""
        self.name = name
        self.title = title or name

    def marker(self, stack: Stack) -> str:
        """A string only our process's command line holds: the state dir, by default."""
        return str(stack.home)

    def workdir(self, stack: Stack) -> Path | None:
        """The folder of its own it runs in, when that (rather than its command line) marks the process as ours."""
        return None

    def owns(self, stack: Stack, pid: int | None) -> bool:
        workdir = self.workdir(stack)
        if workdir is None or not pid or not procs.is_alive(pid):
            return procs.owns(pid, self.marker(stack))
        try:
            return os.readlink(f"/proc/{pid}/cwd") == str(workdir)
        except OSError:  # no /proc (macOS)
            return procs.owns(pid, self.marker(stack))

    def pid(self, stack: Stack) -> int | None:
        """The pid of our running process, or None."""
        pid = stack.component(self.name).get("pid")
        return pid if self.owns(stack, pid) else None

    def start(
        self,
        stack: Stack,
        cmd: Sequence[str],
        *,
        port: int,
        ready: Callable[[], bool] | None = None,
        waiting_for: str | None = None,
        timeout: float = 30,
        log: Path | None = None,
        output: Path | None = None,
        env: dict | None = None,
        cwd: Path | None = None,
        argv0: str | None = None,
        **recorded,
    ) -> int:
        """Starts cmd, records it, and waits until ready() (default: its port accepts connections); a process that
        exits or is not ready in time fails the start with its log's tail. output: where stdout/stderr go when the
        process writes its own log."""
        log = log or stack.log(self.name)
        cwd = cwd or self.workdir(stack)
        if cwd:
            cwd.mkdir(parents=True, exist_ok=True)
        pid = procs.start_detached(cmd, output or log, env=env, cwd=cwd, argv0=argv0)
        stack.record(self.name, pid=pid, log=str(log), port=port, **recorded)
        ready = ready or (lambda: procs.port_open(port))
        became_ready = procs.wait_until(lambda: ready() or not procs.is_alive(pid), timeout)
        if not procs.is_alive(pid) or not became_ready:
            what = "exited at start-up" if not procs.is_alive(pid) else f"did not {waiting_for or f'open port {port}'}"
            tails = [procs.log_tail(log)] + ([procs.log_tail(output)] if output and output != log else [])
            raise StackError(
                f"{self.title} {what}{'' if 'exited' in what else f' within {timeout:g} s'}; "
                f"log tail ({log}):\n" + "\n".join(tails)
            )
        return pid

    def down(self, stack: Stack, timeout: float = 20.0, label: str | None = None) -> None:
        """Stops our process (SIGTERM to its group, SIGKILL after timeout) and forgets it."""
        pid = self.pid(stack)
        if pid:
            procs.stop(pid, timeout=timeout)
            print(f"  {label or f'{self.name:<12}'} stopped (pid {pid})")
        stack.forget(self.name)

    def status_row(self, stack: Stack, port: int, running: bool | None = None, stopped: str = "stopped") -> dict:
        """The component's row of `status`; running: whether it serves (default: ours and alive)."""
        pid = self.pid(stack)
        return {
            "component": self.name,
            "pid": pid,
            "port": port,
            "state": "running" if (pid is not None if running is None else running) else stopped,
            "log": stack.component(self.name).get("log"),
        }
