# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The grafana.com dashboards the grafana role provisions (grafana_community_entries, grafana_community_provisioned).

grafana_community_entries(dashboards)
  dashboards: grafana_community_dashboards ({id, revision, uid, folder, title, inputs, checksum})
  returns each with its defaults resolved: uid community-<id>, folder Community, inputs {},
  checksum "", and its file name <id>-<revision>.json and message name.

grafana_community_provisioned(entries, texts, datasource_types, root)
  entries: grafana_community_entries; texts: each entry's downloaded JSON, in order
  returns {dest, dashboard} per entry: <root>/<folder>/<uid>.json and the dashboard with
  its inputs mapped to Vigil's datasources (vigil.monitoring.grafana_community_dashboard).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Dict, List

from ansible.errors import AnsibleFilterError
from ansible_collections.vigil.monitoring.plugins.filter.grafana_dashboards import grafana_community_dashboard
from ansible_collections.vigil.monitoring.plugins.plugin_utils.filter_input import FilterInputError, as_list


def _entry(dashboard: Any, index: int) -> Dict[str, Any]:
    if not isinstance(dashboard, Mapping) or "id" not in dashboard or "revision" not in dashboard:
        raise AnsibleFilterError("grafana_community_dashboards[%d] needs id and revision, got %r" % (index, dashboard))
    number, revision = dashboard["id"], dashboard["revision"]
    return {
        "id": number,
        "revision": revision,
        "uid": dashboard.get("uid") or "community-%s" % number,
        "folder": dashboard.get("folder") or "Community",
        "title": dashboard.get("title"),
        "inputs": dashboard.get("inputs") or {},
        "checksum": dashboard.get("checksum") or "",
        "file": "%s-%s.json" % (number, revision),
        "name": "grafana.com dashboard %s revision %s" % (number, revision),
    }


def _list(value: Any, what: str) -> List[Any]:
    try:
        return as_list(value, what)
    except FilterInputError as exc:
        raise AnsibleFilterError(str(exc)) from None


def grafana_community_entries(dashboards: Any) -> List[Dict[str, Any]]:
    """Every community dashboard with its uid, folder, file and message name resolved."""
    return [_entry(dashboard, index) for index, dashboard in enumerate(_list(dashboards, "grafana_community_dashboards"))]


def grafana_community_provisioned(entries: Any, texts: Any, datasource_types: Any, root: Any) -> List[Dict[str, Any]]:
    """{dest, dashboard} of every community dashboard, ready to write."""
    items, documents = _list(entries, "the community entries"), _list(texts, "the dashboards' texts")
    if len(items) != len(documents):
        raise AnsibleFilterError("grafana_community_provisioned: %d dashboards but %d texts" % (len(items), len(documents)))
    return [{"dest": "%s/%s/%s.json" % (root, entry["folder"], entry["uid"]),
             "dashboard": grafana_community_dashboard(text, datasource_types, name=entry["name"], uid=entry["uid"],
                                                      title=entry["title"], inputs=entry["inputs"])}
            for entry, text in zip(items, documents)]


class FilterModule:
    """grafana.com dashboards."""

    def filters(self):
        return {"grafana_community_entries": grafana_community_entries,
                "grafana_community_provisioned": grafana_community_provisioned}
