#!/usr/bin/env python
"""A tiny JSON HTTP endpoint that plays the firewall in Vigil's lab.

It answers ``GET /api/status`` with a JSON document, by default::

    {"vpn": {"active_sessions": 42}, "license": {"days_left": 120}}

Values are layered, later ones winning:

1. the defaults above;
2. ``--status-file FILE``: a JSON object merged over the defaults, re-read on every
   request, so a lab can change values live by editing the file;
3. environment variables ``FAKE_FIREWALL__<PATH>``, the path split on ``__`` and
   lower-cased, e.g. ``FAKE_FIREWALL__VPN__ACTIVE_SESSIONS=7``;
4. ``--set PATH=VALUE`` (repeatable), e.g. ``--set vpn.active_sessions=7``.

Values are parsed as JSON when they can be (``7``, ``true``, ``"x"``, ``[1]``) and
are kept as strings otherwise. ``--token`` requires ``Authorization: Bearer TOKEN``,
``--delay`` slows every answer down (to try timeouts), and ``--tls-cert``/``--tls-key``
serve HTTPS. With ``--port 0`` a free port is chosen; the first line on stdout is
always ``listening on http(s)://HOST:PORT``. Standard library only, Python 3.9+.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit

DEFAULT_STATUS: Dict[str, Any] = {"vpn": {"active_sessions": 42}, "license": {"days_left": 120}}
ENV_PREFIX = "FAKE_FIREWALL__"
STATUS_PATH = "/api/status"


def parse_value(text: str) -> Any:
    """JSON when the text is valid JSON, else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def set_path(document: Dict[str, Any], path: Sequence[str], value: Any) -> None:
    """Set ``document[a][b]... = value``, creating (or replacing non-dict) levels."""
    node = document
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[path[-1]] = value


def merge(base: Dict[str, Any], overlay: Dict[str, Any]) -> Dict[str, Any]:
    """Deep-merge ``overlay`` into a copy of ``base``."""
    result = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


def env_overrides(environ: Dict[str, str]) -> List[Tuple[List[str], Any]]:
    """``FAKE_FIREWALL__VPN__ACTIVE_SESSIONS=7`` -> (["vpn", "active_sessions"], 7)."""
    overrides = []
    for name, value in sorted(environ.items()):
        if name.startswith(ENV_PREFIX) and len(name) > len(ENV_PREFIX):
            path = [part.lower() for part in name[len(ENV_PREFIX):].split("__") if part]
            if path:
                overrides.append((path, parse_value(value)))
    return overrides


def arg_overrides(assignments: Sequence[str]) -> List[Tuple[List[str], Any]]:
    """``vpn.active_sessions=7`` -> (["vpn", "active_sessions"], 7)."""
    overrides = []
    for assignment in assignments:
        path, sep, value = assignment.partition("=")
        if not sep or not path.strip("."):
            raise ValueError("--set expects PATH=VALUE, got %r" % assignment)
        overrides.append(([part for part in path.split(".") if part], parse_value(value)))
    return overrides


def read_status_file(path: Optional[str]) -> Dict[str, Any]:
    if not path:
        return {}
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict):
        raise ValueError("%s must hold a JSON object" % path)
    return data


def build_status(status_file: Optional[str], overrides: Sequence[Tuple[List[str], Any]]) -> Dict[str, Any]:
    """The document served right now: defaults, file, then overrides."""
    document = merge(DEFAULT_STATUS, read_status_file(status_file))
    for path, value in overrides:
        set_path(document, path, value)
    return document


class FirewallHandler(BaseHTTPRequestHandler):
    """Answers GET /api/status; everything else is 404."""

    server: "FirewallServer"
    server_version = "fake-firewall/1.0"

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        if self.server.delay:
            time.sleep(self.server.delay)
        if self.server.token and self.headers.get("Authorization") != "Bearer %s" % self.server.token:
            self._json(401, {"error": "unauthorized"})
            return
        if urlsplit(self.path).path != STATUS_PATH:
            self._json(404, {"error": "not found"})
            return
        try:
            document = build_status(self.server.status_file, self.server.overrides)
        except (OSError, ValueError) as exc:
            self._json(500, {"error": "status file: %s" % exc})
            return
        self._json(200, document)

    def _json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base class signature
        if not self.server.quiet:
            sys.stderr.write("fake-firewall: %s %s\n" % (self.address_string(), format % args))


class FirewallServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: Tuple[str, int], args: argparse.Namespace,
                 overrides: Sequence[Tuple[List[str], Any]]) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.status_file: Optional[str] = args.status_file
        self.overrides = list(overrides)
        self.token: Optional[str] = args.token
        self.delay: float = args.delay
        self.quiet: bool = args.quiet
        super().__init__(address, FirewallHandler)


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Serve a fake firewall status API for the Vigil lab.")
    parser.add_argument("--address", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8080, help="port to bind, 0 for a free one (default: %(default)s)")
    parser.add_argument("--status-file", help="JSON object merged over the defaults, re-read on every request")
    parser.add_argument("--set", dest="assignments", action="append", default=[], metavar="PATH=VALUE",
                        help="set a value, e.g. vpn.active_sessions=7 (repeatable)")
    parser.add_argument("--token", help="require 'Authorization: Bearer TOKEN'")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before each answer")
    parser.add_argument("--tls-cert", help="PEM certificate: serve HTTPS")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    try:
        overrides = env_overrides(dict(os.environ)) + arg_overrides(args.assignments)
        build_status(args.status_file, overrides)
    except (OSError, ValueError) as exc:
        print("fake-firewall: %s" % exc, file=sys.stderr)
        return 2
    server = FirewallServer((args.address, args.port), args, overrides)
    scheme = "http"
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    stop: "queue.SimpleQueue[int]" = queue.SimpleQueue()  # put() is safe in a signal handler
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda number, _frame: stop.put(number))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    print("listening on %s://%s:%d%s" % (scheme, "[%s]" % host if ":" in host else host, port, STATUS_PATH),
          flush=True)
    while True:
        try:
            stop.get(timeout=0.5)
            break
        except queue.Empty:
            continue
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
