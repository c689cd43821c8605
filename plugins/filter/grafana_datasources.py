# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The datasources the grafana role provisions (datasources/vigil.yml), one filter per kind.

Grafana expands $VAR and ${VAR} in provisioning files; every value these filters take
from the inventory (URLs, user names, passwords, CA certificates) is written with '$'
doubled, so it reaches Grafana as given.

grafana_prometheus_datasources(servers, url="", default_uid="", extra_default=false, basic_auth_user="",
                               basic_auth_password="", ca_cert="", scrape_interval="15s")
  servers: grafana_prometheus_servers; url: one more Prometheus (uid vigil-prometheus), first
  returns a prometheus datasource per entry, the one with `default_uid` the default unless a
  user datasource is (`extra_default`).

grafana_elasticsearch_datasources(url, user="", password="", ca_cert="", index="logs-*")
  returns the "Elasticsearch logs" datasource (uid vigil-elasticsearch-logs) for `url`, none without one.

grafana_alertmanager_datasources(alertmanagers, basic_auth_user="", basic_auth_password="")
  alertmanagers: grafana_alertmanagers
  returns an alertmanager datasource per entry; Grafana-managed alerts are not forwarded
  through them (the contact point does that).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Dict, List

from ansible.errors import AnsibleFilterError
from ansible_collections.vigil.monitoring.plugins.plugin_utils.filter_input import FilterInputError, as_list


def escaped(value: Any) -> str:
    """A value as Grafana's provisioning reads it literally: '$' doubled."""
    return str(value).replace("$", "$$")


def _entries(value: Any, what: str) -> List[Mapping]:
    try:
        items = as_list(value, what)
    except FilterInputError as exc:
        raise AnsibleFilterError(str(exc)) from None
    for item in items:
        if not isinstance(item, Mapping) or not {"name", "uid", "url"} <= set(item):
            raise AnsibleFilterError("%s: every entry needs name, uid and url, got %r" % (what, item))
    return items


def _base(kind: str, name: Any, uid: Any, url: Any, is_default: bool) -> Dict[str, Any]:
    return {"name": name, "uid": uid, "type": kind, "access": "proxy", "orgId": 1, "url": escaped(url),
            "editable": False, "isDefault": is_default}


def _secure(user: Any, password: Any, ca_cert: Any) -> Dict[str, str]:
    found = {"basicAuthPassword": escaped(password)} if user else {}
    if ca_cert:
        found["tlsCACert"] = escaped(ca_cert)
    return found


def grafana_prometheus_datasources(servers: Any, url: Any = "", default_uid: Any = "", extra_default: Any = False,
                                   basic_auth_user: Any = "", basic_auth_password: Any = "", ca_cert: Any = "",
                                   scrape_interval: Any = "15s") -> List[Dict[str, Any]]:
    """A prometheus datasource for `url` (if set) and for every server."""
    entries = ([{"name": "Prometheus", "uid": "vigil-prometheus", "url": url}] if url else [])
    entries += _entries(servers, "grafana_prometheus_datasources: the servers (grafana_prometheus_servers)")
    json_data = {"httpMethod": "POST", "prometheusType": "Prometheus", "timeInterval": scrape_interval, "tlsSkipVerify": False}
    if ca_cert:
        json_data["tlsAuthWithCACert"] = True
    auth = ({"basicAuth": True, "basicAuthUser": escaped(basic_auth_user)} if basic_auth_user else {"basicAuth": False})
    secure = _secure(basic_auth_user, basic_auth_password, ca_cert)
    found = []
    for source in entries:
        entry = _base("prometheus", source["name"], source["uid"], source["url"],
                      source["uid"] == default_uid and not extra_default)
        entry["jsonData"] = dict(json_data)
        entry.update(auth)
        if secure:
            entry["secureJsonData"] = dict(secure)
        found.append(entry)
    return found


def grafana_elasticsearch_datasources(url: Any, user: Any = "", password: Any = "", ca_cert: Any = "",
                                      index: Any = "logs-*") -> List[Dict[str, Any]]:
    """The Elasticsearch logs datasource, or none when there is no URL."""
    if not url:
        return []
    entry = _base("elasticsearch", "Elasticsearch logs", "vigil-elasticsearch-logs", url, False)
    entry["basicAuth"] = bool(user)
    entry["jsonData"] = {"index": index, "timeField": "@timestamp", "logMessageField": "message", "logLevelField": "log.level",
                         "maxConcurrentShardRequests": 5, "includeFrozen": False, "tlsSkipVerify": False}
    if ca_cert:
        entry["jsonData"]["tlsAuthWithCACert"] = True
    if user:
        entry["basicAuthUser"] = escaped(user)
    secure = _secure(user, password, ca_cert)
    if secure:
        entry["secureJsonData"] = secure
    return [entry]


def grafana_alertmanager_datasources(alertmanagers: Any, basic_auth_user: Any = "",
                                     basic_auth_password: Any = "") -> List[Dict[str, Any]]:
    """An alertmanager datasource per Alertmanager."""
    found = []
    for source in _entries(alertmanagers, "grafana_alertmanager_datasources: the Alertmanagers (grafana_alertmanagers)"):
        entry = _base("alertmanager", source["name"], source["uid"], source["url"], False)
        entry["basicAuth"] = bool(basic_auth_user)
        entry["jsonData"] = {"implementation": "prometheus", "handleGrafanaManagedAlerts": False}
        if basic_auth_user:
            entry["basicAuthUser"] = escaped(basic_auth_user)
            entry["secureJsonData"] = {"basicAuthPassword": escaped(basic_auth_password)}
        found.append(entry)
    return found


class FilterModule:
    """Grafana datasources."""

    def filters(self):
        return {
            "grafana_prometheus_datasources": grafana_prometheus_datasources,
            "grafana_elasticsearch_datasources": grafana_elasticsearch_datasources,
            "grafana_alertmanager_datasources": grafana_alertmanager_datasources,
        }
