"""A Flink 2.2 session cluster (one JobManager, one or more TaskManagers) from Flink's Maven Central jars, and its CLI.

There is no flink-dist on Maven Central, so this does what Flink's start scripts do: a config dir, the
memory flags from BashJavaUtils, the JDK 17 module opens, and the two entry points.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

from . import procs
from .component import ProcessComponent
from .procs import StackError
from .state import REPO, Stack, classpath, java, runtime_lib

NAME = "flink"


def jdk_opens() -> list[str]:
    """What Flink's env.java.opts.all holds on JDK 17 (Kryo and the runtime reflect into these): the root pom's
    `jdk.opens` property, the one list that the Java tests run with too."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    opens = ElementTree.parse(REPO / "pom.xml").getroot().find("m:properties/m:jdk.opens", ns)
    if opens is None or not (opens.text or "").split():
        raise StackError(f"{REPO / 'pom.xml'} has no jdk.opens property: the JDK flags Flink needs are listed there")
    return opens.text.split()


def conf_dir(stack: Stack) -> Path:
    return stack.path("flink", "conf")


def rest_url(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.port('flink_rest')}"


SHARED_MEMORY = Path("/dev/shm")


def rocksdb_local_dir(stack: Stack) -> Path:
    """Where the TaskManagers keep RocksDB's working files: in memory (/dev/shm) when the machine has it. Each
    checkpoint makes RocksDB flush and sync its files in the checkpoint's synchronous phase, which holds the task —
    75-300 ms per checkpoint on this project's 2-core machine with a disk, 20-80 ms in memory (README, Operations).
    The working files are no durable copy (checkpoints are), and the job's state is small."""
    if SHARED_MEMORY.is_dir() and os.access(SHARED_MEMORY, os.W_OK):
        return SHARED_MEMORY / f"tickstream-rocksdb-{hashlib.sha256(str(stack.home).encode()).hexdigest()[:16]}"
    return stack.path("flink", "rocksdb")


def write_config(stack: Stack) -> Path:
    conf = conf_dir(stack)
    conf.mkdir(parents=True, exist_ok=True)
    for d in ("checkpoints", "savepoints", "tmp"):
        stack.path("flink", d).mkdir(parents=True, exist_ok=True)
    base = (REPO / "deploy" / "flink" / "config.yaml").read_text()
    local = "\n".join(
        [
            "",
            "# Chosen by deploy/tickstream for this state dir:",
            f"rest.port: {stack.port('flink_rest')}",
            f"jobmanager.rpc.port: {stack.port('flink_rpc')}",
            f"metrics.reporter.prom.port: {stack.port('flink_jm_metrics')}",
            f"execution.checkpointing.dir: file://{stack.path('flink', 'checkpoints')}",
            f"execution.checkpointing.savepoint-dir: file://{stack.path('flink', 'savepoints')}",
            f"io.tmp.dirs: {stack.path('flink', 'tmp')}",
            f"state.backend.rocksdb.localdir: {rocksdb_local_dir(stack)}",
            "",
        ]
    )
    (conf / "config.yaml").write_text(base + local)
    shutil.copy(REPO / "deploy" / "flink" / "log4j.properties", conf / "log4j.properties")
    shutil.copy(REPO / "deploy" / "flink" / "log4j-cli.properties", conf / "log4j-cli.properties")
    return conf


def _resource_params(stack: Stack, which: str) -> tuple[list[str], list[str]]:
    """JVM flags and -D memory options, as BashJavaUtils computes them for Flink's own start scripts."""
    result = subprocess.run(
        [
            java(),
            "-Xmx256m",
            "-cp",
            classpath(runtime_lib("flink")),
            "org.apache.flink.runtime.util.bash.BashJavaUtils",
            which,
            "--configDir",
            str(conf_dir(stack)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [
        l.split("BASH_JAVA_UTILS_EXEC_RESULT:", 1)[1]
        for l in result.stdout.splitlines()
        if l.startswith("BASH_JAVA_UTILS_EXEC_RESULT:")
    ]
    if result.returncode != 0 or len(lines) < 2:
        raise StackError(f"Flink's BashJavaUtils {which} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return lines[0].split(), lines[1].split()


JOBMANAGER = "flink-jobmanager"


def _process(role: str) -> ProcessComponent:
    title = "the Flink JobManager" if role == JOBMANAGER else f"the Flink TaskManager {role}"
    return ProcessComponent(role, title)


def _start(
    stack: Stack,
    role: str,
    main_class: str,
    resource_call: str,
    metrics_port: int,
    ready: Callable[[], bool],
    waiting_for: str,
) -> int:
    jvm, dynamic = _resource_params(stack, resource_call)
    log = stack.log(role)
    cmd = [
        java(),
        *jvm,
        *jdk_opens(),
        "-XX:+UseG1GC",
        f"-Dlog.file={log}",
        f"-Dlog4j.configurationFile=file:{conf_dir(stack) / 'log4j.properties'}",
        f"-Dtickstream.home={stack.home}",
        "-cp",
        classpath(runtime_lib("flink")),
        main_class,
        "--configDir",
        str(conf_dir(stack)),
        *dynamic,
        "-D",
        f"metrics.reporter.prom.port={metrics_port}",
    ]
    if role == JOBMANAGER:
        cmd += ["--executionMode", "cluster"]
    env = dict(os.environ, FLINK_CONF_DIR=str(conf_dir(stack)))
    # The job's password must not sit in the cluster's environment: the CLI reads it at submission.
    env.pop("TICKSTREAM_JDBC_PASSWORD", None)
    return _process(role).start(
        stack,
        cmd,
        port=metrics_port,
        ready=ready,
        waiting_for=waiting_for,
        timeout=90,
        log=log,
        output=stack.path("logs", f"{role}.out"),
        env=env,
    )


def rest(stack: Stack, path: str, timeout: float = 5.0):
    with urllib.request.urlopen(rest_url(stack) + path, timeout=timeout) as response:
        return json.loads(response.read())


def taskmanager_roles(stack: Stack) -> list[str]:
    """The TaskManagers this stack runs (`up --taskmanagers N`, default 1): flink-taskmanager, flink-taskmanager-2, ..."""
    n = int(stack.data.get("taskmanagers", 1))
    return ["flink-taskmanager"] + [f"flink-taskmanager-{i}" for i in range(2, n + 1)]


def metrics_port_name(role: str) -> str:
    return "flink_tm_metrics" if role == "flink-taskmanager" else f"flink_tm_metrics_{role.rsplit('-', 1)[1]}"


def _metrics_port(stack: Stack, role: str) -> int:
    """The first TaskManager's is a stack port; each further one gets the next port of Flink's 9250-9260 range when it is
    free (another one otherwise), fixed at its first start."""
    name = metrics_port_name(role)
    if name == "flink_tm_metrics":
        return stack.port(name)
    ports = stack.data["ports"]
    if name not in ports:
        wanted = stack.port("flink_tm_metrics") + int(role.rsplit("-", 1)[1]) - 1
        ports[name] = wanted if procs.port_free(wanted) and wanted not in ports.values() else procs.free_ports(1)[0]
        stack.save()
    return int(ports[name])


def metrics_ports(stack: Stack) -> list[int]:
    """The Prometheus reporter ports of the JobManager and every TaskManager."""
    return [stack.port("flink_jm_metrics")] + [_metrics_port(stack, role) for role in taskmanager_roles(stack)]


def _taskmanagers(stack: Stack) -> int:
    return len(_taskmanager_ids(stack))


def _taskmanager_ids(stack: Stack) -> set[str]:
    """The TaskManagers registered with the JobManager (a killed one stays until its heartbeat times out)."""
    try:
        return {tm["id"] for tm in rest(stack, "/taskmanagers").get("taskmanagers", [])}
    except OSError:
        return set()


def up(stack: Stack) -> None:
    roles = taskmanager_roles(stack)
    jm_pid = _process(JOBMANAGER).pid(stack)
    tms_running = [r for r in roles if _process(r).pid(stack)]
    if jm_pid and len(tms_running) == len(roles) and _taskmanagers(stack) >= len(roles):
        pids = ", ".join(str(stack.component(r)["pid"]) for r in roles)
        print(f"  flink        already running (JobManager pid {jm_pid}, TaskManager pid {pids}) on {rest_url(stack)}")
        return
    # Only the ports of the processes about to start: a surviving TaskManager keeps its metrics port while a killed
    # JobManager is restarted (and the other way round).
    ports = [] if jm_pid else ["flink_rest", "flink_rpc", "flink_jm_metrics"]
    for name in ports:
        # A process killed a moment ago may hold its listening port for a little while longer.
        procs.require_free_port(stack.port(name), name, wait=15)
    for role in roles:
        if role not in tms_running:
            procs.require_free_port(_metrics_port(stack, role), metrics_port_name(role), wait=15)
    write_config(stack)
    if not jm_pid:
        pid = _start(
            stack,
            JOBMANAGER,
            "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint",
            "GET_JM_RESOURCE_PARAMS",
            stack.port("flink_jm_metrics"),
            ready=lambda: procs.port_open(stack.port("flink_rest")),
            waiting_for=f"open {rest_url(stack)}",
        )
        print(
            f"  flink        JobManager started (pid {pid}), web UI and REST on {rest_url(stack)}, "
            f"metrics :{stack.port('flink_jm_metrics')}"
        )
    for role in roles:
        if role in tms_running:
            continue
        registered = _taskmanager_ids(stack)
        pid = _start(
            stack,
            role,
            "org.apache.flink.runtime.taskexecutor.TaskManagerRunner",
            "GET_TM_RESOURCE_PARAMS",
            _metrics_port(stack, role),
            ready=lambda: bool(_taskmanager_ids(stack) - registered),
            waiting_for="register with the JobManager",
        )
        print(
            f"  flink        TaskManager {role.removeprefix('flink-')} started (pid {pid}), "
            f"metrics :{_metrics_port(stack, role)}"
        )
    stack.set_endpoint("flink_rest", rest_url(stack))


def down(stack: Stack) -> None:
    started_tms = sorted(r for r in stack.data["components"] if r.startswith("flink-taskmanager"))
    for role in [*started_tms, JOBMANAGER]:
        _process(role).down(stack, timeout=30, label=f"flink        {role.removeprefix('flink-')}")
    shutil.rmtree(rocksdb_local_dir(stack), ignore_errors=True)


def status(stack: Stack) -> list[dict]:
    return [
        _process(role).status_row(stack, stack.port("flink_rest") if role == JOBMANAGER else _metrics_port(stack, role))
        for role in [JOBMANAGER, *taskmanager_roles(stack)]
    ]


def cli(stack: Stack, args: list[str], capture: bool = False, env: dict | None = None) -> subprocess.CompletedProcess:
    """Flink's own command line front end (`flink run/list/stop/cancel/savepoint`) against this cluster."""
    if not (conf_dir(stack) / "config.yaml").exists():
        write_config(stack)
    cmd = [
        java(),
        *jdk_opens(),
        "-Xmx512m",
        "-XX:TieredStopAtLevel=1",
        f"-Dlog4j.configurationFile=file:{conf_dir(stack) / 'log4j-cli.properties'}",
        "-cp",
        classpath(runtime_lib("flink")),
        "org.apache.flink.client.cli.CliFrontend",
        *args,
    ]
    full_env = dict(env if env is not None else os.environ, FLINK_CONF_DIR=str(conf_dir(stack)))
    return subprocess.run(cmd, env=full_env, text=True, capture_output=capture)
