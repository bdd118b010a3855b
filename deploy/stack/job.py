"""The TickStream job on the session cluster: submitted with `flink run`, resumed from its last savepoint or
retained checkpoint, stopped with a savepoint on `down`, upgraded by stop-with-savepoint and `run -s`."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Optional

from . import flink, kafka, postgres
from .procs import StackError
from .state import REPO, Stack

NAME = "job"
JOB_NAME = "tickstream"
DEFAULT_JAR = REPO / "job" / "target" / "job.jar"


def job_args(stack: Stack) -> list[str]:
    """The stack's endpoints, then any extra job parameters from TICKSTREAM_JOB_ARGS (e.g. "--delivery exactly-once")."""
    return ["--kafka-bootstrap", kafka.bootstrap(stack), "--jdbc-url", stack.endpoint("jdbc_url"),
            *shlex.split(os.environ.get("TICKSTREAM_JOB_ARGS", ""))]


def ensure_jar(jar: Path) -> Path:
    if jar == DEFAULT_JAR and not jar.exists():
        print("  job          building job/target/job.jar (once) ...", flush=True)
        result = subprocess.run([str(REPO / "mvnw"), "-q", "-pl", "job", "package", "-DskipTests"], cwd=REPO,
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise StackError(f"could not build job.jar:\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    if not jar.exists():
        raise StackError(f"{jar} does not exist: build it with ./mvnw -pl job package")
    return jar


def running_job(stack: Stack) -> Optional[dict]:
    try:
        jobs = flink.rest(stack, "/jobs/overview").get("jobs", [])
    except OSError:
        return None
    live = [j for j in jobs if j["name"] == JOB_NAME and j["state"] not in ("FINISHED", "CANCELED", "FAILED")]
    return live[0] if live else None


def latest_restore_point(stack: Stack) -> Optional[str]:
    """The newest of the last savepoint taken by `down`/`upgrade` and the retained checkpoints."""
    candidates = []
    savepoint = stack.component(NAME).get("savepoint")
    if savepoint and Path(savepoint.removeprefix("file:")).exists():
        candidates.append(Path(savepoint.removeprefix("file:")))
    candidates += [p.parent for p in stack.path("flink", "checkpoints").glob("*/chk-*/_metadata")]
    if not candidates:
        return None
    return str(max(candidates, key=lambda p: p.stat().st_mtime))


def _submit(stack: Stack, jar: Path, restore: Optional[str]) -> str:
    env = dict(os.environ)
    env.setdefault("TICKSTREAM_JDBC_PASSWORD", postgres.job_password())
    args = ["run", "-d"]
    if restore:
        args += ["-s", restore]
    result = flink.cli(stack, [*args, str(jar), *job_args(stack)], capture=True, env=env)
    match = re.search(r"JobID ([0-9a-f]{32})", result.stdout + result.stderr)
    if result.returncode != 0 or not match:
        raise StackError(f"flink run failed (exit {result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return match.group(1)


def up(stack: Stack, jar: Path = DEFAULT_JAR) -> None:
    current = running_job(stack)
    if current:
        print(f"  job          already running ({current['jid']}, {current['state']})")
        return
    jar = ensure_jar(jar)
    restore = latest_restore_point(stack)
    job_id = _submit(stack, jar, restore)
    stack.record(NAME, job_id=job_id, jar=str(jar), savepoint=stack.component(NAME).get("savepoint"))
    print(f"  job          submitted with flink run ({job_id})" + (f", restored from {restore}" if restore else ""))


def stop_with_savepoint(stack: Stack, job_id: str) -> str:
    result = flink.cli(stack, ["stop", "--savepointPath", str(stack.path("flink", "savepoints")), job_id], capture=True)
    match = re.search(r"Savepoint completed\. Path: (\S+)", result.stdout + result.stderr)
    if result.returncode != 0 or not match:
        raise StackError(f"stop with savepoint failed, the job keeps running:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return match.group(1)


def down(stack: Stack) -> None:
    current = running_job(stack)
    if current:
        try:
            savepoint = stop_with_savepoint(stack, current["jid"])
        except StackError as e:
            # E.g. the job is restarting: cancel it; its retained checkpoints still let the next `up` resume.
            flink.cli(stack, ["cancel", current["jid"]], capture=True)
            print(f"  job          could not take a savepoint, cancelled {current['jid']} (the next `up` resumes "
                  f"from its last retained checkpoint): {str(e).splitlines()[0]}")
            return
        stack.record(NAME, **{**stack.component(NAME), "savepoint": savepoint})
        print(f"  job          stopped with savepoint {savepoint} (the next `up` resumes from it)")


def upgrade(stack: Stack, jar: Path) -> None:
    jar = ensure_jar(jar.resolve())
    current = running_job(stack)
    if not current:
        raise StackError("no running tickstream job to upgrade; `deploy/tickstream up` starts one")
    print(f"  job          stopping {current['jid']} with a savepoint ...", flush=True)
    savepoint = stop_with_savepoint(stack, current["jid"])
    print(f"  job          savepoint: {savepoint}")
    job_id = _submit(stack, jar, savepoint)
    stack.record(NAME, job_id=job_id, jar=str(jar), savepoint=savepoint)
    print(f"  job          {jar.name} running as {job_id}, restored from {savepoint}")


def status(stack: Stack) -> dict:
    current = running_job(stack)
    return {"component": NAME, "pid": None, "port": stack.port("flink_rest"),
            "state": current["state"].lower() if current else "stopped",
            "log": current["jid"] if current else stack.component(NAME).get("savepoint")}
