"""The venue registry: every list of venues in TickStream is derived from ``VENUES`` here.

Each venue module declares its :class:`VenueSpec` (CLI name, tick exchange id, endpoint, default symbols,
sequential trade ids, limits); adding a venue is its module plus one entry below (docs/adding-a-venue.md).
Derived from it: the ``live --venue`` names and default symbols (cli.py), the parser and gap detection of a
recording's exchange (replay.py), the venues synthetic load may be labelled with (synthetic.py), and the venues
``deploy/tickstream up`` starts when their hosts answer (deploy/stack/producers.py). The job's ``--exchanges``
default must hold every exchange here: tests/test_venue_registry.py checks it against JobParameter.java.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from . import Frame, VenueSpec, binance, coinbase, kraken

# The first spec of an exchange is its primary one: it reads that exchange's recordings and is started by the stack.
VENUES: tuple[VenueSpec, ...] = (binance.SPEC, coinbase.SPEC, coinbase.MATCHES_SPEC, kraken.SPEC)

SPECS: dict[str, VenueSpec] = {s.name: s for s in VENUES}
VENUE_NAMES: tuple[str, ...] = tuple(SPECS)
PRIMARY: dict[str, VenueSpec] = {}
for _s in VENUES:
    PRIMARY.setdefault(_s.exchange, _s)
EXCHANGES: tuple[str, ...] = tuple(PRIMARY)  # tick exchange ids of the live venues
SYNTHETIC = "synthetic"  # the exchange id of generated load (no venue behind it)


def spec(name: str) -> VenueSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise KeyError(f"unknown venue {name!r} (choose from {', '.join(sorted(SPECS))})") from None


def reader_for_exchange(exchange: str) -> Callable[[str, int], Frame]:
    """The parser for a recording's ``exchange`` field."""
    try:
        return PRIMARY[exchange].read
    except KeyError:
        raise KeyError(f"no parser for exchange {exchange!r} (known: {', '.join(PRIMARY)})") from None


def sequential_ids(exchange: str) -> bool:
    """Whether a recording of this exchange has consecutive trade ids per instrument (gap detection)."""
    s = PRIMARY.get(exchange)
    return s is not None and s.sequential_ids


def endpoint(s: VenueSpec) -> tuple[str, int]:
    """(host, port) of a venue's default endpoint."""
    u = urlsplit(s.url)
    return u.hostname, u.port or (443 if u.scheme == "wss" else 80)


def stack_hosts() -> dict[str, tuple[str, int]]:
    """The venues ``deploy/tickstream up`` starts when their endpoint answers: each exchange's primary venue."""
    return {s.name: endpoint(s) for s in PRIMARY.values()}
