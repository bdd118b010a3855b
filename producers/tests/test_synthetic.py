"""The synthetic generator: reproducible by seed, realistic shape, labelled anomalies."""

import json
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal

from conftest import PRODUCERS


def synth(*args):
    r = subprocess.run(
        [sys.executable, "-m", "tickstream_producers", "synthetic", "--stdout", *args],
        capture_output=True,
        text=True,
        cwd=PRODUCERS,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_same_seed_same_output_and_different_seed_differs():
    args = ["--rate", "0", "--count", "5000", "--start-ts", "1732500000000", "--venues", "binance,kraken"]
    a = synth(*args, "--seed", "7")
    assert a == synth(*args, "--seed", "7")
    assert a != synth(*args, "--seed", "8")


def test_ticks_are_valid_v1_with_consecutive_ids_per_instrument():
    out = synth(
        "--rate",
        "0",
        "--count",
        "20000",
        "--seed",
        "1",
        "--start-ts",
        "1732500000000",
        "--venues",
        "synthetic,coinbase",
        "--symbols",
        "BTC-USD,ETH-USD,SOL-USD",
    )
    last = {}
    per = defaultdict(int)
    for line in out.splitlines():
        t = json.loads(line)
        assert list(t) == ["v", "exchange", "symbol", "trade_id", "price", "size", "side", "ts", "recv_ts"]
        assert Decimal(t["price"]) > 0 and Decimal(t["size"]) > 0 and t["side"] in ("buy", "sell")
        key = (t["exchange"], t["symbol"])
        if key in last:
            assert int(t["trade_id"]) == last[key] + 1
        last[key] = int(t["trade_id"])
        per[key] += 1
    assert len(per) == 6
    counts = sorted(per.values())
    assert counts[-1] > counts[0]  # activity is bursty, not uniform


def test_injected_anomalies_are_labelled_and_visible_in_prices(tmp_path):
    labels = tmp_path / "labels.jsonl"
    out = synth(
        "--rate",
        "2000",
        "--count",
        "120000",
        "--seed",
        "3",
        "--start-ts",
        "1732500000000",
        "--symbols",
        "BTC-USDT,ETH-USDT",
        "--inject",
        "spike,drop,volume",
        "--inject-every",
        "10",
        "--labels",
        str(labels),
    )
    rows = [json.loads(line) for line in labels.read_text().splitlines()]
    assert len(rows) >= 3 and {r["type"] for r in rows} == {"PRICE_SPIKE", "PRICE_DROP", "VOLUME_SPIKE"}
    ticks = defaultdict(list)
    for line in out.splitlines():
        t = json.loads(line)
        ticks[(t["exchange"], t["symbol"])].append(t)
    for r in rows:
        assert set(r) == {"exchange", "symbol", "type", "start_ts", "end_ts", "magnitude"}
        assert r["start_ts"] < r["end_ts"]
        series = ticks[(r["exchange"], r["symbol"])]
        before = [t for t in series if t["ts"] < r["start_ts"]][-50:]
        during = [t for t in series if r["start_ts"] <= t["ts"] <= r["end_ts"]]
        if r["type"] == "VOLUME_SPIKE":
            if not before or not during:
                continue
            vol = lambda ts: sum(float(t["size"]) for t in ts) / len(ts)
            assert vol(during) > 3 * vol(before)
        elif during and before:
            move = float(during[-1]["price"]) / float(before[-1]["price"]) - 1
            if r["type"] == "PRICE_SPIKE":
                assert move > r["magnitude"] / 2
            else:
                assert move < -r["magnitude"] / 2


def test_first_anomaly_waits_for_inject_after(tmp_path):
    labels = tmp_path / "labels.jsonl"
    synth(
        "--rate",
        "100",
        "--count",
        "20000",
        "--seed",
        "3",
        "--start-ts",
        "1732500000000",
        "--symbols",
        "BTC-USDT",
        "--inject",
        "spike,volume",
        "--inject-every",
        "20",
        "--inject-after",
        "90",
        "--labels",
        str(labels),
    )
    starts = [json.loads(line)["start_ts"] for line in labels.read_text().splitlines()]
    assert starts[:3] == [1732500090000, 1732500110000, 1732500130000]


def test_one_asset_on_several_venues_trades_at_one_price_within_basis_points():
    out = synth(
        "--rate",
        "200",
        "--count",
        "40000",
        "--seed",
        "5",
        "--start-ts",
        "1732500000000",
        "--venues",
        "binance,coinbase",
        "--symbols",
        "BTC-USDT,ETH-USD",
    )
    last = {}
    worst = 0.0
    for line in out.splitlines():
        t = json.loads(line)
        last[(t["exchange"], t["symbol"])] = float(t["price"])
        for sym in ("BTC-USDT", "ETH-USD"):
            a, b = last.get(("binance", sym)), last.get(("coinbase", sym))
            if a and b:
                worst = max(worst, abs(a / b - 1))
    assert 0 < worst < 0.003  # venues agree (stale last prices and the basis only), far below a 0.5 % divergence


def test_injected_divergence_moves_one_venue_only_and_is_labelled(tmp_path):
    labels = tmp_path / "labels.jsonl"
    out = synth(
        "--rate",
        "200",
        "--count",
        "60000",
        "--seed",
        "9",
        "--start-ts",
        "1732500000000",
        "--venues",
        "binance,coinbase",
        "--symbols",
        "BTC-USDT",
        "--inject",
        "divergence",
        "--inject-every",
        "60",
        "--magnitude",
        "divergence=0.008",
        "--labels",
        str(labels),
    )
    rows = [json.loads(line) for line in labels.read_text().splitlines()]
    assert len(rows) >= 3 and {r["type"] for r in rows} == {"CROSS_VENUE_DIVERGENCE"}
    ticks = [json.loads(line) for line in out.splitlines()]
    for r in rows:
        assert r["magnitude"] == 0.008 and r["end_ts"] - r["start_ts"] >= 10_000
        other = "coinbase" if r["exchange"] == "binance" else "binance"
        mid = (r["start_ts"] + r["end_ts"]) // 2
        near = lambda ex: [float(t["price"]) for t in ticks if t["exchange"] == ex and mid - 2000 <= t["ts"] <= mid]
        gap = abs(near(r["exchange"])[-1] / near(other)[-1] - 1)
        assert 0.006 < gap < 0.01


def test_magnitude_sets_the_injected_move_and_the_volume_multiple(tmp_path):
    labels = tmp_path / "labels.jsonl"
    synth(
        "--rate",
        "200",
        "--count",
        "20000",
        "--seed",
        "3",
        "--start-ts",
        "1732500000000",
        "--symbols",
        "BTC-USDT",
        "--inject",
        "spike,volume",
        "--inject-every",
        "20",
        "--magnitude",
        "spike=0.012,volume=12",
        "--labels",
        str(labels),
    )
    rows = [json.loads(line) for line in labels.read_text().splitlines()]
    assert {(r["type"], r["magnitude"]) for r in rows} == {("PRICE_SPIKE", 0.012), ("VOLUME_SPIKE", 12.0)}


def test_divergence_without_a_shared_asset_and_bad_magnitudes_are_usage_errors():
    for args in (
        ["--inject", "divergence", "--symbols", "BTC-USDT"],
        ["--magnitude", "spike=x"],
        ["--magnitude", "wobble=1"],
        ["--magnitude", "spike=-1"],
        ["--magnitude", "spike=nan"],
    ):
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "tickstream_producers",
                "synthetic",
                "--stdout",
                "--count",
                "10",
                "--start-ts",
                "1732500000000",
                *args,
            ],
            capture_output=True,
            text=True,
            cwd=PRODUCERS,
            timeout=60,
        )
        assert r.returncode == 2, (args, r.stderr)
