# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Prometheus servers and Alertmanagers Grafana reads, one per inventory host.

grafana_prometheus_servers(hosts, hostvars, scheme, port)
  hosts: the Prometheus group (groups[grafana_prometheus_group])
  returns {host, name, uid, url} per host: "Prometheus <host>", uid vigil-prom-<host as a
  slug> (a digest of the name when that would pass Grafana's 40 characters), URL
  <scheme>://<vigil_metrics_address, else ansible_host, else the name>:<port>.

grafana_alertmanagers(hosts, hostvars, scheme, port, url="")
  hosts: the Alertmanager group (groups[grafana_alertmanager_group])
  returns {name, uid, url} per host ("Alertmanager <host>", vigil-am-<slug>,
  <scheme>://<ansible_host, else the name>:<port>), or the one entry "Alertmanager"
  (vigil-alertmanager) for `url` when it is set.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Dict, List

from ansible.errors import AnsibleFilterError
from ansible_collections.vigil.monitoring.plugins.plugin_utils.filter_input import FilterInputError, as_list
from ansible_collections.vigil.monitoring.plugins.module_utils.inventory_address import (
    HostNotFound,
    host_address,
    host_endpoint,
)

# Grafana's datasource uids are at most 40 characters.
UID_LENGTH = 40
_NOT_SLUG = re.compile(r"[^A-Za-z0-9]+")
_EDGE_DASHES = re.compile(r"^-+|-+$")


def datasource_uid(prefix: str, host: str) -> str:
    """<prefix><host as a lower-case slug>, or <prefix><16 hex digits of its SHA-1> when that is too long."""
    slug = _EDGE_DASHES.sub("", _NOT_SLUG.sub("-", host)).lower()
    if len(prefix) + len(slug) <= UID_LENGTH:
        return prefix + slug
    return prefix + hashlib.sha1(host.encode("utf-8", errors="surrogateescape")).hexdigest()[:16]


def _hosts(hosts: Any, variable: str) -> List[str]:
    try:
        return [str(host) for host in as_list(hosts, "the hosts of %s" % variable)]
    except FilterInputError as exc:
        raise AnsibleFilterError(str(exc)) from None


def grafana_prometheus_servers(hosts: Any, hostvars: Any, scheme: Any = "http", port: Any = 9090) -> List[Dict[str, str]]:
    """{host, name, uid, url} of every Prometheus server."""
    try:
        return [{"host": host, "name": "Prometheus %s" % host, "uid": datasource_uid("vigil-prom-", host),
                 "url": host_endpoint(host_address(hostvars, host, ("vigil_metrics_address", "ansible_host")), port, scheme)}
                for host in _hosts(hosts, "grafana_prometheus_group")]
    except HostNotFound as exc:
        raise AnsibleFilterError("grafana_prometheus_servers: host %s is not in the inventory (pass hostvars)" % exc.args[0]) from None


def grafana_alertmanagers(hosts: Any, hostvars: Any, scheme: Any = "http", port: Any = 9093, url: Any = "") -> List[Dict[str, str]]:
    """{name, uid, url} of every Alertmanager, or of grafana_alertmanager_url."""
    if url:
        return [{"name": "Alertmanager", "uid": "vigil-alertmanager", "url": url}]
    try:
        return [{"name": "Alertmanager %s" % host, "uid": datasource_uid("vigil-am-", host),
                 "url": host_endpoint(host_address(hostvars, host), port, scheme)}
                for host in _hosts(hosts, "grafana_alertmanager_group")]
    except HostNotFound as exc:
        raise AnsibleFilterError("grafana_alertmanagers: host %s is not in the inventory (pass hostvars)" % exc.args[0]) from None


class FilterModule:
    """Grafana's Prometheus and Alertmanager endpoints."""

    def filters(self):
        return {"grafana_prometheus_servers": grafana_prometheus_servers, "grafana_alertmanagers": grafana_alertmanagers}
