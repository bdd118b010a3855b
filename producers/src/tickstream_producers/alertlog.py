"""``alert-log``: a webhook receiver for Alertmanager that keeps every notification.

Each POST (Alertmanager's webhook payload, version 4) is appended as one JSON line to ``--out`` with the time it
arrived (``received_at``, epoch ms) and the path it was posted to, and summed up in one line on stdout. It is the
receiver the stack's Alertmanager sends to by default, so alerts are visible with no chat or pager set up; tests and
the benchmark read the same file (its arrival times are the delivery times).
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

log = logging.getLogger("tickstream.alertlog")

MAX_BODY = 16 * 1024 * 1024


def summary(payload: dict) -> str:
    alerts = payload.get("alerts") or []
    names = sorted({str(a.get("labels", {}).get("alertname", "?")) for a in alerts if isinstance(a, dict)})
    group = payload.get("groupLabels") or {}
    return (
        f"{payload.get('status', '?')} {','.join(names)} {len(alerts)} alert(s) "
        f"group {json.dumps(group, separators=(',', ':'), ensure_ascii=False)[:300]}"
    )


class AlertLog:
    def __init__(self, out: Path, echo=sys.stdout):
        self.out, self.echo = out, echo
        self.lock = threading.Lock()
        out.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(out, "a", encoding="utf-8")

    def record(self, path: str, body: bytes) -> None:
        received = int(time.time() * 1000)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            payload = {"unparsed": body[:4096].decode(errors="replace")}
        line = json.dumps({"received_at": received, "path": path, "payload": payload}, ensure_ascii=False)
        with self.lock:
            self.file.write(line + "\n")
            self.file.flush()
        if self.echo is not None and isinstance(payload, dict):
            print(f"{time.strftime('%H:%M:%S')} {path} {summary(payload)}", file=self.echo, flush=True)

    def close(self) -> None:
        self.file.close()


def make_server(host: str, port: int, alert_log: AlertLog) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as Alertmanager's client uses it

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0 or length > MAX_BODY:
                self.send_error(413, "payload too large")
                return
            alert_log.record(self.path, self.rfile.read(length))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):  # a health check
            body = b"ok\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def add_parser(sub) -> None:
    sp = sub.add_parser("alert-log", help="a webhook receiver that appends every Alertmanager notification to a file")
    sp.add_argument("--out", required=True, help="JSON lines file the notifications are appended to")
    sp.add_argument("--host", default="127.0.0.1", help="bind address (default: %(default)s)")
    sp.add_argument("--port", type=int, default=9097, help="port (default: %(default)s)")
    sp.add_argument("--quiet", action="store_true", help="no summary line per notification on stdout")
    sp.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])


def cmd_alert_log(args, parser) -> int:
    alert_log = AlertLog(Path(args.out), None if args.quiet else sys.stdout)
    try:
        server = make_server(args.host, args.port, alert_log)
    except OSError as e:
        parser.error(f"cannot listen on {args.host}:{args.port} ({e}); pick another --port")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(f"alert-log: http://{args.host}:{server.server_address[1]}/ -> {args.out}", file=sys.stderr, flush=True)
    stop.wait()
    server.shutdown()
    server.server_close()
    alert_log.close()
    return 0
