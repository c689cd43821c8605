"""The exporter's configuration: the schema's verdict, then what only the host can tell.

``schema`` (shared with the role's preflight) checks the document's structure; here the
JMESPath queries are compiled, CA files are looked for next to the configuration file,
TLS contexts are made, and the web config the file names is read.
"""

from __future__ import annotations

import logging
import os
import shutil
import ssl
from dataclasses import dataclass, field, fields
from typing import Any, Optional, Tuple
from urllib.parse import urlsplit

import jmespath
import jmespath.exceptions

from vigil_custom_exporter import schema
from vigil_custom_exporter.schema import ConfigError, parse_listen_address
from vigil_custom_exporter.webconfig import WebConfig, load_web_config, read_yaml, readable_file, resolve_path

__all__ = ["Config", "ConfigError", "MetricSpec", "SourceSpec", "load_config", "parse_config", "parse_listen_address"]

LOG = logging.getLogger("vigil_custom_exporter")

DEFAULT_CONFIG_FILE = "/etc/vigil/custom_exporter/config.yml"


@dataclass(frozen=True)
class MetricSpec:
    """One gauge: a JMESPath query into a source's document plus static labels."""

    name: str
    help: str
    query_text: str
    query: Any = field(compare=False, repr=False)
    labels: Tuple[Tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SourceSpec(schema.Source):
    """A source ready to collect: its queries compiled, its CA file found next to the configuration, its TLS context."""

    ssl_context: Optional[ssl.SSLContext] = field(default=None, compare=False, repr=False)


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


def _client_ssl_context(verify: bool, ca_file: Optional[str]) -> ssl.SSLContext:
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=ca_file)


def _metric_spec(metric: schema.Metric, where: str) -> MetricSpec:
    try:
        query = jmespath.compile(metric.query)
    except jmespath.exceptions.JMESPathError as exc:
        raise ConfigError("%s.query: invalid JMESPath expression %r: %s" % (where, metric.query, exc)) from None
    return MetricSpec(name=metric.name, help=metric.help, query_text=metric.query, query=query, labels=metric.labels)


def _source_spec(source: schema.Source, index: int, base_dir: str) -> SourceSpec:
    where = schema.source_where(index, source.name)
    metrics = tuple(_metric_spec(m, "%s.metrics[%d]" % (where, i)) for i, m in enumerate(source.metrics))
    ca_file, context = None, None
    if source.type == "http":
        if source.ca_file is not None:
            ca_file = readable_file(source.ca_file, base_dir, where + ".ca_file")
        try:
            https = urlsplit(source.url).scheme == "https"
            context = _client_ssl_context(source.verify_tls, ca_file) if https else None
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError("%s.ca_file: cannot load CA certificates: %s" % (where, exc)) from None
    elif shutil.which(source.command[0]) is None:
        LOG.warning("%s.command: %s is not an executable found now; the source will fail until it is",
                    where, source.command[0])
    written = {f.name: getattr(source, f.name) for f in fields(source)}
    return SourceSpec(**dict(written, metrics=metrics, ca_file=ca_file, ssl_context=context))


def parse_config(raw: Any, path: str = "<config>", listen_override: Optional[str] = None) -> Config:
    """Validate a decoded YAML document; raise ConfigError naming the offending field."""
    settings = schema.validate(raw)
    base_dir = os.path.dirname(os.path.abspath(path))
    host, port = settings.listen_host, settings.listen_port
    if listen_override is not None:
        host, port = parse_listen_address(listen_override, "--web.listen-address")
    web_file = None
    web = WebConfig()
    if settings.web_config_file is not None:
        web_file = resolve_path(settings.web_config_file, base_dir)
        web = load_web_config(web_file)
    sources = tuple(_source_spec(source, i, base_dir) for i, source in enumerate(settings.sources))
    return Config(path=path, listen_host=host, listen_port=port, default_timeout=settings.default_timeout,
                  max_concurrency=settings.max_concurrency, web_config_file=web_file, web=web, sources=sources)


def load_config(path: str, listen_override: Optional[str] = None) -> Config:
    """Read and validate the exporter's YAML configuration file."""
    return parse_config(read_yaml(path, path), path, listen_override)
