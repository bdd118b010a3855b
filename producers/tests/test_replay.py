"""`replay --stdout` follows RECORDINGS.md: the tick lines each shipped recording yields, line by line."""
import subprocess
import sys

import pytest

from conftest import EXPECTED, PRODUCERS, RECORDINGS
from tickstream_producers.metrics import Metrics
from tickstream_producers.pipeline import Pipeline
from tickstream_producers.replay import replay
from conftest import ListSink


def run_cli(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "tickstream_producers", *args], capture_output=True, text=True,
                          cwd=PRODUCERS, timeout=timeout)


@pytest.mark.parametrize("venue", ["binance", "coinbase", "kraken"])
def test_replay_stdout_matches_golden_file(venue):
    r = run_cli("replay", "--max-speed", "--stdout", str(RECORDINGS / f"{venue}.jsonl"))
    assert r.returncode == 0, r.stderr
    expected = (EXPECTED / f"{venue}.ticks.jsonl").read_text().splitlines()
    got = r.stdout.splitlines()
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g == e, f"line {i + 1}"
    assert len(got) == len(expected)
    assert "1 unreadable frames" in r.stderr  # the malformed frame is counted and reported, not fatal


def test_replay_of_several_files_merges_by_arrival_time():
    files = [str(RECORDINGS / f"{v}.jsonl") for v in ("binance", "coinbase", "kraken")]
    r = run_cli("replay", "--max-speed", "--stdout", *files)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    expected = sum(len((EXPECTED / f"{v}.ticks.jsonl").read_text().splitlines()) for v in ("binance", "coinbase", "kraken"))
    assert len(lines) == expected
    import json
    recv = [json.loads(line)["recv_ts"] for line in lines]
    assert recv == sorted(recv)


def test_replay_at_recorded_speed_takes_the_recorded_time():
    import time
    sink, metrics = ListSink(), Metrics()
    t0 = time.monotonic()
    replay([str(RECORDINGS / "binance.jsonl")], Pipeline(sink, metrics), speed=2.0)
    elapsed = time.monotonic() - t0
    assert 0.2 <= elapsed < 1.5  # the recording spans 0.5 s; at 2× that is 0.25 s
    assert len(sink.ticks) == 8


def test_replay_counts_parse_errors_and_gaps_and_duplicates():
    sink, metrics = ListSink(), Metrics()
    stats = replay([str(RECORDINGS / "binance.jsonl")], Pipeline(sink, metrics), speed=None)
    assert stats["parse_errors"] == 1 and stats["duplicates"] == 1
    assert metrics.gaps["binance"] == 1
    assert metrics.registry.get_sample_value("tickstream_producer_errors_total",
                                             {"exchange": "binance", "kind": "parse"}) == 1


def test_bad_recording_lines_are_reported(tmp_path):
    f = tmp_path / "r.jsonl"
    f.write_text('not json\n{"exchange":"binance","recv_ts":1,"raw":"{\\"result\\":null,\\"id\\":1}"}\n'
                 '{"exchange":"bitstamp","recv_ts":2,"raw":"{}"}\n')
    r = run_cli("replay", "--max-speed", "--stdout", str(f))
    assert r.returncode == 0 and r.stdout == ""
    assert "1 bad recording lines" in r.stderr and "1 unreadable frames" in r.stderr


def test_usage_errors_say_what_to_fix():
    r = run_cli("replay", "--stdout", "/nonexistent.jsonl")
    assert r.returncode == 2 and "no such recording file" in r.stderr
    r = run_cli("live", "--venue", "bitstamp")
    assert r.returncode == 2 and "choose from binance" in r.stderr
    r = run_cli("live", "--venue", "binance", "--symbols", "BTCUSDT")
    assert r.returncode == 2 and "BASE-QUOTE" in r.stderr
    r = run_cli("synthetic", "--inject", "meteor")
    assert r.returncode == 2 and "spike" in r.stderr
    r = run_cli("synthetic", "--rate", "fast")
    assert r.returncode == 2 and "not a number" in r.stderr
