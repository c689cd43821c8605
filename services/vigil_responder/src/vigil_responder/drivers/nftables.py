"""Linux firewall: an nftables set with per-element timeouts, on the host the responder runs on.

The role creates the table (``table inet vigil_responder`` with the sets ``blocked4`` and
``blocked6``, ``flags interval, timeout``, and drop rules on input and forward for source
addresses in them). The driver adds an element with ``timeout <ttl>s``; the kernel removes
it when the timeout ends. ``nft`` runs with an argument list and a JSON batch on its
standard input (``nft -j -f -``), never through a shell, and needs CAP_NET_ADMIN only.
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional

from vigil_responder.addresses import Network
from vigil_responder.checks import absolute_path, integer, only_keys, optional, string
from vigil_responder.drivers.base import Driver, DriverError

NFT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
_KEYS = ("name", "type", "table", "set_ipv4", "set_ipv6", "command", "timeout")
_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}


@dataclass(frozen=True)
class NftablesSettings:
    name: str
    table: str
    set_ipv4: str
    set_ipv6: str
    command: str
    timeout: int


class NftablesDriver(Driver):
    type_name = "nftables"
    native_expiry = True
    family = "inet"

    @classmethod
    def parse_settings(cls, raw: Mapping[str, Any], where: str) -> NftablesSettings:
        only_keys(raw, _KEYS, where)
        return NftablesSettings(
            name=raw["name"],
            table=string(optional(raw, "table", "vigil_responder"), where + ".table", NFT_NAME),
            set_ipv4=string(optional(raw, "set_ipv4", "blocked4"), where + ".set_ipv4", NFT_NAME),
            set_ipv6=string(optional(raw, "set_ipv6", "blocked6"), where + ".set_ipv6", NFT_NAME),
            command=absolute_path(optional(raw, "command", "/usr/sbin/nft"), where + ".command"),
            timeout=integer(optional(raw, "timeout", 10), where + ".timeout", 1, 120),
        )

    # -- nft ------------------------------------------------------------------------
    def _nft(self, args: List[str], batch: Optional[Dict[str, Any]] = None) -> str:
        argv = [self.settings.command] + args
        try:
            done = subprocess.run(argv, input=json.dumps(batch) if batch is not None else None, capture_output=True,
                                  text=True, timeout=self.settings.timeout, check=False, env=_ENV)
        except subprocess.TimeoutExpired:
            raise DriverError("nft %s did not finish within %ds" % (" ".join(args[:3]), self.settings.timeout)) from None
        except OSError as exc:
            raise DriverError("cannot run %s: %s" % (self.settings.command, exc.strerror or exc)) from None
        if done.returncode != 0:
            error = " ".join(done.stderr.split())[:300] or "no message"
            raise DriverError("nft %s failed (exit %d): %s" % (" ".join(args[:3]), done.returncode, error))
        return done.stdout

    def _set_of(self, network: Network) -> str:
        return self.settings.set_ipv4 if network.version == 4 else self.settings.set_ipv6

    def _element(self, network: Network, ttl: Optional[int] = None) -> Dict[str, Any]:
        value: Any = str(network.network_address)
        if network.prefixlen != network.max_prefixlen:
            value = {"prefix": {"addr": str(network.network_address), "len": network.prefixlen}}
        element: Dict[str, Any] = {"val": value}
        if ttl is not None:
            element["timeout"] = int(ttl)
        return {"element": {"family": self.family, "table": self.settings.table, "name": self._set_of(network),
                            "elem": [{"elem": element}]}}

    def _batch(self, *commands: Dict[str, Any]) -> None:
        self._nft(["-j", "-f", "-"], {"nftables": list(commands)})

    # -- Driver ---------------------------------------------------------------------
    def block(self, network: Network, ttl: int) -> None:
        self._batch({"add": self._element(network, ttl)})

    def extend(self, network: Network, ttl: int) -> None:
        # One transaction: the element is never absent in between. An element that has
        # just expired cannot be deleted; it is then added back.
        try:
            self._batch({"delete": self._element(network)}, {"add": self._element(network, ttl)})
        except DriverError:
            self.block(network, ttl)

    def unblock(self, network: Network) -> None:
        if network not in self.blocked():
            return
        try:
            self._batch({"delete": self._element(network)})
        except DriverError:
            # The element may have timed out between the listing and the delete (nft
            # refuses to delete what is gone): unblocked all the same.
            if network in self.blocked():
                raise

    def blocked(self) -> Dict[Network, Optional[int]]:
        found: Dict[Network, Optional[int]] = {}
        for set_name in (self.settings.set_ipv4, self.settings.set_ipv6):
            listing = self._nft(["-j", "list", "set", self.family, self.settings.table, set_name])
            found.update(parse_set_listing(listing, set_name))
        return found


def _network_of(value: Any) -> List[Network]:
    if isinstance(value, str):
        return [ipaddress.ip_network(value)]
    if isinstance(value, dict) and "prefix" in value:
        return [ipaddress.ip_network("%s/%s" % (value["prefix"]["addr"], value["prefix"]["len"]))]
    if isinstance(value, dict) and "range" in value:
        first, last = (ipaddress.ip_address(v) for v in value["range"])
        return list(ipaddress.summarize_address_range(first, last))
    raise DriverError("nft listed an element of an unknown shape: %r" % (value,))


def parse_set_listing(text: str, set_name: str) -> Dict[Network, Optional[int]]:
    """The elements of ``nft -j list set`` output: network -> seconds left (None without a timeout)."""
    try:
        document = json.loads(text)
        items = document["nftables"]
    except (ValueError, KeyError, TypeError):
        raise DriverError("nft -j list set %s did not print the JSON nftables document" % set_name) from None
    found: Dict[Network, Optional[int]] = {}
    for item in items:
        if not isinstance(item, dict) or "set" not in item:
            continue
        for entry in item["set"].get("elem", []):
            expires = None
            value = entry
            if isinstance(entry, dict) and "elem" in entry:
                value = entry["elem"].get("val")
                expires = entry["elem"].get("expires")
            try:
                networks = _network_of(value)
            except (ValueError, KeyError, TypeError):
                raise DriverError("nft listed an element that is not an address: %r" % (value,)) from None
            for network in networks:
                found[network] = int(expires) if isinstance(expires, (int, float)) else None
    return found
