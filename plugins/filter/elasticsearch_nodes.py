# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the nodes of an Elasticsearch inventory group are reached and which of them are masters.

elasticsearch_http_urls(hosts, hostvars)
  hosts: inventory names of the Elasticsearch nodes (groups[<group>])
  returns https://<address>:<elasticsearch_http_port, default 9200> per node.

elasticsearch_seed_hosts(hosts, hostvars, port)
  returns <address>:<port> per node (the transport port), for discovery.seed_hosts.

elasticsearch_master_hosts(hosts, hostvars, default_roles)
  returns the nodes whose elasticsearch_node_roles (default: default_roles) contain master.

elasticsearch_node_names(hosts, hostvars)
  returns each node's elasticsearch_node_name (default: its inventory name).

The address is the node's ansible_host, else its inventory name; an IPv6 address is
written in brackets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, List

from ansible.errors import AnsibleFilterError
from ansible_collections.vigil.monitoring.plugins.module_utils.inventory_address import (
    HostNotFound,
    host_address,
    host_endpoint,
    host_value,
)

DEFAULT_HTTP_PORT = 9200


def _hosts(hosts: Any, caller: str) -> List[str]:
    if hosts is None:
        return []
    if isinstance(hosts, (str, bytes, Mapping)) or not isinstance(hosts, Sequence):
        raise AnsibleFilterError("%s: the hosts must be a list of inventory names (groups[...]), got %s"
                                 % (caller, type(hosts).__name__))
    return [str(host) for host in hosts]


def _missing(caller: str, host: Any) -> AnsibleFilterError:
    return AnsibleFilterError("%s: host %s is not in the inventory; pass hostvars as the first argument" % (caller, host))


def elasticsearch_http_urls(hosts: Any, hostvars: Any) -> List[str]:
    """https://<address>:<elasticsearch_http_port> of every node."""
    try:
        return [host_endpoint(host_address(hostvars, host),
                              host_value(hostvars, host, "elasticsearch_http_port", DEFAULT_HTTP_PORT), "https")
                for host in _hosts(hosts, "elasticsearch_http_urls")]
    except HostNotFound as exc:
        raise _missing("elasticsearch_http_urls", exc.args[0]) from None


def elasticsearch_seed_hosts(hosts: Any, hostvars: Any, port: Any) -> List[str]:
    """<address>:<transport port> of every node."""
    try:
        return [host_endpoint(host_address(hostvars, host), port) for host in _hosts(hosts, "elasticsearch_seed_hosts")]
    except HostNotFound as exc:
        raise _missing("elasticsearch_seed_hosts", exc.args[0]) from None


def elasticsearch_master_hosts(hosts: Any, hostvars: Any, default_roles: Any) -> List[str]:
    """The nodes whose elasticsearch_node_roles contain master."""
    try:
        return [host for host in _hosts(hosts, "elasticsearch_master_hosts")
                if "master" in host_value(hostvars, host, "elasticsearch_node_roles", default_roles)]
    except HostNotFound as exc:
        raise _missing("elasticsearch_master_hosts", exc.args[0]) from None
    except TypeError:
        raise AnsibleFilterError("elasticsearch_node_roles must be a list of node roles (master, data, ingest, ...) "
                                 "on every host of the group") from None


def elasticsearch_node_names(hosts: Any, hostvars: Any) -> List[Any]:
    """elasticsearch_node_name of every node (default: the inventory name)."""
    try:
        return [host_value(hostvars, host, "elasticsearch_node_name", host) for host in _hosts(hosts, "elasticsearch_node_names")]
    except HostNotFound as exc:
        raise _missing("elasticsearch_node_names", exc.args[0]) from None


class FilterModule:
    """Elasticsearch node addresses and roles."""

    def filters(self):
        return {
            "elasticsearch_http_urls": elasticsearch_http_urls,
            "elasticsearch_seed_hosts": elasticsearch_seed_hosts,
            "elasticsearch_master_hosts": elasticsearch_master_hosts,
            "elasticsearch_node_names": elasticsearch_node_names,
        }
