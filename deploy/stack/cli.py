"""deploy/tickstream: bring the local stack up, look at it, take it down."""
from __future__ import annotations

import argparse
import json
import sys
import time

from . import kafka, postgres, procs
from .procs import StackError
from .state import DEFAULT_PORTS, Stack

# Start order; `down` goes in reverse.
COMPONENTS = {
    "postgres": postgres,
    "kafka": kafka,
}


def _parse_ports(values: list[str]) -> dict[str, int]:
    ports = {}
    for value in values or []:
        name, sep, number = value.partition("=")
        if not sep or not number.isdigit():
            raise StackError(f"--port takes NAME=NUMBER (names: {', '.join(DEFAULT_PORTS)}), got {value!r}")
        ports[name] = int(number)
    return ports


def _selected(only: str | None) -> list[str]:
    if not only:
        return list(COMPONENTS)
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in COMPONENTS]
    if unknown:
        raise StackError(f"unknown component(s) {', '.join(unknown)}; known: {', '.join(COMPONENTS)}")
    return [n for n in COMPONENTS if n in names]


def cmd_up(stack: Stack, args) -> int:
    stack.choose_ports(args.free_ports, _parse_ports(args.port))
    started = time.monotonic()
    print(f"tickstream up: state in {stack.home}")
    for name in _selected(args.only):
        COMPONENTS[name].up(stack)
    print(f"tickstream up: done in {time.monotonic() - started:.1f} s")
    return 0


def cmd_down(stack: Stack, args) -> int:
    print(f"tickstream down: state in {stack.home}")
    for name in reversed(_selected(args.only)):
        COMPONENTS[name].down(stack)
    return 0


def cmd_status(stack: Stack, args) -> int:
    rows = [COMPONENTS[name].status(stack) for name in COMPONENTS]
    if args.json:
        print(json.dumps({"components": rows, "endpoints": stack.data["endpoints"]}, indent=2))
        return 0
    print(f"{'component':<14}{'state':<11}{'pid':>8}  {'port':<6} log")
    for row in rows:
        print(f"{row['component']:<14}{row['state']:<11}{row['pid'] or '-':>8}  {row['port'] or '-':<6} {row['log'] or ''}")
    return 0


def cmd_logs(stack: Stack, args) -> int:
    names = [args.component] if args.component else list(COMPONENTS)
    for name in names:
        log = stack.log(name)
        if log.exists():
            print(f"==> {log} <==")
            print(procs.log_tail(log, args.lines))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deploy/tickstream", description=__doc__)
    parser.add_argument("--state-dir", help="where the stack keeps its data, logs and pids "
                                            "(default: $TICKSTREAM_HOME or <repo>/.stack)")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start what is not running yet (idempotent)")
    up.add_argument("--only", help=f"comma-separated components (default all: {','.join(COMPONENTS)})")
    up.add_argument("--free-ports", action="store_true", help="pick free ports instead of the DESIGN.md ones (tests)")
    up.add_argument("--port", action="append", metavar="NAME=NUMBER", help="override one port")
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
