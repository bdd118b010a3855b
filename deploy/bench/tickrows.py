"""The benchmark's view of the ticks table during a step, cheap enough not to disturb what it measures.

A `count(*)` over a step's rows reads an index entry per row: at 7 million rows it took 0.4 s of three
PostgreSQL processes, and sampled every second it cost the database more and more of a core as a step went on
(the backlog then grew in the second half of every high-load step). So a step is followed through PostgreSQL's
insert statistics (`pg_stat_user_tables.n_tup_ins`, constant cost, ~1 s behind while rows keep coming: a busy
backend publishes them at most once a second, an idle one up to 10 s later), and counted exactly when it is
judged: at its end and while it drains. One psql session serves every query (no process start and login per
sample).
"""

from __future__ import annotations

import subprocess

from stack.postgres import Admin

# Rows inserted into ticks and, on TimescaleDB, into its chunks (inheritance children of the hypertable); rows of
# aborted transactions count too, so the figure is an upper bound that an exact count confirms.
INSERTED = (
    "SELECT coalesce(sum(n_tup_ins), 0) FROM pg_stat_user_tables WHERE relid = 'ticks'::regclass"
    " OR relid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'ticks'::regclass)"
)
_END = "__tickrows_end__"


def _quoted(symbols: list[str]) -> str:
    """SQL literals of plain names (letters, digits, '-' and '_'): anything else is refused, not escaped."""
    for s in symbols:
        if not s.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"not a benchmark symbol: {s!r}")
    return ",".join(f"'{s}'" for s in symbols)


class TickRows:
    """Queries on the ticks table through one psql session (superuser, password from the environment)."""

    def __init__(self, admin: Admin, database: str):
        self.proc = subprocess.Popen(
            admin.command(database),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=admin.env(),
            bufsize=1,
        )

    def query(self, sql: str) -> str:
        """One statement's result (unaligned, without headers)."""
        self.proc.stdin.write(f"{sql.strip().rstrip(';')};\n\\echo {_END}\n")
        self.proc.stdin.flush()
        lines = []
        while (line := self.proc.stdout.readline()) and line.rstrip("\n") != _END:
            lines.append(line)
        if not line:
            raise RuntimeError(f"psql stopped: {self.proc.stderr.read().strip()}")
        return "".join(lines).strip()

    def inserted(self) -> int:
        """Rows inserted into ticks since the statistics were reset (cheap; ≤ ~1 s behind)."""
        return int(self.query(INSERTED))

    def exact(self, exchange: str, symbols: list[str]) -> int:
        """The rows of these instruments in ticks, counted."""
        return int(
            self.query(
                f"SELECT count(*) FROM ticks WHERE exchange = {_quoted([exchange])} AND symbol IN ({_quoted(symbols)})"
            )
        )

    def age_ms(self, exchange: str, symbol: str) -> float | None:
        """How old the instrument's newest trade in ticks is (an index lookup), or None without rows."""
        out = self.query(
            "SELECT (extract(epoch from clock_timestamp() - time) * 1000)::bigint FROM ticks"
            f" WHERE exchange = {_quoted([exchange])} AND symbol = {_quoted([symbol])}"
            " ORDER BY time DESC LIMIT 1"
        )
        return float(out) if out else None

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(10)

    def __enter__(self) -> TickRows:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
