# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Grafana plugins already installed at the wanted version (vigil.monitoring.grafana_plugins_pinned).

grafana_plugins_pinned(plugins, installed)
  plugins:   grafana_plugins ({name, version})
  installed: {name: version} of the installed plugins (from ``grafana cli plugins ls``)
  returns the names of the plugins installed at exactly their version (compared as text).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, List

from ansible.errors import AnsibleFilterError
from ansible_collections.vigil.monitoring.plugins.plugin_utils.filter_input import FilterInputError, as_list, as_mapping


def grafana_plugins_pinned(plugins: Any, installed: Any) -> List[Any]:
    """Names of the plugins whose installed version is the one asked for."""
    try:
        items, versions = as_list(plugins, "grafana_plugins"), as_mapping(installed, "the installed plugins")
    except FilterInputError as exc:
        raise AnsibleFilterError(str(exc)) from None
    found = []
    for index, plugin in enumerate(items):
        if not isinstance(plugin, Mapping) or "name" not in plugin or "version" not in plugin:
            raise AnsibleFilterError("grafana_plugins[%d] needs name and version, got %r" % (index, plugin))
        if versions.get(plugin["name"]) == str(plugin["version"]):
            found.append(plugin["name"])
    return found


class FilterModule:
    """Grafana plugins."""

    def filters(self):
        return {"grafana_plugins_pinned": grafana_plugins_pinned}
