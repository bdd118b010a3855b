"""The tick contract the producers enforce before publishing (ticks.contract_violation) is the job's: proven on the
conformance corpus the Java test TickContractCorpusTest reads too, and on what the pipeline and the synthetic
generator publish."""

import json
import logging
import random

import pytest
from conftest import REPO, ListSink
from job_tick_parser import MAX_RECORD_BYTES, job_refusal

from tickstream_producers import synthetic
from tickstream_producers.metrics import Metrics
from tickstream_producers.pipeline import Pipeline
from tickstream_producers.ticks import Tick, contract_violation
from tickstream_producers.venues import kraken

CORPUS = REPO / "job" / "src" / "test" / "resources" / "contract" / "tick-contract-cases.jsonl"
CASES = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
_STRINGS = ("exchange", "symbol", "trade_id", "price", "size", "side")


def as_tick(value: str) -> Tick | None:
    """The tick a record holds when it is one the producers could have written (right fields, right types, no
    duplicates); None when the job would refuse it for its form rather than its values."""
    try:
        pairs = json.loads(value, object_pairs_hook=lambda p: p, parse_constant=lambda c: None)
    except ValueError:
        return None
    if not isinstance(pairs, list) or len({k for k, _ in pairs}) != len(pairs):
        return None
    f = dict(pairs)
    if (
        f.get("v") != 1
        or type(f.get("v")) is not int
        or any(type(f.get(k)) is not str for k in _STRINGS)
        or any(type(f.get(k)) is not int for k in ("ts", "recv_ts"))
    ):
        return None
    return Tick(*(f[k] for k in _STRINGS), f["ts"], f["recv_ts"])


def test_the_corpus_holds_accepted_and_refused_cases_of_every_field():
    assert len(CASES) >= 150
    assert sum(c["expect"] == "accept" for c in CASES) >= 30
    names = " ".join(c["case"] for c in CASES)
    for field in ("trade_id", "symbol", "price", "size", "side", "ts", "recv_ts", "exchange", "key"):
        assert field in names


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_the_job_parser_model_and_the_producers_check_agree_with_the_corpus(case):
    key = None if case["key"] is None else case["key"].encode("utf-8")
    value, now, expect = case["value"].encode("utf-8"), case["now"], case["expect"]
    assert (job_refusal(key, value, now) is None) == (expect == "accept"), job_refusal(key, value, now)
    tick = as_tick(case["value"])
    if tick is None or key != tick.key.encode("utf-8", "surrogatepass") or len(value) > MAX_RECORD_BYTES:
        assert expect == "reject"  # a record the producers cannot write: its form, not its values, is wrong
        return
    producers = case.get("producers", expect)
    assert (contract_violation(tick, now) is None) == (producers == "accept"), contract_violation(tick, now)
    if producers == "accept":  # and as the producers write it, the job takes it, values unchanged
        assert job_refusal(tick.key.encode(), tick.to_json().encode("utf-8"), now) is None
        assert json.loads(tick.to_json())["trade_id"] == json.loads(case["value"])["trade_id"]


def test_the_pipeline_drops_and_counts_trades_the_job_would_refuse_and_publishes_the_rest(caplog):
    def trade(tid, price="97000.1", timestamp="2024-11-25T01:20:00.000010Z"):
        return (
            '{"symbol":"BTC/USD","side":"buy","price":%s,"qty":0.5,"ord_type":"market","trade_id":%s,'
            '"timestamp":"%s"}' % (price, tid, timestamp)
        )

    frame = '{"channel":"trade","type":"update","data":[%s]}' % ",".join(
        [
            trade(1),
            trade(2, price="0"),
            trade(3, price="-5"),
            trade(4, price="1e999999999"),
            trade('"a b"'),
            trade(6, timestamp="2024-11-25T01:21:00Z"),  # a minute after it was received
            trade(7, price="1.0E-4"),
        ]
    )
    sink, metrics = ListSink(), Metrics()
    pipeline = Pipeline(sink, metrics)
    with caplog.at_level(logging.WARNING):
        out = pipeline.process(kraken.read, "kraken", True, frame, 1732497600100)
        pipeline.process(kraken.read, "kraken", True, frame.replace('"trade_id":1,', '"trade_id":8,'), 1732497600100)
    assert [(t.trade_id, t.price) for t in sink.ticks] == [("1", "97000.1"), ("7", "0.00010"), ("8", "97000.1")]
    assert [t.trade_id for t in out.ticks] == ["1", "7"]
    assert (
        metrics.registry.get_sample_value(
            "tickstream_producer_errors_total", {"exchange": "kraken", "kind": "bad_trade"}
        )
        == 10
    )
    assert pipeline.bad_trades == 10
    dropped = [r.getMessage() for r in caplog.records if "trade dropped" in r.getMessage()]
    assert len(dropped) == 3  # once per field (price, trade_id, ts_ahead), not per trade
    assert any("ts_ahead" in m for m in dropped)


def test_the_kraken_parser_does_not_expand_a_huge_exponent():
    """Found by the generated suite: "qty":1e999999999 made a billion-digit string (10 s, 1 GB per frame)."""
    frame = (
        '{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":97000.1,'
        '"qty":757842e999999999,"ord_type":"market","trade_id":1,"timestamp":"2024-11-25T01:20:00.000010Z"}]}'
    )
    [tick] = kraken.parse(frame, 1732497600100)
    assert tick.size == "757842e999999999" and contract_violation(tick, 1732497600100) == "size"


def test_synthetic_ticks_meet_the_contract_with_every_anomaly_injected():
    """Valid by construction (the generator's hot loop has no check); proven here on 60,000 messages."""
    rng = random.Random(5)
    instruments = synthetic.make_instruments(
        ["synthetic", "binance", "coinbase", "kraken"], ["BTC-USDT", "DOGE-USDT", "XRP-USD", "PEPE-USDT"], rng
    )
    gen = synthetic.Generator(
        instruments,
        seed=6,
        inject=["spike", "drop", "volume", "divergence"],
        inject_every_ms=2_000,
        magnitude={"spike": 0.5, "drop": 0.9, "volume": 1000},
    )
    ts = 1732500000000
    for _ in range(60):
        ts += 1000
        for key, value in gen.batch(1000, ts, ts + 3, 1000.0):
            assert job_refusal(key, value.encode(), ts) is None, value
            f = json.loads(value)
            tick = Tick(
                f["exchange"], f["symbol"], f["trade_id"], f["price"], f["size"], f["side"], f["ts"], f["recv_ts"]
            )
            assert contract_violation(tick, ts) is None and tick.to_json() == value


def test_a_parser_bug_does_not_stop_the_pipeline(caplog):
    def broken(text, recv_ts):
        raise RuntimeError("a bug")

    sink, metrics = ListSink(), Metrics()
    pipeline = Pipeline(sink, metrics)
    with caplog.at_level(logging.WARNING):
        assert pipeline.process(broken, "kraken", True, "{}", 1732497600100) is None
        assert pipeline.process(broken, "kraken", True, "{}", 1732497600100) is None
    assert pipeline.parse_errors == 2 and sink.ticks == []
    assert sum("parser failed" in r.getMessage() for r in caplog.records) == 1  # logged once
