"""The tick contract (tick JSON v1, docs/contracts.md) and symbol normalization.

Prices and sizes are carried as the exact decimal strings the venue sent; nothing here turns them into floats.
"""

from __future__ import annotations

import calendar
import json
import re
from dataclasses import dataclass

SIDES = ("buy", "sell", "unknown")

# The job's tick contract (io.tickstream.source.TickParser): what it refuses goes to its dead-letter topic, so the
# producers check every venue's and every replayed tick against the same rules before publishing
# (contract_violation). job/src/test/resources/contract/tick-contract-cases.jsonl holds cases both sides must agree on.
# The job's default --exchanges: every venue of venues/registry.py plus "synthetic" (tests/test_venue_registry.py
# checks the three lists agree; ticks.py cannot import the registry, whose venue modules import it).
EXCHANGES = frozenset(("binance", "coinbase", "kraken", "synthetic"))
EARLIEST_TRADE_TS = 1230940800000  # 2009-01-03, the Bitcoin genesis block: no crypto trade is older
MAX_CLOCK_SKEW_MS = 60_000  # the job's default --max-clock-skew: how far past its clock a time may be
MAX_TRADE_AHEAD_MS = 5_000  # stricter than the job's --max-trade-ahead (10 s), which dead-letters such a trade
_LONG_MAX = 2**63 - 1
_trade_id = re.compile(r"[\x21-\x7e]{1,64}").fullmatch
_decimal = re.compile(r"[0-9]+(?:\.[0-9]+)?").fullmatch
_CONTRACT_SYMBOL = re.compile(r"[A-Z0-9]+-[A-Z0-9]+")
_CONTRACT_SYMBOLS: set[str] = set()


@dataclass(slots=True, frozen=True)
class Tick:
    exchange: str
    symbol: str
    trade_id: str
    price: str
    size: str
    side: str
    ts: int
    recv_ts: int

    @property
    def key(self) -> str:
        return f"{self.exchange}:{self.symbol}"

    def to_json(self) -> str:
        """Tick JSON v1, fields in the contract's order, no spaces."""
        return (
            f'{{"v":1,"exchange":{_s(self.exchange)},"symbol":{_s(self.symbol)},"trade_id":{_s(self.trade_id)},'
            f'"price":{_s(self.price)},"size":{_s(self.size)},"side":{_s(self.side)},'
            f'"ts":{int(self.ts)},"recv_ts":{int(self.recv_ts)}}}'
        )


def contract_violation(tick: Tick, now_ms: int) -> str | None:
    """The field the job's parser would refuse this tick for, or None when it takes it. ``now_ms`` is the
    current time (epoch ms). Called once per venue or replayed tick (about 0.8 µs); synthetic ticks are valid by
    construction."""
    if tick.exchange not in EXCHANGES:
        return "exchange"
    symbol = tick.symbol
    if symbol not in _CONTRACT_SYMBOLS:  # a venue trades few symbols: each is checked once
        if type(symbol) is not str or not 3 <= len(symbol) <= 32 or not _CONTRACT_SYMBOL.fullmatch(symbol):
            return "symbol"
        if len(_CONTRACT_SYMBOLS) < 4096:
            _CONTRACT_SYMBOLS.add(symbol)
    trade_id = tick.trade_id
    if type(trade_id) is not str or not _trade_id(trade_id):
        return "trade_id"
    # price and size: plain positive decimals of at most 40 characters, not all zeros
    price = tick.price
    if type(price) is not str or len(price) > 40 or not _decimal(price) or not price.strip("0."):
        return "price"
    size = tick.size
    if type(size) is not str or len(size) > 40 or not _decimal(size) or not size.strip("0."):
        return "size"
    if tick.side not in SIDES:
        return "side"
    ts, recv_ts = tick.ts, tick.recv_ts
    latest = now_ms + MAX_CLOCK_SKEW_MS
    if type(recv_ts) is not int or not EARLIEST_TRADE_TS <= recv_ts <= latest or recv_ts > _LONG_MAX:
        return "recv_ts"
    if type(ts) is not int or not EARLIEST_TRADE_TS <= ts <= latest:
        return "ts"
    if ts > recv_ts + MAX_TRADE_AHEAD_MS:
        return "ts_ahead"
    return None


_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f-\uffff]')


def _s(value: str) -> str:
    # Venue ids and decimals are plain ASCII; only the odd one needs json's escaping.
    if _NEEDS_ESCAPE.search(value):
        return json.dumps(value)
    return f'"{value}"'


# Quote currencies, longest first so that "BTCFDUSD" splits as BTC-FDUSD and not BTCF-DUSD.
KNOWN_QUOTES = tuple(
    sorted(
        (
            "USDT",
            "USDC",
            "FDUSD",
            "TUSD",
            "BUSD",
            "DAI",
            "USD",
            "EUR",
            "GBP",
            "JPY",
            "TRY",
            "BRL",
            "AUD",
            "CAD",
            "CHF",
            "BTC",
            "ETH",
            "BNB",
            "XRP",
            "DOGE",
            "SOL",
            "PLN",
            "ZAR",
            "UAH",
            "MXN",
            "ARS",
            "IDR",
            "RUB",
            "EURI",
            "PYUSD",
            "USD1",
        ),
        key=len,
        reverse=True,
    )
)

# Venue-specific asset codes mapped to the common ones.
ASSET_ALIASES = {"XBT": "BTC", "XDG": "DOGE", "ZUSD": "USD", "ZEUR": "EUR", "XXBT": "BTC", "XETH": "ETH"}

_SYMBOL_RE = re.compile(r"[A-Z0-9]{1,20}-[A-Z0-9]{1,20}")


class SymbolError(ValueError):
    pass


def _asset(code: str) -> str:
    code = code.upper()
    return ASSET_ALIASES.get(code, code)


def normalize_symbol(raw: str) -> str:
    """`BTCUSDT` → `BTC-USDT`, `XBT/USD` → `BTC-USD`, `btc-usd` → `BTC-USD`."""
    if type(raw) is not str:
        raise SymbolError(f"symbol {raw!r} is not a string")
    s = raw.strip().upper()
    for sep in ("/", "-", "_"):
        if sep in s:
            base, _, quote = s.partition(sep)
            out = f"{_asset(base)}-{_asset(quote)}"
            break
    else:
        for quote in KNOWN_QUOTES:
            if s.endswith(quote) and len(s) > len(quote):
                out = f"{_asset(s[: -len(quote)])}-{quote}"
                break
        else:
            raise SymbolError(f"cannot split {raw!r} into base and quote (known quotes: {', '.join(KNOWN_QUOTES)})")
    if len(out) > 32 or not _SYMBOL_RE.fullmatch(out):
        raise SymbolError(f"{raw!r} is not a BASE-QUOTE symbol (letters and digits, at most 32 characters)")
    return out


def parse_symbol_arg(raw: str) -> str:
    """A command-line symbol: must already be BASE-QUOTE (aliases accepted), e.g. BTC-USDT."""
    s = raw.strip().upper()
    if not any(sep in s for sep in "-/"):
        raise SymbolError(f"symbol {raw!r}: write it as BASE-QUOTE, e.g. BTC-USDT")
    return normalize_symbol(s)


_ISO_BASE_CACHE: dict[str, int] = {}


def iso_to_ms(text: str) -> int:
    """RFC 3339 UTC time (`2024-11-25T01:20:00.123456789Z`, any number of fraction digits) → epoch ms."""
    if type(text) is not str:
        raise ValueError(f"time {text!r} is not a string")
    if not text.endswith("Z"):
        if text.endswith("+00:00"):
            text = text[:-6] + "Z"
        else:
            raise ValueError(f"not a UTC time: {text!r}")
    head = text[:19]
    base = _ISO_BASE_CACHE.get(head)
    if base is None:
        if len(head) != 19 or head[4] != "-" or head[10] not in "T ":
            raise ValueError(f"bad time {text!r}")
        base = (
            calendar.timegm(
                (
                    int(head[0:4]),
                    int(head[5:7]),
                    int(head[8:10]),
                    int(head[11:13]),
                    int(head[14:16]),
                    int(head[17:19]),
                    0,
                    0,
                    0,
                )
            )
            * 1000
        )
        if len(_ISO_BASE_CACHE) > 4096:
            _ISO_BASE_CACHE.clear()
        _ISO_BASE_CACHE[head] = base
    rest = text[19:-1]
    if rest:
        if rest[0] != "." or not rest[1:].isdigit():
            raise ValueError(f"bad time {text!r}")
        return base + int((rest[1:] + "00")[:3])
    return base
