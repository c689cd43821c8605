# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the alertmanager role computes around the routing, on the controller.

The role's variables (cluster peers, the route tree with time intervals, the channels
checked against `global`) and those of its amtool routing check (the matchers given to
`amtool config routes test`, the cases that went elsewhere) are evaluated by
ansible-playbook with the shipped catalog and the sample teams (no Alertmanager; amtool's
answers are given). Each scenario is also kept whole in tests/golden/role_vars/ (see
role_vars_render.py).
"""

from __future__ import annotations

from typing import Any, Dict

import pytest

from alerting_support import load_sample_teams
from role_vars_render import golden_test, render_scenarios, task_vars

CATALOG_VARS_FILES = ("vars/main.yml", "../alert_catalog/defaults/main.yml", "../alert_catalog/vars/main.yml")
CATALOG = {
    "alert_catalog_effective": (
        "{{ alert_catalog_builtin | vigil.monitoring.alert_catalog_merge(alert_catalog, "
        "default_owner=alert_catalog_default_owner, runbook_base_url=alert_catalog_runbook_base_url, "
        "parameters=_alert_catalog_parameters) }}"
    ),
}
MATCHERS = task_vars("alertmanager", "routes_test.yml", "Resolve the route test cases with amtool")
CHECK = task_vars("alertmanager", "routes_test.yml", "Assert every label set reaches the expected receivers")
NAMES = ["_alertmanager_cluster_peers", "_alertmanager_route", "_alertmanager_channels",
         "__alertmanager_matchers", "__alertmanager_actual", "__alertmanager_mismatches"]

INVENTORY = {
    "all": {
        "children": {
            "alertmanager": {"hosts": {
                "am1": {"ansible_host": "192.0.2.1"},
                "am2": {"ansible_host": "192.0.2.2", "alertmanager_cluster_peer_address": "am2.internal"},
                "am3": {},
            }},
        }
    }
}

# amtool's answer for the first cases: 0 as expected (filled in by the test), 1 elsewhere,
# 2 nothing at all; the others have no line.
EXTRA_CASES = [
    {"labels": {"alertname": 'Quote"d', "team": "infra", "path": "C:\\temp"}, "receivers": ["infra-digest"]},
]


def _scenarios() -> Dict[str, Dict[str, Any]]:
    teams = load_sample_teams()
    return {
        "plain": {
            "alertmanager_teams": teams["alertmanager_teams"],
            "alertmanager_triage_channels": teams["alertmanager_triage_channels"],
            "__alertmanager_routes": {"stdout_lines": []},
        },
        "teams": {
            "alertmanager_teams": teams["alertmanager_teams"],
            "alertmanager_triage_channels": teams["alertmanager_triage_channels"],
            "alertmanager_mute_time_intervals": {"infra-digest": ["offhours"], "platform-pager": ["maintenance"]},
            "alertmanager_active_time_intervals": {"infra-digest": ["workhours"], "triage": ["workhours"]},
            "alertmanager_route_tests_extra": EXTRA_CASES,
            "__alertmanager_routes": {"stdout_lines": ["0\tinfra-pager", "1\tinfra-digest, triage ", "2\t"]},
        },
    }


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Dict[str, Dict[str, Any]]]:
    return render_scenarios(tmp_path_factory, "alertmanager", _scenarios(), NAMES, INVENTORY, vars_files=CATALOG_VARS_FILES,
                            extra_task_vars=dict(CATALOG, **MATCHERS, **CHECK))


test_scenario_matches_golden_file = golden_test("alertmanager", ["plain", "teams"])


def test_cluster_peers_are_the_other_members(rendered):
    hosts = rendered["plain"]
    assert hosts["am1"]["_alertmanager_cluster_peers"] == ["am2.internal:9094", "am3:9094"]
    assert hosts["am2"]["_alertmanager_cluster_peers"] == ["192.0.2.1:9094", "am3:9094"]
    assert hosts["am3"]["_alertmanager_cluster_peers"] == ["192.0.2.1:9094", "am2.internal:9094"]


def test_time_intervals_are_attached_to_their_receivers_routes(rendered):
    route = rendered["teams"]["am1"]["_alertmanager_route"]

    def routes(tree):
        for child in tree.get("routes", []):
            yield child
            yield from routes(child)

    found = {r["receiver"]: r for r in routes(route) if "receiver" in r}
    assert found["infra-digest"]["mute_time_intervals"] == ["offhours"]
    assert found["infra-digest"]["active_time_intervals"] == ["workhours"]
    assert found["platform-pager"]["mute_time_intervals"] == ["maintenance"]
    assert "mute_time_intervals" not in found["infra-pager"]
    plain = rendered["plain"]["am1"]["_alertmanager_route"]
    assert not any("mute_time_intervals" in r or "active_time_intervals" in r for r in routes(plain))


def test_channels_of_teams_and_triage(rendered):
    channels = rendered["teams"]["am1"]["_alertmanager_channels"]
    teams = load_sample_teams()
    assert channels[:2] == teams["alertmanager_triage_channels"]
    assert {"type": "pagerduty", "routing_key": "PLACEHOLDER-infra-routing-key"} in channels
    assert rendered["plain"]["am1"]["_alertmanager_channels"] == channels


def test_amtool_matchers_are_quoted_for_the_shell(rendered):
    matchers = rendered["teams"]["am1"]["__alertmanager_matchers"]
    assert matchers[-1] == "'alertname=\"Quote\\\"d\"' 'team=\"infra\"' 'path=\"C:\\\\temp\"'"


def test_cases_that_went_elsewhere_are_named(rendered):
    host = rendered["teams"]["am1"]
    assert host["__alertmanager_actual"] == {"0": "infra-pager", "1": "infra-digest, triage", "2": ""}
    mismatches = host["__alertmanager_mismatches"]
    cases = len(host["__alertmanager_matchers"])
    assert len(mismatches) >= cases - 3
    assert any(m.endswith(" got infra-digest, triage") for m in mismatches)
    assert mismatches[-1] == ('labels {"alertname": "Quote\\"d", "team": "infra", "path": "C:\\\\temp"} '
                              'expected infra-digest got nothing')
