# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The active responses the responder service knows (vigil.monitoring.responder_responses).

responder_responses(catalog, responses=None)
  catalog:   alert_catalog_effective (the alerts, some with a ``response``)
  responses: responder_responses (more, as {alertname, ...})
  returns {alertname: <the alert's name>, ...its response} for every catalog alert that
  declares one, then `responses`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Dict, List

from ansible_collections.vigil.monitoring.plugins.plugin_utils.filter_input import FilterInputError, as_list, as_mapping, filter_errors


@filter_errors
def responder_responses(catalog: Any, responses: Any = None) -> List[Dict[str, Any]]:
    """The catalog's responses, each named by its alert, then responder_responses."""
    found: List[Dict[str, Any]] = []
    for entry in as_list(catalog, "alert_catalog_effective"):
        if isinstance(entry, Mapping) and "response" in entry:
            if "name" not in entry:
                raise FilterInputError("alert_catalog_effective: an alert with a response has no name: %r" % (entry,))
            response = dict({"alertname": entry["name"]})
            response.update(as_mapping(entry["response"], "the response of alert %s" % entry["name"]))
            found.append(response)
    return found + as_list(responses, "responder_responses")


class FilterModule:
    """Active responses."""

    def filters(self):
        return {"responder_responses": responder_responses}
