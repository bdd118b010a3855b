"""Binance spot trade streams over the combined-stream endpoint.

Facts honoured (Binance "WebSocket Streams" docs): the streams are named in the URL
(``/stream?streams=btcusdt@trade/ethusdt@trade``), at most 1,024 per connection; the server pings every 20 s
and drops a client that has not ponged within a minute (the websockets library pongs automatically); every
client message counts against 5 messages/s; a connection lives at most 24 h and a ``serverShutdown`` event
may come first. In a trade event ``T`` is the trade time (``E`` is the event time) and ``m`` true means the
buyer was the maker, so the taker sold.
"""

from __future__ import annotations

from ..ticks import Tick
from . import ACK, ERROR, NOTHING, SHUTDOWN, TRADES, Frame, ParseError, VenueSpec, cached_symbol, load_object

EXCHANGE = "binance"
URL = "wss://stream.binance.com:9443"
MAX_STREAMS = 1024

_symbols: dict[str, str] = {}


def venue_symbol(symbol: str) -> str:
    """BTC-USDT → btcusdt (the stream name's prefix)."""
    return symbol.replace("-", "").lower()


def stream_names(symbols: list[str]) -> list[str]:
    return [f"{venue_symbol(s)}@trade" for s in symbols]


def connect_url(base: str, symbols: list[str]) -> str:
    if len(symbols) > MAX_STREAMS:
        raise ValueError(f"binance allows {MAX_STREAMS} streams per connection, got {len(symbols)}")
    return f"{base.rstrip('/')}/stream?streams={'/'.join(stream_names(symbols))}"


def subscribe_messages(symbols: list[str], reconnect: bool) -> list[str]:
    return []  # streams are in the URL: nothing to send, nothing counted against 5 messages/s


def _symbol(raw: str) -> str:
    return cached_symbol(_symbols, raw)


def read(frame: str, recv_ts: int) -> Frame:
    msg = load_object(frame, "binance")
    data = msg.get("data", msg) if "stream" in msg else msg
    if not isinstance(data, dict):
        raise ParseError("shape", "binance: data is not an object", frame)
    event = data.get("e")
    if event == "trade":
        try:
            tick = Tick(
                EXCHANGE,
                _symbol(data["s"]),
                str(data["t"]),
                data["p"],
                data["q"],
                "sell" if data["m"] else "buy",
                int(data["T"]),
                recv_ts,
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as e:  # ArithmeticError: "T": 1e999
            raise ParseError("trade", f"binance: unreadable trade ({e!r})", frame) from None
        if not isinstance(tick.price, str) or not isinstance(tick.size, str):
            raise ParseError("trade", "binance: price/size not decimal strings", frame)
        return Frame(TRADES, [tick])
    if event == "serverShutdown":
        return Frame(SHUTDOWN, message="serverShutdown")
    if "result" in msg and "id" in msg:
        return Frame(ACK)
    if "code" in msg and "msg" in msg:
        return Frame(ERROR, message=f"binance error {msg.get('code')}: {msg.get('msg')}")
    return NOTHING


def parse(frame: str, recv_ts: int) -> list[Tick]:
    return read(frame, recv_ts).ticks


SPEC = VenueSpec(
    name="binance",
    exchange=EXCHANGE,
    url=URL,
    default_symbols=("BTC-USDT", "ETH-USDT"),
    read=read,
    connect_url=connect_url,
    subscribe_messages=subscribe_messages,
    stale_after=60.0,
    silent_after=90.0,  # server pings every 20 s; trades on busy pairs every few ms
    max_symbols=MAX_STREAMS,
    sequential_ids=True,
    max_connection_age=23.5 * 3600,  # Binance cuts at 24 h: roll over before it
    min_send_interval=0.25,
    connect_limit=(300, 300.0),  # 300 connection attempts per 5 minutes per IP
)
