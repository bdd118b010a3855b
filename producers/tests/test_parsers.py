"""Each venue parser on its recorded frames: trades, acks, heartbeats, errors, malformed frames."""

import pytest
from conftest import recording

from tickstream_producers.ticks import SymbolError, Tick, iso_to_ms, normalize_symbol, parse_symbol_arg
from tickstream_producers.venues import (
    ACK,
    ERROR,
    HEARTBEAT,
    SHUTDOWN,
    SNAPSHOT,
    TRADES,
    ParseError,
    binance,
    coinbase,
    kraken,
)


def frames(venue):
    return [(r["raw"], r["recv_ts"]) for r in recording(venue)]


def test_tick_json_v1_field_order_and_key():
    t = Tick("binance", "BTC-USDT", "3456789012", "67123.45", "0.00120", "buy", 1732500000123, 1732500000150)
    assert t.to_json() == (
        '{"v":1,"exchange":"binance","symbol":"BTC-USDT","trade_id":"3456789012",'
        '"price":"67123.45","size":"0.00120","side":"buy","ts":1732500000123,"recv_ts":1732500000150}'
    )
    assert t.key == "binance:BTC-USDT"


def test_tick_json_escapes_odd_characters():
    import json

    t = Tick("x", "A-B", 'id"\\1', "1", "1", "buy", 1, 2)
    assert json.loads(t.to_json())["trade_id"] == 'id"\\1'


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("BTCUSDT", "BTC-USDT"),
        ("ETHBTC", "ETH-BTC"),
        ("BTCFDUSD", "BTC-FDUSD"),
        ("XBT/USD", "BTC-USD"),
        ("BTC/USD", "BTC-USD"),
        ("btc-usd", "BTC-USD"),
        ("XDG/EUR", "DOGE-EUR"),
        ("1000SATSUSDT", "1000SATS-USDT"),
    ],
)
def test_symbol_normalization(raw, expected):
    assert normalize_symbol(raw) == expected


def test_symbol_arguments_must_name_base_and_quote():
    with pytest.raises(SymbolError, match="BASE-QUOTE"):
        parse_symbol_arg("BTCUSDT")
    assert parse_symbol_arg("xbt/usd") == "BTC-USD"


def test_iso_times_with_nanoseconds():
    assert iso_to_ms("2024-11-25T01:20:00.726173Z") == 1732497600726
    assert iso_to_ms("2024-11-25T01:20:01.059528172Z") == 1732497601059
    assert iso_to_ms("2024-11-25T01:20:01Z") == 1732497601000
    assert iso_to_ms("2024-11-25T01:20:01.5Z") == 1732497601500


# ---------------------------------------------------------------- Binance
def test_binance_trade_uses_T_and_m_means_taker_sold():
    raw, recv = frames("binance")[0]
    [t] = binance.parse(raw, recv)
    assert t == Tick("binance", "BTC-USDT", "4212345678", "97123.45000000", "0.00120000", "sell", 1732497600098, recv)
    [t2] = binance.parse(frames("binance")[1][0], 5)
    assert t2.side == "buy"  # m false: the buyer was the taker


def test_binance_event_time_is_not_the_trade_time():
    raw = '{"stream":"btcusdt@trade","data":{"e":"trade","E":2000,"s":"BTCUSDT","t":1,"p":"1.0","q":"2.0","T":1000,"m":false,"M":true}}'
    assert binance.parse(raw, 0)[0].ts == 1000


def test_binance_non_trade_frames():
    kinds = [
        binance.read(raw, recv).kind if not raw.endswith('"t":42123') else "bad" for raw, recv in frames("binance")
    ]
    assert SHUTDOWN in kinds and ACK in kinds and ERROR in kinds
    assert binance.parse('{"result":null,"id":1}', 0) == []
    assert binance.read('{"e":"serverShutdown","E":1}', 0).kind == SHUTDOWN


def test_binance_malformed_frame_is_a_parse_error():
    bad = [raw for raw, _ in frames("binance") if raw.endswith('"t":42123')]
    with pytest.raises(ParseError) as e:
        binance.parse(bad[0], 0)
    assert e.value.kind == "json"
    with pytest.raises(ParseError):
        binance.parse('{"stream":"x@trade","data":{"e":"trade","s":"BTCUSDT"}}', 0)


def test_binance_url_names_streams_and_limits_them():
    assert (
        binance.connect_url("wss://stream.binance.com:9443", ["BTC-USDT", "ETH-USDT"])
        == "wss://stream.binance.com:9443/stream?streams=btcusdt@trade/ethusdt@trade"
    )
    with pytest.raises(ValueError):
        binance.connect_url("wss://x", [f"A{i}-USDT" for i in range(1025)])


# ---------------------------------------------------------------- Coinbase
def test_coinbase_subscribe_is_one_message_per_channel():
    import json

    msgs = [json.loads(m) for m in coinbase.subscribe_messages(["BTC-USD", "ETH-USD"], False)]
    assert [m["channel"] for m in msgs] == ["market_trades", "heartbeats"]
    assert all(m["type"] == "subscribe" and m["product_ids"] == ["BTC-USD", "ETH-USD"] for m in msgs)


def test_coinbase_advanced_trade_side_is_the_taker_side():
    """Coinbase's Advanced Trade schema: market trade `side` is the taker side; taken as it comes."""
    raw, recv = frames("coinbase")[4]
    ticks = coinbase.parse(raw, recv)
    assert [(t.trade_id, t.side) for t in ticks] == [("712345681", "sell"), ("712345682", "buy"), ("712345683", "buy")]
    assert coinbase.ADVANCED_TRADE_SIDE_IS_TAKER


def test_coinbase_batch_is_published_in_trade_order_with_exact_decimals():
    raw, recv = frames("coinbase")[4]
    ticks = coinbase.parse(raw, recv)
    assert [t.ts for t in ticks] == sorted(t.ts for t in ticks)
    assert ticks[-1].price == "97131.5" and ticks[1].size == "0.00002"


def test_coinbase_snapshot_heartbeat_ack_error():
    fr = frames("coinbase")
    assert coinbase.read(*fr[0]).kind == ACK
    snap = coinbase.read(*fr[1])
    assert snap.kind == SNAPSHOT and len(snap.ticks) == 3
    assert coinbase.read(*fr[3]).kind == HEARTBEAT and coinbase.parse(*fr[3]) == []
    assert coinbase.read(*fr[7]).kind == ERROR
    with pytest.raises(ParseError):
        coinbase.parse(*fr[6])


def test_coinbase_exchange_matches_side_is_the_makers_so_taker_is_opposite():
    """Coinbase Exchange docs (match): 'The side field indicates the maker order side.'"""
    raw = (
        '{"type":"match","trade_id":10,"sequence":50,"maker_order_id":"ac928c66-ca53-498f-9c13-a110027a60e8",'
        '"taker_order_id":"132fb6ae-456b-4654-b4e0-d681ac05cea1","time":"2014-11-07T08:19:27.028459Z",'
        '"product_id":"BTC-USD","size":"5.23512","price":"400.23","side":"sell"}'
    )
    frame = coinbase.read(raw, 7)
    assert frame.kind == TRADES
    assert frame.ticks == [Tick("coinbase", "BTC-USD", "10", "400.23", "5.23512", "buy", 1415348367028, 7)]
    last = coinbase.read(raw.replace('"type":"match"', '"type":"last_match"'), 7)
    assert last.kind == SNAPSHOT
    assert (
        coinbase.read(
            '{"type":"heartbeat","sequence":90,"last_trade_id":20,"product_id":"BTC-USD","time":"2014-11-07T08:19:28.464459Z"}',
            0,
        ).kind
        == HEARTBEAT
    )


# ---------------------------------------------------------------- Kraken
def test_kraken_numbers_are_kept_as_exact_decimal_text():
    fr = frames("kraken")
    ticks = kraken.parse(*fr[4])
    assert [(t.trade_id, t.price, t.size) for t in ticks] == [
        ("76543210", "97125.4", "0.00514500"),
        ("76543211", "97125.5", "0.1"),
    ]
    [t] = kraken.parse(*fr[9])
    assert t.price == "97124" and t.size == "0.00010000" and t.side == "sell"
    [t] = kraken.parse(*fr[14])
    assert t.size == "0.00010"  # 1.0E-4 written as the same decimal


def test_kraken_symbol_and_time():
    [t] = kraken.parse(*frames("kraken")[5])
    assert t.symbol == "ETH-USD" and t.ts == 1732497600898 and t.side == "sell"
    raw = '{"channel":"trade","type":"update","data":[{"symbol":"XBT/USD","side":"buy","price":1.5,"qty":2,"ord_type":"market","trade_id":1,"timestamp":"2024-11-25T01:20:00.000001Z"}]}'
    assert kraken.parse(raw, 0)[0].symbol == "BTC-USD"


def test_kraken_control_frames():
    fr = frames("kraken")
    assert kraken.read(*fr[0]).kind == ACK  # status
    assert kraken.read(*fr[1]).kind == ACK  # subscribe ack
    assert kraken.read(*fr[3]).kind == HEARTBEAT
    assert kraken.read(*fr[7]).kind == ACK  # pong
    assert kraken.read(*fr[10]).kind == ERROR  # subscribe failed
    assert kraken.read(*fr[13]).kind == SNAPSHOT
    with pytest.raises(ParseError):
        kraken.parse(*fr[8])


def test_kraken_subscribe_asks_for_snapshot_only_after_reconnect():
    import json

    first = json.loads(kraken.subscribe_messages(["BTC-USD"], False)[0])
    assert first == {"method": "subscribe", "params": {"channel": "trade", "symbol": ["BTC/USD"], "snapshot": False}}
    again = json.loads(kraken.subscribe_messages(["BTC-USD"], True)[0])
    assert again["params"]["snapshot"] is True


# ---------------------------------------------------------------- found by the generated suite (test_generated_inputs)
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    "venue,frame",
    [
        # a symbol that is not a string: AttributeError from .strip() escaped Binance's and Kraken's parsers
        (
            "binance",
            '{"stream":"x@trade","data":{"e":"trade","E":1,"s":5,"t":1,"p":"1.0","q":"2.0","T":1732497600000,"m":true}}',
        ),
        # "T": 1e400 is infinity to Python's json: int() raised OverflowError
        (
            "binance",
            '{"stream":"x@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":1,"p":"1.0","q":"2.0","T":1e400,"m":true}}',
        ),
        (
            "binance",
            '{"stream":"x@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":1,"p":"1.0","q":"2.0","T":Infinity,"m":true}}',
        ),
        # a time that is not a string: AttributeError from .endswith()
        (
            "coinbase",
            '{"type":"match","trade_id":10,"time":null,"product_id":"BTC-USD","size":"1","price":"2","side":"sell"}',
        ),
        (
            "coinbase",
            '{"type":"match","trade_id":10,"time":5,"product_id":"BTC-USD","size":"1","price":"2","side":"sell"}',
        ),
        (
            "coinbase",
            '{"type":"match","trade_id":10,"time":"2024-11-25T01:20:00Z","product_id":1,"size":"1","price":"2","side":"sell"}',
        ),
        (
            "kraken",
            '{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":1.5,"qty":2,'
            '"trade_id":1,"timestamp":[]}]}',
        ),
        (
            "kraken",
            '{"channel":"trade","type":"update","data":[{"symbol":null,"side":"buy","price":1.5,"qty":2,'
            '"trade_id":1,"timestamp":"2024-11-25T01:20:00Z"}]}',
        ),
        # nested deeper than the JSON decoder's stack: RecursionError, in every venue
        ("binance", '{"stream":"x@trade","data":%s}' % DEEP),
        ("coinbase", '{"channel":%s}' % DEEP),
        ("kraken", '{"channel":"trade","data":%s}' % DEEP),
    ],
    ids=[
        "binance-symbol-int",
        "binance-T-1e400",
        "binance-T-Infinity",
        "matches-time-null",
        "matches-time-int",
        "matches-product-int",
        "kraken-timestamp-list",
        "kraken-symbol-null",
        "binance-deep",
        "coinbase-deep",
        "kraken-deep",
    ],
)
def test_a_malformed_frame_is_a_parse_error_never_another_exception(venue, frame):
    read = {"binance": binance.read, "coinbase": coinbase.read, "kraken": kraken.read}[venue]
    with pytest.raises(ParseError):
        read(frame, 1732497600100)


def test_coinbase_batch_order_survives_trade_ids_that_look_numeric_to_isdigit_only():
    """'²'.isdigit() is True but int('²') fails, as does int() of more than 4,300 digits: the batch sort raised."""

    def trade(tid):
        return (
            '{"trade_id":"%s","product_id":"BTC-USD","price":"1.5","size":"2","side":"BUY",'
            '"time":"2024-11-25T01:20:00.1Z"}' % tid
        )

    frame = '{"channel":"market_trades","events":[{"type":"update","trades":[%s]}]}' % ",".join(
        trade(t) for t in ("\u00b2", "9" * 5000, "12", "3")
    )
    ticks = coinbase.parse(frame, 1732497600100)
    assert [t.trade_id for t in ticks][-2:] == ["3", "12"]  # numeric ids in numeric order, the others first


def test_a_symbol_longer_than_the_contracts_32_characters_is_refused():
    with pytest.raises(SymbolError, match="at most 32"):
        normalize_symbol("A" * 20 + "-" + "B" * 20)  # 20 + 20 letters passed; the job refuses more than 32
    assert normalize_symbol("A" * 15 + "/" + "B" * 16) == "A" * 15 + "-" + "B" * 16
    with pytest.raises(SymbolError):
        normalize_symbol(["BTC", "USD"])
