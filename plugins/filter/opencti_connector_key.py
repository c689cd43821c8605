# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A connector with the API key the opencti role keeps (vigil.monitoring.opencti_connector_key).

opencti_connector_key(connectors, name, key)
  connectors: the enabled connectors (opencti_connectors entries)
  name:       the connector to give the key (the Elastic Security Intel connector)
  key:        the key the role minted and keeps
  returns the connectors in the same order, the one named `name` with api_key `key`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, List

from ansible_collections.vigil.monitoring.plugins.plugin_utils.filter_input import FilterInputError, as_list, filter_errors


@filter_errors
def opencti_connector_key(connectors: Any, name: Any, key: Any) -> List[Any]:
    """The connectors, the named one with its api_key set to `key`."""
    found = []
    for index, connector in enumerate(as_list(connectors, "opencti_connectors")):
        if not isinstance(connector, Mapping) or "name" not in connector:
            raise FilterInputError("opencti_connectors[%d] needs a name, got %r" % (index, connector))
        if connector["name"] == name:
            connector = dict(connector)
            connector["api_key"] = key
        found.append(connector)
    return found


class FilterModule:
    """OpenCTI connectors."""

    def filters(self):
        return {"opencti_connector_key": opencti_connector_key}
