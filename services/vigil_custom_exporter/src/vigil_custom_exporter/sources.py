"""Collecting one source: fetch (HTTP GET or a command), parse, and pick the metrics out.

``collect_source`` never raises: a failure becomes ``up`` 0 and an error reason, which
the collector counts in ``vigil_custom_source_errors_total``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import jmespath.exceptions

from vigil_custom_exporter import __version__
from vigil_custom_exporter.config import MetricSpec, SourceSpec

LOG = logging.getLogger("vigil_custom_exporter")

MAX_RESPONSE_BYTES = 10 * 1024 * 1024


class SourceError(Exception):
    """A collection step failed; ``reason`` becomes the errors_total label."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class SourceResult:
    """What one collection of one source produced."""

    source: str
    up: bool
    duration: float
    finished_at: float
    samples: Tuple[Tuple[MetricSpec, float], ...] = ()
    errors: Tuple[str, ...] = ()


def to_number(value: Any) -> Optional[float]:
    """Numbers, booleans (1/0) and numeric strings become floats; anything else None."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            return None
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: configured headers (tokens) must not follow a redirect elsewhere."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        return None


def _http_error(exc: BaseException) -> SourceError:
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(exc, urllib.error.HTTPError):
        location = exc.headers.get("Location") if exc.headers is not None else None
        hint = "; redirects are not followed, set url to %s" % location if location and 300 <= exc.code < 400 else ""
        return SourceError("http_status", "HTTP status %d %s%s" % (exc.code, exc.reason, hint))
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return SourceError("timeout", "timed out")
    if isinstance(reason, ssl.SSLError):
        return SourceError("tls", "TLS error: %s" % reason)
    return SourceError("connection", "connection failed: %s" % reason)


def _read_body(response: Any, deadline: float) -> bytes:
    chunks: List[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise SourceError("timeout", "timed out while reading the response")
        chunk = response.read1(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise SourceError("too_large", "response larger than %d bytes" % MAX_RESPONSE_BYTES)
        chunks.append(chunk)


def fetch_http(source: SourceSpec, deadline: float) -> bytes:
    """GET the source's URL (no proxy from the environment) and return the body."""
    headers = {"User-Agent": "vigil-custom-exporter/%s" % __version__, "Accept": "application/json"}
    headers.update(dict(source.headers))
    request = urllib.request.Request(source.url, headers=headers, method="GET")
    handlers: List[Any] = [urllib.request.ProxyHandler({}), _NoRedirect()]
    if source.ssl_context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=source.ssl_context))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, timeout=source.timeout) as response:
            return _read_body(response, deadline)
    except SourceError:
        raise
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise _http_error(exc) from None
    except Exception as exc:  # http.client.HTTPException and friends
        raise SourceError("connection", "HTTP protocol error: %s" % exc) from None


def _stop_process_group(process: "subprocess.Popen[bytes]") -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    try:
        process.communicate(timeout=1.0)
    except subprocess.TimeoutExpired:
        LOG.warning("command %s: output pipes still open after kill; abandoning them", process.args)


def run_command(source: SourceSpec) -> bytes:
    """Run the source's argv (own process group, no stdin) and return its stdout."""
    try:
        process = subprocess.Popen(source.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, start_new_session=True, close_fds=True)
    except OSError as exc:
        raise SourceError("exec_failed", "cannot run %s: %s" % (source.command[0], exc.strerror or exc)) from None
    try:
        out, err = process.communicate(timeout=source.timeout)
    except subprocess.TimeoutExpired:
        _stop_process_group(process)
        raise SourceError("timeout", "command did not finish within %gs and was killed" % source.timeout) from None
    if process.returncode != 0:
        tail = err.decode("utf-8", "replace").strip()[-300:]
        raise SourceError("exit_status", "command exited with status %d: %s" % (process.returncode, tail))
    return out


def parse_payload(source: SourceSpec, payload: bytes) -> Any:
    """Decode a source's output as JSON or as one bare number."""
    if source.parse == "number":
        value = None
        try:
            value = to_number(payload.decode("utf-8").strip())
        except UnicodeDecodeError:
            pass
        if value is None:
            raise SourceError("invalid_number", "output is not a number: %r" % payload[:80])
        return value
    try:
        return json.loads(payload)
    except ValueError as exc:
        raise SourceError("invalid_json", "output is not JSON: %s" % exc) from None


def extract(metric: MetricSpec, document: Any) -> float:
    """Apply the metric's JMESPath query; the result must be a single number."""
    try:
        selected = metric.query.search(document)
    except jmespath.exceptions.JMESPathError as exc:
        raise SourceError("query_error", "query %r failed: %s" % (metric.query_text, exc)) from None
    if selected is None:
        raise SourceError("no_value", "query %r selected nothing" % metric.query_text)
    value = to_number(selected)
    if value is None:
        raise SourceError("not_a_number", "query %r selected a non-number: %.80r" % (metric.query_text, selected))
    return value


class ProblemLog:
    """Logs a source's problem at WARNING when it changes, repeats at DEBUG, recovery at INFO."""

    def __init__(self) -> None:
        self._last: Dict[str, str] = {}
        self._lock = threading.Lock()

    def problem(self, key: str, message: str) -> None:
        with self._lock:
            repeated = self._last.get(key) == message
            self._last[key] = message
        LOG.log(logging.DEBUG if repeated else logging.WARNING, "%s: %s", key, message)

    def ok(self, key: str) -> None:
        with self._lock:
            had_problem = self._last.pop(key, None) is not None
        if had_problem:
            LOG.info("%s: recovered", key)


PROBLEMS = ProblemLog()


def _extract_all(source: SourceSpec, document: Any) -> Tuple[List[Tuple[MetricSpec, float]], List[str]]:
    samples: List[Tuple[MetricSpec, float]] = []
    errors: List[str] = []
    for metric in source.metrics:
        key = "source %s metric %s%s" % (source.name, metric.name, dict(metric.labels) or "")
        try:
            samples.append((metric, extract(metric, document)))
            PROBLEMS.ok(key)
        except SourceError as exc:
            errors.append(exc.reason)
            PROBLEMS.problem(key, "%s (%s)" % (exc, exc.reason))
    return samples, errors


def collect_source(source: SourceSpec) -> SourceResult:
    """Collect one source; never raises: failures become up=0 and error reasons."""
    start = time.monotonic()
    key = "source %s" % source.name
    try:
        if source.type == "http":
            payload = fetch_http(source, start + source.timeout)
        else:
            payload = run_command(source)
        document = parse_payload(source, payload)
    except SourceError as exc:
        PROBLEMS.problem(key, "%s (%s)" % (exc, exc.reason))
        return SourceResult(source.name, False, time.monotonic() - start, time.time(), errors=(exc.reason,))
    except Exception:  # a bug must not take the scrape down
        LOG.exception("%s: unexpected error", key)
        return SourceResult(source.name, False, time.monotonic() - start, time.time(), errors=("internal",))
    PROBLEMS.ok(key)
    samples, errors = _extract_all(source, document)
    return SourceResult(source.name, True, time.monotonic() - start, time.time(), tuple(samples), tuple(errors))
