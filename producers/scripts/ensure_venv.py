#!/usr/bin/env python3
"""Makes producers/.venv ready for the tests: created with --system-site-packages from a Python that can
already import confluent_kafka (Debian's python3-confluent-kafka) when there is one, then
`pip install -e .[test]` — only when the venv is new or pyproject.toml/requirements.txt changed.
Quick (well under a second) when everything is in place. Stdlib only; run with any Python 3."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

PRODUCERS = Path(__file__).resolve().parent.parent
VENV = PRODUCERS / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".tickstream-installed"
CHECK = ("import tickstream_producers, websockets, prometheus_client, confluent_kafka, pytest, pytest_asyncio, "
         "pytest_timeout, yaml, jsonschema, hypothesis")


def say(msg: str) -> None:
    print(f"ensure_venv: {msg}", flush=True)


def fingerprint() -> str:
    h = hashlib.sha256()
    for name in ("pyproject.toml", "requirements.txt"):
        p = PRODUCERS / name
        if p.exists():
            h.update(p.read_bytes())
    return h.hexdigest()


def works(python: str, code: str) -> bool:
    try:
        return subprocess.run([python, "-c", code], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def base_python() -> str:
    candidates = [os.environ.get("TICKSTREAM_PYTHON"), "/usr/bin/python3", shutil.which("python3.11"),
                  shutil.which("python3"), sys.executable]
    candidates = [c for c in dict.fromkeys(candidates) if c and Path(c).exists()]
    for c in candidates:
        if works(c, "import sys, confluent_kafka; assert sys.version_info >= (3, 11)"):
            return c
    for c in candidates:  # no system confluent_kafka: pip will install it from PyPI
        if works(c, "import sys, venv; assert sys.version_info >= (3, 11)"):
            return c
    sys.exit("ensure_venv: no Python 3.11+ found (set TICKSTREAM_PYTHON)")


def main() -> int:
    want = fingerprint()
    if PY.exists() and STAMP.exists() and STAMP.read_text().strip() == want and works(str(PY), CHECK):
        say(f"{VENV} is up to date")
        return 0
    if not PY.exists() or not works(str(PY), "import sys"):
        base = base_python()
        say(f"creating {VENV} from {base} (--system-site-packages)")
        if VENV.exists():
            shutil.rmtree(VENV)
        subprocess.run([base, "-m", "venv", "--system-site-packages", str(VENV)], check=True)
    say("pip install -e .[test]")
    subprocess.run([str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q",
                    "--retries", os.environ.get("PIP_RETRIES", "1"), "-e", ".[test]"],
                   cwd=PRODUCERS, check=True)
    if not works(str(PY), CHECK):
        sys.exit("ensure_venv: installed, but the packages still do not import: " + CHECK)
    STAMP.write_text(want + "\n")
    say("ready")
    return 0


if __name__ == "__main__":
    sys.exit(main())
