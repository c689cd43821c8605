"""The HTTP side: ``POST /webhook`` from Alertmanager (basic auth), ``GET /metrics``, health.

Before a byte of the body is read the request must authenticate (bcrypt hashes of the web
config; a success is remembered by a SHA-256 of the credentials so that Alertmanager's
repeated posts do not pay bcrypt each time), say ``Content-Type: application/json`` and
give a ``Content-Length`` within ``max_request_bytes``. The body must be Alertmanager's
webhook payload, version 4, with at most ``max_alerts`` alerts. It is then queued for the
one worker and answered ``202``; a full queue answers ``503`` and Alertmanager retries.
Connections are bounded (``max_connections``) and each has a socket timeout.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import itertools
import json
import logging
import queue
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlsplit

import bcrypt
from prometheus_client import exposition

from vigil_responder import __version__
from vigil_responder.audit import AuditLog
from vigil_responder.metrics import Metrics

LOG = logging.getLogger("vigil_responder")
WEBHOOK_PATH = "/webhook"
SOCKET_TIMEOUT = 10.0
MAX_CACHED_CREDENTIALS = 32
ALERT_STATUSES = ("firing", "resolved")


class PayloadError(ValueError):
    """The body is not an Alertmanager webhook payload this responder understands."""


def check_payload(payload: Any, max_alerts: int) -> Mapping[str, Any]:
    """Alertmanager's webhook JSON, version 4 (prometheus.io/docs/alerting/latest/configuration/#webhook_config)."""
    if not isinstance(payload, dict):
        raise PayloadError("the body is not a JSON object")
    if payload.get("version") != "4":
        raise PayloadError("version %r: only Alertmanager's webhook payload version \"4\" is understood"
                           % (payload.get("version"),))
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError("alerts must be a list")
    if len(alerts) > max_alerts:
        raise PayloadError("%d alerts in one notification, more than max_alerts (%d); set max_alerts in the "
                           "receiver's webhook_config" % (len(alerts), max_alerts))
    for index, alert in enumerate(alerts):
        if not isinstance(alert, dict):
            raise PayloadError("alerts[%d] is not an object" % index)
        if alert.get("status") not in ALERT_STATUSES:
            raise PayloadError("alerts[%d].status must be firing or resolved" % index)
        labels = alert.get("labels")
        if not isinstance(labels, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                   for k, v in labels.items()):
            raise PayloadError("alerts[%d].labels must map names to strings" % index)
        if not isinstance(alert.get("fingerprint", ""), str):
            raise PayloadError("alerts[%d].fingerprint must be a string" % index)
    return payload


class Authenticator:
    """HTTP basic auth against bcrypt hashes; successes remembered (bounded) by a digest, never in clear."""

    def __init__(self, users: Sequence[Tuple[str, bytes]]) -> None:
        self._users = dict(users)
        self._decoy = next(iter(self._users.values()))
        self._known: Dict[bytes, str] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _credentials(header: Optional[str]) -> Optional[Tuple[str, str]]:
        scheme, _sep, value = (header or "").partition(" ")
        if scheme.lower() != "basic" or not value:
            return None
        try:
            text = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, password = text.partition(":")
        return (user, password) if sep else None

    def user(self, header: Optional[str]) -> Optional[str]:
        """The authenticated user name, or None."""
        credentials = self._credentials(header)
        if credentials is None:
            return None
        user, password = credentials
        digest = hashlib.sha256(("%s\0%s" % (user, password)).encode("utf-8")).digest()
        with self._lock:
            for known, name in self._known.items():
                if hmac.compare_digest(known, digest):
                    return name
        hashed = self._users.get(user)
        # Unknown users cost a bcrypt check too, so timing does not tell which names exist.
        valid = bcrypt.checkpw(password.encode("utf-8"), hashed or self._decoy) and hashed is not None
        if not valid:
            return None
        with self._lock:
            if len(self._known) >= MAX_CACHED_CREDENTIALS:
                self._known.clear()
            self._known[digest] = user
        return user


class Handler(BaseHTTPRequestHandler):
    server: "ResponderServer"
    server_version = "vigil-responder/" + __version__
    timeout = SOCKET_TIMEOUT

    # -- helpers ------------------------------------------------------------------------
    def _reply(self, status: int, body: Any, headers: Optional[Mapping[str, str]] = None,
               content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else (json.dumps(body) + "\n").encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.close_connection = True

    def _reject(self, status: int, result: str, detail: str, headers: Optional[Mapping[str, str]] = None,
                user: Optional[str] = None) -> None:
        self.server.metrics.requests.labels(result).inc()
        self.server.audit.write("rejected", remote=self.client_address[0], user=user, reason=result, detail=detail)
        self._reply(status, {"status": "error", "error": detail}, headers)

    # -- verbs --------------------------------------------------------------------------
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        if urlsplit(self.path).path != WEBHOOK_PATH:
            self._reply(404, {"status": "error", "error": "not found; Alertmanager posts to %s" % WEBHOOK_PATH})
            return
        user = self.server.auth.user(self.headers.get("Authorization"))
        if user is None:
            self._reject(401, "unauthorized", "missing or wrong credentials",
                         {"WWW-Authenticate": 'Basic realm="vigil-responder", charset="UTF-8"'})
            return
        payload = self._read_json(user)
        if payload is None:
            return
        try:
            check_payload(payload, self.server.max_alerts)
        except PayloadError as exc:
            self._reject(400, "bad_request", str(exc), user=user)
            return
        meta = {"id": next(self.server.ids), "remote": self.client_address[0], "user": user}
        try:
            self.server.work.put_nowait((payload, meta))
        except queue.Full:
            self._reject(503, "queue_full", "the queue of notifications is full; retry later",
                         {"Retry-After": "30"}, user=user)
            return
        self.server.metrics.requests.labels("accepted").inc()
        self._reply(202, {"status": "accepted", "notification": meta["id"]})

    def _read_json(self, user: str) -> Any:
        if self.headers.get("Transfer-Encoding"):
            self._reject(411, "bad_request", "send a Content-Length, not a chunked body", user=user)
            return None
        if not (self.headers.get("Content-Type") or "").lower().startswith("application/json"):
            self._reject(415, "bad_request", "Content-Type must be application/json", user=user)
            return None
        length_text = self.headers.get("Content-Length") or ""
        if not length_text.isdigit():
            self._reject(411, "bad_request", "a Content-Length is required", user=user)
            return None
        length = int(length_text)
        if length > self.server.max_request_bytes:
            self._reject(413, "too_large", "%d bytes, more than max_request_bytes (%d)" % (
                length, self.server.max_request_bytes), user=user)
            return None
        try:
            raw = self.rfile.read(length)
        except (OSError, socket.timeout):
            self.server.metrics.requests.labels("read_error").inc()
            self.close_connection = True
            return None
        if len(raw) != length:
            self._reject(400, "bad_request", "the body ended after %d of %d bytes" % (len(raw), length), user=user)
            return None
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            self._reject(400, "bad_request", "the body is not JSON", user=user)
            return None

    def do_GET(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        if path == "/metrics":
            self.server.metrics.queue_length.set(self.server.work.qsize())
            encoder, content_type = exposition.choose_encoder(self.headers.get("Accept", ""))
            self._reply(200, encoder(self.server.metrics.registry), content_type=content_type)
        elif path in ("/-/healthy", "/-/ready"):
            ready = self.server.worker_alive()
            self._reply(200 if ready else 503, {"status": "ok" if ready else "worker stopped"})
        elif path == "/":
            self._reply(200, b"Vigil responder: POST " + WEBHOOK_PATH.encode() + b" (Alertmanager), GET /metrics\n",
                        content_type="text/plain; charset=utf-8")
        else:
            self._reply(404, {"status": "error", "error": "not found"})

    def _not_allowed(self) -> None:
        self._reply(405, {"status": "error", "error": "method not allowed"}, {"Allow": "GET, POST"})

    do_PUT = do_DELETE = do_PATCH = _not_allowed

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's signature
        LOG.debug("http %s %s", self.client_address[0], format % args)


class ResponderServer(ThreadingHTTPServer):
    """Threaded HTTP(S) server with a bound on simultaneous connections."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: Tuple[str, int], auth: Authenticator, work: "queue.Queue[Any]", metrics: Metrics,
                 audit: AuditLog, max_request_bytes: int, max_alerts: int, max_connections: int,
                 tls: Optional[ssl.SSLContext] = None, worker_alive: Any = None) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.auth = auth
        self.work = work
        self.metrics = metrics
        self.audit = audit
        self.max_request_bytes = max_request_bytes
        self.max_alerts = max_alerts
        self.tls = tls
        self.slots = threading.BoundedSemaphore(max_connections)
        self.ids = itertools.count(1)
        self.worker_alive = worker_alive or (lambda: True)
        super().__init__(address, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            self.metrics.requests.labels("busy").inc()
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            if self.tls is not None:
                request.settimeout(SOCKET_TIMEOUT)
                try:
                    request = self.tls.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError) as exc:
                    LOG.debug("TLS handshake with %s failed: %s", client_address[0], exc)
                    self.shutdown_request(request)
                    return
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()
