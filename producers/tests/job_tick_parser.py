"""The job's tick parser (job/src/main/java/io/tickstream/source/TickParser.java) written again in Python for the
tests, independently of the producers' own check (ticks.contract_violation): the generated suites ask it whether
the job would take what the producers publish, and the shared conformance corpus
(job/src/test/resources/contract/tick-contract-cases.jsonl, also read by the Java test TickContractCorpusTest)
proves that it, the producers' check and the Java parser agree.

Mirrors the Java parser rule by rule: a JSON object with no duplicate top-level field; ``v`` the integer 1;
exchange, symbol, trade_id, price, size and side strings; ``ts`` and ``recv_ts`` integers within a signed 64-bit
long; exchange in the configured set; symbol BASE-QUOTE of [A-Z0-9] with one interior '-', 3..32 characters;
trade_id 1..64 characters 0x21..0x7e; price and size plain positive decimals of at most 40 characters; side
buy, sell or unknown; both times from 2009-01-03 and at most the clock skew past ``now``; ``ts`` at most
--max-trade-ahead past ``recv_ts``; key ``exchange:symbol``. Limits are the job's defaults.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

JOB_PARAMETERS = Path(__file__).resolve().parents[2] / "job/src/main/java/io/tickstream/config/JobParameter.java"


def job_default_exchanges() -> frozenset[str]:
    """The job's --exchanges default, read from its one definition (JobParameter.EXCHANGES)."""
    m = re.search(r'EXCHANGES\(\s*"exchanges",\s*"([^"]*)"', JOB_PARAMETERS.read_text())
    assert m, f"no EXCHANGES default in {JOB_PARAMETERS}"
    return frozenset(v.strip() for v in m.group(1).split(",") if v.strip())


JOB_EXCHANGES = job_default_exchanges()
EARLIEST_TRADE_TS = 1230940800000
MAX_CLOCK_SKEW_MS = 60_000
MAX_TRADE_AHEAD_MS = 10_000
MAX_RECORD_BYTES = 65_536
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_FIELDS = ("v", "exchange", "symbol", "trade_id", "price", "size", "side", "ts", "recv_ts")
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")


class _Constant(Exception):
    pass


def _no_constants(name):
    raise _Constant(name)  # Jackson refuses NaN and Infinity by default


def job_refusal(
    key: bytes | None,
    value: bytes,
    now: int,
    exchanges=JOB_EXCHANGES,
    max_clock_skew_ms: int = MAX_CLOCK_SKEW_MS,
    max_record_bytes: int = MAX_RECORD_BYTES,
) -> str | None:
    """Why the job's parser refuses this record, or None when it takes it."""
    if not value:
        return "empty value"
    if len(value) > max_record_bytes:
        return "record too large"
    try:
        pairs = json.loads(value.decode("utf-8"), object_pairs_hook=lambda p: p, parse_constant=_no_constants)
    except (ValueError, _Constant, RecursionError):
        return "not valid JSON"
    if not isinstance(pairs, list):
        return "not a JSON object"
    fields: dict = {}
    for name, v in pairs:
        if name in fields:
            return "duplicate field"
        fields[name] = v
    for name in _FIELDS:
        if name not in fields:
            return f"missing field {name}"
    v = fields["v"]
    if type(v) is not int:
        return "field v must be an integer"
    if v != 1:
        return "unsupported version"
    for name in ("exchange", "symbol", "trade_id", "price", "size", "side"):
        if type(fields[name]) is not str:
            return f"field {name} must be a string"
    for name in ("ts", "recv_ts"):
        x = fields[name]
        if type(x) is not int:
            return f"field {name} must be an integer"
        if not _LONG_MIN <= x <= _LONG_MAX:
            return f"field {name} is out of range"
    exchange, symbol = fields["exchange"], fields["symbol"]
    if exchange not in exchanges:
        return "unknown exchange"
    if not _is_symbol(symbol):
        return "symbol must be BASE-QUOTE"
    trade_id = fields["trade_id"]
    if not 1 <= len(trade_id) <= 64 or any(not 0x21 <= ord(c) <= 0x7E for c in trade_id):
        return "trade_id must be 1 to 64 printable characters"
    for name in ("price", "size"):
        text = fields[name]
        if len(text) > 40 or not _DECIMAL.fullmatch(text) or not text.strip("0."):
            return f"{name} must be a plain positive decimal"
    if fields["side"] not in ("buy", "sell", "unknown"):
        return "side must be buy, sell or unknown"
    for name in ("ts", "recv_ts"):
        if fields[name] < EARLIEST_TRADE_TS:
            return f"{name} is before 2009"
        if fields[name] > now + max_clock_skew_ms:
            return f"{name} is in the future"
    if fields["ts"] - fields["recv_ts"] > MAX_TRADE_AHEAD_MS:
        return "ts is after recv_ts by more than --max-trade-ahead"
    if key is None or key != f"{exchange}:{symbol}".encode("utf-8", "surrogatepass"):
        return "key does not match exchange:symbol"
    return None


def _is_symbol(s: str) -> bool:
    if not 3 <= len(s) <= 32 or s.count("-") != 1:
        return False
    base, _, quote = s.partition("-")
    return bool(base) and bool(quote) and all(c in _SYMBOL_CHARS for c in base + quote)


_SYMBOL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
