"""Replays recordings (../shared/RECORDINGS.md) through the live parsers and trade filter."""
from __future__ import annotations

import heapq
import json
import logging
import time
from typing import Iterator

from .pipeline import Pipeline
from .venues import ParseError, reader_for_exchange, spec

log = logging.getLogger("tickstream.replay")

SEQUENTIAL = {"binance": spec("binance").sequential_ids, "kraken": spec("kraken").sequential_ids,
              "coinbase": spec("coinbase").sequential_ids}


class RecordingError(ValueError):
    pass


def _lines(path: str, stats: dict) -> Iterator[tuple[int, int, str, str]]:
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                exchange, recv_ts, raw = rec["exchange"], int(rec["recv_ts"]), rec["raw"]
                if not isinstance(raw, str) or not isinstance(exchange, str):
                    raise TypeError("raw and exchange must be strings")
            except (ValueError, KeyError, TypeError) as e:
                stats["bad_lines"] += 1
                if stats["bad_lines"] <= 5:
                    log.warning("%s:%d: not a recording line (%s)", path, n, e)
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
    first_ts = None
    sink = pipeline.sink
    for recv_ts, exchange, raw in records(paths, stats):
        if stop is not None and stop.is_set():
            break
        if speed:
            if start_wall is None:
                start_wall, first_ts = time.monotonic(), recv_ts
            delay = start_wall + (recv_ts - first_ts) / 1000.0 / speed - time.monotonic()
            if delay > 0:
                sink.poll()
                if stop is not None:
                    if stop.wait(delay):
                        break
                else:
                    time.sleep(delay)  # pacing to the recorded timeline
        read = readers.get(exchange)
        if read is None:
            try:
                read = readers[exchange] = reader_for_exchange(exchange)
            except KeyError as e:
                pipeline.parse_error(exchange, ParseError("exchange", str(e), raw))
                continue
        pipeline.process(read, exchange, SEQUENTIAL.get(exchange, False), raw, recv_ts)
        stats["frames"] += 1
        if stats["frames"] % 1000 == 0:
            sink.poll()
    stats.pop("seq", None)
    stats["parse_errors"] = pipeline.parse_errors
    stats["duplicates"] = sum(f.duplicates for f in pipeline.filters.values())
    return stats
