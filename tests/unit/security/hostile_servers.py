"""Loopback servers that answer the way a hostile or broken server does, for the hostile-server matrix.

``HostileServer`` sits in front of one of the in-process API fakes (``tests/standins``) and answers
according to its ``scenario``:

* ``redirect-other-origin-302`` / ``-307``: a redirect to the ``Recorder`` (another port of
  127.0.0.1, so another origin), which records every header it receives;
* ``redirect-same-origin``: a redirect to ``/__moved<path>`` on the same server, which then
  answers like the fake (a client may follow it: the module must behave normally);
* ``html-200``: a login page with status 200; ``null-200``: ``null``; ``list-200``: a JSON
  list where the APIs answer objects; ``truncated``: a body shorter than its Content-Length;
  ``html-500``: an HTML error page; ``slow``: no answer before the client's timeout;
* ``tls-unverified``: the fake's normal answers over TLS with a self-signed certificate;
* ``url-credentials``: nothing hostile on the wire; the module gets a URL with user:password@.

``phase`` chooses which requests get the hostile answer: ``all`` of them, or only ``writes``
(the fake answers reads, so the module gets as far as writing). For OpenCTI's GraphQL
endpoint a write is a ``mutation``.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, unquote, urlsplit

from standins.base import FakeApi, Request

LOGIN_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Sign in - Corporate SSO</title></head>\n"
    "<body><form method=\"post\" action=\"/sso/login\"><input name=\"user\"><input name=\"password\" "
    "type=\"password\"><button>Sign in</button></form></body></html>\n"
)
ERROR_PAGE = "<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1>" + (
    "<p>The server encountered an internal error and was unable to complete your request.</p>" * 20
) + "</body></html>"
MOVED_PREFIX = "/__moved"

SCENARIOS = (
    "redirect-other-origin-302",
    "redirect-other-origin-307",
    "redirect-same-origin",
    "html-200",
    "null-200",
    "list-200",
    "truncated",
    "html-500",
    "slow",
    "tls-unverified",
    "url-credentials",
)
# Scenarios whose hostile answer also makes sense for a write (its answer is an object or nothing).
WRITE_SCENARIOS = ("redirect-other-origin-307", "html-200", "truncated", "html-500")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # noqa: D401 - a client that gave up is expected here
        return


class _Base:
    def __init__(self) -> None:
        self._server: Optional[_Server] = None
        self.scheme = "http"

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return "%s://127.0.0.1:%d" % (self.scheme, self.port)

    def _start(self, handler: type, context: Optional[ssl.SSLContext] = None) -> None:
        self._server = _Server(("127.0.0.1", 0), handler)
        if context is not None:
            self.scheme = "https"
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _read_request(handler: BaseHTTPRequestHandler) -> Request:
    parts = urlsplit(handler.path)
    length = int(handler.headers.get("Content-Length") or 0)
    raw = handler.rfile.read(length) if length else b""
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("utf-8", errors="replace")
    headers = {k.lower(): v for k, v in handler.headers.items()}
    return Request(handler.command, unquote(parts.path), parse_qs(parts.query), headers, body)


class Recorder(_Base):
    """Another origin: records every request (and its headers), answers 200 ``{}``."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: List[Request] = []

    def credentials_seen(self) -> List[str]:
        """Every Authorization header that reached this origin."""
        return ["%s %s: %s" % (r.method, r.path, r.headers["authorization"])
                for r in self.requests if "authorization" in r.headers]

    def start(self) -> "Recorder":
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                recorder.requests.append(_read_request(self))
                data = b"{}"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any

            def log_message(self, format, *args):  # noqa: A002
                return

        self._start(Handler)
        return self


def is_write(req: Request) -> bool:
    if req.path.endswith("/graphql") and isinstance(req.body, dict):
        return str(req.body.get("query") or "").lstrip().startswith("mutation")
    return req.method not in ("GET", "HEAD")


class HostileServer(_Base):
    """Answers like ``inner`` (a fake) except where the scenario says otherwise."""

    def __init__(self, recorder: Recorder, slow_seconds: float = 1.6) -> None:
        super().__init__()
        self.recorder = recorder
        self.slow_seconds = slow_seconds
        self.inner: Optional[FakeApi] = None
        self.scenario = "none"
        self.phase = "all"
        self.requests: List[Request] = []
        self.hostile_answers = 0
        self.lock = threading.Lock()

    def arm(self, inner: FakeApi, scenario: str, phase: str = "all") -> "HostileServer":
        with self.lock:
            self.inner, self.scenario, self.phase = inner, scenario, phase
            self.requests = []
            self.hostile_answers = 0
        return self

    def start(self, context: Optional[ssl.SSLContext] = None) -> "HostileServer":
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                req = _read_request(self)
                with server.lock:
                    server.requests.append(req)
                server.respond(self, req)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any

            def log_message(self, format, *args):  # noqa: A002
                return

        self._start(Handler, context)
        return self

    # -- answers ---------------------------------------------------------------------
    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: Optional[str],
              extra: Optional[Dict[str, str]] = None, length: Optional[int] = None) -> None:
        handler.send_response(status)
        if content_type:
            handler.send_header("Content-Type", content_type)
        for name, value in (extra or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body) if length is None else length))
        if length is not None:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)
            handler.wfile.flush()

    def _normal(self, handler: BaseHTTPRequestHandler, req: Request) -> None:
        assert self.inner is not None
        with self.inner.lock:
            self.inner.requests.append(req)
            status, payload = self.inner.handle(req)
        data = b"" if payload is None else json.dumps(payload).encode()
        self._send(handler, status, data, "application/json" if data else None)

    def respond(self, handler: BaseHTTPRequestHandler, req: Request) -> None:
        scenario = self.scenario
        target = handler.path
        if scenario == "redirect-same-origin":
            if req.path.startswith(MOVED_PREFIX):
                req.path = req.path[len(MOVED_PREFIX):] or "/"
                return self._normal(handler, req)
            code = 302 if req.method in ("GET", "HEAD") else 307
            return self._send(handler, code, b"", None, {"Location": MOVED_PREFIX + target})
        hostile = self.phase == "all" or is_write(req)
        if not hostile or scenario in ("none", "tls-unverified", "url-credentials"):
            return self._normal(handler, req)
        with self.lock:
            self.hostile_answers += 1
        if scenario.startswith("redirect-other-origin-"):
            code = int(scenario.rsplit("-", 1)[1])
            location = self.recorder.url + target
            return self._send(handler, code, b"<a href=\"%s\">moved</a>" % location.encode(), "text/html",
                              {"Location": location})
        if scenario == "html-200":
            return self._send(handler, 200, LOGIN_PAGE.encode(), "text/html; charset=utf-8")
        if scenario == "null-200":
            return self._send(handler, 200, b"null", "application/json")
        if scenario == "list-200":
            return self._send(handler, 200, b'["a list", "where the API answers an object"]', "application/json")
        if scenario == "truncated":
            return self._send(handler, 200, b'{"items": [{"id": "cut-', "application/json", length=4096)
        if scenario == "html-500":
            return self._send(handler, 500, ERROR_PAGE.encode(), "text/html")
        if scenario == "slow":
            time.sleep(self.slow_seconds)
            try:
                return self._send(handler, 200, b"{}", "application/json")
            except OSError:
                return None
        raise AssertionError("unknown scenario %r" % scenario)


# ----------------------------------------------------------------------------------- TLS


def self_signed_context(directory: str) -> Tuple[ssl.SSLContext, str]:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1 (no client trusts it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vigil-hostile-test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path = os.path.join(directory, "hostile.crt")
    key_path = os.path.join(directory, "hostile.key")
    with open(cert_path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context, cert_path
