"""deploy/stack/component.py on real processes: started, waited for, recognised as ours, refused when they die at
start-up or never become ready, stopped by group."""

import subprocess
import sys

import pytest

from stack import procs
from stack.component import ProcessComponent
from stack.procs import StackError
from stack.state import Stack


@pytest.fixture
def stack(tmp_path):
    (tmp_path / "state").mkdir()
    return Stack(tmp_path / "state")


def _server(port: int, before: str = "") -> list[str]:
    return [
        sys.executable,
        "-c",
        f"{before}import socket, time\n"
        f"s = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen()\n"
        "print('listening', flush=True)\n"
        "time.sleep(60)",
    ]


def test_a_process_that_opens_its_port_is_started_recorded_owned_and_stopped(stack, capsys):
    port = procs.free_ports(1)[0]
    component = ProcessComponent("probe")
    # its command line carries the state dir: the marker that tells our process from a reused pid
    pid = component.start(stack, [*_server(port), str(stack.home)], port=port, timeout=30)
    assert component.pid(stack) == pid
    assert component.status_row(stack, port)["state"] == "running"
    assert stack.component("probe")["port"] == port

    component.down(stack)
    assert not procs.is_alive(pid)
    assert component.pid(stack) is None and stack.component("probe") == {}
    assert component.status_row(stack, port)["state"] == "stopped"
    assert f"probe        stopped (pid {pid})" in capsys.readouterr().out


def test_a_process_that_dies_at_start_up_fails_the_start_with_its_log(stack):
    component = ProcessComponent("probe", "the probe")
    with pytest.raises(StackError, match=r"(?s)the probe exited at start-up; log tail.*no such config"):
        component.start(
            stack, [sys.executable, "-c", "import sys; sys.exit('no such config')"], port=procs.free_ports(1)[0]
        )


def test_a_process_that_never_becomes_ready_fails_the_start_in_time(stack):
    port = procs.free_ports(1)[0]
    component = ProcessComponent("probe", "the probe")
    with pytest.raises(StackError, match=r"the probe did not register within 1 s"):
        component.start(stack, _server(port), port=port, ready=lambda: False, waiting_for="register", timeout=1)
    component.down(stack)


def test_a_pid_that_is_not_ours_is_never_owned(stack):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stack.record("probe", pid=other.pid)
        component = ProcessComponent("probe")
        assert component.pid(stack) is None  # alive, but its command line lacks the state dir
        component.down(stack)
        assert other.poll() is None  # never stopped
    finally:
        other.kill()
        other.wait()
