"""venues/registry.py is the one list of venues: what is derived from it, and the lists that cannot be derived from
it (the job's --exchanges default, the producers' copy of it in ticks.py) agree with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from job_tick_parser import job_default_exchanges

from tickstream_producers import cli, replay, synthetic, ticks
from tickstream_producers.venues import binance, coinbase, kraken, registry

REPO = Path(__file__).resolve().parents[2]


def test_the_job_accepts_every_registered_exchange_and_synthetic_and_the_producers_check_the_same_set():
    expected = {*registry.EXCHANGES, registry.SYNTHETIC}
    assert job_default_exchanges() == expected, (
        "JobParameter.EXCHANGES' default (job/src/main/java/io/tickstream/config/JobParameter.java) must list every "
        "exchange of producers/src/tickstream_producers/venues/registry.py and synthetic, or a new venue's ticks go "
        "to the job's dead-letter topic"
    )
    assert ticks.EXCHANGES == expected


def test_every_venue_is_registered_once_with_its_exchange_endpoint_and_default_symbols():
    assert registry.VENUE_NAMES == ("binance", "coinbase", "coinbase-matches", "kraken")
    assert len(set(registry.VENUE_NAMES)) == len(registry.VENUES)
    assert registry.EXCHANGES == ("binance", "coinbase", "kraken")
    for s in registry.VENUES:
        host, port = registry.endpoint(s)
        assert host and 0 < port < 65536, s.name
        assert s.default_symbols and all(ticks.parse_symbol_arg(x) == x for x in s.default_symbols), s.name
    with pytest.raises(KeyError, match="unknown venue 'bitstamp'.*binance, coinbase, coinbase-matches, kraken"):
        registry.spec("bitstamp")


def test_recordings_are_read_by_their_exchanges_primary_venue():
    assert registry.reader_for_exchange("binance") is binance.read
    assert registry.reader_for_exchange("coinbase") is coinbase.read
    assert registry.reader_for_exchange("kraken") is kraken.read
    with pytest.raises(KeyError, match="no parser for exchange 'synthetic'"):
        registry.reader_for_exchange("synthetic")
    # gap detection follows the primary venue: Coinbase Advanced Trade ids are not promised consecutive
    assert [registry.sequential_ids(e) for e in ("binance", "coinbase", "kraken", "synthetic")] == [
        True,
        False,
        True,
        False,
    ]


def test_the_cli_synthetic_load_and_the_stack_derive_their_venue_lists_from_the_registry():
    assert cli._venues("kraken, coinbase-matches") == ["kraken", "coinbase-matches"]
    assert synthetic.EXCHANGES == ("synthetic", "binance", "coinbase", "kraken")
    assert cli._exchanges("synthetic,kraken") == ["synthetic", "kraken"]
    assert replay.sequential_ids is registry.sequential_ids
    assert registry.stack_hosts() == {
        "binance": ("stream.binance.com", 9443),
        "coinbase": ("advanced-trade-ws.coinbase.com", 443),
        "kraken": ("ws.kraken.com", 443),
    }
