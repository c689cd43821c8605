"""Fake OPNsense API: the firewall alias tables the responder's OPNsense driver uses.

Follows OPNsense's documented API (docs.opnsense.org/development/api/core/firewall.html,
controller ``alias_util``) and what its controllers answer (opnsense/core,
``Firewall/Api/AliasUtilController.php`` and ``Base/ApiControllerBase.php``):

* every call authenticates with the API key and secret as HTTP basic auth; anything else
  is 401 ``{"status": 401, "message": "Authentication Failed"}``;
* ``POST /api/firewall/alias_util/add/<alias>`` ``{"address": ...}`` -> ``{"status": "done"}``,
  ``{"status": "not_an_address"}`` for characters other than ``[0-9a-f:./_]``,
  ``{"status": "failed", "status_msg": "non existing alias <alias>"}`` for an unknown alias,
  ``{"status": "failed"}`` without an address or with another method;
* ``POST /api/firewall/alias_util/delete/<alias>`` ``{"address": ...}`` -> ``{"status": "done"}``
  (also when the address was not there), ``{"status": "failed"}`` without an address;
* ``GET|POST /api/firewall/alias_util/list/<alias>`` -> ``{"total", "rowCount", "current", "rows": [{"ip": ...}]}``;
* ``GET /api/firewall/alias_util/aliases`` -> the names of the alias tables, sorted;
* an action without its alias parameter -> 400 ``{"message": "action add expects at least 1 parameter(s)",
  "status": 400}``; a JSON content type with an empty body -> 400 ``Invalid JSON syntax``.

pf shows a host entry without its mask (``192.0.2.7``) and a network with it.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from typing import Any, Dict, Set, Tuple

from standins.base import FakeApi, Request

_NOT_ADDRESS = re.compile(r"[^0-9a-f:./_]")
_PREFIX = "/api/firewall/alias_util/"


def _pf_form(address: str) -> str:
    """How ``pfctl -t <table> -T show`` prints an entry: hosts without their mask."""
    network = ipaddress.ip_network(address, strict=False)
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return network.with_prefixlen


class FakeOpnsense(FakeApi):
    def __init__(self, key: str = "VIGIL-MARKER-opnsense-key", secret: str = "VIGIL-MARKER-opnsense-secret",
                 aliases: Tuple[str, ...] = ("vigil_blocked", "bogons")) -> None:
        super().__init__()
        self.key = key
        self.secret = secret
        self.tables: Dict[str, Set[str]] = {name: set() for name in aliases}

    def _authenticated(self, req: Request) -> bool:
        scheme, _sep, value = req.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            key, sep, secret = base64.b64decode(value).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return bool(sep) and key == self.key and secret == self.secret

    def handle(self, req: Request) -> Tuple[int, Any]:
        if not self._authenticated(req):
            return 401, {"status": 401, "message": "Authentication Failed"}
        if not req.path.startswith(_PREFIX):
            return 404, {"errorMessage": "Endpoint not found", "errorTitle": "An error occurred"}
        action, _sep, alias = req.path[len(_PREFIX):].partition("/")
        if action == "aliases":
            return 200, sorted(self.tables, key=str.lower)
        if action not in ("add", "delete", "list", "flush"):
            return 404, {"errorMessage": "Endpoint not found", "errorTitle": "An error occurred"}
        if not alias:
            return 400, {"message": "action %s expects at least 1 parameter(s)" % action, "status": 400}
        if req.headers.get("content-type", "").startswith("application/json") and req.body in (None, ""):
            if req.method == "POST":
                return 400, {"message": "Invalid JSON syntax", "status": 400}
        if action == "list":
            rows = [{"ip": entry} for entry in sorted(self.tables.get(alias, set()))]
            return 200, {"total": len(rows), "rowCount": 9999, "current": 1, "rows": rows}
        body = req.body if isinstance(req.body, dict) else {}
        if req.method != "POST" or (action != "flush" and "address" not in body):
            return 200, {"status": "failed"}
        if action == "flush":
            self.tables.get(alias, set()).clear()
            return 200, {"status": "done"}
        address = str(body["address"])
        if action == "add":
            if _NOT_ADDRESS.search(address):
                return 200, {"status": "not_an_address"}
            if alias not in self.tables:
                return 200, {"status": "failed", "status_msg": "non existing alias %s" % alias}
            self.tables[alias].add(_pf_form(address))
            return 200, {"status": "done"}
        try:
            self.tables.get(alias, set()).discard(_pf_form(address))
        except ValueError:
            pass
        return 200, {"status": "done"}
