"""Replays recordings (docs/contracts.md#recordings) through the live parsers and trade filter. Whatever a recording
holds, the replay goes on: a line that is not a recording line (not UTF-8, not JSON, fields missing or of the
wrong type, a receive time before 2009 or in the future) is counted and skipped, never paced to."""

from __future__ import annotations

import heapq
import json
import logging
import time
from collections.abc import Iterator

from .pipeline import Pipeline
from .ticks import EARLIEST_TRADE_TS, MAX_CLOCK_SKEW_MS
from .venues import ParseError
from .venues.registry import reader_for_exchange, sequential_ids

log = logging.getLogger("tickstream.replay")


# A longer pause between two recorded frames (sessions appended to one file, one odd receive time) is replayed as
# this long: a recording line cannot hold the replay up for hours or years.
MAX_PAUSE_MS = 60_000


class RecordingError(ValueError):
    pass


def _lines(path: str, stats: dict) -> Iterator[tuple[int, int, str, str]]:
    latest = int(time.time() * 1000) + MAX_CLOCK_SKEW_MS
    with open(path, "rb") as f:  # decoded line by line: one line that is not UTF-8 is one bad line
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line.decode("utf-8"))
                exchange, recv_ts, raw = rec["exchange"], rec["recv_ts"], rec["raw"]
                if not isinstance(raw, str) or not isinstance(exchange, str):
                    raise TypeError("raw and exchange must be strings")
                if type(recv_ts) is not int:
                    raise TypeError("recv_ts must be an integer (epoch ms)")
                if not EARLIEST_TRADE_TS <= recv_ts <= latest:
                    raise ValueError(f"recv_ts {recv_ts} is not an epoch-ms time between 2009 and now")
            except (ValueError, KeyError, TypeError, RecursionError) as e:
                stats["bad_lines"] += 1
                if stats["bad_lines"] <= 5:
                    log.warning("%s:%d: not a recording line (%s)", path, n, str(e)[:200])
                continue
            yield recv_ts, stats["seq"], exchange, raw
            stats["seq"] += 1


def records(paths: list[str], stats: dict | None = None) -> Iterator[tuple[int, str, str]]:
    """(recv_ts, exchange, raw) from all files, merged in arrival order (ties keep file order)."""
    stats = stats if stats is not None else {}
    stats.setdefault("bad_lines", 0)
    stats.setdefault("seq", 0)
    for recv_ts, _, exchange, raw in heapq.merge(*(_lines(p, stats) for p in paths)):
        yield recv_ts, exchange, raw


def replay(paths: list[str], pipeline: Pipeline, speed: float | None = 1.0, stop=None) -> dict:
    """speed: 1.0 = recorded pace, N = N× faster, None = as fast as possible."""
    stats: dict = {"frames": 0, "bad_lines": 0, "seq": 0}
    readers: dict = {}
    start_wall = None
    last_ts = 0
    elapsed_ms = 0  # recorded time since the first frame, each pause at most MAX_PAUSE_MS
    sink = pipeline.sink
    for recv_ts, exchange, raw in records(paths, stats):
        if stop is not None and stop.is_set():
            break
        if speed:
            if start_wall is None:
                start_wall = time.monotonic()
            else:
                elapsed_ms += min(max(0, recv_ts - last_ts), MAX_PAUSE_MS)
            last_ts = recv_ts
            delay = start_wall + elapsed_ms / 1000.0 / speed - time.monotonic()
            if delay > 0:
                sink.poll()
                if stop is not None:
                    if stop.wait(delay):
                        break
                else:
                    time.sleep(delay)  # pacing to the recorded timeline
        stats["frames"] += 1
        read = readers.get(exchange)
        if read is None:
            try:
                read = readers[exchange] = reader_for_exchange(exchange)
            except KeyError as e:
                pipeline.parse_error("unknown", ParseError("exchange", str(e)[:200], raw))
                continue
        pipeline.process(read, exchange, sequential_ids(exchange), raw, recv_ts)
        if stats["frames"] % 1000 == 0:
            sink.poll()
    stats.pop("seq", None)
    stats["parse_errors"] = pipeline.parse_errors
    stats["duplicates"] = sum(f.duplicates for f in pipeline.filters.values())
    return stats
