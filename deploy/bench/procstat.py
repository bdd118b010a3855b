"""CPU time, RSS and major page faults of processes, from /proc; the machine's proactive memory reclaim, from /sys
(Linux)."""

from __future__ import annotations

import os
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return tree


def tree(pid: int) -> list[int]:
    children, out, todo = _children(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(pid: int) -> float:
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        except (OSError, IndexError):
            pass
    return total / CLK_TCK


def rss_mib(pid: int) -> float:
    total = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def major_faults(pid: int) -> int | None:
    """Page faults of the process itself (not its descendants) that had to read the page from disk; None once it is
    gone."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[9])
    except (OSError, IndexError, ValueError):
        return None


DAMON_ADMIN = Path("/sys/kernel/mm/damon/admin/kdamonds")


def proactive_reclaim(admin: Path = DAMON_ADMIN) -> str | None:
    """The running DAMON schemes that page memory out once it has gone unaccessed for a while, described: on such a
    machine a page touched that seldom is read back from disk at its next touch; None when none runs."""
    found = []
    for kdamond in sorted(admin.glob("[0-9]*")):
        if _read(kdamond / "state") != "on":
            continue
        for context in sorted((kdamond / "contexts").glob("[0-9]*")):
            for scheme in sorted((context / "schemes").glob("[0-9]*")):
                if _read(scheme / "action") != "pageout":
                    continue
                try:
                    aggregation_s = int(_read(context / "monitoring_attrs/intervals/aggr_us")) / 1e6
                    idle_s = int(_read(scheme / "access_pattern/age/min")) * aggregation_s
                    accesses = int(_read(scheme / "access_pattern/nr_accesses/max"))
                except ValueError:  # another kernel's layout, or unreadable: the scheme is still reported
                    found.append("DAMON pages out memory (its thresholds unreadable)")
                    continue
                found.append(
                    f"DAMON pages out memory seen accessed in at most {accesses} of its samples per"
                    f" {aggregation_s:g} s for {idle_s:g} s or more"
                )
    return "; ".join(found) or None


def _read(path: Path) -> str:
    """A sysfs value, stripped; "" when absent or unreadable (a machine's /sys is not the benchmark's to stop on)."""
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def machine_cpu() -> tuple[int, int]:
    """(all, stolen) CPU ticks of the machine so far, from /proc/stat's first line: between two readings, the share
    of the time the hypervisor gave this machine's cores to other guests (steal)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return sum(fields), fields[7]


def steal_pct(before: tuple[int, int], after: tuple[int, int]) -> float:
    total = after[0] - before[0]
    return round(100 * (after[1] - before[1]) / total, 1) if total > 0 else 0.0
