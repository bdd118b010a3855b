"""Kraken WebSocket v2 ``trade`` channel (``wss://ws.kraken.com/v2``).

Prices and quantities arrive as JSON numbers; they are read as the exact text of the number
(``parse_float=str``), never as floats. Subscribing with ``snapshot: false`` suppresses the recent-trades
snapshot on the first connection; after a reconnect the snapshot is asked for to backfill the outage and is
deduplicated. Heartbeats come about once a second; ``{"method":"ping"}`` is answered with a pong.
``trade_id`` is sequential per pair, which makes gaps detectable. ``side`` is the taker's side.
"""

from __future__ import annotations

import json
from decimal import Decimal

from ..ticks import Tick, iso_to_ms
from . import ACK, ERROR, HEARTBEAT, NOTHING, SNAPSHOT, TRADES, Frame, ParseError, VenueSpec, cached_symbol, load_object

EXCHANGE = "kraken"
URL = "wss://ws.kraken.com/v2"

_symbols: dict[str, str] = {}
_SIDES = {"buy": "buy", "sell": "sell"}


def venue_symbol(symbol: str) -> str:
    return symbol.replace("-", "/")  # BTC-USD → BTC/USD (v2 uses BTC, not XBT)


def _symbol(raw: str) -> str:
    return cached_symbol(_symbols, raw)


def connect_url(base: str, symbols: list[str]) -> str:
    return base


def subscribe_messages(symbols: list[str], reconnect: bool) -> list[str]:
    return [
        json.dumps(
            {
                "method": "subscribe",
                "params": {"channel": "trade", "symbol": [venue_symbol(s) for s in symbols], "snapshot": reconnect},
            }
        )
    ]


def ping_message(req_id: int) -> str:
    return json.dumps({"method": "ping", "req_id": req_id})


def _plain(number: str) -> str:
    """The number's exact text; exponent notation (1.0E-4) is rewritten as the same decimal (0.00010). A number
    no tick can carry (1e999999999 would be a billion digits) is left as it is, for the contract check to drop."""
    if "e" in number or "E" in number:
        if len(number) > 64:
            return number
        d = Decimal(number)
        if not -45 <= d.adjusted() <= 45:
            return number
        return format(d, "f")
    return number


def read(frame: str, recv_ts: int) -> Frame:
    # numbers kept as their exact text: "price":67123.4 → "67123.4"
    msg = load_object(frame, "kraken", parse_float=str, parse_int=str)
    channel = msg.get("channel")
    if channel == "trade":
        kind = msg.get("type")
        data = msg.get("data")
        if not isinstance(data, list):
            raise ParseError("shape", "kraken: trade without data", frame)
        try:
            ticks = [
                Tick(
                    EXCHANGE,
                    _symbol(t["symbol"]),
                    t["trade_id"],
                    _plain(t["price"]),
                    _plain(t["qty"]),
                    _SIDES[t["side"]],
                    iso_to_ms(t["timestamp"]),
                    recv_ts,
                )
                for t in data
            ]
        except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as e:
            raise ParseError("trade", f"kraken: unreadable trade ({e!r})", frame) from None
        for t in ticks:
            if not isinstance(t.price, str) or not isinstance(t.trade_id, str) or not isinstance(t.size, str):
                raise ParseError("trade", "kraken: price/qty/trade_id not numbers", frame)
        return Frame(SNAPSHOT if kind == "snapshot" else TRADES, ticks)
    if channel == "heartbeat":
        return Frame(HEARTBEAT)
    if channel == "status":
        return Frame(ACK)
    method = msg.get("method")
    if method in ("subscribe", "unsubscribe"):
        if msg.get("success") is False:
            return Frame(ERROR, message=f"kraken {method} failed: {msg.get('error')}")
        return Frame(ACK)
    if method == "pong":
        return Frame(ACK)
    if "error" in msg:
        return Frame(ERROR, message=f"kraken error: {msg.get('error')}")
    return NOTHING


def parse(frame: str, recv_ts: int) -> list[Tick]:
    return read(frame, recv_ts).ticks


SPEC = VenueSpec(
    name="kraken",
    exchange=EXCHANGE,
    url=URL,
    default_symbols=("BTC-USD", "ETH-USD"),
    read=read,
    connect_url=connect_url,
    subscribe_messages=subscribe_messages,
    stale_after=180.0,
    silent_after=10.0,  # heartbeats about once a second
    max_symbols=200,
    sequential_ids=True,
    keepalive=ping_message,
    keepalive_every=30.0,
)
