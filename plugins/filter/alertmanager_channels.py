# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every notification channel of the teams and of triage (vigil.monitoring.alertmanager_channels).

alertmanager_channels(teams, triage=None)
  teams:  alertmanager_teams ({team: {pager: [channels], digest: [channels]}})
  triage: alertmanager_triage_channels
  returns the triage channels, then each team's pager and digest channels, so that the
  role can check what they need from Alertmanager's ``global`` section (an SMTP relay...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, List

from ansible_collections.vigil.monitoring.plugins.plugin_utils.filter_input import as_list, as_mapping, filter_errors


@filter_errors
def alertmanager_channels(teams: Any, triage: Any = None) -> List[Any]:
    """The triage channels and every team's pager and digest channels."""
    found = as_list(triage, "alertmanager_triage_channels")
    for name, team in as_mapping(teams, "alertmanager_teams").items():
        if isinstance(team, Mapping):
            for kind in ("pager", "digest"):
                found += as_list(team.get(kind) or [], "alertmanager_teams.%s.%s" % (name, kind))
    return found


class FilterModule:
    """Alertmanager channels."""

    def filters(self):
        return {"alertmanager_channels": alertmanager_channels}
