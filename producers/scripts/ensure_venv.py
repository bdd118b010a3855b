#!/usr/bin/env python3
"""Makes the producers' venv ready (producers/.venv, or --venv DIR, or $TICKSTREAM_PRODUCERS_VENV) for
`deploy/tickstream up` and the tests: made with --system-site-packages over a Python 3.11+ that can already import
confluent_kafka (Debian's python3-confluent-kafka) when there is one, then `pip install -e .[test]`. Quick (well
under a second) when everything is in place: its stamp matches pyproject.toml/requirements.txt and every package
imports.

A half-made venv is repaired, not reused broken: one whose install failed or was interrupted is installed again;
one that cannot run, does not see the system's packages, or cannot import confluent_kafka while the base Python
can (made before python3-confluent-kafka was installed, or over another Python) is made again from scratch, and so
is one in which the install fails. Stdlib only; run with any Python 3."""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

PRODUCERS = Path(__file__).resolve().parent.parent
DEFAULT_VENV = PRODUCERS / ".venv"
STAMP_NAME = ".tickstream-installed"
CHECK = (
    "import tickstream_producers, websockets, prometheus_client, confluent_kafka, pytest, pytest_asyncio, "
    "pytest_timeout, yaml, jsonschema, hypothesis, ruff"
)


def say(msg: str) -> None:
    print(f"ensure_venv: {msg}", flush=True)


def venv_dir() -> Path:
    return Path(os.environ.get("TICKSTREAM_PRODUCERS_VENV") or DEFAULT_VENV).absolute()


def python_of(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def fingerprint() -> str:
    h = hashlib.sha256()
    for name in ("pyproject.toml", "requirements.txt"):
        p = PRODUCERS / name
        if p.exists():
            h.update(p.read_bytes())
    return h.hexdigest()


def works(python: str | Path, code: str) -> bool:
    try:
        return subprocess.run([str(python), "-c", code], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def up_to_date(venv: Path) -> bool:
    stamp = venv / STAMP_NAME
    return (
        python_of(venv).exists()
        and stamp.exists()
        and stamp.read_text().strip() == fingerprint()
        and works(python_of(venv), CHECK)
    )


def candidates() -> list[str]:
    """$TICKSTREAM_PYTHON alone when set, else the system's Python first (where Debian installs its packages)."""
    if os.environ.get("TICKSTREAM_PYTHON"):
        return [os.environ["TICKSTREAM_PYTHON"]]
    found = ["/usr/bin/python3", shutil.which("python3.11"), shutil.which("python3"), sys.executable]
    return [c for c in dict.fromkeys(found) if c and Path(c).exists()]


def base_python() -> str | None:
    """The Python the venv is made over: the first 3.11+ that imports confluent_kafka, else the first with venv
    (pip then installs confluent-kafka from PyPI)."""
    for c in candidates():
        if works(c, "import sys, confluent_kafka; assert sys.version_info >= (3, 11)"):
            return c
    for c in candidates():
        if works(c, "import sys, ensurepip, venv; assert sys.version_info >= (3, 11)"):
            return c
    return None


def sees_system_packages(venv: Path) -> bool:
    cfg = venv / "pyvenv.cfg"
    if not cfg.exists():
        return False
    for line in cfg.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "include-system-site-packages":
            return value.strip().lower() == "true"
    return False


def why_remake(venv: Path, base: str) -> str | None:
    """Why the venv cannot be installed into as it is, or None."""
    py = python_of(venv)
    if not py.exists():
        return "there is none" if not venv.exists() else "it has no interpreter"
    if not works(py, "import sys"):
        return "its interpreter does not run"
    if not sees_system_packages(venv):
        return "it does not see the system's packages (not made with --system-site-packages)"
    if works(base, "import confluent_kafka") and not works(py, "import confluent_kafka"):
        return f"it cannot import confluent_kafka, which {base} can (made over another Python)"
    return None


def make(venv: Path, base: str) -> None:
    if venv.exists() or venv.is_symlink():
        shutil.rmtree(venv)
    subprocess.run([base, "-m", "venv", "--system-site-packages", str(venv)], check=True)


def install(venv: Path) -> subprocess.CompletedProcess:
    say("pip install -e .[test]")
    retries = os.environ.get("PIP_RETRIES", "1")
    return subprocess.run(
        [
            str(python_of(venv)),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            "--retries",
            retries,
            "-e",
            ".[test]",
        ],
        cwd=PRODUCERS,
        capture_output=True,
        text=True,
        # The pip that installs the build backend (setuptools) in an isolated build environment reads the environment,
        # not this command line: without PIP_RETRIES it retried an unreachable index 5 times with backoff (8 s).
        env=dict(os.environ, PIP_RETRIES=retries),
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--venv", type=Path, default=None, help="the venv (default $TICKSTREAM_PRODUCERS_VENV or producers/.venv)"
    )
    venv = (parser.parse_args(argv).venv or venv_dir()).absolute()
    if up_to_date(venv):
        say(f"{venv} is up to date")
        return 0
    base = base_python()
    if not base:
        sys.exit(
            "ensure_venv: no Python 3.11+ with the venv module found (Debian: apt-get install python3-venv; "
            "or set TICKSTREAM_PYTHON)"
        )
    remade = why_remake(venv, base)
    if remade:
        say(f"making {venv} over {base} (--system-site-packages): {remade}")
        make(venv, base)
    result = install(venv)
    if result.returncode != 0 and not remade:
        say(f"the install failed in the existing {venv}: making it again over {base}")
        make(venv, base)
        result = install(venv)
    if result.returncode != 0:
        sys.exit(
            f"ensure_venv: pip install -e .[test] failed in {venv}:\n{result.stdout[-2000:]}{result.stderr[-3000:]}"
        )
    if not works(python_of(venv), CHECK):
        sys.exit("ensure_venv: installed, but the packages still do not import: " + CHECK)
    (venv / STAMP_NAME).write_text(fingerprint() + "\n")
    say(f"{venv} is ready")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
