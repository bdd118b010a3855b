"""Coinbase: Advanced Trade ``market_trades`` (default) and the Exchange ``matches`` channel (option).

Advanced Trade (``wss://advanced-trade-ws.coinbase.com``): a subscribe must arrive within 5 s of connecting,
one subscribe message per channel; without a ``heartbeats`` subscription quiet channels are closed after
60-90 s; ``market_trades`` first sends a ``snapshot`` event of recent trades, then ``update`` events batched
over 250 ms.

Side. Coinbase's two feeds differ, and client libraries disagree about Advanced Trade:
- Exchange ``matches``: Coinbase's Exchange WebSocket docs (channels → match) say "The side field indicates
  the maker order side. If the side is sell this indicates the maker was a sell order and the match is
  considered an up-tick." The taker is the opposite side, so we flip it.
- Advanced Trade ``market_trades``: Coinbase's Advanced Trade API schema for a market trade describes
  ``side`` (``BUY``/``SELL``) as the "Taker side of the trade", so it is taken as it comes (lower-cased).
  ``ADVANCED_TRADE_SIDE_IS_TAKER`` holds this decision in one place; tests pin it.
"""

from __future__ import annotations

import json

from ..ticks import Tick, iso_to_ms
from . import ACK, ERROR, HEARTBEAT, NOTHING, SNAPSHOT, TRADES, Frame, ParseError, VenueSpec, cached_symbol, load_object

EXCHANGE = "coinbase"
URL = "wss://advanced-trade-ws.coinbase.com"
EXCHANGE_FEED_URL = "wss://ws-feed.exchange.coinbase.com"

ADVANCED_TRADE_SIDE_IS_TAKER = True
_TAKER = {"BUY": "buy", "SELL": "sell", "buy": "buy", "sell": "sell"}
_OPPOSITE = {"buy": "sell", "sell": "buy"}

_symbols: dict[str, str] = {}


def _symbol(raw: str) -> str:
    return cached_symbol(_symbols, raw)


def venue_symbol(symbol: str) -> str:
    return symbol  # Coinbase product ids are already BASE-QUOTE


def connect_url(base: str, symbols: list[str]) -> str:
    return base


def subscribe_messages(symbols: list[str], reconnect: bool) -> list[str]:
    """One message per channel (Advanced Trade accepts one channel per subscribe)."""
    products = [venue_symbol(s) for s in symbols]
    return [
        json.dumps({"type": "subscribe", "product_ids": products, "channel": "market_trades"}),
        json.dumps({"type": "subscribe", "product_ids": products, "channel": "heartbeats"}),
    ]


def matches_subscribe_messages(symbols: list[str], reconnect: bool) -> list[str]:
    return [
        json.dumps(
            {
                "type": "subscribe",
                "product_ids": [venue_symbol(s) for s in symbols],
                "channels": ["matches", "heartbeat"],
            }
        )
    ]


def _sort_key(t: Tick):
    tid = t.trade_id  # numeric ids in numeric order; isdigit() alone also takes '²', which int() refuses
    return (t.ts, int(tid) if tid.isascii() and tid.isdigit() and len(tid) <= 30 else 0, tid)


def _advanced(msg: dict, frame: str, recv_ts: int) -> Frame:
    channel = msg["channel"]
    if channel == "market_trades":
        events = msg.get("events")
        if not isinstance(events, list):
            raise ParseError("shape", "coinbase: market_trades without events", frame)
        ticks: list[Tick] = []
        snapshot = False
        try:
            for event in events:
                if event.get("type") == "snapshot":
                    snapshot = True
                for t in event.get("trades") or ():
                    side = _TAKER[t["side"]]
                    if not ADVANCED_TRADE_SIDE_IS_TAKER:
                        side = _OPPOSITE[side]
                    ticks.append(
                        Tick(
                            EXCHANGE,
                            _symbol(t["product_id"]),
                            str(t["trade_id"]),
                            _decimal(t["price"], frame),
                            _decimal(t["size"], frame),
                            side,
                            iso_to_ms(t["time"]),
                            recv_ts,
                        )
                    )
        except ParseError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as e:
            raise ParseError("trade", f"coinbase: unreadable trade ({e!r})", frame) from None
        ticks.sort(key=_sort_key)  # a batch lists the newest first; publish in trade order
        return Frame(SNAPSHOT if snapshot else TRADES, ticks)
    if channel == "heartbeats":
        return Frame(HEARTBEAT)
    if channel == "subscriptions":
        return Frame(ACK)
    return NOTHING


def _decimal(value, frame: str) -> str:
    if not isinstance(value, str):
        raise ParseError("trade", "coinbase: price/size not a decimal string", frame)
    return value


def _exchange_feed(msg: dict, frame: str, recv_ts: int) -> Frame:
    kind = msg["type"]
    if kind in ("match", "last_match"):
        try:
            tick = Tick(
                EXCHANGE,
                _symbol(msg["product_id"]),
                str(msg["trade_id"]),
                _decimal(msg["price"], frame),
                _decimal(msg["size"], frame),
                _OPPOSITE[msg["side"]],  # the feed gives the maker's side
                iso_to_ms(msg["time"]),
                recv_ts,
            )
        except ParseError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as e:
            raise ParseError("trade", f"coinbase: unreadable match ({e!r})", frame) from None
        # last_match is the one trade sent on subscribe: backfill, not a new trade
        return Frame(SNAPSHOT if kind == "last_match" else TRADES, [tick])
    if kind == "heartbeat":
        return Frame(HEARTBEAT)
    if kind == "subscriptions":
        return Frame(ACK)
    if kind == "error":
        return Frame(ERROR, message=f"coinbase error: {msg.get('message')} {msg.get('reason', '')}".strip())
    return NOTHING


def read(frame: str, recv_ts: int) -> Frame:
    msg = load_object(frame, "coinbase")
    if "channel" in msg:
        return _advanced(msg, frame, recv_ts)
    if "type" in msg:
        return _exchange_feed(msg, frame, recv_ts)
    raise ParseError("shape", "coinbase: neither channel nor type", frame)


def parse(frame: str, recv_ts: int) -> list[Tick]:
    return read(frame, recv_ts).ticks


SPEC = VenueSpec(
    name="coinbase",
    exchange=EXCHANGE,
    url=URL,
    default_symbols=("BTC-USD", "ETH-USD"),
    read=read,
    connect_url=connect_url,
    subscribe_messages=subscribe_messages,
    stale_after=120.0,
    silent_after=10.0,  # heartbeats every second
    max_symbols=100,
    sequential_ids=False,  # market_trades ids are not promised consecutive
)

MATCHES_SPEC = VenueSpec(
    name="coinbase-matches",
    exchange=EXCHANGE,
    url=EXCHANGE_FEED_URL,
    default_symbols=("BTC-USD", "ETH-USD"),
    read=read,
    connect_url=connect_url,
    subscribe_messages=matches_subscribe_messages,
    stale_after=120.0,
    silent_after=10.0,
    max_symbols=100,
    sequential_ids=True,  # Exchange trade_id is consecutive per product
)
