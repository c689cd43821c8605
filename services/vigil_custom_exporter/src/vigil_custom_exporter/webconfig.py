"""The exporter-toolkit style web config: TLS for the metrics endpoint and basic auth users.

It names files on the host (certificate, key, client CA) and needs bcrypt for basic
auth, so it is checked here, on the host, not by the controller-side ``schema``.
"""

from __future__ import annotations

import importlib
import os
import re
import ssl
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import yaml

from vigil_custom_exporter.schema import ConfigError, as_mapping, check_keys, non_empty_string, required

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


def resolve_path(path: str, base_dir: str) -> str:
    """A path from a configuration file: relative ones are relative to that file's directory."""
    return path if os.path.isabs(path) else os.path.join(base_dir, path)


def readable_file(value: Any, base_dir: str, where: str) -> str:
    """The resolved path of a file the service must be able to read."""
    path = resolve_path(non_empty_string(value, where), base_dir)
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise ConfigError("%s: file %s does not exist or is not readable" % (where, path))
    return path


def read_yaml(path: str, where: str) -> Any:
    """A YAML file, decoded; ConfigError when it cannot be read or parsed."""
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except OSError as exc:
        raise ConfigError("%s: cannot read: %s" % (where, exc.strerror or exc)) from None
    except yaml.YAMLError as exc:
        raise ConfigError("%s: invalid YAML: %s" % (where, exc)) from None


def import_bcrypt() -> Any:
    """The bcrypt module, or a ConfigError that says how to get it."""
    try:
        return importlib.import_module("bcrypt")
    except ImportError:
        raise ConfigError("basic_auth_users is set but the Python module 'bcrypt' is not installed in this "
                          "environment: install it (pip install bcrypt) or remove basic_auth_users") from None


def server_ssl_context(web: WebConfig) -> ssl.SSLContext:
    """The server-side TLS context described by the web config."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = TLS_VERSIONS[web.min_version]
    context.load_cert_chain(web.cert_file or "", web.key_file)
    context.verify_mode = CLIENT_AUTH_TYPES[web.client_auth_type]
    if web.client_ca_file:
        context.load_verify_locations(cafile=web.client_ca_file)
    return context


def _parse_tls(raw: Any, base_dir: str, where: str) -> Dict[str, Any]:
    tls = as_mapping(raw, where)
    check_keys(tls, ("cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version"), where)
    cert = readable_file(required(tls, "cert_file", where), base_dir, where + ".cert_file")
    key = readable_file(required(tls, "key_file", where), base_dir, where + ".key_file")
    auth_type = tls.get("client_auth_type", "NoClientCert")
    if not isinstance(auth_type, str) or auth_type not in CLIENT_AUTH_TYPES:
        raise ConfigError("%s.client_auth_type: %r is not supported (supported: %s)"
                          % (where, auth_type, ", ".join(CLIENT_AUTH_TYPES)))
    client_ca = None
    if tls.get("client_ca_file") is not None:
        client_ca = readable_file(tls["client_ca_file"], base_dir, where + ".client_ca_file")
    if auth_type != "NoClientCert" and client_ca is None:
        raise ConfigError("%s.client_ca_file: required when client_auth_type is %s" % (where, auth_type))
    min_version = tls.get("min_version", "TLS12")
    if not isinstance(min_version, str) or min_version not in TLS_VERSIONS:
        raise ConfigError("%s.min_version: %r is not one of %s" % (where, min_version, ", ".join(TLS_VERSIONS)))
    return {"cert_file": cert, "key_file": key, "client_ca_file": client_ca,
            "client_auth_type": auth_type, "min_version": min_version}


def _parse_users(raw: Any, where: str) -> Tuple[Tuple[str, bytes], ...]:
    users = as_mapping(raw, where)
    if not users:
        return ()
    import_bcrypt()
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
    raw = read_yaml(path, where)
    if raw is None:
        return WebConfig()
    data = as_mapping(raw, where)
    check_keys(data, ("tls_server_config", "basic_auth_users"), where)
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
