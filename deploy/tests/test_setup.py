"""`deploy/tickstream up` sets up the machine: what it asks for when something is missing (and that it then starts
nothing), and the producers' venv, repaired when a run left it half-made. (Installing with apt-get as root is not
run here: the packages are on this machine and others use them. README: The two commands, says how it was proved
on a fresh Debian.)"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, TOOL, StackCli

sys.path.insert(0, str(REPO / "deploy"))
from stack import prerequisites

ENSURE_VENV = REPO / "producers" / "scripts" / "ensure_venv.py"
CHECK = "import tickstream_producers, websockets, prometheus_client, confluent_kafka, pytest"
HIDDEN = ("java", "prometheus", "prometheus-postgres-exporter", "prometheus-alertmanager")


def path_without(tmp_path: Path, hidden: tuple[str, ...]) -> str:
    """A PATH holding every program of this one but the hidden ones (links, so nothing is removed)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        d = Path(directory)
        if not d.is_dir():
            continue
        for program in d.iterdir():
            link = bin_dir / program.name
            if program.name not in hidden and not link.exists() and not link.is_symlink():
                link.symlink_to(program)
    return str(bin_dir)


def bare_python(tmp_path: Path) -> str:
    """A Python 3.11+ that cannot import confluent_kafka (a venv that does not see the system's packages)."""
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    assert subprocess.run([python, "-c", "import confluent_kafka"], capture_output=True).returncode != 0
    return python


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("runuser"), reason="needs root to run `up` as nobody")
def test_up_as_a_user_who_cannot_install_starts_nothing_and_prints_the_apt_get_line(tmp_path):
    # Missing here: java, prometheus, the exporter and Alertmanager (hidden from PATH), confluent_kafka (the
    # producers' Python is one without it and there is no venv yet).
    base = REPO / "deploy" / "target" / f"setup-nobody-{tmp_path.name}"  # a place nobody can reach
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    home = base / "state"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "TICKSTREAM_PYTHON")}
    env.update(
        PATH=path_without(base, HIDDEN),
        TICKSTREAM_PYTHON=bare_python(base),
        TICKSTREAM_PRODUCERS_VENV=str(base / "no-venv-yet"),
    )
    for d in (base, home):
        d.chmod(0o777)
    result = subprocess.run(
        ["runuser", "-u", "nobody", "--", sys.executable, str(TOOL), "--state-dir", str(home), "up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    jdk = prerequisites.packages([prerequisites.NEEDS[0]])[0]
    expected = "apt-get update && apt-get install -y --no-install-recommends " + " ".join(
        sorted(
            [jdk, "prometheus", "prometheus-alertmanager", "prometheus-postgres-exporter", "python3-confluent-kafka"]
        )
    )
    if shutil.which("sudo", path=env["PATH"]):
        expected = expected.replace("apt-get", "sudo apt-get")
    lines = result.stderr.splitlines()
    assert any(line.strip() == expected for line in lines), result.stderr
    assert any(
        line.strip().endswith("systemctl disable --now prometheus prometheus-alertmanager prometheus-postgres-exporter")
        for line in lines
    ), result.stderr
    for what in (
        "a JDK 17+",
        "Prometheus",
        "the PostgreSQL exporter",
        "Alertmanager",
        "confluent_kafka",
        "nothing was started",
    ):
        assert what in result.stderr
    # It stopped before anything: no ports chosen, no component, no log, no data, no venv; nothing runs from here.
    assert sorted(p.name for p in home.iterdir()) == [], list(home.iterdir())
    assert not (base / "no-venv-yet").exists()
    running = subprocess.run(["pgrep", "-f", str(home)], capture_output=True, text=True).stdout.split()
    assert not running


def test_up_with_nothing_missing_installs_nothing():
    everything = [
        "postgres",
        "kafka",
        "flink",
        "job",
        "pg-exporter",
        "alert-log",
        "alertmanager",
        "prometheus",
        "notifier",
        "producers",
    ]
    if prerequisites.missing(everything):
        pytest.skip(f"this machine lacks {[n.package for n in prerequisites.missing(everything)]}")
    assert prerequisites.missing(everything) == []
    assert prerequisites.missing(["kafka"]) == []


def ensure_venv(venv: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ENSURE_VENV), "--venv", str(venv)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **env},
    )


def ready(venv: Path) -> bool:
    return subprocess.run([str(venv / "bin" / "python"), "-c", CHECK], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def remade_venv(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """A venv made without --system-site-packages, then ensure_venv on it (what the first test checks); the next
    test starts from the ready venv this leaves, one full install fewer (each takes 20-30 s)."""
    venv = tmp_path_factory.mktemp("remade") / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True)
    return venv, ensure_venv(venv)


def test_a_venv_made_without_the_systems_packages_is_made_again(remade_venv):
    """A venv that cannot see python3-confluent-kafka (made over another Python, or without
    --system-site-packages): pip cannot get confluent-kafka into it here, so it is made again over the system's."""
    venv, result = remade_venv
    assert result.returncode == 0, result.stdout + result.stderr
    assert "does not see the system's packages" in result.stdout
    assert ready(venv)
    assert "include-system-site-packages = true" in (venv / "pyvenv.cfg").read_text()
    again = ensure_venv(venv)
    assert again.returncode == 0 and "is up to date" in again.stdout, again.stdout + again.stderr


def test_an_interrupted_install_and_a_broken_interpreter_are_repaired(remade_venv, tmp_path):
    venv, made = remade_venv  # made ready by ensure_venv
    assert made.returncode == 0 and ready(venv), made.stdout + made.stderr
    # The install interrupted: the package gone, the stamp still there.
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "uninstall", "-y", "-q", "tickstream-producers"],
        check=True,
        capture_output=True,
    )
    assert not ready(venv)
    result = ensure_venv(venv)
    assert result.returncode == 0 and ready(venv), result.stdout + result.stderr
    # The interpreter it was made over is gone (a dangling link).
    python = venv / "bin" / "python"
    target = python.resolve()
    python.unlink()
    python.symlink_to(tmp_path / "gone" / target.name)
    result = ensure_venv(venv)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "has no interpreter" in result.stdout and ready(venv)


def test_up_repairs_a_venv_a_failed_run_left_half_made_and_the_producers_run_from_it(tmp_path):
    """The first `up` on a machine without python3-confluent-kafka made the venv and failed in pip; the package
    is there now. `up` must finish the venv, not reuse it broken ("No module named tickstream_producers")."""
    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(venv)], check=True)
    assert not ready(venv)
    stack = StackCli(REPO / "deploy" / "target" / f"setup-{tmp_path.name}")
    env = {"TICKSTREAM_PRODUCERS_VENV": str(venv)}
    try:
        up = stack.run("up", "--free-ports", "--only", "kafka,producers", env=env)
        assert ready(venv)
        assert f"{venv} is ready" in up.stdout, up.stdout
        pid = next(c["pid"] for c in stack.status()["components"] if c["component"] == "producers")
        assert pid and os.readlink(f"/proc/{pid}/exe").startswith("/usr/bin/python3")
        assert (Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()) == str(venv / "bin" / "python")
        again = stack.run("up", "--free-ports", "--only", "kafka,producers", env=env)
        assert "already running" in again.stdout
    finally:
        down = stack.run("down", check=False)
        assert down.returncode == 0, down.stdout + down.stderr


def test_a_bad_timescaledb_switch_stops_up_before_anything_starts(tmp_path):
    stack = StackCli(REPO / "deploy" / "target" / f"setup-switch-{tmp_path.name}")
    result = stack.run("up", "--free-ports", "--only", "postgres", env={"TICKSTREAM_TIMESCALEDB": "maybe"}, check=False)
    assert result.returncode == 1
    assert "TICKSTREAM_TIMESCALEDB must be auto, on or off, got 'maybe'" in result.stderr, result.stderr
    assert not (stack.home / "postgres").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="as root only: the server then runs as the postgres system user")
def test_a_state_dir_the_postgres_user_cannot_reach_gets_the_servers_files_elsewhere(tmp_path):
    """As root, a clone under /root (mode 700): PostgreSQL runs as 'postgres', which cannot reach the state dir."""
    private = tmp_path / "root-like"
    private.mkdir(mode=0o700)
    stack = StackCli(private / "tickstream" / ".stack")
    place = None
    try:
        up = stack.run("up", "--free-ports", "--only", "postgres")
        assert "the postgres system user cannot reach" in up.stdout, up.stdout
        data = stack.home / "postgres" / "data"
        place = data.resolve().parent
        assert data.is_symlink() and place.parent == Path("/var/lib/postgresql/tickstream")
        assert (place / "data" / "PG_VERSION").exists()
        status = {c["component"]: c for c in stack.status()["components"]}
        assert status["postgres"]["state"] == "running"
        assert "LOG:" in stack.run("logs", "postgres").stdout
        again = stack.run("up", "--free-ports", "--only", "postgres")
        assert "already running" in again.stdout
        assert stack.run("down").returncode == 0
        assert stack.status()["components"][0]["state"] == "stopped"
    finally:
        stack.run("down", check=False)
        if place:
            shutil.rmtree(place, ignore_errors=True)
