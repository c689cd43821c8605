"""OPNsense: addresses in an alias of type External (advanced), through the alias_util API.

The operator creates, once, an alias of type "External (advanced)" (docs.opnsense.org,
manual/aliases.html: its content is set by an API, not by the GUI) and a firewall rule
blocking its members as source; the driver adds and removes addresses in that alias's pf
table with the documented API (docs.opnsense.org, development/api/core/firewall.html,
controller ``alias_util``):

* ``POST /api/firewall/alias_util/add/<alias>`` with ``{"address": "192.0.2.7"}``,
* ``POST /api/firewall/alias_util/delete/<alias>`` with ``{"address": ...}``,
* ``GET /api/firewall/alias_util/list/<alias>`` -> ``{"total", "rowCount", "current", "rows": [{"ip": ...}]}``,
* ``GET /api/firewall/alias_util/aliases`` -> the names of the alias tables.

add and delete answer ``{"status": "done"}``; anything else (``failed`` with a
``status_msg``, ``not_an_address``) is an error. Authentication is the API key and secret
as HTTP basic auth (development/how-tos/api.html); a wrong key gets 401
``{"status": 401, "message": "Authentication Failed"}``. OPNsense has no timeout on table
entries: the engine removes the address when its block expires.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional
from urllib.parse import quote, urlsplit

from vigil_responder.addresses import Network, display
from vigil_responder.checks import ConfigError, absolute_path, boolean, integer, only_keys, optional, string
from vigil_responder.drivers.base import Driver, DriverError
from vigil_responder.drivers.api_client import JsonClient

ALIAS_NAME = re.compile(r"^[A-Za-z0-9_]{1,32}$")
_KEYS = ("name", "type", "url", "alias", "api_key", "api_secret", "verify_tls", "ca_file", "timeout")
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class OpnsenseSettings:
    name: str
    url: str
    alias: str
    api_key: str
    api_secret: str
    verify_tls: bool
    ca_file: Optional[str]
    timeout: int

    def __repr__(self) -> str:  # never show the key and secret
        return "OpnsenseSettings(name=%r, url=%r, alias=%r)" % (self.name, self.url, self.alias)


class OpnsenseDriver(Driver):
    type_name = "opnsense"
    native_expiry = False

    @classmethod
    def parse_settings(cls, raw: Mapping[str, Any], where: str) -> OpnsenseSettings:
        only_keys(raw, _KEYS, where)
        url = string(raw.get("url"), where + ".url")
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ConfigError("%s.url must be https://host[:port] of the OPNsense API" % where)
        if "@" in parts.netloc:
            raise ConfigError("%s.url must not carry credentials; use api_key and api_secret" % where)
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
            raise ConfigError("%s.url: the API key would cross the network in clear text; use https://" % where)
        ca_file = optional(raw, "ca_file", None)
        return OpnsenseSettings(
            name=raw["name"],
            url=url.rstrip("/"),
            alias=string(raw.get("alias"), where + ".alias", ALIAS_NAME),
            api_key=string(raw.get("api_key"), where + ".api_key"),
            api_secret=string(raw.get("api_secret"), where + ".api_secret"),
            verify_tls=boolean(optional(raw, "verify_tls", True), where + ".verify_tls"),
            ca_file=absolute_path(ca_file, where + ".ca_file") if ca_file is not None else None,
            timeout=integer(optional(raw, "timeout", 10), where + ".timeout", 1, 120),
        )

    def __init__(self, settings: OpnsenseSettings) -> None:
        super().__init__(settings)
        token = base64.b64encode(("%s:%s" % (settings.api_key, settings.api_secret)).encode("utf-8")).decode("ascii")
        self.client = JsonClient(settings.url, {"Authorization": "Basic " + token}, settings.timeout,
                                 verify_tls=settings.verify_tls, ca_file=settings.ca_file)
        self._alias = quote(settings.alias, safe="")

    def _change(self, action: str, network: Network) -> None:
        answer = self.client.request("POST", "/api/firewall/alias_util/%s/%s" % (action, self._alias),
                                     {"address": display(network)})
        if answer.get("status") != "done":
            detail = answer.get("status_msg") or answer.get("message") or ""
            raise DriverError("OPNsense did not %s %s in alias %s: status %r%s" % (
                action, display(network), self.settings.alias, answer.get("status"), (" (%s)" % detail) if detail else ""))

    def block(self, network: Network, ttl: int) -> None:
        self._change("add", network)

    def unblock(self, network: Network) -> None:
        self._change("delete", network)

    def blocked(self) -> Dict[Network, Optional[int]]:
        answer = self.client.request("GET", "/api/firewall/alias_util/list/%s" % self._alias, expect=(dict, list))
        rows = answer.get("rows") if isinstance(answer, dict) else answer  # older releases answer a plain list
        if not isinstance(rows, list):
            raise DriverError("OPNsense listed alias %s without rows: %r" % (self.settings.alias, answer)[:300])
        found: Dict[Network, Optional[int]] = {}
        for row in rows:
            text = row.get("ip") if isinstance(row, dict) else row
            try:
                found[ipaddress.ip_network(str(text), strict=False)] = None
            except ValueError:
                raise DriverError("OPNsense listed %r in alias %s, not an address" % (text, self.settings.alias)) from None
        return found

    def check(self) -> None:
        names = self.client.request("GET", "/api/firewall/alias_util/aliases", expect=list)
        if self.settings.alias not in names:
            raise DriverError("OPNsense has no alias table %s: create an alias of type External (advanced) with that "
                              "name and a rule that blocks it as source" % self.settings.alias)
