# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The other members of an Alertmanager cluster (vigil.monitoring.alertmanager_cluster_peers).

alertmanager_cluster_peers(members, hostvars, me, port)
  members: the cluster's inventory hosts (groups[alertmanager_group]); me: this host
  returns <address>:<port> of every member but `me`, the address being the member's
  alertmanager_cluster_peer_address, else its ansible_host, else its inventory name
  (written as given: an IPv6 address needs its brackets in the variable).
"""

from __future__ import annotations

from typing import Any, List

from ansible.errors import AnsibleFilterError
from ansible_collections.vigil.monitoring.plugins.plugin_utils.filter_input import FilterInputError, as_list
from ansible_collections.vigil.monitoring.plugins.module_utils.inventory_address import HostNotFound, host_address


def alertmanager_cluster_peers(members: Any, hostvars: Any, me: Any, port: Any) -> List[str]:
    """--cluster.peer values of this member: every other member's address and cluster port."""
    try:
        hosts = [str(host) for host in as_list(members, "the members of alertmanager_group")]
        return ["%s:%s" % (host_address(hostvars, host, ("alertmanager_cluster_peer_address", "ansible_host")), port)
                for host in hosts if host != me]
    except FilterInputError as exc:
        raise AnsibleFilterError(str(exc)) from None
    except HostNotFound as exc:
        raise AnsibleFilterError("alertmanager_cluster_peers: host %s is not in the inventory (pass hostvars)" % exc.args[0]) from None


class FilterModule:
    """Alertmanager cluster."""

    def filters(self):
        return {"alertmanager_cluster_peers": alertmanager_cluster_peers}
