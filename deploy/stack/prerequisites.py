"""What the stack needs from the operating system, checked before anything starts. As root on Debian (or a
derivative: apt-get and dpkg) `up` installs what is missing, without starting the packages' own services (the
stack runs its own instances on its own ports) and without enabling them at boot; otherwise it stops before
starting anything and prints the command that installs it."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import postgres, producers, state
from .procs import StackError

POLICY_RC_D = Path("/usr/sbin/policy-rc.d")
# A JDK that runs Kafka, Flink 2.2 and builds job.jar (--release 17); Debian 12 has 17, later releases 21+.
JDK_PACKAGES = ("openjdk-17-jdk-headless", "openjdk-21-jdk-headless")
# The services these packages start and enable; the stack runs its own instances instead, on the same ports.
SERVICES = {
    "postgresql": "postgresql",
    "prometheus": "prometheus",
    "prometheus-postgres-exporter": "prometheus-postgres-exporter",
    "prometheus-alertmanager": "prometheus-alertmanager",
}


@dataclass(frozen=True)
class Need:
    what: str  # what is missing, for the message
    package: str  # the Debian package that brings it ("jdk": the first of JDK_PACKAGES apt knows)
    components: frozenset[str]  # the components that need it
    present: Callable[[], bool]


def _succeeds(check: Callable[[], object]) -> Callable[[], bool]:
    def present() -> bool:
        try:
            check()
            return True
        except StackError:
            return False

    return present


def _server() -> bool:
    # A given server (TICKSTREAM_PG_ADMIN_URL) needs none; if it does not answer, `up` says so and needs one.
    return bool(os.environ.get("TICKSTREAM_PG_ADMIN_URL")) or _succeeds(postgres.server_bindir)()


def _producers_python(code: str) -> Callable[[], bool]:
    """A module the producers' venv takes from the Python it is made over (it sees the system's packages)."""

    def present() -> bool:
        if producers.venv_ready():
            return True
        base = producers.base_python()
        return bool(base) and subprocess.run([base, "-c", code], capture_output=True).returncode == 0

    return present


def _program(name: str) -> Callable[[], bool]:
    return lambda: shutil.which(name) is not None


NEEDS = (
    Need(
        "a JDK 17+ (Kafka, Flink, building job.jar)", "jdk", frozenset({"kafka", "flink", "job"}), _succeeds(state.java)
    ),
    Need("the PostgreSQL server", "postgresql", frozenset({"postgres"}), _server),
    Need("psql", "postgresql-client", frozenset({"postgres"}), _succeeds(postgres.psql_binary)),
    Need(
        "Python's venv module (the producers' environment)",
        "python3-venv",
        frozenset({"producers", "notifier", "alert-log"}),
        _producers_python("import ensurepip, venv"),
    ),
    Need(
        "the Kafka client for Python (confluent_kafka)",
        "python3-confluent-kafka",
        frozenset({"producers", "notifier"}),
        _producers_python("import confluent_kafka"),
    ),
    Need("Prometheus", "prometheus", frozenset({"prometheus"}), _program("prometheus")),
    Need(
        "the PostgreSQL exporter",
        "prometheus-postgres-exporter",
        frozenset({"pg-exporter"}),
        _program("prometheus-postgres-exporter"),
    ),
    Need("Alertmanager", "prometheus-alertmanager", frozenset({"alertmanager"}), _program("prometheus-alertmanager")),
)


def missing(components: list[str]) -> list[Need]:
    wanted = set(components)
    return [need for need in NEEDS if need.components & wanted and not need.present()]


def _jdk_package() -> str:
    for package in JDK_PACKAGES:
        policy = subprocess.run(["apt-cache", "policy", package], capture_output=True, text=True).stdout
        if "Candidate:" in policy and "Candidate: (none)" not in policy:
            return package
    return JDK_PACKAGES[0]


def packages(needs: list[Need]) -> list[str]:
    return sorted({_jdk_package() if n.package == "jdk" else n.package for n in needs})


def install_commands(names: list[str], sudo: bool) -> list[str]:
    """What a user runs: apt-get, then (systemd) keeping the packages' own services from taking the stack's ports."""
    as_root = "sudo " if sudo else ""
    commands = [f"{as_root}apt-get update && {as_root}apt-get install -y --no-install-recommends {' '.join(names)}"]
    services = [SERVICES[n] for n in names if n in SERVICES]
    if services:
        commands.append(f"{as_root}systemctl disable --now {' '.join(services)}")
    return commands


def _debian() -> bool:
    return shutil.which("apt-get") is not None and shutil.which("dpkg") is not None


def _run(cmd: list[str]) -> None:
    result = subprocess.run(cmd, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), capture_output=True, text=True)
    if result.returncode != 0:
        raise StackError(
            f"{shlex.join(cmd)} failed (exit {result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )


def _disable_services(names: list[str]) -> list[str]:
    """Under systemd, the installed packages' services stay off at boot too."""
    if not (shutil.which("systemctl") and Path("/run/systemd/system").is_dir()):
        return []
    services = [SERVICES[n] for n in names if n in SERVICES]
    return [s for s in services if subprocess.run(["systemctl", "disable", "--quiet", s]).returncode == 0]


def ensure(components: list[str]) -> None:
    """Installs what the components need (root on Debian), or stops with what to run."""
    needs = missing(components)
    if not needs:
        return
    listing = "".join(f"\n    {n.what}" for n in needs)
    leave_out = ", ".join(c for c in components if any(c in n.components for n in needs))
    if not _debian():
        raise StackError(
            f"missing:{listing}\nthis is not a Debian machine (no apt-get), so install them with its "
            f"package manager and run `deploy/tickstream up` again (or leave out {leave_out} with --only)"
        )
    names = packages(needs)
    if os.geteuid() != 0:
        commands = "\n    ".join(install_commands(names, sudo=shutil.which("sudo") is not None))
        raise StackError(
            f"missing:{listing}\nnothing was started. Install them as root, then run "
            f"`deploy/tickstream up` again (or leave out {leave_out} with --only):\n    {commands}"
        )
    print(f"  system       installing {' '.join(names)} (apt-get; their services are not started) ...", flush=True)
    # policy-rc.d keeps the packages' maintainer scripts from starting their services, as in a container build.
    made_policy = not POLICY_RC_D.exists()
    if made_policy:
        POLICY_RC_D.write_text("#!/bin/sh\nexit 101\n")
        POLICY_RC_D.chmod(0o755)
    try:
        _run(["apt-get", "update", "-qq"])
        names = packages(needs)  # the lists may only now know the JDK
        _run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *names])
    finally:
        if made_policy:
            POLICY_RC_D.unlink(missing_ok=True)
    disabled = _disable_services(names)
    still = missing(components)
    if still:
        raise StackError(f"installed {' '.join(names)}, but still missing:" + "".join(f"\n    {n.what}" for n in still))
    print(
        f"  system       installed {' '.join(names)}"
        + (f"; their services are disabled ({', '.join(disabled)}): the stack runs its own" if disabled else "")
    )
