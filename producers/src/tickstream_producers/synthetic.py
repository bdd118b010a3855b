"""Synthetic trade load: many instruments on several venues, random-walk prices with volatility
clustering (GARCH(1,1)), bursts of activity, log-normal sizes, consecutive trade ids per instrument, and
optional injected anomalies whose labels go to a JSONL file.

One base asset on several venues follows one price path (quote currencies USD, USDT and USDC count as one):
each venue trades at that price times a small mean-reverting basis of its own, so venues agree within a few
basis points, as real ones do. Injected price spikes and drops move the asset on every venue (one label per
venue); an injected divergence moves one venue away from the others for a while.

Fast by construction: each instrument's JSON prefix and key are built once, a message is one f-string, the
producer is called in a tight loop with a poll per batch, and nothing is logged per message."""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass, field

from .venues import registry

EXCHANGES = (registry.SYNTHETIC, *registry.EXCHANGES)  # the exchange ids synthetic ticks may carry
ANOMALY_TYPES = {
    "spike": "PRICE_SPIKE",
    "drop": "PRICE_DROP",
    "volume": "VOLUME_SPIKE",
    "divergence": "CROSS_VENUE_DIVERGENCE",
}
# default magnitudes: relative price move (spike, drop), traded-volume multiple (volume), relative price gap
# of one venue against the others (divergence)
DEFAULT_MAGNITUDE = {"PRICE_SPIKE": 0.05, "PRICE_DROP": 0.05, "VOLUME_SPIKE": 20.0, "CROSS_VENUE_DIVERGENCE": 0.01}
QUOTE_CLASSES = {"USDT": "USD", "USDC": "USD"}
BASIS_PHI, BASIS_STEP = 0.98, 0.00003  # venue basis: AR(1), stationary std dev BASIS_STEP / sqrt(1 - phi^2) ~ 1.5 bp

# symbol: (start price, price decimals, typical size, size decimals)
KNOWN = {
    "BTC-USDT": (67000.0, 2, 0.02, 5),
    "ETH-USDT": (3500.0, 2, 0.3, 4),
    "SOL-USDT": (150.0, 2, 5.0, 3),
    "BNB-USDT": (600.0, 2, 1.0, 3),
    "XRP-USDT": (0.6, 4, 800.0, 1),
    "DOGE-USDT": (0.15, 5, 3000.0, 0),
    "ADA-USDT": (0.45, 4, 1200.0, 1),
    "AVAX-USDT": (35.0, 2, 15.0, 2),
    "LINK-USDT": (15.0, 3, 30.0, 2),
    "LTC-USDT": (80.0, 2, 3.0, 3),
    "BTC-USD": (67000.0, 2, 0.02, 8),
    "ETH-USD": (3500.0, 2, 0.3, 8),
    "SOL-USD": (150.0, 2, 5.0, 6),
}
DEFAULT_SYMBOLS = "BTC-USDT,ETH-USDT,SOL-USDT,BNB-USDT,XRP-USDT,DOGE-USDT,ADA-USDT,AVAX-USDT,LINK-USDT,LTC-USDT"


@dataclass(eq=False)
class Asset:
    """One base asset in one quote class (BTC in USD, USDT, USDC): the price every venue trades around."""

    name: str
    price: float
    sigma2: float
    omega: float
    drift: tuple | None = None  # injected price move: (start_ts, end_ts, log of the total move, log applied so far)
    venues: int = 0


def asset_name(symbol: str) -> str:
    base, _, quote = symbol.partition("-")
    return f"{base}-{QUOTE_CLASSES.get(quote, quote)}"


@dataclass
class Instrument:
    exchange: str
    symbol: str
    price: float
    price_fmt: str
    size_scale: float
    size_fmt: str
    min_size: float
    next_id: int
    sigma2: float
    omega: float
    activity: float = 1.0
    key: bytes = b""
    prefix: str = ""
    asset: Asset | None = None
    basis: float = 0.0  # log deviation of this venue from the asset's price (assets on several venues)
    shift: float = 0.0  # injected divergence: log offset of this venue ...
    shift_until: int = 0  # ... until this ts
    volume_until: int = 0  # ts until which sizes are boosted
    volume_mult: float = 1.0
    anomalies: list = field(default_factory=list)

    def __post_init__(self):
        self.key = f"{self.exchange}:{self.symbol}".encode()
        self.prefix = '{"v":1,"exchange":"%s","symbol":"%s","trade_id":"' % (self.exchange, self.symbol)


def make_instruments(exchanges: list[str], symbols: list[str], rng: random.Random) -> list[Instrument]:
    out = []
    assets: dict[str, Asset] = {}
    for ex in exchanges:
        for sym in symbols:
            price, pdec, size, sdec = KNOWN.get(sym, (100.0, 4, 10.0, 3))
            vol = 0.00004 * rng.uniform(0.7, 1.5)  # per-trade return std dev (long-run)
            start = price * rng.uniform(0.98, 1.02)
            name = asset_name(sym)
            asset = assets.get(name)
            if asset is None:
                asset = assets[name] = Asset(name, start, vol * vol, vol * vol * 0.05)
            asset.venues += 1
            out.append(
                Instrument(
                    exchange=ex,
                    symbol=sym,
                    price=start,
                    price_fmt=f"%.{pdec}f",
                    size_scale=size,
                    size_fmt=f"%.{sdec}f",
                    min_size=10**-sdec,
                    next_id=rng.randrange(10**8, 10**9),
                    sigma2=vol * vol,
                    omega=vol * vol * 0.05,
                    asset=asset,
                )
            )
    return out


class Generator:
    """Deterministic for a given seed (and ``start_ts``, which replaces the wall clock)."""

    ALPHA, BETA = 0.08, 0.87  # GARCH(1,1): omega/(1-alpha-beta) is the long-run variance

    def __init__(
        self,
        instruments: list[Instrument],
        seed: int | None = None,
        inject: list[str] = (),
        inject_every_ms: int = 30_000,
        magnitude: dict | None = None,
        labels=None,
        inject_after_ms: int | None = None,
    ):
        self.rng = random.Random(seed)
        self.instruments = instruments
        self.inject = [ANOMALY_TYPES[k] for k in inject]
        self.inject_every_ms = inject_every_ms
        self.inject_after_ms = inject_every_ms // 2 if inject_after_ms is None else inject_after_ms
        self.magnitude = {**DEFAULT_MAGNITUDE, **{ANOMALY_TYPES.get(k, k): v for k, v in (magnitude or {}).items()}}
        self.assets = list(dict.fromkeys(i.asset for i in instruments))
        self.shared = [i for i in instruments if i.asset.venues > 1]
        self.recent: list[Asset] = []
        if "CROSS_VENUE_DIVERGENCE" in self.inject and not self.shared:
            raise ValueError("divergence needs a base asset on at least two venues (e.g. --venues binance,coinbase)")
        self.labels = labels
        self.next_inject_ts = None
        self.weights = [1.0] * len(instruments)
        self.label_count = 0
        self.injected = 0

    def _evolve_activity(self):
        # bursts: activity follows a mean-reverting log random walk with occasional jumps
        rng = self.rng
        for i, inst in enumerate(self.instruments):
            a = math.log(inst.activity) * 0.9 + rng.gauss(0, 0.25)
            if rng.random() < 0.01:
                a += 2.0
            inst.activity = math.exp(a)
            self.weights[i] = inst.activity

    def _maybe_inject(self, ts: int, rate: float):
        if not self.inject:
            return
        if self.next_inject_ts is None:
            self.next_inject_ts = ts + self.inject_after_ms
        if ts < self.next_inject_ts:
            return
        self.next_inject_ts = ts + self.inject_every_ms
        rng = self.rng
        kind = self.inject[self.injected % len(self.inject)]
        self.injected += 1
        mag = self.magnitude[kind]
        # an asset is not picked again while it is among the last half of the assets picked, so one anomaly is
        # over (and out of the detectors' windows) before the next one on the same asset
        choice = lambda pool: rng.choice([i for i in pool if i.asset not in self.recent] or pool)
        if kind == "CROSS_VENUE_DIVERGENCE":
            # one venue trades away from the others (a step), held long enough to be more than a blip
            inst = choice(self.shared)
            duration = rng.randint(10_000, 30_000)
            inst.shift = math.log(1 + mag) if rng.random() < 0.5 else -math.log(1 + mag)
            inst.shift_until = ts + duration
            labelled = [inst]
        elif kind == "VOLUME_SPIKE":
            # the venue's traded volume is `mag` times its usual (sizes scaled; trade count unchanged)
            inst = choice(self.instruments)
            duration = rng.randint(5_000, 15_000)
            inst.volume_until = ts + duration
            inst.volume_mult = mag
            labelled = [inst]
        else:
            # the asset's price moves by the magnitude over `duration` and stays there (a level shift, not a
            # blip), on every venue that trades it
            inst = choice(self.instruments)
            duration = rng.randint(5_000, 15_000)
            target = (1 + mag) if kind == "PRICE_SPIKE" else (1 - mag)
            inst.asset.drift = (ts, ts + duration, math.log(target), 0.0)
            labelled = [i for i in self.instruments if i.asset is inst.asset]
        self.recent = (self.recent + [inst.asset])[-max(1, len(self.assets) // 2) :]
        for inst in labelled:
            self.label_count += 1
            if self.labels is not None:
                self.labels.write(
                    json.dumps(
                        {
                            "exchange": inst.exchange,
                            "symbol": inst.symbol,
                            "type": kind,
                            "start_ts": ts,
                            "end_ts": ts + duration,
                            "magnitude": mag,
                        }
                    )
                    + "\n"
                )
        if self.labels is not None:
            self.labels.flush()

    def batch(self, n: int, ts: int, recv_ts: int, rate: float) -> list[tuple[bytes, str]]:
        """n messages (key, value) stamped ``ts``."""
        self._maybe_inject(ts, rate)
        self._evolve_activity()
        for asset in self.assets:
            if asset.drift is not None:
                start, end, total, applied = asset.drift
                want = total * min(1.0, max(0.0, (ts - start) / (end - start)))
                asset.price *= math.exp(want - applied)
                asset.drift = None if ts >= end else (start, end, total, want)
        for inst in self.shared:
            if inst.shift_until and ts >= inst.shift_until:
                inst.shift, inst.shift_until = 0.0, 0
        rng = self.rng
        gauss, rand, lognorm = rng.gauss, rng.random, rng.lognormvariate
        insts = rng.choices(self.instruments, self.weights, k=n)
        alpha, beta = self.ALPHA, self.BETA
        out = []
        append = out.append
        tail = f',"ts":{ts},"recv_ts":{recv_ts}}}'
        for inst in insts:
            asset = inst.asset
            s2 = asset.sigma2
            r = gauss(0.0, 1.0) * math.sqrt(s2)
            asset.sigma2 = asset.omega + alpha * r * r + beta * s2
            asset.price *= 1.0 + r
            if asset.venues > 1:
                inst.basis = inst.basis * BASIS_PHI + gauss(0.0, BASIS_STEP)
                price = asset.price * math.exp(inst.basis + inst.shift)
            else:
                price = asset.price
            inst.price = price
            size = lognorm(0.0, 1.2) * inst.size_scale
            if inst.volume_until:
                if ts <= inst.volume_until:
                    size *= inst.volume_mult
                else:
                    inst.volume_until = 0
            if size < inst.min_size:
                size = inst.min_size
            side = "buy" if (r > 0) != (rand() < 0.3) else "sell"
            tid = inst.next_id
            inst.next_id = tid + 1
            append(
                (
                    inst.key,
                    f'{inst.prefix}{tid}","price":"{inst.price_fmt % price}","size":"'
                    f'{inst.size_fmt % size}","side":"{side}"{tail}',
                )
            )
        return out


def run(
    sink,
    generator: Generator,
    rate: float,
    count: int | None,
    duration: float | None,
    start_ts: int | None = None,
    stop=None,
    status=None,
    pace: bool = False,
) -> dict:
    """Produce until count/duration/stop. rate 0 = as fast as possible. With ``start_ts`` the clock is
    simulated: timestamps advance at ``rate`` per second of simulated time and nothing waits for the wall
    clock. Returns counts and timings."""
    batch_n = 1000 if rate <= 0 else max(1, min(1000, int(rate / 100)))
    sim_rate = rate if rate > 0 else 100_000.0
    publish_batch = sink.publish_batch
    metrics = getattr(sink, "metrics", None)
    exchanges = sorted({i.exchange for i in generator.instruments})
    sent = 0
    t0 = time.monotonic()
    deadline = t0 + duration if duration else None
    while True:
        if count is not None and sent >= count:
            break
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            break
        if stop is not None and stop.is_set():
            break
        n = batch_n if count is None else min(batch_n, count - sent)
        if start_ts is not None:
            ts = start_ts + int(sent * 1000 / sim_rate)
            recv = ts + 5
        else:
            ts = recv = int(time.time() * 1000)
        publish_batch(generator.batch(n, ts, recv, sim_rate), ts)
        sent += n
        if metrics is not None:
            for ex in exchanges:
                metrics.received(ex)
        if status is not None:
            status.maybe_report(now)
        if rate > 0 and (start_ts is None or pace):  # a simulated clock runs as fast as it can, unless paced
            ahead = t0 + sent / rate - time.monotonic()
            if ahead > 0:
                if stop is not None:
                    stop.wait(ahead)
                else:
                    time.sleep(ahead)  # pacing to the target rate
    produced_s = time.monotonic() - t0
    left = sink.flush(60.0)
    total_s = time.monotonic() - t0
    return {
        "sent": sent,
        "produce_seconds": produced_s,
        "total_seconds": total_s,
        "undelivered": left,
        "labels": generator.label_count,
    }
