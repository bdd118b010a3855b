"""Writes the shipped recordings (recordings/*.jsonl): frames in each venue's wire format, as their
documentation and live sessions show them, around 2024-11-25 01:20 UTC. Kept so the files can be re-made.
python tests/data/make_recordings.py"""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, frames):
    with open(os.path.join(HERE, "recordings", name), "w") as f:
        for recv_ts, raw in frames:
            exchange = name.split(".")[0]
            f.write(json.dumps({"exchange": exchange, "recv_ts": recv_ts, "raw": raw}) + "\n")


def bn(stream, t, p, q, T, m, E=None):
    return json.dumps(
        {
            "stream": stream,
            "data": {
                "e": "trade",
                "E": E or T + 1,
                "s": stream.split("@")[0].upper(),
                "t": t,
                "p": p,
                "q": q,
                "T": T,
                "m": m,
                "M": True,
            },
        },
        separators=(",", ":"),
    )


binance = [
    (1732497600101, bn("btcusdt@trade", 4212345678, "97123.45000000", "0.00120000", 1732497600098, True)),
    (1732497600103, bn("btcusdt@trade", 4212345679, "97123.46000000", "0.01500000", 1732497600099, False)),
    (1732497600140, bn("ethusdt@trade", 1645678901, "3401.17000000", "0.25000000", 1732497600137, False)),
    (1732497600215, bn("btcusdt@trade", 4212345680, "97122.00000000", "0.00030000", 1732497600212, True)),
    (1732497600260, '{"stream":"btcusdt@trade","data":{"e":"trade","E":1732497600259,"s":"BTCUSDT","t":42123'),
    (1732497600301, bn("ethusdt@trade", 1645678902, "3401.18000000", "1.20000000", 1732497600296, False)),
    # trade 4212345681 never arrives: a gap
    (1732497600402, bn("btcusdt@trade", 4212345682, "97121.99000000", "0.05000000", 1732497600400, True)),
    (1732497600420, '{"e":"serverShutdown","E":1732497600419}'),
    # the new connection (rollover) overlaps the old one: 4212345682 arrives twice
    (1732497600455, bn("btcusdt@trade", 4212345682, "97121.99000000", "0.05000000", 1732497600400, True)),
    (1732497600457, bn("btcusdt@trade", 4212345683, "97121.50000000", "0.10000000", 1732497600455, True)),
    (1732497600510, '{"result":null,"id":1}'),
    (1732497600530, '{"code":2,"msg":"Invalid request: unknown variable"}'),
    (1732497600602, bn("ethusdt@trade", 1645678903, "3400.99000000", "0.01000000", 1732497600600, True)),
]

cb_env = lambda seq, ts, events: json.dumps(
    {"channel": "market_trades", "client_id": "", "timestamp": ts, "sequence_num": seq, "events": events},
    separators=(",", ":"),
)


def cbt(tid, pid, price, size, side, time):
    return {"trade_id": str(tid), "product_id": pid, "price": price, "size": size, "side": side, "time": time}


coinbase = [
    (
        1732497600050,
        json.dumps(
            {
                "channel": "subscriptions",
                "client_id": "",
                "timestamp": "2024-11-25T01:20:00.049117393Z",
                "sequence_num": 0,
                "events": [{"subscriptions": {"market_trades": ["BTC-USD", "ETH-USD"]}}],
            },
            separators=(",", ":"),
        ),
    ),
    # snapshot on subscribe: trades from before we started; not published
    (
        1732497600061,
        cb_env(
            1,
            "2024-11-25T01:20:00.060528172Z",
            [
                {
                    "type": "snapshot",
                    "trades": [
                        cbt(712345680, "BTC-USD", "97130.01", "0.00051", "SELL", "2024-11-25T01:19:59.871Z"),
                        cbt(712345679, "BTC-USD", "97130.00", "0.10000000", "BUY", "2024-11-25T01:19:59.52Z"),
                        cbt(512345600, "ETH-USD", "3402.51", "1.5", "BUY", "2024-11-25T01:19:58.9993Z"),
                    ],
                }
            ],
        ),
    ),
    (
        1732497600070,
        json.dumps(
            {
                "channel": "subscriptions",
                "client_id": "",
                "timestamp": "2024-11-25T01:20:00.069925741Z",
                "sequence_num": 2,
                "events": [{"subscriptions": {"heartbeats": ["heartbeats"], "market_trades": ["BTC-USD", "ETH-USD"]}}],
            },
            separators=(",", ":"),
        ),
    ),
    (
        1732497601002,
        json.dumps(
            {
                "channel": "heartbeats",
                "client_id": "",
                "timestamp": "2024-11-25T01:20:01.001624851Z",
                "sequence_num": 3,
                "events": [
                    {
                        "current_time": "2024-11-25 01:20:01.000312115 +0000 UTC m=+5912.812033412",
                        "heartbeat_counter": "5913",
                    }
                ],
            },
            separators=(",", ":"),
        ),
    ),
    # an update batches 250 ms of trades, newest first
    (
        1732497601260,
        cb_env(
            4,
            "2024-11-25T01:20:01.259130017Z",
            [
                {
                    "type": "update",
                    "trades": [
                        cbt(712345683, "BTC-USD", "97131.5", "0.0241", "BUY", "2024-11-25T01:20:01.198631Z"),
                        cbt(712345682, "BTC-USD", "97131.49", "0.00002", "BUY", "2024-11-25T01:20:01.104Z"),
                        cbt(712345681, "BTC-USD", "97130.02", "0.3", "SELL", "2024-11-25T01:20:01.031274Z"),
                    ],
                }
            ],
        ),
    ),
    (
        1732497601511,
        cb_env(
            5,
            "2024-11-25T01:20:01.510224093Z",
            [
                {
                    "type": "update",
                    "trades": [cbt(512345601, "ETH-USD", "3402.6", "0.01", "SELL", "2024-11-25T01:20:01.4Z")],
                }
            ],
        ),
    ),
    (
        1732497601600,
        '{"channel":"market_trades","client_id":"","timestamp":"2024-11-25T01:20:01.59Z","sequence_num":6,"events":[{"type":"update","trades":[{"trade_id":"712345684","product_id":"BTC-USD","price":"97131.5"',
    ),
    (
        1732497601770,
        json.dumps(
            {"type": "error", "message": "failure to subscribe", "reason": "product LUNA-USD not found"},
            separators=(",", ":"),
        ),
    ),
    (
        1732497602002,
        json.dumps(
            {
                "channel": "heartbeats",
                "client_id": "",
                "timestamp": "2024-11-25T01:20:02.001520004Z",
                "sequence_num": 7,
                "events": [
                    {
                        "current_time": "2024-11-25 01:20:02.000298151 +0000 UTC m=+5913.812019448",
                        "heartbeat_counter": "5914",
                    }
                ],
            },
            separators=(",", ":"),
        ),
    ),
    # reconnect: a new snapshot replays trades already published plus one missed meanwhile
    (
        1732497603120,
        cb_env(
            1,
            "2024-11-25T01:20:03.119870112Z",
            [
                {
                    "type": "snapshot",
                    "trades": [
                        cbt(712345685, "BTC-USD", "97129.87", "0.0052", "SELL", "2024-11-25T01:20:02.95Z"),
                        cbt(712345683, "BTC-USD", "97131.5", "0.0241", "BUY", "2024-11-25T01:20:01.198631Z"),
                        cbt(712345682, "BTC-USD", "97131.49", "0.00002", "BUY", "2024-11-25T01:20:01.104Z"),
                    ],
                }
            ],
        ),
    ),
    (
        1732497603380,
        cb_env(
            2,
            "2024-11-25T01:20:03.379042178Z",
            [
                {
                    "type": "update",
                    "trades": [cbt(712345686, "BTC-USD", "97129.86", "0.1", "SELL", "2024-11-25T01:20:03.3012Z")],
                }
            ],
        ),
    ),
]


def kr(kind, trades):
    return json.dumps({"channel": "trade", "type": kind, "data": trades}, separators=(",", ":"))


def krt(sym, side, price, qty, tid, ts, ord_type="market"):
    return '{"symbol":"%s","side":"%s","price":%s,"qty":%s,"ord_type":"%s","trade_id":%d,"timestamp":"%s"}' % (
        sym,
        side,
        price,
        qty,
        ord_type,
        tid,
        ts,
    )


kraken = [
    (
        1732497600010,
        '{"channel":"status","data":[{"api_version":"v2","connection_id":9734523109445712,"system":"online","version":"2.0.9"}],"type":"update"}',
    ),
    (
        1732497600080,
        '{"method":"subscribe","result":{"channel":"trade","snapshot":false,"symbol":"BTC/USD"},"success":true,"time_in":"2024-11-25T01:20:00.071232Z","time_out":"2024-11-25T01:20:00.071295Z"}',
    ),
    (
        1732497600081,
        '{"method":"subscribe","result":{"channel":"trade","snapshot":false,"symbol":"ETH/USD"},"success":true,"time_in":"2024-11-25T01:20:00.071232Z","time_out":"2024-11-25T01:20:00.071307Z"}',
    ),
    (1732497600512, '{"channel":"heartbeat"}'),
    (
        1732497600730,
        '{"channel":"trade","type":"update","data":['
        + ",".join(
            [
                krt("BTC/USD", "buy", "97125.4", "0.00514500", 76543210, "2024-11-25T01:20:00.726173Z"),
                krt("BTC/USD", "buy", "97125.5", "0.1", 76543211, "2024-11-25T01:20:00.726173Z"),
            ]
        )
        + "]}",
    ),
    (
        1732497600901,
        '{"channel":"trade","type":"update","data":['
        + krt("ETH/USD", "sell", "3401.02", "2.00000000", 21098765, "2024-11-25T01:20:00.898114Z", "limit")
        + "]}",
    ),
    (1732497601512, '{"channel":"heartbeat"}'),
    (
        1732497601610,
        '{"method":"pong","req_id":1,"time_in":"2024-11-25T01:20:01.608103Z","time_out":"2024-11-25T01:20:01.608121Z"}',
    ),
    (
        1732497601700,
        '{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"sell","price":97124.9,"qty":',
    ),
    # 76543212 is missed: a gap, then a number with an exponent-free integer price
    (
        1732497601820,
        '{"channel":"trade","type":"update","data":['
        + krt("BTC/USD", "sell", "97124", "0.00010000", 76543213, "2024-11-25T01:20:01.817552Z")
        + "]}",
    ),
    (
        1732497602050,
        '{"error":"Currency pair not supported LUNA/USD","method":"subscribe","req_id":2,"success":false,"symbol":"LUNA/USD","time_in":"2024-11-25T01:20:02.049880Z","time_out":"2024-11-25T01:20:02.049925Z"}',
    ),
    # reconnect with snapshot: true backfills; already-published trades are dropped
    (
        1732497603400,
        '{"channel":"status","data":[{"api_version":"v2","connection_id":1442300943451128791,"system":"online","version":"2.0.9"}],"type":"update"}',
    ),
    (
        1732497603470,
        '{"method":"subscribe","result":{"channel":"trade","snapshot":true,"symbol":"BTC/USD"},"success":true,"time_in":"2024-11-25T01:20:03.462013Z","time_out":"2024-11-25T01:20:03.462071Z"}',
    ),
    (
        1732497603471,
        kr("snapshot", None).replace(
            "null",
            "["
            + ",".join(
                [
                    krt("BTC/USD", "buy", "97125.5", "0.1", 76543211, "2024-11-25T01:20:00.726173Z"),
                    krt("BTC/USD", "sell", "97124", "0.00010000", 76543213, "2024-11-25T01:20:01.817552Z"),
                    krt("BTC/USD", "buy", "97126.1", "0.25", 76543214, "2024-11-25T01:20:02.990014Z", "limit"),
                ]
            )
            + "]",
        ),
    ),
    (
        1732497603702,
        '{"channel":"trade","type":"update","data":['
        + krt("BTC/USD", "buy", "97126.2", "1.0E-4", 76543215, "2024-11-25T01:20:03.700001Z")
        + "]}",
    ),
]

write("binance.jsonl", binance)
write("coinbase.jsonl", coinbase)
write("kraken.jsonl", kraken)
