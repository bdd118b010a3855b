"""deploy/tickstream: bring the local stack up, look at it, take it down."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import alerts, flink, job, kafka, monitoring, postgres, prerequisites, procs, producers
from .procs import StackError
from .state import DEFAULT_PORTS, Stack

# Start order; `down` goes in reverse.
COMPONENTS = {
    "postgres": postgres,
    "kafka": kafka,
    "flink": flink,
    "job": job,
    "pg-exporter": monitoring.postgres_exporter,
    "alert-log": alerts.alert_log,
    "alertmanager": monitoring.alertmanager,
    "prometheus": monitoring.prometheus,
    "notifier": alerts.notifier,
    "producers": producers,
}


def _parse_ports(values: list[str]) -> dict[str, int]:
    ports = {}
    for value in values or []:
        name, sep, number = value.partition("=")
        if not sep or not number.isdigit():
            raise StackError(f"--port takes NAME=NUMBER (names: {', '.join(DEFAULT_PORTS)}), got {value!r}")
        ports[name] = int(number)
    return ports


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 128:
        raise argparse.ArgumentTypeError(f"{value} must be between 1 and 128 (the job's max parallelism)")
    return value


def _selected(only: str | None) -> list[str]:
    if not only:
        return list(COMPONENTS)
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in COMPONENTS]
    if unknown:
        raise StackError(f"unknown component(s) {', '.join(unknown)}; known: {', '.join(COMPONENTS)}")
    return [n for n in COMPONENTS if n in names]


def cmd_up(stack: Stack, args) -> int:
    selected = _selected(args.only)
    ports = _parse_ports(args.port)
    started = time.monotonic()
    print(f"tickstream up: state in {stack.home}", flush=True)
    if "postgres" in selected:
        postgres.timescaledb_switch()  # a bad value stops here
    prerequisites.ensure(selected)  # before anything starts: installs what is missing, or says what to run
    stack.choose_ports(args.free_ports, ports)
    if args.taskmanagers:
        stack.data["taskmanagers"] = args.taskmanagers
        stack.save()
    for name in selected:
        if name == "job":
            job.up(stack, Path(args.jar).resolve() if args.jar else job.DEFAULT_JAR, args.parallelism, args.savepoint)
        else:
            COMPONENTS[name].up(stack)
    print(f"tickstream up: done in {time.monotonic() - started:.1f} s")
    return 0


def cmd_down(stack: Stack, args) -> int:
    print(f"tickstream down: state in {stack.home}")
    failed = []
    for name in reversed(_selected(args.only)):
        try:
            COMPONENTS[name].down(stack)
        except StackError as e:  # go on: stop everything else this stack started
            print(f"  {name:<12} could not be stopped cleanly: {e}", file=sys.stderr)
            failed.append(name)
    return 1 if failed else 0


def _status_rows(stack: Stack) -> list[dict]:
    rows = []
    for name in COMPONENTS:
        row = COMPONENTS[name].status(stack)
        rows.extend(row if isinstance(row, list) else [row])
    return rows


def _data_summary(stack: Stack) -> dict:
    """Rows so far and the last anomalies, when the database is up."""
    if not postgres.status(stack)["state"] == "running":
        return {}
    try:
        adm = postgres.admin(stack)
        counts = adm.psql(
            "SELECT (SELECT count(*) FROM ticks) || ' ' || (SELECT count(*) FROM candles_1m) || ' '"
            " || (SELECT count(*) FROM anomalies)",
            db=postgres.DATABASE,
        ).split()
        last = (
            adm.psql(
                "SELECT to_char(time, 'HH24:MI:SS.MS') || '  ' || rpad(type, 14) || ' ' || exchange || ':' || symbol"
                " || '  ' || price || coalesce('  ' || change_pct || ' %', '') FROM anomalies"
                " ORDER BY detected_at DESC LIMIT 5",
                db=postgres.DATABASE,
            )
            .strip()
            .splitlines()
        )
        return {
            "ticks": int(counts[0]),
            "candles_1m": int(counts[1]),
            "anomalies": int(counts[2]),
            "last_anomalies": last,
        }
    except (StackError, IndexError, ValueError):
        return {}


def cmd_status(stack: Stack, args) -> int:
    rows = _status_rows(stack)
    data = _data_summary(stack)
    if args.json:
        print(json.dumps({"components": rows, "endpoints": stack.data["endpoints"], "data": data}, indent=2))
        return 0
    print(f"{'component':<18}{'state':<11}{'pid':>8}  {'port':<6} log")
    for row in rows:
        print(
            f"{row['component']:<18}{row['state']:<11}{row['pid'] or '-':>8}  {row['port'] or '-':<6} {row['log'] or ''}"
        )
    if data:
        print(f"\nrows: {data['ticks']} ticks, {data['candles_1m']} candles, {data['anomalies']} anomalies")
        if data["last_anomalies"]:
            print("last anomalies:")
            for line in data["last_anomalies"]:
                print(f"  {line}")
    return 0


def cmd_upgrade(stack: Stack, args) -> int:
    job.upgrade(stack, Path(args.jar), args.parallelism)
    return 0


def cmd_scale(stack: Stack, args) -> int:
    job.scale(stack, args.parallelism)
    return 0


def cmd_flink(stack: Stack, args) -> int:
    return job.flink.cli(stack, args.flink_args).returncode


def cmd_logs(stack: Stack, args) -> int:
    names = [args.component] if args.component else list(COMPONENTS)
    for name in names:
        for log in sorted(stack.path("logs").glob(f"{name}*.log")):
            print(f"==> {log} <==")
            print(procs.log_tail(log, args.lines))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deploy/tickstream", description=__doc__)
    parser.add_argument(
        "--state-dir", help="where the stack keeps its data, logs and pids (default: $TICKSTREAM_HOME or <repo>/.stack)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start what is not running yet (idempotent)")
    up.add_argument("--only", help=f"comma-separated components (default all: {','.join(COMPONENTS)})")
    up.add_argument("--free-ports", action="store_true", help="pick free ports instead of the default ones (tests)")
    up.add_argument("--port", action="append", metavar="NAME=NUMBER", help="override one port")
    up.add_argument(
        "--jar",
        help="the job.jar to submit when the job is not running (default: job/target/job.jar, built when missing)",
    )
    up.add_argument(
        "--taskmanagers", type=_positive, help="how many Flink TaskManagers to run (default 1; kept for the next `up`)"
    )
    up.add_argument(
        "--parallelism",
        type=_positive,
        help="the job's parallelism when it is submitted (default: as it "
        "last ran, else the cluster's parallelism.default, 2)",
    )
    up.add_argument(
        "--savepoint",
        help="submit the job from this savepoint or checkpoint (default: the newest one the stack took or retained)",
    )
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="stop what this stack started")
    down.add_argument("--only", help="comma-separated components (default all)")
    down.set_defaults(func=cmd_down)
    status = sub.add_parser("status", help="each component, its port and pid")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)
    logs = sub.add_parser("logs", help="the tail of a component's log")
    logs.add_argument("component", nargs="?", choices=list(COMPONENTS))
    logs.add_argument("-n", "--lines", type=int, default=40)
    logs.set_defaults(func=cmd_logs)
    upgrade = sub.add_parser(
        "upgrade",
        help="stop the job with a savepoint and run JAR from it (the old job keeps running if the savepoint fails)",
    )
    upgrade.add_argument("jar", help="the new job.jar")
    upgrade.add_argument("--parallelism", type=_positive, help="run the new job at this parallelism")
    upgrade.set_defaults(func=cmd_upgrade)
    scale = sub.add_parser(
        "scale", help="stop the job with a savepoint and run it again from it at another parallelism"
    )
    scale.add_argument(
        "parallelism",
        type=_positive,
        help="the new parallelism (at most the cluster's task slots; max parallelism is 128)",
    )
    scale.set_defaults(func=cmd_scale)
    flink_cmd = sub.add_parser(
        "flink", help="Flink's CLI against the stack's cluster: run, list, stop --savepointPath, cancel, savepoint"
    )
    flink_cmd.add_argument("flink_args", nargs=argparse.REMAINDER)
    flink_cmd.set_defaults(func=cmd_flink)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        stack = Stack.open(args.state_dir)
        return args.func(stack, args)
    except StackError as e:
        print(f"tickstream {args.command}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
