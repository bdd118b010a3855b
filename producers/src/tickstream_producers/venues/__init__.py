"""One module per venue: endpoint, subscribe messages and a pure parser from a text frame to ticks.

Every venue module exposes
- ``parse(frame, recv_ts) -> list[Tick]``: the trades in a frame (acks, heartbeats → ``[]``), raising
  :class:`ParseError` for a frame it cannot read;
- ``read(frame, recv_ts) -> Frame``: the same, plus what the connection lifecycle needs to know
  (snapshot or not, a planned shutdown, a venue error);
- ``SPEC``: the :class:`VenueSpec` the shared lifecycle (``lifecycle.py``) drives, listed in ``registry.py``
  (the one list of venues; docs/adding-a-venue.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from ..ticks import Tick, normalize_symbol

# Frame kinds
TRADES = "trades"  # live trades
SNAPSHOT = "snapshot"  # recent trades sent on subscribe (backfill): published only if not seen before
HEARTBEAT = "heartbeat"
ACK = "ack"  # subscription acks, pongs, status
SHUTDOWN = "shutdown"  # the venue announces it will close this connection (planned)
ERROR = "error"  # the venue reports an error (bad subscribe, ...)
OTHER = "other"


class ParseError(ValueError):
    """A frame no parser can read. ``kind`` names the problem for the log-once-per-kind rule."""

    def __init__(self, kind: str, message: str, frame: str = ""):
        super().__init__(message)
        self.kind = kind
        self.sample = frame[:200]


def cached_symbol(cache: dict[str, str], raw: str) -> str:
    """A venue symbol normalized (ticks.normalize_symbol), remembered; the cache is bounded, whatever a venue sends."""
    s = cache.get(raw) if type(raw) is str else None
    if s is None:
        s = normalize_symbol(raw)
        if len(cache) >= 4096:
            cache.clear()
        cache[raw] = s
    return s


def load_object(frame: str, venue: str, **loads_options) -> dict:
    """The frame as a JSON object, or a ParseError naming the venue (kinds "json" and "shape")."""
    try:
        msg = json.loads(frame, **loads_options)
    except (ValueError, RecursionError) as e:  # RecursionError: nested deeper than the decoder's stack
        raise ParseError("json", f"{venue}: not JSON ({type(e).__name__}: {str(e)[:200]})", frame) from None
    if not isinstance(msg, dict):
        raise ParseError("shape", f"{venue}: not a JSON object", frame)
    return msg


@dataclass(slots=True)
class Frame:
    kind: str
    ticks: list[Tick] = field(default_factory=list)
    message: str = ""


NOTHING = Frame(OTHER)


@dataclass(frozen=True)
class VenueSpec:
    name: str  # CLI name (binance, coinbase, coinbase-matches, kraken)
    exchange: str  # the tick's exchange id
    url: str  # default endpoint
    default_symbols: tuple[str, ...]  # what `live --venue NAME` subscribes to without --symbols
    read: Callable[[str, int], Frame]
    connect_url: Callable[[str, list[str]], str]  # (base url, symbols) -> url to open
    subscribe_messages: Callable[[list[str], bool], list[str]]  # (symbols, is_reconnect) -> messages
    stale_after: float  # watchdog: seconds without a trade frame before reconnecting
    silent_after: float  # seconds without any frame at all (heartbeats included)
    max_symbols: int  # per connection
    sequential_ids: bool  # trade ids are consecutive integers per instrument (gap detection)
    max_connection_age: float | None = None  # planned rollover before the venue cuts the connection
    keepalive: Callable[[int], str] | None = None  # application-level ping message
    keepalive_every: float = 30.0
    min_send_interval: float = 0.0  # client messages spacing (Binance: 5 messages/s per connection)
    connect_limit: tuple[int, float] | None = None  # at most N connection attempts per T seconds
