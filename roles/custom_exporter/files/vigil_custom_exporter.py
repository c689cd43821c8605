#!/usr/bin/env python3
"""Vigil custom exporter: turn values from JSON HTTP APIs and commands into Prometheus gauges.

A team lists *sources* in a YAML file. A source is either an HTTP(S) endpoint that
returns JSON or a command (argv list, never a shell) that prints JSON or a bare
number. Each source lists *metrics*: a gauge name, a JMESPath query that picks one
number out of the source's document, and static labels. On every scrape the
exporter collects the sources concurrently (a bounded thread pool, each source held
to its own timeout) and answers with the gauges plus per-source health metrics:

* ``vigil_custom_source_up{source}``: 1 when the source answered with a parsable
  document, else 0 (its metrics are then absent).
* ``vigil_custom_source_duration_seconds{source}``: how long the last collection took.
* ``vigil_custom_source_last_success_timestamp_seconds{source}``: Unix time of the
  last collection that answered (absent until one has).
* ``vigil_custom_source_errors_total{source,reason}``: failures by reason. Source
  failures (up=0): ``connection``, ``timeout``, ``tls``, ``http_status`` (also any
  redirect: redirects are not followed), ``too_large`` (over 10 MiB),
  ``invalid_json``, ``invalid_number``, ``exec_failed``, ``exit_status``,
  ``internal``. A query that selects nothing (``no_value``), a non-number
  (``not_a_number``; true/false count as 1/0 and numeric strings are parsed) or that
  fails (``query_error``) skips that one metric and counts here; the source stays up.
* ``vigil_custom_exporter_build_info``, ``vigil_custom_exporter_config_last_reload_successful``
  and ``vigil_custom_exporter_config_last_reload_success_timestamp_seconds``.

A source with ``interval`` is collected in the background every ``interval`` seconds
and scrapes serve its last result (nothing until the first one); other sources are
collected on each scrape. Metric names are used verbatim (no prefix is added): they
must be valid Prometheus names and must not start with the exporter's own
``vigil_custom_source_`` or ``vigil_custom_exporter_`` prefixes. One name may appear
in several places with different label values (same help and label names). The
default listen address is ``0.0.0.0:9877``. Environment proxies are not used.

Run ``vigil_custom_exporter.py --config.file FILE`` to serve, ``--config.check`` to
validate the file and exit 0 (valid) or 1 (message on stderr), ``--web.config.check
FILE`` to validate a web config alone. SIGHUP reloads the file (an invalid file is
logged and the running configuration kept; listen_address, max_concurrency and the
web config need a restart); SIGTERM and SIGINT stop the exporter cleanly. Under
systemd (``Type=notify``) it reports ``READY=1`` once it listens and handles SIGHUP.
Error messages never show header values or URL passwords. Requires Python 3.9+, prometheus-client, jmespath
and PyYAML; ``bcrypt`` only when the web config sets ``basic_auth_users``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import concurrent.futures
import gzip
import hashlib
import importlib
import json
import logging
import os
import platform
import queue
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlsplit

import jmespath
import jmespath.exceptions
import yaml
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder, gzip_accepted

__version__ = "1.0.0"

LOG = logging.getLogger("vigil_custom_exporter")

DEFAULT_CONFIG_FILE = "/etc/vigil/custom_exporter/config.yml"
DEFAULT_LISTEN_ADDRESS = "0.0.0.0:9877"
DEFAULT_TIMEOUT = 5.0
DEFAULT_MAX_CONCURRENCY = 8
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
WAIT_GRACE_SECONDS = 0.25
MAX_SECONDS = 86400
CONNECTION_TIMEOUT_SECONDS = 30.0
RESERVED_PREFIXES = ("vigil_custom_source_", "vigil_custom_exporter_")
METRIC_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
SOURCE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
BCRYPT_HASH_RE = re.compile(r"^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$")
TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
CLIENT_AUTH_TYPES = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}


# --------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------


class ConfigError(Exception):
    """The configuration (or the web config it names) is invalid."""


@dataclass(frozen=True)
class MetricSpec:
    """One gauge: a JMESPath query into a source's document plus static labels."""

    name: str
    help: str
    query_text: str
    query: Any = field(compare=False, repr=False)
    labels: Tuple[Tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SourceSpec:
    """One place values come from: an HTTP(S) JSON endpoint or a command."""

    name: str
    type: str
    timeout: float
    parse: str
    interval: Optional[float]
    metrics: Tuple[MetricSpec, ...]
    url: str = ""
    headers: Tuple[Tuple[str, str], ...] = ()
    verify_tls: bool = True
    ca_file: Optional[str] = None
    ssl_context: Optional[ssl.SSLContext] = field(default=None, compare=False, repr=False)
    command: Tuple[str, ...] = ()


@dataclass(frozen=True)
class WebConfig:
    """The exporter-toolkit style web config: optional TLS and basic auth users."""

    cert_file: Optional[str] = None
    key_file: Optional[str] = None
    client_ca_file: Optional[str] = None
    client_auth_type: str = "NoClientCert"
    min_version: str = "TLS12"
    users: Tuple[Tuple[str, bytes], ...] = ()

    @property
    def tls_enabled(self) -> bool:
        return self.cert_file is not None


@dataclass(frozen=True)
class Config:
    """A validated exporter configuration."""

    path: str
    listen_host: str
    listen_port: int
    default_timeout: float
    max_concurrency: int
    web_config_file: Optional[str]
    web: WebConfig
    sources: Tuple[SourceSpec, ...]

    @property
    def metric_count(self) -> int:
        return sum(len(source.metrics) for source in self.sources)


def _check_keys(mapping: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    unknown = sorted(str(key) for key in mapping if key not in allowed)
    if unknown:
        raise ConfigError("%s: unknown field(s) %s (allowed: %s)" % (where, ", ".join(unknown), ", ".join(allowed)))


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError("%s: must be a mapping, got %s" % (where, type(value).__name__))
    return value


def _required(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if mapping.get(key) is None:
        raise ConfigError("%s.%s: required field is missing" % (where, key))
    return mapping[key]


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError("%s: must be a non-empty string" % where)
    return value


def _seconds(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_SECONDS:
        raise ConfigError("%s: must be a number of seconds greater than 0 and at most %d, got %.40r"
                          % (where, MAX_SECONDS, value))
    return float(value)


def _boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError("%s: must be true or false, got %r" % (where, value))
    return value


def _scalar_text(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ConfigError("%s: must be a string or a number, got %r" % (where, value))
    return str(value)


def _resolve_path(path: str, base_dir: str) -> str:
    return path if os.path.isabs(path) else os.path.join(base_dir, path)


def _readable_file(value: Any, base_dir: str, where: str) -> str:
    path = _resolve_path(_string(value, where), base_dir)
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise ConfigError("%s: file %s does not exist or is not readable" % (where, path))
    return path


def parse_listen_address(value: Any, where: str = "listen_address") -> Tuple[str, int]:
    """Split ``host:port``, ``[v6]:port`` or ``:port`` (all interfaces) into host and port."""
    text = _string(value, where)
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        raise ConfigError("%s: %r is not of the form host:port" % (where, text))
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host or "0.0.0.0", int(port_text)


def _parse_metric(raw: Any, where: str) -> MetricSpec:
    item = _mapping(raw, where)
    _check_keys(item, ("name", "help", "query", "labels", "type"), where)
    name = _string(_required(item, "name", where), where + ".name")
    if not METRIC_NAME_RE.match(name):
        raise ConfigError("%s.name: %r is not a valid Prometheus metric name ([a-zA-Z_][a-zA-Z0-9_]*)" % (where, name))
    if name.startswith(RESERVED_PREFIXES):
        raise ConfigError("%s.name: %r uses a prefix reserved for the exporter's own metrics (%s)"
                          % (where, name, ", ".join(RESERVED_PREFIXES)))
    metric_type = item.get("type", "gauge")
    if metric_type != "gauge":
        raise ConfigError("%s.type: unknown metric type %r (supported: gauge)" % (where, metric_type))
    help_text = _string(item.get("help", "%s (Vigil custom exporter)" % name), where + ".help")
    query_text = _string(item.get("query", "@"), where + ".query")
    try:
        query = jmespath.compile(query_text)
    except jmespath.exceptions.JMESPathError as exc:
        raise ConfigError("%s.query: invalid JMESPath expression %r: %s" % (where, query_text, exc)) from None
    labels = _mapping(item.get("labels") or {}, where + ".labels")
    for label in labels:
        if not isinstance(label, str) or not LABEL_NAME_RE.match(label) or label.startswith("__"):
            raise ConfigError("%s.labels: %r is not a valid label name" % (where, label))
    pairs = tuple(sorted((key, _scalar_text(val, "%s.labels.%s" % (where, key))) for key, val in labels.items()))
    return MetricSpec(name=name, help=help_text, query_text=query_text, query=query, labels=pairs)


def _client_ssl_context(verify: bool, ca_file: Optional[str]) -> ssl.SSLContext:
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=ca_file)


def _redact_url(url: str) -> str:
    """The URL with the password of its userinfo masked (for error messages)."""
    return re.sub(r"^([^:/?#]*://[^/?#@:]*):[^/?#@]*@", r"\1:***@", url)


def _header_value(value: Any, where: str) -> str:
    """A header value as text; the value itself never appears in the error (it is often a secret)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ConfigError("%s: must be a string or a number, got a %s" % (where, type(value).__name__))
    return str(value)


def _http_fields(item: Mapping[str, Any], base_dir: str, where: str) -> Dict[str, Any]:
    url = _string(_required(item, "url", where), where + ".url")
    try:
        parts = urlsplit(url)
        scheme, netloc = parts.scheme, parts.netloc
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number or out of range
    except ValueError as exc:
        raise ConfigError("%s.url: %r is not a valid URL: %s" % (where, _redact_url(url), exc)) from None
    if scheme not in ("http", "https") or not netloc:
        raise ConfigError("%s.url: %r must be an http:// or https:// URL" % (where, _redact_url(url)))
    headers = _mapping(item.get("headers") or {}, where + ".headers")
    header_pairs = tuple((_string(k, where + ".headers"), _header_value(v, "%s.headers.%s" % (where, k)))
                         for k, v in headers.items())
    for name, value in header_pairs:
        if re.search(r"[\r\n]", name + value) or not re.match(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", name):
            raise ConfigError("%s.headers: %r is not a valid header name/value" % (where, name))
    verify = _boolean(item.get("verify_tls", True), where + ".verify_tls")
    ca_file = None
    if item.get("ca_file") is not None:
        if not verify:
            raise ConfigError("%s.ca_file: has no effect when verify_tls is false; remove one of them" % where)
        ca_file = _readable_file(item["ca_file"], base_dir, where + ".ca_file")
    try:
        context = _client_ssl_context(verify, ca_file) if scheme == "https" else None
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError("%s.ca_file: cannot load CA certificates: %s" % (where, exc)) from None
    return {"url": url, "headers": header_pairs, "verify_tls": verify, "ca_file": ca_file, "ssl_context": context}


def _command_fields(item: Mapping[str, Any], where: str) -> Dict[str, Any]:
    argv = _required(item, "command", where)
    if not isinstance(argv, list) or not argv or not all(isinstance(arg, str) for arg in argv):
        raise ConfigError("%s.command: must be a non-empty list of strings (argv; no shell is used)" % where)
    if shutil.which(argv[0]) is None:
        LOG.warning("%s.command: %s is not an executable found now; the source will fail until it is", where, argv[0])
    return {"command": tuple(argv)}


SOURCE_KEYS = {
    "http": ("name", "type", "url", "headers", "timeout", "verify_tls", "ca_file", "parse", "interval", "metrics"),
    "command": ("name", "type", "command", "timeout", "parse", "interval", "metrics"),
}


def _parse_source(raw: Any, index: int, default_timeout: float, base_dir: str) -> SourceSpec:
    where = "sources[%d]" % index
    item = _mapping(raw, where)
    name = _string(_required(item, "name", where), where + ".name")
    if not SOURCE_NAME_RE.match(name):
        raise ConfigError("%s.name: %r may only contain letters, digits, '_', '.' and '-'" % (where, name))
    where = "sources[%d] (%s)" % (index, name)
    source_type = _required(item, "type", where)
    if not isinstance(source_type, str) or source_type not in SOURCE_KEYS:
        raise ConfigError("%s.type: unknown source type %r (supported: http, command)" % (where, source_type))
    _check_keys(item, SOURCE_KEYS[source_type], where)
    parse = item.get("parse", "json")
    if parse not in ("json", "number"):
        raise ConfigError("%s.parse: unknown parser %r (supported: json, number)" % (where, parse))
    timeout = _seconds(item.get("timeout", default_timeout), where + ".timeout")
    interval = _seconds(item["interval"], where + ".interval") if item.get("interval") is not None else None
    raw_metrics = _required(item, "metrics", where)
    if not isinstance(raw_metrics, list) or not raw_metrics:
        raise ConfigError("%s.metrics: must be a non-empty list" % where)
    metrics = tuple(_parse_metric(m, "%s.metrics[%d]" % (where, i)) for i, m in enumerate(raw_metrics))
    extra = _http_fields(item, base_dir, where) if source_type == "http" else _command_fields(item, where)
    return SourceSpec(name=name, type=source_type, timeout=timeout, parse=parse, interval=interval,
                      metrics=metrics, **extra)


def _check_unique(sources: Sequence[SourceSpec]) -> None:
    """Reject duplicate source names, duplicate series and inconsistent metric families."""
    seen_sources: Dict[str, int] = {}
    families: Dict[str, Tuple[str, str, Tuple[str, ...]]] = {}
    series: Dict[Tuple[str, Tuple[Tuple[str, str], ...]], str] = {}
    for index, source in enumerate(sources):
        if source.name in seen_sources:
            raise ConfigError("sources[%d].name: duplicate source name %r (also sources[%d])"
                              % (index, source.name, seen_sources[source.name]))
        seen_sources[source.name] = index
        for m_index, metric in enumerate(source.metrics):
            where = "sources[%d] (%s).metrics[%d].name" % (index, source.name, m_index)
            key = (metric.name, metric.labels)
            if key in series:
                raise ConfigError("%s: duplicate metric %r with the same labels %s (also %s)"
                                  % (where, metric.name, dict(metric.labels), series[key]))
            series[key] = where
            label_names = tuple(label for label, dummy in metric.labels)
            first = families.setdefault(metric.name, (where, metric.help, label_names))
            if first[1:] != (metric.help, label_names):
                raise ConfigError("%s: metric %r is also defined at %s with a different help text or label names;"
                                  " a metric name must keep one help text and one set of label names"
                                  % (where, metric.name, first[0]))


def _import_bcrypt() -> Any:
    try:
        return importlib.import_module("bcrypt")
    except ImportError:
        raise ConfigError("basic_auth_users is set but the Python module 'bcrypt' is not installed in this "
                          "environment: install it (pip install bcrypt) or remove basic_auth_users") from None


def _parse_tls(raw: Any, base_dir: str, where: str) -> Dict[str, Any]:
    tls = _mapping(raw, where)
    _check_keys(tls, ("cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version"), where)
    cert = _readable_file(_required(tls, "cert_file", where), base_dir, where + ".cert_file")
    key = _readable_file(_required(tls, "key_file", where), base_dir, where + ".key_file")
    auth_type = tls.get("client_auth_type", "NoClientCert")
    if not isinstance(auth_type, str) or auth_type not in CLIENT_AUTH_TYPES:
        raise ConfigError("%s.client_auth_type: %r is not supported (supported: %s)"
                          % (where, auth_type, ", ".join(CLIENT_AUTH_TYPES)))
    client_ca = None
    if tls.get("client_ca_file") is not None:
        client_ca = _readable_file(tls["client_ca_file"], base_dir, where + ".client_ca_file")
    if auth_type != "NoClientCert" and client_ca is None:
        raise ConfigError("%s.client_ca_file: required when client_auth_type is %s" % (where, auth_type))
    min_version = tls.get("min_version", "TLS12")
    if not isinstance(min_version, str) or min_version not in TLS_VERSIONS:
        raise ConfigError("%s.min_version: %r is not one of %s" % (where, min_version, ", ".join(TLS_VERSIONS)))
    return {"cert_file": cert, "key_file": key, "client_ca_file": client_ca,
            "client_auth_type": auth_type, "min_version": min_version}


def _parse_users(raw: Any, where: str) -> Tuple[Tuple[str, bytes], ...]:
    users = _mapping(raw, where)
    if not users:
        return ()
    _import_bcrypt()
    pairs = []
    for user, hashed in users.items():
        if not isinstance(user, str) or not user or ":" in user:
            raise ConfigError("%s: %r is not a valid user name" % (where, user))
        if not isinstance(hashed, str) or not BCRYPT_HASH_RE.match(hashed):
            raise ConfigError("%s.%s: must be a bcrypt hash ($2a$, $2b$ or $2y$), not a plain password" % (where, user))
        pairs.append((user, hashed.encode("ascii")))
    return tuple(pairs)


def load_web_config(path: str) -> WebConfig:
    """Read and validate an exporter-toolkit style web config (TLS and basic auth)."""
    where = "web_config_file %s" % path
    raw = _read_yaml(path, where)
    if raw is None:
        return WebConfig()
    data = _mapping(raw, where)
    _check_keys(data, ("tls_server_config", "basic_auth_users"), where)
    base_dir = os.path.dirname(os.path.abspath(path))
    tls = _parse_tls(data["tls_server_config"], base_dir, where + ": tls_server_config") \
        if data.get("tls_server_config") is not None else {}
    users = _parse_users(data.get("basic_auth_users") or {}, where + ": basic_auth_users")
    web = WebConfig(users=users, **tls)
    if web.tls_enabled:
        try:
            server_ssl_context(web)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError("%s: tls_server_config: cannot load certificate/key: %s" % (where, exc)) from None
    return web


def _read_yaml(path: str, where: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except OSError as exc:
        raise ConfigError("%s: cannot read: %s" % (where, exc.strerror or exc)) from None
    except yaml.YAMLError as exc:
        raise ConfigError("%s: invalid YAML: %s" % (where, exc)) from None


def parse_config(raw: Any, path: str = "<config>", listen_override: Optional[str] = None) -> Config:
    """Validate a decoded YAML document; raise ConfigError naming the offending field."""
    if raw is None:
        raise ConfigError("the configuration is empty")
    data = _mapping(raw, "top level")
    _check_keys(data, ("listen_address", "default_timeout", "max_concurrency", "web_config_file", "sources"),
                "top level")
    base_dir = os.path.dirname(os.path.abspath(path))
    host, port = parse_listen_address(data.get("listen_address", DEFAULT_LISTEN_ADDRESS))
    if listen_override is not None:
        host, port = parse_listen_address(listen_override, "--web.listen-address")
    default_timeout = _seconds(data.get("default_timeout", DEFAULT_TIMEOUT), "default_timeout")
    concurrency = data.get("max_concurrency", DEFAULT_MAX_CONCURRENCY)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= 64:
        raise ConfigError("max_concurrency: must be an integer from 1 to 64, got %.40r" % (concurrency,))
    web_file = None
    web = WebConfig()
    if data.get("web_config_file") is not None:
        web_file = _resolve_path(_string(data["web_config_file"], "web_config_file"), base_dir)
        web = load_web_config(web_file)
    raw_sources = _required(data, "sources", "top level")
    if not isinstance(raw_sources, list) or not raw_sources:
        raise ConfigError("sources: must be a non-empty list")
    sources = tuple(_parse_source(item, i, default_timeout, base_dir) for i, item in enumerate(raw_sources))
    _check_unique(sources)
    return Config(path=path, listen_host=host, listen_port=port, default_timeout=default_timeout,
                  max_concurrency=concurrency, web_config_file=web_file, web=web, sources=sources)


def load_config(path: str, listen_override: Optional[str] = None) -> Config:
    """Read and validate the exporter's YAML configuration file."""
    return parse_config(_read_yaml(path, path), path, listen_override)


# --------------------------------------------------------------------------------------
# Collecting one source
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# The collector
# --------------------------------------------------------------------------------------


class SourceStats:
    """Per-source state that outlives a scrape: error counters and last success time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.errors: Dict[Tuple[str, str], int] = {}
        self.last_success: Dict[str, float] = {}

    def record(self, result: SourceResult) -> None:
        with self._lock:
            for reason in result.errors:
                key = (result.source, reason)
                self.errors[key] = self.errors.get(key, 0) + 1
            if result.up:
                self.last_success[result.source] = result.finished_at

    def prune(self, keep: Sequence[str]) -> None:
        with self._lock:
            self.errors = {k: v for k, v in self.errors.items() if k[0] in keep}
            self.last_success = {k: v for k, v in self.last_success.items() if k in keep}

    def snapshot(self) -> Tuple[Dict[Tuple[str, str], int], Dict[str, float]]:
        with self._lock:
            return dict(self.errors), dict(self.last_success)


class Poller:
    """Collects one source every ``interval`` seconds in a daemon thread."""

    def __init__(self, source: SourceSpec, sink: Any) -> None:
        self.source = source
        self._sink = sink
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="poll-%s" % source.name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        interval = self.source.interval or DEFAULT_TIMEOUT
        while not self._stop.is_set():
            started = time.monotonic()
            result = collect_source(self.source)
            if self._stop.is_set():
                return
            self._sink(self, result)
            self._stop.wait(max(0.0, interval - (time.monotonic() - started)))


class Exporter:
    """Holds the running configuration and implements the prometheus_client collector."""

    def __init__(self, config: Config) -> None:
        self._lock = threading.Lock()
        self._config = config
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=config.max_concurrency,
                                                           thread_name_prefix="source")
        self._stats = SourceStats()
        self._cache: Dict[str, SourceResult] = {}
        self._pollers: List[Poller] = []
        self.reload_ok = True
        self.reload_time = time.time()
        self._start_pollers(config)

    @property
    def config(self) -> Config:
        with self._lock:
            return self._config

    def _start_pollers(self, config: Config) -> None:
        self._pollers = [Poller(source, self._store) for source in config.sources if source.interval]
        for poller in self._pollers:
            poller.start()

    def _store(self, poller: Poller, result: SourceResult) -> None:
        with self._lock:
            if poller not in self._pollers:
                return
            self._cache[result.source] = result
        self._stats.record(result)

    def apply(self, config: Config) -> None:
        """Switch to a new configuration (sources and timeouts; the pool size stays)."""
        with self._lock:
            old = self._pollers
            self._config = config
            self._cache = {}
            self._start_pollers(config)
        for poller in old:
            poller.stop()
        self._stats.prune([source.name for source in config.sources])

    def mark_reload(self, ok: bool) -> None:
        self.reload_ok = ok
        if ok:
            self.reload_time = time.time()

    def close(self) -> None:
        with self._lock:
            pollers, self._pollers = self._pollers, []
        for poller in pollers:
            poller.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def gather(self) -> List[SourceResult]:
        """Collect on-scrape sources concurrently, each within its timeout; add cached ones."""
        with self._lock:
            config, cache = self._config, dict(self._cache)
        started = time.monotonic()
        pending = [(s, self._pool.submit(collect_source, s)) for s in config.sources if not s.interval]
        fresh = {source.name: self._wait(source, future, started) for source, future in pending}
        results = []
        for source in config.sources:
            result = fresh.get(source.name) or cache.get(source.name)
            if result is not None:
                results.append(result)
        return results

    def _wait(self, source: SourceSpec, future: "concurrent.futures.Future[SourceResult]",
              started: float) -> SourceResult:
        remaining = started + source.timeout + WAIT_GRACE_SECONDS - time.monotonic()
        try:
            result = future.result(timeout=max(0.0, remaining))
        except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
            queued = future.cancel()
            PROBLEMS.problem("source %s" % source.name, "no answer within %gs%s (timeout)"
                             % (source.timeout, "; all workers were busy" if queued else ""))
            result = SourceResult(source.name, False, time.monotonic() - started, time.time(), errors=("timeout",))
        self._stats.record(result)
        return result

    def collect(self) -> Iterator[Metric]:
        """prometheus_client collector entry point: never raises."""
        try:
            results = self.gather()
        except Exception:
            LOG.exception("collecting sources failed")
            results = []
        yield from self._user_metrics(results)
        yield from self._source_metrics(results)
        yield from self._exporter_metrics()

    @staticmethod
    def _user_metrics(results: Sequence[SourceResult]) -> Iterator[Metric]:
        families: Dict[str, GaugeMetricFamily] = {}
        for result in results:
            for spec, value in result.samples:
                family = families.get(spec.name)
                if family is None:
                    family = GaugeMetricFamily(spec.name, spec.help, labels=[k for k, dummy in spec.labels])
                    families[spec.name] = family
                family.add_metric([v for dummy, v in spec.labels], value)
        return iter(list(families.values()))

    def _source_metrics(self, results: Sequence[SourceResult]) -> Iterator[Metric]:
        up = GaugeMetricFamily("vigil_custom_source_up", "1 when the source answered with a parsable document.",
                               labels=["source"])
        duration = GaugeMetricFamily("vigil_custom_source_duration_seconds",
                                     "Duration of the source's last collection.", labels=["source"])
        success = GaugeMetricFamily("vigil_custom_source_last_success_timestamp_seconds",
                                    "Unix time of the source's last successful collection.", labels=["source"])
        errors = CounterMetricFamily("vigil_custom_source_errors", "Source and metric collection errors by reason.",
                                     labels=["source", "reason"])
        error_counts, last_success = self._stats.snapshot()
        for result in results:
            up.add_metric([result.source], 1.0 if result.up else 0.0)
            duration.add_metric([result.source], result.duration)
        for name, stamp in sorted(last_success.items()):
            success.add_metric([name], stamp)
        for (name, reason), count in sorted(error_counts.items()):
            errors.add_metric([name, reason], float(count))
        return iter([up, duration, success, errors])

    def _exporter_metrics(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("vigil_custom_exporter_build_info", "Version of the Vigil custom exporter.",
                                 labels=["version", "pythonversion"])
        info.add_metric([__version__, platform.python_version()], 1.0)
        ok = GaugeMetricFamily("vigil_custom_exporter_config_last_reload_successful",
                               "1 when the last configuration (re)load succeeded.",
                               value=1.0 if self.reload_ok else 0.0)
        stamp = GaugeMetricFamily("vigil_custom_exporter_config_last_reload_success_timestamp_seconds",
                                  "Unix time of the last successful configuration (re)load.", value=self.reload_time)
        return iter([info, ok, stamp])


def build_registry(exporter: Exporter) -> CollectorRegistry:
    """A registry with the exporter's collector and the standard process metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(exporter)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


# --------------------------------------------------------------------------------------
# HTTP server (TLS and basic auth from the web config)
# --------------------------------------------------------------------------------------


def server_ssl_context(web: WebConfig) -> ssl.SSLContext:
    """The server-side TLS context described by the web config."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = TLS_VERSIONS[web.min_version]
    context.load_cert_chain(web.cert_file or "", web.key_file)
    context.verify_mode = CLIENT_AUTH_TYPES[web.client_auth_type]
    if web.client_ca_file:
        context.load_verify_locations(cafile=web.client_ca_file)
    return context


class BasicAuth:
    """Checks ``Authorization: Basic`` headers against bcrypt hashes; caches successes."""

    def __init__(self, users: Sequence[Tuple[str, bytes]]) -> None:
        self._users = dict(users)
        self._bcrypt = _import_bcrypt() if self._users else None
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


# --------------------------------------------------------------------------------------
# Command line and lifecycle
# --------------------------------------------------------------------------------------


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vigil_custom_exporter", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config.file", dest="config_file", default=DEFAULT_CONFIG_FILE,
                        help="YAML configuration file (default: %(default)s)")
    parser.add_argument("--config.check", dest="config_check", action="store_true",
                        help="validate the configuration (and its web config) and exit 0 if valid, 1 if not")
    parser.add_argument("--web.config.check", dest="web_config_check", default=None, metavar="FILE",
                        help="validate an exporter-toolkit web config file (TLS, basic auth) and exit 0 if valid,"
                             " 1 if not")
    parser.add_argument("--web.listen-address", dest="listen_address", default=None,
                        help="override listen_address from the configuration (host:port)")
    parser.add_argument("--log.level", dest="log_level", default="info",
                        choices=["debug", "info", "warn", "warning", "error"], help="log level (default: info)")
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    return parser.parse_args(argv)


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s level=%(levelname)s %(message)s"))
    LOG.handlers[:] = [handler]
    LOG.setLevel({"warn": "WARNING"}.get(level, level.upper()))
    LOG.propagate = False


def check_config(path: str, listen_override: Optional[str]) -> int:
    """The ``--config.check`` action: print the verdict, return the exit status."""
    try:
        config = load_config(path, listen_override)
    except ConfigError as exc:
        print("vigil_custom_exporter: config error in %s: %s" % (path, exc), file=sys.stderr)
        return 1
    print("vigil_custom_exporter: config OK: %s (%d sources, %d metrics)"
          % (path, len(config.sources), config.metric_count))
    return 0


def check_web_config(path: str) -> int:
    """The ``--web.config.check`` action: print the verdict, return the exit status."""
    try:
        web = load_web_config(path)
    except ConfigError as exc:
        print("vigil_custom_exporter: web config error: %s" % exc, file=sys.stderr)
        return 1
    print("vigil_custom_exporter: web config OK: %s (tls=%s, basic_auth_users=%d)"
          % (path, "on" if web.tls_enabled else "off", len(web.users)))
    return 0


def notify_systemd(state: str) -> bool:
    """Send ``state`` (e.g. ``READY=1``) to systemd when run as a Type=notify service.

    Does nothing (returns False) without ``$NOTIFY_SOCKET``; a failure to send is logged,
    never raised: the exporter works the same under any service manager.
    """
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode("utf-8"))
    except OSError as exc:
        LOG.warning("cannot notify systemd (%s): %s", state, exc)
        return False
    return True


def _restart_only_changes(old: Config, new: Config) -> List[str]:
    changed = []
    if (old.listen_host, old.listen_port) != (new.listen_host, new.listen_port):
        changed.append("listen_address")
    if old.web != new.web or old.web_config_file != new.web_config_file:
        changed.append("web_config_file")
    if old.max_concurrency != new.max_concurrency:
        changed.append("max_concurrency")
    return changed


def reload_config(exporter: Exporter, path: str, listen_override: Optional[str]) -> None:
    """SIGHUP: apply a valid new configuration, or keep the running one and say why."""
    try:
        new = load_config(path, listen_override)
    except ConfigError as exc:
        exporter.mark_reload(False)
        LOG.error("reload failed, keeping the previous configuration: %s", exc)
        return
    pending = _restart_only_changes(exporter.config, new)
    if pending:
        LOG.warning("changes to %s take effect only after a restart", ", ".join(pending))
    exporter.apply(new)
    exporter.mark_reload(True)
    LOG.info("configuration reloaded: %d sources, %d metrics", len(new.sources), new.metric_count)


def _install_signal_handlers(signals: "queue.SimpleQueue[int]") -> None:
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda number, _frame: signals.put(number))


def serve(config: Config, listen_override: Optional[str]) -> int:
    """Run the exporter until SIGTERM/SIGINT; SIGHUP reloads the configuration."""
    exporter = Exporter(config)
    try:
        server = MetricsServer(config.listen_host, config.listen_port, build_registry(exporter), config.web)
    except (OSError, ConfigError) as exc:
        LOG.error("cannot listen on %s:%d: %s", config.listen_host, config.listen_port, exc)
        exporter.close()
        return 1
    signals: "queue.SimpleQueue[int]" = queue.SimpleQueue()
    _install_signal_handlers(signals)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.5}, name="http", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    LOG.info("listening on %s:%d (tls=%s, basic_auth=%s), %d sources, %d metrics", host, port,
             "on" if config.web.tls_enabled else "off", "on" if server.auth.enabled else "off",
             len(config.sources), config.metric_count)
    if server.auth.enabled and not config.web.tls_enabled:
        LOG.warning("basic auth is enabled without TLS: passwords travel in clear text")
    # Listening, and SIGHUP is handled from here on: a Type=notify unit may reload now.
    notify_systemd("READY=1")
    while True:
        try:
            signum = signals.get(timeout=1.0)
        except queue.Empty:
            continue
        if signum == signal.SIGHUP:
            reload_config(exporter, config.path, listen_override)
            continue
        LOG.info("received %s, shutting down", signal.Signals(signum).name)
        notify_systemd("STOPPING=1")
        break
    server.shutdown()
    server.server_close()
    exporter.close()
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    setup_logging(args.log_level)
    if args.web_config_check is not None:
        return check_web_config(args.web_config_check)
    if args.config_check:
        return check_config(args.config_file, args.listen_address)
    try:
        config = load_config(args.config_file, args.listen_address)
    except ConfigError as exc:
        LOG.error("invalid configuration %s: %s", args.config_file, exc)
        return 1
    return serve(config, args.listen_address)


if __name__ == "__main__":
    sys.exit(main())
