# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every address of the monitoring hosts the responder must never block (vigil.monitoring.responder_host_addresses).

responder_host_addresses(members, hostvars, resolved)
  members:  the monitoring hosts (inventory names)
  resolved: {name: [addresses]} as the firewall host resolved the members' names and
            ansible_host values
  returns {host: [addresses]}: what its name resolved to, what its ansible_host resolved
  to, then its facts' all_ipv4_addresses and all_ipv6_addresses (as found, repeats kept;
  vigil.monitoring.responder_allowlist collapses them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Dict, List

from ansible_collections.vigil.monitoring.plugins.module_utils.inventory_address import HostNotFound, host_address, host_value
from ansible_collections.vigil.monitoring.plugins.plugin_utils.filter_input import FilterInputError, as_list, as_mapping, filter_errors


def _addresses(host: str, hostvars: Any, resolved: Mapping) -> List[Any]:
    facts = host_value(hostvars, host, "ansible_facts", {})
    facts = facts if isinstance(facts, Mapping) else {}
    found = as_list(resolved.get(host, []), "the addresses %s resolved to" % host)
    found += as_list(resolved.get(host_address(hostvars, host), []), "the addresses of the ansible_host of %s" % host)
    for key in ("all_ipv4_addresses", "all_ipv6_addresses"):
        found += as_list(facts.get(key, []), "the %s facts of %s" % (key, host))
    return found


@filter_errors
def responder_host_addresses(members: Any, hostvars: Any, resolved: Any) -> Dict[str, List[Any]]:
    """{host: [every address it may use]} for the monitoring hosts."""
    names = as_mapping(resolved, "the resolved names")
    found = {}
    for host in as_list(members, "the monitoring hosts"):
        try:
            found[str(host)] = _addresses(str(host), hostvars, names)
        except HostNotFound:
            raise FilterInputError("responder_host_addresses: host %s is not in the inventory (pass hostvars)" % host) from None
    return found


class FilterModule:
    """Addresses of the monitoring hosts."""

    def filters(self):
        return {"responder_host_addresses": responder_host_addresses}
