"""The TickStream job on the session cluster: submitted with `flink run`, resumed from its last savepoint or
retained checkpoint, stopped with a savepoint on `down`, upgraded by stop-with-savepoint and `run -s`."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

from . import flink, kafka, postgres
from .procs import StackError
from .state import REPO, Stack

NAME = "job"
JOB_NAME = "tickstream"
DEFAULT_JAR = REPO / "job" / "target" / "job.jar"


def job_args(stack: Stack) -> list[str]:
    """The stack's endpoints, then any extra job parameters from TICKSTREAM_JOB_ARGS (e.g. "--delivery exactly-once")."""
    return [
        "--kafka-bootstrap",
        kafka.bootstrap(stack),
        "--jdbc-url",
        stack.endpoint("jdbc_url"),
        *shlex.split(os.environ.get("TICKSTREAM_JOB_ARGS", "")),
    ]


def _jar_sources() -> list[Path]:
    return [
        REPO / "pom.xml",
        REPO / "job" / "pom.xml",
        *(f for f in (REPO / "job" / "src" / "main").rglob("*") if f.is_file()),
    ]


def jar_is_stale(jar: Path) -> str | None:
    """Why the default jar must be (re)built, or None: a pull must not leave `up` running yesterday's job."""
    if not jar.exists():
        return "building job/target/job.jar (once)"
    built = jar.stat().st_mtime
    newer = [f for f in _jar_sources() if f.exists() and f.stat().st_mtime > built]
    if newer:
        return f"rebuilding job/target/job.jar ({len(newer)} source file(s) changed since it was built, e.g. {newer[0].relative_to(REPO)})"
    return None


def ensure_jar(jar: Path) -> Path:
    reason = jar_is_stale(jar) if jar == DEFAULT_JAR else None
    if reason:
        print(f"  job          {reason} ...", flush=True)
        result = subprocess.run(
            [str(REPO / "mvnw"), "-q", "-pl", "job", "package", "-DskipTests"], cwd=REPO, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise StackError(f"could not build job.jar:\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    if not jar.exists():
        raise StackError(f"{jar} does not exist: build it with ./mvnw -pl job package")
    return jar


def running_job(stack: Stack) -> dict | None:
    try:
        return live_job(flink.rest(stack, "/jobs/overview").get("jobs", []))
    except OSError:
        return None


def live_job(jobs: list[dict]) -> dict | None:
    """The tickstream job among Flink's /jobs/overview entries that has not ended, with all_running: it is RUNNING
    and so is every one of its tasks."""
    live = [j for j in jobs if j["name"] == JOB_NAME and j["state"] not in ("FINISHED", "CANCELED", "FAILED")]
    if not live:
        return None
    job = live[0]
    tasks = job.get("tasks", {})
    job["all_running"] = job["state"] == "RUNNING" and 0 < tasks.get("total", 0) == tasks.get("running", 0)
    return job


def latest_restore_point(stack: Stack) -> str | None:
    """The newest of the last savepoint taken by `down`/`upgrade` and the retained checkpoints."""
    candidates = []
    savepoint = stack.component(NAME).get("savepoint")
    if savepoint and Path(savepoint.removeprefix("file:")).exists():
        candidates.append(Path(savepoint.removeprefix("file:")))
    candidates += [p.parent for p in stack.path("flink", "checkpoints").glob("*/chk-*/_metadata")]
    if not candidates:
        return None
    return str(max(candidates, key=lambda p: p.stat().st_mtime))


def parallelism(stack: Stack) -> int | None:
    """The job's parallelism as last chosen (`up --parallelism`, `scale`, `upgrade --parallelism`); None: the cluster's
    default (parallelism.default, 2)."""
    value = stack.component(NAME).get("parallelism")
    return int(value) if value else None


def _submit(stack: Stack, jar: Path, restore: str | None, parallel: int | None = None) -> str:
    env = dict(os.environ)
    env.setdefault("TICKSTREAM_JDBC_PASSWORD", postgres.job_password())
    args = ["run", "-d"]
    if parallel:
        args += ["-p", str(parallel)]
    if restore:
        args += ["-s", restore]
    result = flink.cli(stack, [*args, str(jar), *job_args(stack)], capture=True, env=env)
    match = re.search(r"JobID ([0-9a-f]{32})", result.stdout + result.stderr)
    if result.returncode != 0 or not match:
        raise StackError(
            f"flink run failed (exit {result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    return match.group(1)


def up(stack: Stack, jar: Path = DEFAULT_JAR, parallel: int | None = None, savepoint: str | None = None) -> None:
    """Submits the job when it is not running: from `savepoint` when given, else resumed from the newest savepoint or
    retained checkpoint; at `parallel` when given, else at the parallelism it last ran with."""
    current = running_job(stack)
    if current:
        print(f"  job          already running ({current['jid']}, {current['state']})")
        return
    jar = ensure_jar(jar)
    restore = savepoint or latest_restore_point(stack)
    parallel = parallel or parallelism(stack)
    job_id = _submit(stack, jar, restore, parallel)
    stack.record(
        NAME, job_id=job_id, jar=str(jar), savepoint=stack.component(NAME).get("savepoint"), parallelism=parallel
    )
    print(
        f"  job          submitted with flink run ({job_id})"
        + (f" at parallelism {parallel}" if parallel else "")
        + (f", restored from {restore}" if restore else "")
    )


def stop_with_savepoint(stack: Stack, job_id: str) -> str:
    result = flink.cli(stack, ["stop", "--savepointPath", str(stack.path("flink", "savepoints")), job_id], capture=True)
    match = re.search(r"Savepoint completed\. Path: (\S+)", result.stdout + result.stderr)
    if result.returncode != 0 or not match:
        raise StackError(
            f"stop with savepoint failed, the job keeps running:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    return match.group(1)


def down(stack: Stack) -> None:
    current = running_job(stack)
    if current:
        try:
            savepoint = stop_with_savepoint(stack, current["jid"])
        except StackError as e:
            # E.g. the job is restarting: cancel it; its retained checkpoints still let the next `up` resume.
            flink.cli(stack, ["cancel", current["jid"]], capture=True)
            print(
                f"  job          could not take a savepoint, cancelled {current['jid']} (the next `up` resumes "
                f"from its last retained checkpoint): {str(e).splitlines()[0]}"
            )
            return
        stack.record(NAME, **{**stack.component(NAME), "savepoint": savepoint})
        print(f"  job          stopped with savepoint {savepoint} (the next `up` resumes from it)")


def upgrade(stack: Stack, jar: Path, parallel: int | None = None) -> None:
    """Stop-with-savepoint, then `flink run -s` of `jar` (at `parallel` when given): a new release, or a new
    parallelism (`scale`). The old job keeps running when the savepoint fails. A savepoint the new job refuses (a state
    format it cannot read) fails it at once: its message says what to do (README, Upgrading and rescaling)."""
    jar = ensure_jar(jar.resolve())
    current = running_job(stack)
    if not current:
        raise StackError("no running tickstream job to upgrade; `deploy/tickstream up` starts one")
    parallel = parallel or parallelism(stack)
    print(f"  job          stopping {current['jid']} with a savepoint ...", flush=True)
    savepoint = stop_with_savepoint(stack, current["jid"])
    print(f"  job          savepoint: {savepoint}")
    job_id = _submit(stack, jar, savepoint, parallel)
    stack.record(NAME, job_id=job_id, jar=str(jar), savepoint=savepoint, parallelism=parallel)
    print(
        f"  job          {jar.name} running as {job_id}"
        + (f" at parallelism {parallel}" if parallel else "")
        + f", restored from {savepoint}"
    )


def scale(stack: Stack, parallel: int) -> None:
    """The running job at another parallelism: stop-with-savepoint, then the same jar from it with `-p`."""
    slots = _free_and_used_slots(stack)
    if slots is not None and parallel > slots:
        raise StackError(
            f"parallelism {parallel} needs {parallel} task slots; the cluster has {slots}: start more "
            f"TaskManagers with `deploy/tickstream up --only flink --taskmanagers N`"
        )
    upgrade(stack, Path(stack.component(NAME).get("jar") or DEFAULT_JAR), parallel)


def _free_and_used_slots(stack: Stack) -> int | None:
    try:
        overview = flink.rest(stack, "/overview")
    except OSError:
        return None
    return int(overview.get("slots-total", 0))


def status(stack: Stack) -> dict:
    current = running_job(stack)
    parallel = parallelism(stack)
    return {
        "component": NAME,
        "pid": None,
        "port": stack.port("flink_rest"),
        "state": current["state"].lower() if current else "stopped",
        "log": (current["jid"] + (f" (parallelism {parallel})" if parallel else ""))
        if current
        else stack.component(NAME).get("savepoint"),
    }
