"""The responder's configuration file (YAML, written by the role) and its web config.

Every field is checked when the file is read; an unknown field is an error (a typo in a
guard rail must not silently fall back to a default). ``dry_run`` defaults to true: a
configuration that does not say otherwise decides and logs, and applies nothing.
"""

from __future__ import annotations

import ipaddress
import re
import ssl
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple

import yaml

from vigil_responder import addresses
from vigil_responder.checks import (
    NAME_RE,
    ConfigError,
    absolute_path,
    boolean,
    integer,
    mapping,
    only_keys,
    optional,
    seconds,
    string,
)
from vigil_responder.drivers import DRIVER_TYPES

DEFAULT_LISTEN = "0.0.0.0:9095"
ACTIONS = ("block_ip",)
ALERTNAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_:]*$")
LABEL_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
BCRYPT_RE = re.compile(r"^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$")
TLS_MIN_VERSIONS = {"TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
CLIENT_AUTH = {"NoClientCert": ssl.CERT_NONE, "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
               "RequireAndVerifyClientCert": ssl.CERT_REQUIRED}

TOP_KEYS = (
    "listen_address", "web_config_file", "dry_run", "audit_log", "state_file", "ttl", "max_active_blocks",
    "extend_on_repeat", "unblock_on_resolved", "min_prefix", "allowlist", "responses", "firewalls",
    "max_request_bytes", "max_alerts", "queue_size", "max_connections", "reconcile_interval",
)


@dataclass(frozen=True)
class Response:
    """What the catalog declares for one alert: the action, the label holding the address, a TTL."""

    alertname: str
    action: str
    label: str
    ttl: Optional[int]


@dataclass(frozen=True)
class WebConfig:
    """TLS (optional) and the users allowed to post webhooks (bcrypt hashes; at least one)."""

    users: Tuple[Tuple[str, bytes], ...]
    cert_file: Optional[str] = None
    key_file: Optional[str] = None
    client_ca_file: Optional[str] = None
    client_auth_type: str = "NoClientCert"
    min_version: str = "TLS12"

    def ssl_context(self) -> Optional[ssl.SSLContext]:
        if not self.cert_file:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = TLS_MIN_VERSIONS[self.min_version]
        context.load_cert_chain(self.cert_file, self.key_file)
        context.verify_mode = CLIENT_AUTH[self.client_auth_type]
        if self.client_ca_file:
            context.load_verify_locations(cafile=self.client_ca_file)
        return context


@dataclass(frozen=True)
class Config:
    path: str
    listen_host: str
    listen_port: int
    web: WebConfig
    dry_run: bool
    audit_log: str
    state_file: str
    ttl_default: int
    ttl_max: int
    max_active_blocks: int
    extend_on_repeat: bool
    unblock_on_resolved: bool
    min_prefix_ipv4: int
    min_prefix_ipv6: int
    allowlist: addresses.Allowlist
    responses: Mapping[str, Response]
    firewalls: Tuple[Tuple[str, Any], ...]   # (driver type, its checked settings)
    max_request_bytes: int
    max_alerts: int
    queue_size: int
    max_connections: int
    reconcile_interval: int

    def ttl_for(self, response: Response) -> int:
        """The TTL of a block for this response: its own or the default, never above the maximum."""
        return min(response.ttl or self.ttl_default, self.ttl_max)


def read_yaml(path: str, what: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except OSError as exc:
        raise ConfigError("cannot read %s %s: %s" % (what, path, exc.strerror or exc)) from None
    except yaml.YAMLError as exc:
        raise ConfigError("%s %s is not valid YAML: %s" % (what, path, exc)) from None


def parse_listen(value: Any, where: str = "listen_address") -> Tuple[str, int]:
    text = string(value, where)
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError("%s %r must be host:port, [v6]:port or :port with a port up to 65535 (0: any free port)"
                          % (where, text))
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if host:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ConfigError("%s %r: the host must be an IP address (or empty for all)" % (where, text)) from None
    return host or "0.0.0.0", int(port)


def load_web_config(path: str) -> WebConfig:
    """The exporter-toolkit style web config: basic_auth_users (required) and tls_server_config."""
    raw = read_yaml(path, "web config") or {}
    raw = mapping(raw, "web config %s" % path)
    only_keys(raw, ("basic_auth_users", "tls_server_config"), "web config")
    users_raw = mapping(optional(raw, "basic_auth_users", {}), "basic_auth_users")
    if not users_raw:
        raise ConfigError("web config %s: basic_auth_users is empty; the webhook endpoint must require "
                          "authentication (Alertmanager's http_config basic_auth)" % path)
    users = []
    for user, hashed in sorted(users_raw.items()):
        where = "basic_auth_users[%r]" % user
        string(user, "basic_auth_users user name")
        if not isinstance(hashed, str) or not BCRYPT_RE.match(hashed):
            raise ConfigError("%s must be a bcrypt hash ($2y$...), not a password" % where)
        users.append((user, hashed.encode("ascii")))
    tls = mapping(optional(raw, "tls_server_config", {}), "tls_server_config")
    only_keys(tls, ("cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version"), "tls_server_config")
    fields: Dict[str, Any] = {}
    if tls:
        fields["cert_file"] = absolute_path(tls.get("cert_file"), "tls_server_config.cert_file")
        fields["key_file"] = absolute_path(tls.get("key_file"), "tls_server_config.key_file")
        if tls.get("client_ca_file") is not None:
            fields["client_ca_file"] = absolute_path(tls["client_ca_file"], "tls_server_config.client_ca_file")
        fields["client_auth_type"] = optional(tls, "client_auth_type", "NoClientCert")
        if fields["client_auth_type"] not in CLIENT_AUTH:
            raise ConfigError("tls_server_config.client_auth_type must be one of %s" % ", ".join(CLIENT_AUTH))
        fields["min_version"] = optional(tls, "min_version", "TLS12")
        if fields["min_version"] not in TLS_MIN_VERSIONS:
            raise ConfigError("tls_server_config.min_version must be TLS12 or TLS13")
    web = WebConfig(users=tuple(users), **fields)
    try:
        web.ssl_context()
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError("tls_server_config: cannot load the certificate and key: %s" % exc) from None
    return web


def _responses(raw: Any) -> Dict[str, Response]:
    if not isinstance(raw, list):
        raise ConfigError("responses must be a list of {alertname, action, label, ttl}")
    found: Dict[str, Response] = {}
    for index, item in enumerate(raw):
        where = "responses[%d]" % index
        item = mapping(item, where)
        only_keys(item, ("alertname", "action", "label", "ttl"), where)
        name = string(item.get("alertname"), where + ".alertname", ALERTNAME_RE)
        if name in found:
            raise ConfigError("%s: alert %s has a response already" % (where, name))
        action = item.get("action")
        if action not in ACTIONS:
            raise ConfigError("%s.action must be one of %s, got %r" % (where, ", ".join(ACTIONS), action))
        label = string(item.get("label"), where + ".label", LABEL_RE)
        ttl = seconds(item["ttl"], where + ".ttl") if item.get("ttl") is not None else None
        found[name] = Response(alertname=name, action=action, label=label, ttl=ttl)
    return found


def _firewalls(raw: Any) -> Tuple[Any, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError("firewalls must list at least one firewall ({name, type: %s, ...})" % "|".join(DRIVER_TYPES))
    settings = []
    names = set()
    for index, item in enumerate(raw):
        where = "firewalls[%d]" % index
        item = mapping(item, where)
        kind = item.get("type")
        if kind not in DRIVER_TYPES:
            raise ConfigError("%s.type must be one of %s, got %r" % (where, ", ".join(DRIVER_TYPES), kind))
        name = string(item.get("name"), where + ".name", NAME_RE)
        if name in names:
            raise ConfigError("%s.name %r is used twice" % (where, name))
        names.add(name)
        settings.append((kind, DRIVER_TYPES[kind].parse_settings(item, "%s (%s)" % (where, name))))
    return tuple(settings)


def _allowlist(raw: Any) -> addresses.Allowlist:
    if not isinstance(raw, list):
        raise ConfigError("allowlist must be a list of addresses, CIDR networks or ranges")
    networks = []
    for index, entry in enumerate(raw):
        try:
            networks.extend(addresses.parse_allowlist_entry(entry))
        except ValueError as exc:
            raise ConfigError("allowlist[%d]: %s" % (index, exc)) from None
    return addresses.Allowlist(networks)


def parse_config(raw: Any, path: str = "<config>") -> Config:
    raw = mapping(raw if raw is not None else {}, "the configuration")
    only_keys(raw, TOP_KEYS, "the configuration")
    host, port = parse_listen(optional(raw, "listen_address", DEFAULT_LISTEN))
    ttl = mapping(optional(raw, "ttl", {}), "ttl")
    only_keys(ttl, ("default", "max"), "ttl")
    ttl_max = seconds(optional(ttl, "max", 86400), "ttl.max")
    ttl_default = seconds(optional(ttl, "default", 3600), "ttl.default")
    if ttl_default > ttl_max:
        raise ConfigError("ttl.default (%ds) is longer than ttl.max (%ds)" % (ttl_default, ttl_max))
    prefix = mapping(optional(raw, "min_prefix", {}), "min_prefix")
    only_keys(prefix, ("ipv4", "ipv6"), "min_prefix")
    web_config_file = absolute_path(raw.get("web_config_file"), "web_config_file")
    return Config(
        path=path,
        listen_host=host,
        listen_port=port,
        web=load_web_config(web_config_file),
        dry_run=boolean(optional(raw, "dry_run", True), "dry_run"),
        audit_log=absolute_path(optional(raw, "audit_log", "/var/log/vigil-responder/audit.jsonl"), "audit_log"),
        state_file=absolute_path(optional(raw, "state_file", "/var/lib/vigil-responder/state.json"), "state_file"),
        ttl_default=ttl_default,
        ttl_max=ttl_max,
        max_active_blocks=integer(optional(raw, "max_active_blocks", 50), "max_active_blocks", 1, 100000),
        extend_on_repeat=boolean(optional(raw, "extend_on_repeat", False), "extend_on_repeat"),
        unblock_on_resolved=boolean(optional(raw, "unblock_on_resolved", False), "unblock_on_resolved"),
        min_prefix_ipv4=integer(optional(prefix, "ipv4", 32), "min_prefix.ipv4", 8, 32),
        min_prefix_ipv6=integer(optional(prefix, "ipv6", 128), "min_prefix.ipv6", 16, 128),
        allowlist=_allowlist(optional(raw, "allowlist", [])),
        responses=_responses(optional(raw, "responses", [])),
        firewalls=_firewalls(raw.get("firewalls")),
        max_request_bytes=integer(optional(raw, "max_request_bytes", 1048576), "max_request_bytes", 1024, 67108864),
        max_alerts=integer(optional(raw, "max_alerts", 1000), "max_alerts", 1, 100000),
        queue_size=integer(optional(raw, "queue_size", 100), "queue_size", 1, 10000),
        max_connections=integer(optional(raw, "max_connections", 16), "max_connections", 1, 1024),
        reconcile_interval=seconds(optional(raw, "reconcile_interval", 60), "reconcile_interval", 3600),
    )


def load_config(path: str) -> Config:
    return parse_config(read_yaml(path, "configuration"), path)
