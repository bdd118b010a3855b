"""PostgreSQL's cost per tick row under two shapes of the ticks table, alternating. `--compare key-order`: the two
orders of ticks' unique key, (time, exchange, symbol, trade_id), the one tables get from 0.2 on, and (exchange, symbol,
trade_id, time), release 0.1's. `--compare indexes`: today's two indexes of a tick row (the time-first key and
ticks_instrument_time_idx) against one, a key (exchange, symbol, time, trade_id) serving both uniqueness and one
instrument's time range (a time range over every instrument would then scan whole chunks). `--compare collation`: the
key's text columns compared by the database's collation (tables before 0.2) or byte by byte (COLLATE "C", tables from
0.2 on). On a private instance of its own (TimescaleDB when installed, else plain; TICKSTREAM_TIMESCALEDB chooses): the
shape is set on the empty table, then the benchmark's PostgresIngestCeiling writes the rows along its three paths.
Prints rows/s of each path and PostgreSQL's CPU per row (the postmaster's, its reaped backends' and its live
children's).

Run: producers/.venv/bin/python deploy/bench/tick_key_order.py [--compare key-order|indexes|collation]
[--rows 300000] [--reps 4]
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(DEPLOY))

from bench.benchmark import ingest_rates  # noqa: E402
from stack import postgres  # noqa: E402
from stack.state import Stack  # noqa: E402

KEY_CHANGE = (
    "ALTER TABLE ticks DROP CONSTRAINT ticks_trade_key; ALTER TABLE ticks ADD CONSTRAINT ticks_trade_key UNIQUE ({});"
)
COLLATION_CHANGE = " ".join(
    f'ALTER TABLE ticks ALTER COLUMN {column} TYPE text COLLATE "{{collation}}";'
    for column in ("exchange", "symbol", "trade_id")
)
# Each shape as SQL run on the emptied table.
SHAPES = {
    "key-order": {
        "time first (0.2)": KEY_CHANGE.format("time, exchange, symbol, trade_id"),
        "instrument first (0.1)": KEY_CHANGE.format("exchange, symbol, trade_id, time"),
    },
    "indexes": {
        "time-first key + instrument index (0.2)": KEY_CHANGE.format("time, exchange, symbol, trade_id")
        + " CREATE INDEX IF NOT EXISTS ticks_instrument_time_idx ON ticks (exchange, symbol, time DESC);",
        "instrument-time key alone": KEY_CHANGE.format("exchange, symbol, time, trade_id")
        + " DROP INDEX IF EXISTS ticks_instrument_time_idx;",
    },
    "collation": {
        'bytes, COLLATE "C" (0.2)': COLLATION_CHANGE.format(collation="C"),
        "the database's (0.1)": COLLATION_CHANGE.format(collation="default"),
    },
}


def server_cpu_seconds(home: Path) -> float:
    postmaster = int((home / "postgres" / "data" / "postmaster.pid").read_text().split()[0])
    fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime: backends exit with their connection
    children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout.split()
    for pid in children:
        try:
            f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(f[11]) + int(f[12])
        except FileNotFoundError:
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(prog="deploy/bench/tick_key_order.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare", choices=sorted(SHAPES), default="key-order")
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--reps", type=int, default=4)
    args = parser.parse_args()
    home = DEPLOY / "target" / "tick-key-order"
    tool = [sys.executable, str(DEPLOY / "tickstream"), "--state-dir", str(home)]
    subprocess.run(tool + ["up", "--free-ports", "--only", "postgres"], check=True)
    try:
        stack = Stack.open(str(home))
        admin = postgres.admin(stack)
        for rep in range(-1, args.reps):  # -1: a warm-up of both (cold caches read slower), not printed
            for name, shape in SHAPES[args.compare].items():
                admin.psql(f"TRUNCATE ticks; {shape} CHECKPOINT;", db=postgres.DATABASE)
                before = server_cpu_seconds(home)
                rates = ingest_rates(stack, args.rows, f"K{rep + 1}{name[0].upper()}")
                cpu = server_cpu_seconds(home) - before
                if rep < 0:
                    continue
                print(
                    f"rep {rep} {name:24s} COPY sink path {rates['copy-direct']:>9,} rows/s, replay path"
                    f" {rates['copy-staging-insert']:>8,}, batched INSERT {rates['jdbc-batched-insert']:>8,};"
                    f" PostgreSQL CPU {1e6 * cpu / (3 * args.rows):.2f} µs per row (the three paths together)",
                    flush=True,
                )
    finally:
        subprocess.run(tool + ["down"], capture_output=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
