"""The HTTP(S) server: ``/metrics`` and a landing page, TLS and basic auth from the web config."""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import logging
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder, gzip_accepted

from vigil_custom_exporter import __version__
from vigil_custom_exporter.webconfig import WebConfig, import_bcrypt, server_ssl_context

LOG = logging.getLogger("vigil_custom_exporter")

CONNECTION_TIMEOUT_SECONDS = 30.0


class BasicAuth:
    """Checks ``Authorization: Basic`` headers against bcrypt hashes; caches successes."""

    def __init__(self, users: Sequence[Tuple[str, bytes]]) -> None:
        self._users = dict(users)
        self._bcrypt = import_bcrypt() if self._users else None
        self._verified: Dict[str, bool] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self._users)

    @staticmethod
    def _credentials(header: Optional[str]) -> Optional[Tuple[str, str]]:
        if not header or not header.startswith("Basic "):
            return None
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, password = decoded.partition(":")
        return (user, password) if sep else None

    def check(self, header: Optional[str]) -> bool:
        if not self._users:
            return True
        credentials = self._credentials(header)
        if credentials is None:
            return False
        user, password = credentials
        cache_key = hashlib.sha256(("%s\0%s" % (user, password)).encode("utf-8")).hexdigest()
        with self._lock:
            if self._verified.get(cache_key):
                return True
        hashed = self._users.get(user)
        probe = hashed if hashed is not None else next(iter(self._users.values()))
        valid = bool(self._bcrypt.checkpw(password.encode("utf-8"), probe)) and hashed is not None
        if valid:
            with self._lock:
                self._verified[cache_key] = True
        return valid


LANDING_PAGE = b"""<html><head><title>Vigil custom exporter</title></head>
<body><h1>Vigil custom exporter</h1><p><a href="/metrics">Metrics</a></p></body></html>
"""


class MetricsHandler(BaseHTTPRequestHandler):
    """Serves ``/metrics`` and a landing page, behind basic auth when configured."""

    server: "MetricsServer"
    server_version = "vigil-custom-exporter/" + __version__
    timeout = CONNECTION_TIMEOUT_SECONDS

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        if not self.server.auth.check(self.headers.get("Authorization")):
            self._send(401, b"Unauthorized\n", "text/plain; charset=utf-8",
                       {"WWW-Authenticate": 'Basic realm="vigil_custom_exporter"'})
            return
        path = urlsplit(self.path).path
        if path == "/metrics":
            self._metrics()
        elif path == "/":
            self._send(200, LANDING_PAGE, "text/html; charset=utf-8")
        else:
            self._send(404, b"Not Found\n", "text/plain; charset=utf-8")

    def _metrics(self) -> None:
        encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
        try:
            body = encoder(self.server.registry)
        except Exception:
            LOG.exception("rendering metrics failed")
            self._send(500, b"internal error\n", "text/plain; charset=utf-8")
            return
        extra = {}
        if gzip_accepted(self.headers.get("Accept-Encoding", "")):
            body = gzip.compress(body)
            extra["Content-Encoding"] = "gzip"
        self._send(200, body, content_type, extra)

    def _send(self, status: int, body: bytes, content_type: str, headers: Optional[Dict[str, str]] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        LOG.debug("http %s: %s", self.address_string(), format % args)


class MetricsServer(ThreadingHTTPServer):
    """Threaded HTTP(S) server; the TLS handshake runs in the connection's own thread."""

    daemon_threads = True

    def __init__(self, host: str, port: int, registry: CollectorRegistry, web: WebConfig) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.registry = registry
        self.auth = BasicAuth(web.users)
        self.tls = server_ssl_context(web) if web.tls_enabled else None
        super().__init__((host, port), MetricsHandler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(CONNECTION_TIMEOUT_SECONDS)
        try:
            tls_socket = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            LOG.debug("TLS handshake with %s failed: %s", client_address[0], exc)
            return
        try:
            super().finish_request(tls_socket, client_address)
        finally:
            self.shutdown_request(tls_socket)
