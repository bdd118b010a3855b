"""`replay --stdout` follows the recording format (docs/contracts.md#recordings): the tick lines each shipped recording yields, line by line."""

import subprocess
import sys

import pytest
from conftest import EXPECTED, PRODUCERS, RECORDINGS, ListSink

from tickstream_producers.metrics import Metrics
from tickstream_producers.pipeline import Pipeline
from tickstream_producers.replay import replay


def run_cli(*args, timeout=60):
    return subprocess.run(
        [sys.executable, "-m", "tickstream_producers", *args],
        capture_output=True,
        text=True,
        cwd=PRODUCERS,
        timeout=timeout,
    )


@pytest.mark.parametrize("venue", ["binance", "coinbase", "kraken"])
def test_replay_stdout_matches_golden_file(venue):
    r = run_cli("replay", "--max-speed", "--stdout", str(RECORDINGS / f"{venue}.jsonl"))
    assert r.returncode == 0, r.stderr
    expected = (EXPECTED / f"{venue}.ticks.jsonl").read_text().splitlines()
    got = r.stdout.splitlines()
    for i, (g, e) in enumerate(zip(got, expected, strict=False)):
        assert g == e, f"line {i + 1}"
    assert len(got) == len(expected)
    assert "1 unreadable frames" in r.stderr  # the malformed frame is counted and reported, not fatal


def test_replay_of_several_files_merges_by_arrival_time():
    files = [str(RECORDINGS / f"{v}.jsonl") for v in ("binance", "coinbase", "kraken")]
    r = run_cli("replay", "--max-speed", "--stdout", *files)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    expected = sum(
        len((EXPECTED / f"{v}.ticks.jsonl").read_text().splitlines()) for v in ("binance", "coinbase", "kraken")
    )
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
    assert (
        metrics.registry.get_sample_value("tickstream_producer_errors_total", {"exchange": "binance", "kind": "parse"})
        == 1
    )


def test_bad_recording_lines_are_reported(tmp_path):
    f = tmp_path / "r.jsonl"
    f.write_text(
        'not json\n{"exchange":"binance","recv_ts":1732497600010,"raw":"{\\"result\\":null,\\"id\\":1}"}\n'
        '{"exchange":"bitstamp","recv_ts":1732497600020,"raw":"{}"}\n'
    )
    r = run_cli("replay", "--max-speed", "--stdout", str(f))
    assert r.returncode == 0 and r.stdout == ""
    assert "1 bad recording lines" in r.stderr and "1 unreadable frames" in r.stderr


GOOD = (RECORDINGS / "binance.jsonl").read_bytes()


@pytest.mark.parametrize(
    "line",
    [
        b'{"exchange":"binance","recv_ts":1e400,"raw":"{}"}',  # int(inf) was an OverflowError: replay died
        b'{"exchange":"binance","recv_ts":NaN,"raw":"{}"}',
        b'{"exchange":"binance","recv_ts":"1732497600010","raw":"{}"}',
        b'{"exchange":"binance","recv_ts":true,"raw":"{}"}',
        b'{"exchange":"binance","recv_ts":1,"raw":"{}"}',  # before 2009
        b'{"exchange":"binance","recv_ts":99999999999999999999,"raw":"{}"}',  # far in the future: would be paced to
        b'{"exchange":"binance","recv_ts":1732497600010,"raw":"\xff\xfe not UTF-8"}',
        b"\xff\xfe\x00 not UTF-8 at all",  # was a UnicodeDecodeError: replay died
        b"[" * 100_000 + b"]" * 100_000,  # was a RecursionError: replay died
        b'{"exchange":["binance"],"recv_ts":1732497600010,"raw":"{}"}',
    ],
    ids=["infinite", "NaN", "string", "bool", "before-2009", "future", "bad-utf8-inside", "bad-utf8", "deep", "list"],
)
def test_a_malformed_recording_line_is_one_bad_line_and_the_replay_goes_on(tmp_path, line):
    f = tmp_path / "r.jsonl"
    f.write_bytes(GOOD + line + b"\n" + GOOD)
    sink, metrics = ListSink(), Metrics()
    stats = replay([str(f)], Pipeline(sink, metrics), speed=None)
    assert stats["bad_lines"] == 1
    assert len(sink.ticks) == 8  # the good lines: as without the bad one


@pytest.mark.timeout(20)
def test_a_long_pause_in_a_recording_is_replayed_as_at_most_a_minute(tmp_path):
    """Two sessions appended to one file, or one line with an old receive time: replayed at 1000x, a pause of
    15 years would take 5 days; it takes at most MAX_PAUSE_MS / speed."""
    import json

    from tickstream_producers.replay import MAX_PAUSE_MS

    old = json.dumps({"exchange": "binance", "recv_ts": 1262304000000, "raw": '{"result":null,"id":1}'})
    f = tmp_path / "r.jsonl"
    f.write_bytes(old.encode() + b"\n" + GOOD)
    sink, metrics = ListSink(), Metrics()
    stats = replay([str(f)], Pipeline(sink, metrics), speed=1000.0)
    assert stats["frames"] == 14 and len(sink.ticks) == 8 and MAX_PAUSE_MS == 60_000


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
    r = run_cli("replay", "--speed", "0", "--stdout", str(RECORDINGS / "binance.jsonl"))
    assert r.returncode == 2 and "--max-speed" in r.stderr


@pytest.mark.parametrize(
    "flag,value,says",
    [
        ("--stale-after", "0", "more than 0 seconds"),
        ("--silent-after", "0", "more than 0 seconds"),
        ("--backoff-min", "0", "more than 0 seconds"),
        ("--backoff-max", "0", "more than 0 seconds"),
        ("--max-connection-age", "0", "or `off` for no planned rollover"),
        ("--stale-after", "nan", "not a finite number"),
        ("--duration", "0", "omit it to run until stopped"),
        ("--stale-after", "-1", "must not be negative"),
    ],
)
def test_feed_flags_that_would_loop_or_silently_switch_something_off_stop_at_start_up(flag, value, says, capsys):
    from tickstream_producers.cli import main

    for command in (["live", "--stdout"], ["record", "--out", "/dev/null"]):
        with pytest.raises(SystemExit) as exit:
            main([command[0], "--venue", "kraken", flag, value, *command[1:]])
        err = capsys.readouterr().err
        assert exit.value.code == 2 and says in err and flag in err, err


def test_a_compression_kafka_does_not_know_stops_at_start_up_from_the_flag_or_the_environment(capsys, monkeypatch):
    from tickstream_producers.cli import main

    with pytest.raises(SystemExit) as exit:
        main(["synthetic", "--count", "1", "--compression", "brotli"])
    err = capsys.readouterr().err
    assert exit.value.code == 2 and "'brotli' is not a Kafka compression (lz4, zstd, snappy, gzip, none" in err, err
    monkeypatch.setenv("TICKSTREAM_KAFKA_COMPRESSION", "LZ4 ")
    with pytest.raises(SystemExit) as exit:
        main(["synthetic", "--count", "1"])
    err = capsys.readouterr().err
    assert exit.value.code == 2 and "$TICKSTREAM_KAFKA_COMPRESSION" in err, err


def test_backoff_max_below_backoff_min_and_rollover_off(capsys):
    from tickstream_producers.cli import build_parser, main

    with pytest.raises(SystemExit) as exit:
        main(["live", "--venue", "kraken", "--stdout", "--backoff-min", "5", "--backoff-max", "1"])
    assert exit.value.code == 2
    assert "--backoff-max (1) must be at least --backoff-min (5)" in capsys.readouterr().err
    args = build_parser().parse_args(["live", "--venue", "binance", "--max-connection-age", "off"])
    assert args.max_connection_age == float("inf")  # explicit: no planned rollover
