"""In-process HTTP fake servers for module unit tests.

A fake is a ``FakeApi`` subclass whose ``handle(method, path, query, headers, body)``
returns ``(status, json_body)`` following the vendor's documented behaviour. It runs
on 127.0.0.1 on a free port in a daemon thread and records every request, so tests
can assert both what the module returned and what it sent (for example that no PUT
was made on a no-op run).
"""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, unquote, urlsplit


class Request:
    def __init__(self, method: str, path: str, query: Dict[str, List[str]], headers: Dict[str, str], body: Any):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        # Who the request authenticated as, when the fake checks identities (see
        # standins/elastic_security.py): a user name or "api_key:<name>"; None otherwise.
        self.auth: Optional[str] = None
        # The body's bytes as sent (a package upload is not JSON).
        self.raw: bytes = b""

    def __repr__(self) -> str:
        return "%s %s" % (self.method, self.path)


class FakeApi:
    """Base class: subclasses implement handle()."""

    def __init__(self) -> None:
        self.requests: List[Request] = []
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self.lock = threading.Lock()
        self._tls = False

    # -- to implement -------------------------------------------------------
    def handle(self, req: Request) -> Tuple[int, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- helpers --------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "fake not started"
        host, port = self._server.server_address[:2]
        return "%s://%s:%d" % ("https" if self._tls else "http", host, port)

    def calls(self, method: Optional[str] = None) -> List[Request]:
        return [r for r in self.requests if method is None or r.method == method]

    def writes(self) -> List[Request]:
        return [r for r in self.requests if r.method in ("POST", "PUT", "PATCH", "DELETE")]

    def start(self, host: str = "127.0.0.1", port: int = 0, ssl_context: Optional[ssl.SSLContext] = None) -> "FakeApi":
        """Serve in a daemon thread: loopback and a free port unless told (scripts serve a lab host)."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _dispatch(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", errors="replace")
                req = Request(self.command, unquote(parts.path), parse_qs(parts.query),
                              {k.lower(): v for k, v in self.headers.items()}, body)
                req.raw = raw
                with fake.lock:
                    fake.requests.append(req)
                    status, payload = fake.handle(req)
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if data and self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

            def log_message(self, format, *args):  # noqa: A002 - silence the default stderr log
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._tls = ssl_context is not None
        if ssl_context is not None:
            # The handshake happens in the request thread, so a slow client blocks no other.
            self._server.socket = ssl_context.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
