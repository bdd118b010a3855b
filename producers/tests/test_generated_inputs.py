"""Generated, seeded and reproducible: each venue's real recorded frames, mutated (tests/mutations.py), through the
venue's ``read`` and through the shared pipeline. A parser raises nothing but ParseError; Pipeline.process never
raises; whatever is published is a record the job's parser takes (tests/job_tick_parser.py), as the Kafka sink
would send it (strict UTF-8), with a trade time at most 5 s past its receive time.

Reproduce a failure with the blob Hypothesis prints (@reproduce_failure), or run longer hunts with
TICKSTREAM_FUZZ_EXAMPLES=100000."""

import time

import pytest
from conftest import recording
from hypothesis import given
from hypothesis import strategies as st
from job_tick_parser import job_refusal
from mutations import GENERATED, mutated_frames

from tickstream_producers.metrics import Metrics
from tickstream_producers.pipeline import Pipeline
from tickstream_producers.ticks import MAX_TRADE_AHEAD_MS
from tickstream_producers.venues import Frame, ParseError
from tickstream_producers.venues.registry import spec

VENUES = {"binance": "binance", "coinbase": "coinbase", "coinbase-matches": "coinbase", "kraken": "kraken"}

# Coinbase Exchange `matches` frames (the recordings hold Advanced Trade ones), from Coinbase's Exchange docs.
MATCHES_FRAMES = [
    '{"type":"match","trade_id":10,"sequence":50,"maker_order_id":"ac928c66-ca53-498f-9c13-a110027a60e8",'
    '"taker_order_id":"132fb6ae-456b-4654-b4e0-d681ac05cea1","time":"2024-11-25T01:19:59.028459Z",'
    '"product_id":"BTC-USD","size":"5.23512","price":"400.23","side":"sell"}',
    '{"type":"last_match","trade_id":9,"sequence":49,"maker_order_id":"ac928c66-ca53-498f-9c13-a110027a60e8",'
    '"taker_order_id":"132fb6ae-456b-4654-b4e0-d681ac05cea1","time":"2024-11-25T01:19:58.028459Z",'
    '"product_id":"ETH-USD","size":"0.1","price":"3400.5","side":"buy"}',
    '{"type":"heartbeat","sequence":90,"last_trade_id":20,"product_id":"BTC-USD","time":"2024-11-25T01:19:58.464459Z"}',
    '{"type":"error","message":"Failed to subscribe","reason":"ETH-XYZ is not a valid product"}',
]


def frames(venue: str) -> list[str]:
    if venue == "coinbase-matches":
        return MATCHES_FRAMES
    return [r["raw"] for r in recording(venue)]


class KafkaLikeSink:
    """Collects what would go to Kafka, encoded as the Kafka sink encodes it (UTF-8, strict)."""

    def __init__(self):
        self.records: list[tuple[bytes, bytes, object]] = []

    def publish(self, tick):
        self.records.append((tick.key.encode("utf-8"), tick.to_json().encode("utf-8"), tick))

    def poll(self):
        pass


def check_published(sink: KafkaLikeSink):
    now = int(time.time() * 1000)
    for key, value, tick in sink.records:
        assert job_refusal(key, value, now) is None, (job_refusal(key, value, now), value)
        assert tick.ts <= tick.recv_ts + MAX_TRADE_AHEAD_MS, value


def recv_times():
    """The recording's receive time, or now (a live feed's)."""
    return st.one_of(st.just(1732497600100), st.just(None))


@pytest.mark.parametrize("venue", list(VENUES))
def test_mutated_frames_never_break_the_parser_or_the_pipeline_and_publish_only_valid_ticks(venue):
    s = spec(venue)
    read, exchange, sequential = s.read, s.exchange, s.sequential_ids
    outcomes = {"frames": 0, "parse_errors": 0, "published": 0}

    @GENERATED
    @given(text=mutated_frames(frames(venue)), recv=recv_times())
    def check(text, recv):
        recv_ts = int(time.time() * 1000) if recv is None else recv
        outcomes["frames"] += 1
        try:
            frame = read(text, recv_ts)
        except ParseError:
            outcomes["parse_errors"] += 1
        else:
            assert isinstance(frame, Frame)
        sink = KafkaLikeSink()
        pipeline = Pipeline(sink, Metrics())
        pipeline.process(read, exchange, sequential, text, recv_ts)
        pipeline.process(read, exchange, sequential, text, recv_ts)  # again: the dedup window sees it twice
        check_published(sink)
        outcomes["published"] += len(sink.records)

    check()
    print(f"{venue}: {outcomes}")
    assert outcomes["parse_errors"] > 0 and outcomes["published"] > 0  # both paths were exercised


def test_mutated_recordings_never_stop_a_replay_and_every_line_is_accounted_for(tmp_path_factory):
    """Recording files of real frames in mutated envelopes (any exchange, receive times of any type and size),
    lines that are not UTF-8 or not JSON: the replay goes on; every line is either a frame or a bad line."""
    from hypothesis import settings
    from mutations import EXAMPLES, recording_lines

    from tickstream_producers.replay import replay

    folder = tmp_path_factory.mktemp("recordings")
    by_exchange = {v: frames(v) for v in ("binance", "coinbase", "kraken")}
    totals = {"lines": 0, "frames": 0, "bad_lines": 0, "published": 0}

    @settings(GENERATED, max_examples=max(1, EXAMPLES // 8))
    @given(lines=st.lists(recording_lines(by_exchange), min_size=1, max_size=12), paced=st.booleans())
    def check(lines, paced):
        path = folder / "recording.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        sink = KafkaLikeSink()
        stats = replay([str(path)], Pipeline(sink, Metrics()), speed=1e9 if paced else None)
        nonblank = sum(1 for line in lines if line.strip())
        assert stats["frames"] + stats["bad_lines"] == nonblank
        check_published(sink)
        totals["lines"] += nonblank
        totals["frames"] += stats["frames"]
        totals["bad_lines"] += stats["bad_lines"]
        totals["published"] += len(sink.records)

    check()
    print(f"replay: {totals}")
    assert totals["frames"] > 0 and totals["bad_lines"] > 0 and totals["published"] > 0
