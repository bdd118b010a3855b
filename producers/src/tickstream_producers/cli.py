"""``python -m tickstream_producers <command>``: live, replay, synthetic, record; notify and alert-log (alerts)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import signal
import sys
import threading
import time

from . import __version__
from .metrics import Metrics, StatusLine
from .synthetic import EXCHANGES
from .ticks import SymbolError, parse_symbol_arg
from .venues import registry

log = logging.getLogger("tickstream")

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_METRICS_PORT = 9091


# ---------------------------------------------------------------- argument types
def _symbols(text: str) -> list[str]:
    out = []
    for part in text.split(","):
        if not part.strip():
            continue
        try:
            out.append(parse_symbol_arg(part))
        except SymbolError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    if not out:
        raise argparse.ArgumentTypeError("no symbols given (e.g. BTC-USDT,ETH-USDT)")
    return list(dict.fromkeys(out))


def _venues(text: str) -> list[str]:
    out = [v.strip().lower() for v in text.split(",") if v.strip()]
    bad = [v for v in out if v not in registry.VENUE_NAMES]
    if bad or not out:
        raise argparse.ArgumentTypeError(
            f"unknown venue {', '.join(bad) or '(none)'}; choose from {', '.join(registry.VENUE_NAMES)}"
        )
    return out


def _exchanges(text: str) -> list[str]:
    out = [v.strip().lower() for v in text.split(",") if v.strip()]
    bad = [v for v in out if v not in EXCHANGES]
    if bad or not out:
        raise argparse.ArgumentTypeError(
            f"unknown exchange {', '.join(bad) or '(none)'}; choose from {', '.join(EXCHANGES)}"
        )
    return out


def _inject(text: str) -> list[str]:
    from .synthetic import ANOMALY_TYPES

    out = [v.strip().lower() for v in text.split(",") if v.strip()]
    bad = [v for v in out if v not in ANOMALY_TYPES]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown anomaly {', '.join(bad)}; choose from {', '.join(ANOMALY_TYPES)}")
    return out


def _magnitudes(text: str) -> dict:
    from .synthetic import ANOMALY_TYPES

    out = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, _, value = part.partition("=")
        name = name.strip().lower()
        if name not in ANOMALY_TYPES:
            raise argparse.ArgumentTypeError(f"unknown anomaly {name!r}; choose from {', '.join(ANOMALY_TYPES)}")
        try:
            out[name] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part!r}: magnitude must be a number (e.g. spike=0.012)") from None
        if not 0 < out[name] < math.inf:
            raise argparse.ArgumentTypeError(f"{part!r}: magnitude must be a positive number")
    return out


def _positive(kind):
    def conv(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if v < 0:
            raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
        return v

    return conv


def _seconds(hint: str, unit: str = " seconds"):
    """A duration (or factor) that must be more than 0: 0 would loop, or silently mean something else."""

    def conv(text):
        v = _positive(float)(text)
        if v <= 0:
            raise argparse.ArgumentTypeError(f"{text!r}: must be more than 0{unit} ({hint})")
        return v

    return conv


COMPRESSIONS = ("lz4", "zstd", "snappy", "gzip", "none")


def _compression(text: str) -> str:
    if text not in COMPRESSIONS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a Kafka compression ({', '.join(COMPRESSIONS)}; "
            "from --compression or $TICKSTREAM_KAFKA_COMPRESSION)"
        )
    return text


def _connection_age(text: str) -> float:
    """Seconds before a planned rollover, or `off` (no rollover: the venue ends connections when it will)."""
    if text.strip().lower() == "off":
        return math.inf
    return _seconds("or `off` for no planned rollover; omit it for the venue's default")(text)


def _url(text: str) -> tuple[str, str]:
    venue, sep, url = text.partition("=")
    if not sep or not url.startswith(("ws://", "wss://")):
        raise argparse.ArgumentTypeError(f"{text!r}: write VENUE=ws://host:port/path")
    _venues(venue)
    return venue.strip().lower(), url


# ---------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tickstream_producers", description="TickStream producers: trades into Kafka as tick JSON v1."
    )
    p.add_argument("--version", action="version", version=__version__)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def common(sp, kafka=True, metrics=True):
        g = sp.add_argument_group("output")
        if kafka:
            g.add_argument(
                "--bootstrap",
                default=os.environ.get("TICKSTREAM_KAFKA_BOOTSTRAP", DEFAULT_BOOTSTRAP),
                help="Kafka bootstrap servers (default: $TICKSTREAM_KAFKA_BOOTSTRAP or %(default)s)",
            )
            g.add_argument("--topic", default="ticks", help="Kafka topic (default: %(default)s)")
            g.add_argument(
                "--compression",
                type=_compression,
                default=os.environ.get("TICKSTREAM_KAFKA_COMPRESSION", "lz4"),
                help="compression of the batches sent to Kafka: " + ", ".join(COMPRESSIONS) + " (default: "
                "$TICKSTREAM_KAFKA_COMPRESSION or lz4; none suits a broker on the same host, where compressing "
                "saves no network and costs CPU in the producers, the broker and the job)",
            )
            g.add_argument("--stdout", action="store_true", help="print tick JSON lines instead of publishing")
        if metrics:
            g.add_argument("--metrics-host", default="127.0.0.1", help="metrics bind address (default: %(default)s)")
            g.add_argument(
                "--metrics-port",
                type=int,
                default=DEFAULT_METRICS_PORT,
                help="Prometheus /metrics port (default: %(default)s; 0 = any free port)",
            )
            g.add_argument("--no-metrics", action="store_true", help="do not serve /metrics")
            g.add_argument(
                "--status-every",
                type=_positive(float),
                default=5.0,
                help="seconds between status lines on stderr (0 = none; default: %(default)s)",
            )
        sp.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])

    def feed(sp):
        sp.add_argument(
            "--venue",
            type=_venues,
            action="append",
            required=True,
            help=f"one of {', '.join(registry.VENUE_NAMES)} (coinbase: Advanced Trade market_trades, "
            "coinbase-matches: the Exchange matches channel); repeat or comma-separate for several",
        )
        sp.add_argument(
            "--symbols",
            type=_symbols,
            help="BASE-QUOTE symbols, comma-separated (default per venue, e.g. BTC-USDT,ETH-USDT)",
        )
        sp.add_argument(
            "--url",
            type=_url,
            action="append",
            default=[],
            help="endpoint override VENUE=ws://...; also $TICKSTREAM_<VENUE>_URL",
        )
        default = "omit it for the venue's default"
        sp.add_argument(
            "--stale-after",
            type=_seconds(default),
            help="reconnect after this many seconds without a live trade (default per venue)",
        )
        sp.add_argument(
            "--silent-after",
            type=_seconds(default),
            help="reconnect after this many seconds without any frame (default per venue)",
        )
        sp.add_argument(
            "--max-connection-age",
            type=_connection_age,
            metavar="SECONDS|off",
            help="planned rollover after this many seconds, or off (default per venue: Binance 23.5 h)",
        )
        sp.add_argument(
            "--backoff-min",
            type=_seconds("the first reconnect delay"),
            default=0.5,
            help="first reconnect delay, doubled after each connection that brought no live trade "
            "(default: %(default)s)",
        )
        sp.add_argument(
            "--backoff-max",
            type=_seconds("the longest reconnect delay"),
            default=30.0,
            help="longest reconnect delay (default: %(default)s)",
        )
        sp.add_argument(
            "--duration", type=_seconds("omit it to run until stopped"), help="stop after this many seconds"
        )

    sp = sub.add_parser("live", help="publish live trades from exchange WebSockets")
    feed(sp)
    common(sp)

    sp = sub.add_parser("record", help="write live frames to a recording file (docs/contracts.md#recordings)")
    feed(sp)
    sp.add_argument("--out", required=True, help="recording file to append to")
    common(sp, kafka=False, metrics=True)

    sp = sub.add_parser("replay", help="replay recordings through the venue parsers")
    sp.add_argument("files", nargs="+", metavar="FILE")
    speed = sp.add_mutually_exclusive_group()
    speed.add_argument(
        "--speed",
        type=_seconds("use --max-speed for as fast as possible", unit=""),
        default=1.0,
        help="N× the recorded pace (default: %(default)s)",
    )
    speed.add_argument("--max-speed", action="store_true", help="as fast as possible")
    common(sp)

    sp = sub.add_parser("synthetic", help="generate realistic synthetic trades (load generator)")
    sp.add_argument("--rate", type=_positive(float), default=1000.0, help="messages/s (0 = as fast as possible)")
    sp.add_argument("--duration", type=_seconds("omit it to run until stopped"), help="stop after this many seconds")
    sp.add_argument("--count", type=_positive(int), help="stop after this many messages")
    sp.add_argument("--seed", type=int, help="random seed (same seed and --start-ts: same output)")
    sp.add_argument(
        "--start-ts",
        type=_positive(int),
        help="simulated clock start (epoch ms) instead of the wall clock: output is reproducible, "
        "--rate sets the simulated rate and generation runs as fast as it can (see --pace)",
    )
    sp.add_argument(
        "--pace",
        action="store_true",
        help="with --start-ts: send --rate messages per second of wall time instead of as fast as possible "
        "(the same messages, spread over time)",
    )
    sp.add_argument("--symbols", type=_symbols, default=None, help="symbols (default: 10 USDT pairs)")
    sp.add_argument(
        "--venues",
        type=_exchanges,
        default=["synthetic"],
        help=f"exchange labels: {', '.join(EXCHANGES)} (default: synthetic)",
    )
    sp.add_argument(
        "--inject",
        type=_inject,
        default=[],
        help="anomalies to inject: spike,drop,volume,divergence (divergence needs a symbol on 2+ venues)",
    )
    sp.add_argument(
        "--magnitude",
        type=_magnitudes,
        default={},
        help="injected sizes, e.g. spike=0.012,drop=0.012,volume=12,divergence=0.006: relative price move, "
        "traded-volume multiple, relative gap of one venue (default 0.05, 0.05, 20, 0.01)",
    )
    sp.add_argument("--inject-every", type=_positive(float), default=30.0, help="seconds between anomalies")
    sp.add_argument(
        "--inject-after",
        type=_positive(float),
        default=None,
        help="seconds before the first anomaly (default: half of --inject-every); detectors need a baseline first",
    )
    sp.add_argument("--labels", help="JSONL file for the injected anomalies' labels")
    common(sp)

    from . import alertlog, notify

    notify.add_parser(sub)
    alertlog.add_parser(sub)
    return p


# ---------------------------------------------------------------- plumbing
def _setup_logging(level: str) -> None:
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _metrics(args, parser) -> Metrics:
    m = Metrics()
    if not getattr(args, "no_metrics", True) and not getattr(args, "stdout", False):
        try:
            port = m.serve(args.metrics_host, args.metrics_port)
            print(f"metrics on http://{args.metrics_host}:{port}/metrics", file=sys.stderr, flush=True)
        except OSError as e:
            parser.error(
                f"cannot serve metrics on {args.metrics_host}:{args.metrics_port} ({e}); "
                "pick another --metrics-port or pass --no-metrics"
            )
    return m


def _sink(args, metrics: Metrics, latency_every: int = 1):
    if args.stdout:
        from .sinks import StdoutSink

        return StdoutSink(metrics)
    from .sinks import KafkaSink

    return KafkaSink(
        args.bootstrap, args.topic, metrics, latency_every=latency_every, **{"compression.type": args.compression}
    )


def _thread_stop() -> threading.Event:
    stop = threading.Event()

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def _feed_clients(args, on_frame_for, metrics, stop):
    from .lifecycle import FeedClient, FeedOptions, chunk

    urls = dict(args.url)
    clients = []
    venues = list(dict.fromkeys(v for group in args.venue for v in group))
    for name in venues:
        s = registry.spec(name)
        symbols = args.symbols or list(s.default_symbols)
        url = urls.get(name) or os.environ.get(f"TICKSTREAM_{name.upper().replace('-', '_')}_URL")
        opts = FeedOptions(
            url=url,
            stale_after=args.stale_after,
            silent_after=args.silent_after,
            max_connection_age=args.max_connection_age,
            backoff_min=args.backoff_min,
            backoff_max=args.backoff_max,
        )
        for part in chunk(symbols, s.max_symbols):
            clients.append(FeedClient(s, part, on_frame_for(s), metrics, opts, stop))
    return clients


async def _run_feeds(args, on_frame_for, metrics, sink, status) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    clients = _feed_clients(args, on_frame_for, metrics, stop)
    tasks = [asyncio.create_task(c.run()) for c in clients]

    async def housekeeping():
        while not stop.is_set():
            if sink is not None:
                sink.poll()
            if status is not None:
                status.maybe_report()
            try:
                await asyncio.wait_for(stop.wait(), 0.05)
            except TimeoutError:
                pass

    hk = asyncio.create_task(housekeeping())
    if args.duration:
        loop.call_later(args.duration, stop.set)
    await asyncio.gather(*tasks)
    stop.set()
    await hk


def cmd_live(args, parser) -> int:
    from .pipeline import Pipeline

    metrics = _metrics(args, parser)
    sink = _sink(args, metrics)
    pipeline = Pipeline(sink, metrics)
    status = StatusLine(metrics, args.status_every) if args.status_every else None

    def on_frame_for(s):
        read, exchange, seq, process = s.read, s.exchange, s.sequential_ids, pipeline.process
        return lambda text, recv_ts: process(read, exchange, seq, text, recv_ts)

    try:
        asyncio.run(_run_feeds(args, on_frame_for, metrics, sink, status))
    finally:
        left = sink.close() if hasattr(sink, "close") else 0
        if status:
            status.report()
        metrics.shutdown()
    return 1 if left else 0


def cmd_record(args, parser) -> int:
    import json

    from .venues import ParseError

    metrics = _metrics(args, parser)
    status = StatusLine(metrics, args.status_every) if args.status_every else None
    out = open(args.out, "a", encoding="utf-8", buffering=1)  # line-buffered: a crash loses no frame
    frames = [0]
    parser_failed: set[str] = set()

    def on_frame_for(s):
        def on_frame(text, recv_ts):
            out.write(json.dumps({"exchange": s.exchange, "recv_ts": recv_ts, "raw": text}, ensure_ascii=False) + "\n")
            frames[0] += 1
            try:
                frame = s.read(text, recv_ts)
            except Exception as e:  # recorded as it came; an unreadable frame only counts (a parser bug too)
                metrics.error(s.exchange, "parse")
                if not isinstance(e, ParseError) and s.exchange not in parser_failed:
                    parser_failed.add(s.exchange)
                    log.warning(
                        "%s: parser failed on a frame (%r; logged once); recorded, recording goes on", s.exchange, e
                    )
                return None
            if frame.ticks:
                metrics.received(s.exchange)
                metrics.delivered(s.exchange, len(frame.ticks))
            return frame

        return on_frame

    try:
        asyncio.run(_run_feeds(args, on_frame_for, metrics, None, status))
    finally:
        out.close()
        metrics.shutdown()
    print(f"record: {frames[0]} frames written to {args.out}", file=sys.stderr)
    return 0


def cmd_replay(args, parser) -> int:
    from .pipeline import Pipeline
    from .replay import replay

    for f in args.files:
        if not os.path.isfile(f):
            parser.error(f"no such recording file: {f}")
    metrics = _metrics(args, parser)
    sink = _sink(args, metrics)
    pipeline = Pipeline(sink, metrics)
    stop = _thread_stop()
    t0 = time.monotonic()
    try:
        stats = replay(args.files, pipeline, None if args.max_speed else args.speed, stop)
    finally:
        left = sink.close()
        metrics.shutdown()
    ticks = sum(metrics.messages.values())
    print(
        f"replay: {stats['frames']} frames, {ticks} ticks, {stats['parse_errors']} unreadable frames, "
        f"{stats['bad_lines']} bad recording lines, {stats['duplicates']} duplicates dropped "
        f"in {time.monotonic() - t0:.2f}s",
        file=sys.stderr,
    )
    return 1 if left else 0


def cmd_synthetic(args, parser) -> int:
    from . import synthetic

    symbols = args.symbols or _symbols(synthetic.DEFAULT_SYMBOLS)
    metrics = _metrics(args, parser)
    sink = _sink(args, metrics)
    labels = open(args.labels, "w", encoding="utf-8") if args.labels else None
    if args.inject and not labels:
        log.info("anomalies injected without --labels: labels are not kept")
    import random

    rng = random.Random(args.seed)
    instruments = synthetic.make_instruments(args.venues, symbols, rng)
    try:
        gen = synthetic.Generator(
            instruments,
            seed=None if args.seed is None else args.seed + 1,
            inject=args.inject,
            inject_every_ms=int(args.inject_every * 1000),
            magnitude=args.magnitude,
            labels=labels,
            inject_after_ms=None if args.inject_after is None else int(args.inject_after * 1000),
        )
    except ValueError as e:
        parser.error(str(e))
    for inst in instruments:
        metrics.exchange(inst.exchange)
    status = StatusLine(metrics, args.status_every) if args.status_every and not args.stdout else None
    stop = _thread_stop()
    try:
        result = synthetic.run(
            sink, gen, args.rate, args.count, args.duration, args.start_ts, stop, status, pace=args.pace
        )
    finally:
        if labels:
            labels.close()
        metrics.shutdown()
    if args.stdout:
        sys.stdout.flush()
    sent, ps, ts = result["sent"], result["produce_seconds"], result["total_seconds"]
    print(
        f"synthetic: {sent} messages; produced in {ps:.2f}s ({sent / max(ps, 1e-9):,.0f} msg/s), "
        f"all acknowledged in {ts:.2f}s ({sent / max(ts, 1e-9):,.0f} msg/s); undelivered {result['undelivered']}; "
        f"anomalies injected {result['labels']}",
        file=sys.stderr,
    )
    return 1 if result["undelivered"] else 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.log_level)
    if args.command == "synthetic" and args.labels is not None and not args.inject:
        parser.error("--labels needs --inject (e.g. --inject spike,drop,volume)")
    if args.command in ("live", "record") and args.backoff_max < args.backoff_min:
        parser.error(f"--backoff-max ({args.backoff_max:g}) must be at least --backoff-min ({args.backoff_min:g})")
    from .alertlog import cmd_alert_log
    from .notify import cmd_notify

    commands = {
        "live": cmd_live,
        "record": cmd_record,
        "replay": cmd_replay,
        "synthetic": cmd_synthetic,
        "notify": cmd_notify,
        "alert-log": cmd_alert_log,
    }
    try:
        return commands[args.command](args, parser)
    except KeyboardInterrupt:
        return 130
