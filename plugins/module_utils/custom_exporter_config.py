# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The custom exporter's configuration schema: what a valid ``config.yml`` is, and why one is not.

One module, two users, so that the rules and their messages exist once:

* the exporter (``services/vigil_custom_exporter``) imports it as
  ``vigil_custom_exporter.schema`` at start, on SIGHUP and in ``--config.check``: in its
  source tree that name is a link to this file, and its wheel holds a copy of it;
* the role's preflight runs it on the controller, before any host changes, through the
  filter ``vigil.monitoring.custom_exporter_config_problems``.

Pure Python, standard library only, no file system and no network. What depends on the
host is checked by the exporter after this schema: that JMESPath queries compile, that
CA files are readable, the web config's certificates and bcrypt.

``validate(raw)`` returns the settings or raises ``ConfigError`` for the first problem (the
exporter stops there); ``problems(raw)`` lists every problem it can tell apart (one per
top-level field, per source header, per metric and per source's http/command fields),
with the same messages. A message starts with where the problem is
(``sources[0] (fw).metrics[1].name: ...``) and never shows header values or URL passwords.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, TypeVar
from urllib.parse import urlsplit

DEFAULT_LISTEN_ADDRESS = "0.0.0.0:9877"
DEFAULT_TIMEOUT = 5.0
DEFAULT_MAX_CONCURRENCY = 8
MAX_CONCURRENCY = 64
MAX_SECONDS = 86400
RESERVED_PREFIXES = ("vigil_custom_source_", "vigil_custom_exporter_")
METRIC_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
SOURCE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
TOP_LEVEL_KEYS = ("listen_address", "default_timeout", "max_concurrency", "web_config_file", "sources")
SOURCE_KEYS = {
    "http": ("name", "type", "url", "headers", "timeout", "verify_tls", "ca_file", "parse", "interval", "metrics"),
    "command": ("name", "type", "command", "timeout", "parse", "interval", "metrics"),
}
METRIC_KEYS = ("name", "help", "query", "labels", "type")
PARSERS = ("json", "number")

T = TypeVar("T")


class ConfigError(Exception):
    """The configuration (or the web config it names) is invalid."""


@dataclass(frozen=True)
class Metric:
    """One gauge as written: a JMESPath query (not compiled here) and static labels."""

    name: str
    help: str
    query: str
    labels: Tuple[Tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Source:
    """One source as written; ``ca_file`` is the path as given (relative to the config file)."""

    name: str
    type: str
    timeout: float
    parse: str
    interval: Optional[float]
    metrics: Tuple[Metric, ...]
    url: str = ""
    headers: Tuple[Tuple[str, str], ...] = ()
    verify_tls: bool = True
    ca_file: Optional[str] = None
    command: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    """A configuration document that passed the schema."""

    listen_host: str
    listen_port: int
    default_timeout: float
    max_concurrency: int
    web_config_file: Optional[str]
    sources: Tuple[Source, ...]


class _Problems:
    """Runs checks: the first failure raises (``collect`` false) or each one is noted."""

    def __init__(self, collect: bool) -> None:
        self.collect = collect
        self.found: List[str] = []

    def check(self, function: Callable[..., T], *args: Any) -> Optional[T]:
        if not self.collect:
            return function(*args)
        try:
            return function(*args)
        except ConfigError as exc:
            self.found.append(str(exc))
            return None


def source_where(index: int, name: str) -> str:
    """How messages name a source: ``sources[0] (fw)``."""
    return "sources[%d] (%s)" % (index, name)


def redact_url(url: str) -> str:
    """The URL with the password of its userinfo masked (for error messages)."""
    return re.sub(r"^([^:/?#]*://[^/?#@:]*):[^/?#@]*@", r"\1:***@", url)


def check_keys(mapping: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    unknown = sorted(str(key) for key in mapping if key not in allowed)
    if unknown:
        raise ConfigError("%s: unknown field(s) %s (allowed: %s)" % (where, ", ".join(unknown), ", ".join(allowed)))


def as_mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError("%s: must be a mapping, got %s" % (where, type(value).__name__))
    return value


def required(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if mapping.get(key) is None:
        raise ConfigError("%s.%s: required field is missing" % (where, key))
    return mapping[key]


def non_empty_string(value: Any, where: str) -> str:
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


def _header_value(value: Any, where: str) -> str:
    """A header value as text; the value itself never appears in the error (it is often a secret)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ConfigError("%s: must be a string or a number, got a %s" % (where, type(value).__name__))
    return str(value)


def parse_listen_address(value: Any, where: str = "listen_address") -> Tuple[str, int]:
    """Split ``host:port``, ``[v6]:port`` or ``:port`` (all interfaces) into host and port."""
    text = non_empty_string(value, where)
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        raise ConfigError("%s: %r is not of the form host:port" % (where, text))
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host or "0.0.0.0", int(port_text)


def _max_concurrency(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONCURRENCY:
        raise ConfigError("max_concurrency: must be an integer from 1 to %d, got %.40r" % (MAX_CONCURRENCY, value))
    return value


def _metric(raw: Any, where: str) -> Metric:
    item = as_mapping(raw, where)
    check_keys(item, METRIC_KEYS, where)
    name = non_empty_string(required(item, "name", where), where + ".name")
    if not METRIC_NAME_RE.match(name):
        raise ConfigError("%s.name: %r is not a valid Prometheus metric name ([a-zA-Z_][a-zA-Z0-9_]*)" % (where, name))
    if name.startswith(RESERVED_PREFIXES):
        raise ConfigError("%s.name: %r uses a prefix reserved for the exporter's own metrics (%s)"
                          % (where, name, ", ".join(RESERVED_PREFIXES)))
    metric_type = item.get("type", "gauge")
    if metric_type != "gauge":
        raise ConfigError("%s.type: unknown metric type %r (supported: gauge)" % (where, metric_type))
    help_text = non_empty_string(item.get("help", "%s (Vigil custom exporter)" % name), where + ".help")
    query = non_empty_string(item.get("query", "@"), where + ".query")
    labels = as_mapping(item.get("labels") or {}, where + ".labels")
    for label in labels:
        if not isinstance(label, str) or not LABEL_NAME_RE.match(label) or label.startswith("__"):
            raise ConfigError("%s.labels: %r is not a valid label name" % (where, label))
    pairs = tuple(sorted((key, _scalar_text(val, "%s.labels.%s" % (where, key))) for key, val in labels.items()))
    return Metric(name=name, help=help_text, query=query, labels=pairs)


def _http_fields(item: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    url = non_empty_string(required(item, "url", where), where + ".url")
    try:
        parts = urlsplit(url)
        # .port raises ValueError on a port that is not a number or out of range
        scheme, netloc, dummy = parts.scheme, parts.netloc, parts.port
    except ValueError as exc:
        raise ConfigError("%s.url: %r is not a valid URL: %s" % (where, redact_url(url), exc)) from None
    if scheme not in ("http", "https") or not netloc:
        raise ConfigError("%s.url: %r must be an http:// or https:// URL" % (where, redact_url(url)))
    headers = as_mapping(item.get("headers") or {}, where + ".headers")
    header_pairs = tuple((non_empty_string(k, where + ".headers"), _header_value(v, "%s.headers.%s" % (where, k)))
                         for k, v in headers.items())
    for name, value in header_pairs:
        if re.search(r"[\r\n]", name + value) or not HEADER_NAME_RE.match(name):
            raise ConfigError("%s.headers: %r is not a valid header name/value" % (where, name))
    verify = _boolean(item.get("verify_tls", True), where + ".verify_tls")
    ca_file = None
    if item.get("ca_file") is not None:
        if not verify:
            raise ConfigError("%s.ca_file: has no effect when verify_tls is false; remove one of them" % where)
        ca_file = non_empty_string(item["ca_file"], where + ".ca_file")
    return {"url": url, "headers": header_pairs, "verify_tls": verify, "ca_file": ca_file}


def _command_fields(item: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    argv = required(item, "command", where)
    if not isinstance(argv, list) or not argv or not all(isinstance(arg, str) for arg in argv):
        raise ConfigError("%s.command: must be a non-empty list of strings (argv; no shell is used)" % where)
    return {"command": tuple(argv)}


def _source_head(raw: Any, index: int) -> Tuple[Mapping[str, Any], str, str, str]:
    """The fields a source's other checks depend on: a mapping, its name and its type."""
    where = "sources[%d]" % index
    item = as_mapping(raw, where)
    name = non_empty_string(required(item, "name", where), where + ".name")
    if not SOURCE_NAME_RE.match(name):
        raise ConfigError("%s.name: %r may only contain letters, digits, '_', '.' and '-'" % (where, name))
    where = source_where(index, name)
    source_type = required(item, "type", where)
    if not isinstance(source_type, str) or source_type not in SOURCE_KEYS:
        raise ConfigError("%s.type: unknown source type %r (supported: http, command)" % (where, source_type))
    check_keys(item, SOURCE_KEYS[source_type], where)
    return item, name, source_type, where


def _parser(item: Mapping[str, Any], where: str) -> str:
    parse = item.get("parse", "json")
    if parse not in PARSERS:
        raise ConfigError("%s.parse: unknown parser %r (supported: json, number)" % (where, parse))
    return parse


def _interval(item: Mapping[str, Any], where: str) -> Optional[float]:
    return _seconds(item["interval"], where + ".interval") if item.get("interval") is not None else None


def _metric_list(item: Mapping[str, Any], where: str) -> List[Any]:
    raw_metrics = required(item, "metrics", where)
    if not isinstance(raw_metrics, list) or not raw_metrics:
        raise ConfigError("%s.metrics: must be a non-empty list (name, and help, query, labels)" % where)
    return raw_metrics


def _source(raw: Any, index: int, default_timeout: float, problems: _Problems) -> Optional[Source]:
    """One source; None (its problems noted) when ``problems`` collects."""
    item, name, source_type, where = _source_head(raw, index)
    noted = len(problems.found)
    parse = problems.check(_parser, item, where)
    timeout = problems.check(_seconds, item.get("timeout", default_timeout), where + ".timeout")
    interval = problems.check(_interval, item, where)
    raw_metrics = problems.check(_metric_list, item, where) or []
    metrics = tuple(problems.check(_metric, m, "%s.metrics[%d]" % (where, i)) for i, m in enumerate(raw_metrics))
    fields = _http_fields if source_type == "http" else _command_fields
    extra = problems.check(fields, item, where)
    if len(problems.found) > noted or extra is None:
        return None
    return Source(name=name, type=source_type, timeout=timeout, parse=parse,  # type: ignore[arg-type]
                  interval=interval, metrics=metrics, **extra)  # type: ignore[arg-type]


def _check_unique(sources: Sequence[Tuple[int, Source]]) -> None:
    """Reject duplicate source names, duplicate series and inconsistent metric families."""
    seen_sources: Dict[str, int] = {}
    families: Dict[str, Tuple[str, str, Tuple[str, ...]]] = {}
    series: Dict[Tuple[str, Tuple[Tuple[str, str], ...]], str] = {}
    for index, source in sources:
        if source.name in seen_sources:
            raise ConfigError("sources[%d].name: duplicate source name %r (also sources[%d])"
                              % (index, source.name, seen_sources[source.name]))
        seen_sources[source.name] = index
        for m_index, metric in enumerate(source.metrics):
            where = "%s.metrics[%d].name" % (source_where(index, source.name), m_index)
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


def _source_list(data: Mapping[str, Any]) -> List[Any]:
    raw_sources = required(data, "sources", "top level")
    if not isinstance(raw_sources, list) or not raw_sources:
        raise ConfigError("sources: must be a non-empty list (each source: name, type http or command, metrics)")
    return raw_sources


def _web_config_file(value: Any) -> Optional[str]:
    return non_empty_string(value, "web_config_file") if value is not None else None


def _settings(raw: Any, problems: _Problems) -> Optional[Settings]:
    if raw is None:
        raise ConfigError("the configuration is empty")
    data = as_mapping(raw, "top level")
    problems.check(check_keys, data, TOP_LEVEL_KEYS, "top level")
    listen = problems.check(parse_listen_address, data.get("listen_address", DEFAULT_LISTEN_ADDRESS))
    default_timeout = problems.check(_seconds, data.get("default_timeout", DEFAULT_TIMEOUT), "default_timeout")
    concurrency = problems.check(_max_concurrency, data.get("max_concurrency", DEFAULT_MAX_CONCURRENCY))
    web_file = problems.check(_web_config_file, data.get("web_config_file"))
    raw_sources = problems.check(_source_list, data) or []
    sources = []
    for index, item in enumerate(raw_sources):
        source = problems.check(_source, item, index, default_timeout or DEFAULT_TIMEOUT, problems)
        if source is not None:
            sources.append((index, source))
    problems.check(_check_unique, sources)
    if problems.found or listen is None or default_timeout is None or concurrency is None:
        return None
    return Settings(listen_host=listen[0], listen_port=listen[1], default_timeout=default_timeout,
                    max_concurrency=concurrency, web_config_file=web_file,
                    sources=tuple(source for dummy, source in sources))


def validate(raw: Any) -> Settings:
    """Check a decoded YAML document; raise ConfigError naming the first offending field."""
    settings = _settings(raw, _Problems(collect=False))
    if settings is None:  # cannot happen: without collecting, the first problem raised
        raise ConfigError("the configuration is invalid")
    return settings


def problems(raw: Any) -> List[str]:
    """Every problem of a decoded YAML document, in document order; [] when it is valid."""
    found = _Problems(collect=True)
    try:
        _settings(raw, found)
    except ConfigError as exc:
        found.found.append(str(exc))
    return found.found
