"""Processes the stack starts: detached into their own session, logged to a file, stopped by group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


class StackError(Exception):
    """A component could not be started or stopped; the message says what to do."""


def start_detached(
    cmd: Sequence[str], log_path: Path, env: dict | None = None, cwd: Path | None = None, argv0: str | None = None
) -> int:
    """Starts cmd in a new session (so it outlives this CLI and is stopped as a group); returns its pid."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        args = [argv0, *cmd[1:]] if argv0 else list(cmd)
        proc = subprocess.Popen(
            args,
            executable=cmd[0] if argv0 else None,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    return proc.pid


def is_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of this very process still answers kill(0); it is dead for our purposes.
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return True
    return True


def command_line(pid: int) -> str:
    """The process's command line, or '' when it is gone (works on Linux and macOS)."""
    proc = Path(f"/proc/{pid}/cmdline")
    if proc.exists():
        try:
            return proc.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return ""
    out = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True)
    return out.stdout.strip()


def owns(pid: int | None, marker: str) -> bool:
    """True when pid is alive and is the process we started (its command line holds marker): guards pid reuse."""
    return bool(pid) and is_alive(pid) and marker in command_line(pid)


def stop(pid: int, timeout: float = 20.0, sig: int = signal.SIGTERM) -> None:
    """Sends sig to the process group, waits, then SIGKILLs what is left."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    except PermissionError:
        os.kill(pid, sig)
    if wait_until(lambda: not is_alive(pid), timeout):
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    wait_until(lambda: not is_alive(pid), 10)


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    if port_open(port, host):
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As servers bind: connections of a just-stopped server in TIME_WAIT do not make its port taken.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """Ports the kernel hands out now; held together so the same one is not handed out twice."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def require_free_port(port: int, name: str, wait: float = 0.0, or_else: str = "") -> None:
    """Stops a component's start with what to do when its port is taken (after up to ``wait`` seconds: a process
    killed a moment ago may hold its port a little longer). ``name`` is the stack's port name (--port NAME=...);
    ``or_else`` another way out, said before the --port one."""
    if port_free(port) or (wait > 0 and wait_until(lambda: port_free(port), wait)):
        return
    raise StackError(
        f"port {port} ({name}) is taken by {port_holder(port)}; stop it{or_else}, "
        f"or start the stack with --port {name}=<free port>"
    )


def port_holder(port: int) -> str:
    """Best effort: which process listens on port (for the 'port taken' message)."""
    try:
        out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, timeout=5)
        line = out.stdout.strip().splitlines()
        if line:
            return line[0].split("users:")[-1] if "users:" in line[0] else line[0]
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        out = subprocess.run(
            ["lsof", "-nP", f"-iTCP:{port}", "-sTCP:LISTEN"], capture_output=True, text=True, timeout=5
        )
        rows = out.stdout.strip().splitlines()
        if len(rows) > 1:
            return rows[1]
    except (OSError, subprocess.SubprocessError):
        pass
    return "an unknown process"


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])
