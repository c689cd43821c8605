# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the active-response role (vigil.monitoring.responder).

responder_allowlist(ranges, hosts=None, extra=None)
  ranges: the operator's allowlist (responder_allowlist): addresses, CIDR networks without
          host bits, or ranges first-last
  hosts:  {inventory name: [addresses]}: the monitoring hosts as the firewall resolves them
          and as their facts list them; a host without any address is an error (it would
          not be protected), naming the host
  extra:  more addresses (the controller's), same rules as ranges
  returns the networks never to block, collapsed, IPv4 first, in CIDR notation.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any, Dict, List, Optional

from ansible.errors import AnsibleFilterError

_RANGE = re.compile(r"^\s*([0-9A-Fa-f.:]+)\s*-\s*([0-9A-Fa-f.:]+)\s*$")


def _networks(entry: Any, where: str) -> List[Any]:
    if not isinstance(entry, str) or not entry.strip():
        raise AnsibleFilterError("%s is %r: write an address, a CIDR network or a range first-last" % (where, entry))
    text = entry.strip().split("%", 1)[0]  # an IPv6 zone (fe80::1%eth0) does not name another address
    match = _RANGE.match(text)
    try:
        if match:
            first, last = ipaddress.ip_address(match.group(1)), ipaddress.ip_address(match.group(2))
            if first.version != last.version or int(last) < int(first):
                raise ValueError("both ends must be of one IP version, the first not after the last")
            return list(ipaddress.summarize_address_range(first, last))
        return [ipaddress.ip_network(text, strict=True)]
    except ValueError as exc:
        raise AnsibleFilterError(
            "%s is %r, which is not an address, a CIDR network (without host bits, e.g. 10.0.0.0/8) or a range "
            "first-last: %s" % (where, entry, exc)
        ) from None


def _list(value: Any, what: str) -> List[Any]:
    if value is None:
        return []
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise AnsibleFilterError("%s must be a list, got %s" % (what, type(value).__name__))
    return list(value)


def responder_allowlist(ranges: Any, hosts: Optional[Mapping[str, Any]] = None, extra: Any = None) -> List[str]:
    """The networks the responder never blocks: the operator's ranges, the monitoring hosts, the controller."""
    found: List[Any] = []
    for index, entry in enumerate(_list(ranges, "responder_allowlist")):
        found.extend(_networks(entry, "responder_allowlist[%d]" % index))
    if hosts is not None and not isinstance(hosts, Mapping):
        raise AnsibleFilterError("responder_allowlist: hosts must map inventory names to address lists")
    for name in sorted(hosts or {}):
        addresses = [a for a in _list(hosts[name], "the addresses of %s" % name) if a not in (None, "")]
        if not addresses:
            raise AnsibleFilterError(
                "monitoring host %s has no address the responder could allowlist: neither its name nor its ansible_host "
                "resolves on the firewall and no facts list its addresses; set ansible_host to its IP address, or add "
                "its address to responder_allowlist" % name
            )
        for address in addresses:
            found.extend(_networks(address, "address %r of %s" % (address, name)))
    for address in _list(extra, "the controller's addresses"):
        found.extend(_networks(address, "controller address"))
    by_version: Dict[int, List[Any]] = {4: [], 6: []}
    for network in found:
        by_version[network.version].append(network)
    return [n.with_prefixlen for version in (4, 6) for n in ipaddress.collapse_addresses(by_version[version])]


class FilterModule:
    """Active-response filters."""

    def filters(self):
        return {"responder_allowlist": responder_allowlist}
