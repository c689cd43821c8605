# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The route tree with time intervals on the routes of their receivers (vigil.monitoring.alertmanager_time_intervals).

alertmanager_time_intervals(route, mute=None, active=None)
  route: the root route of vigil.monitoring.alertmanager_routing
  mute, active: alertmanager_mute_time_intervals and alertmanager_active_time_intervals,
         {receiver: [time interval names]}
  returns the route with mute_time_intervals and active_time_intervals set on each route
  of the first two levels below the root whose receiver has them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Dict

from ansible_collections.vigil.monitoring.plugins.plugin_utils.filter_input import as_list, as_mapping, filter_errors


def _with_intervals(route: Mapping, mute: Mapping, active: Mapping) -> Dict[str, Any]:
    found = dict(route)
    receiver = route.get("receiver", "")
    if receiver in mute:
        found["mute_time_intervals"] = mute[receiver]
    if receiver in active:
        found["active_time_intervals"] = active[receiver]
    return found


def _branch(route: Mapping, mute: Mapping, active: Mapping) -> Dict[str, Any]:
    found = _with_intervals(route, mute, active)
    if "routes" in route:
        found["routes"] = [_with_intervals(as_mapping(child, "a child route"), mute, active)
                           for child in as_list(route["routes"], "the child routes")]
    return found


@filter_errors
def alertmanager_time_intervals(route: Any, mute: Any = None, active: Any = None) -> Dict[str, Any]:
    """The route tree with its receivers' time intervals."""
    root = as_mapping(route, "the route (alertmanager_routing's route)")
    mute_by = as_mapping(mute, "alertmanager_mute_time_intervals")
    active_by = as_mapping(active, "alertmanager_active_time_intervals")
    found = copy.deepcopy(dict(root))
    found["routes"] = [_branch(as_mapping(branch, "a route"), mute_by, active_by)
                       for branch in as_list(root.get("routes"), "the routes")]
    return found


class FilterModule:
    """Alertmanager time intervals."""

    def filters(self):
        return {"alertmanager_time_intervals": alertmanager_time_intervals}
