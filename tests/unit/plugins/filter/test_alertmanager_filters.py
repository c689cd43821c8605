# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The alertmanager role's cluster peers, time intervals, channels and amtool route check."""

from __future__ import annotations

import shlex

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.filter import alertmanager_channels as channels
from ansible_collections.vigil.monitoring.plugins.filter import alertmanager_cluster_peers as peers
from ansible_collections.vigil.monitoring.plugins.filter import alertmanager_route_check as check
from ansible_collections.vigil.monitoring.plugins.filter import alertmanager_time_intervals as intervals


def test_the_filters_are_exposed():
    assert peers.FilterModule().filters() == {"alertmanager_cluster_peers": peers.alertmanager_cluster_peers}
    assert intervals.FilterModule().filters() == {"alertmanager_time_intervals": intervals.alertmanager_time_intervals}
    assert channels.FilterModule().filters() == {"alertmanager_channels": channels.alertmanager_channels}
    assert set(check.FilterModule().filters()) == {"alertmanager_amtool_matchers", "alertmanager_amtool_answers",
                                                   "alertmanager_route_mismatches"}


def test_peers_are_the_other_members_by_peer_address_host_or_name():
    hostvars = {"am1": {"ansible_host": "192.0.2.1"}, "am2": {"alertmanager_cluster_peer_address": "am2.internal",
                                                              "ansible_host": "192.0.2.2"}, "am3": {}}
    assert peers.alertmanager_cluster_peers(["am1", "am2", "am3"], hostvars, "am1", 9094) == ["am2.internal:9094", "am3:9094"]
    assert peers.alertmanager_cluster_peers(["am1"], hostvars, "am1", 9094) == []
    with pytest.raises(AnsibleFilterError, match="host am9 is not in the inventory"):
        peers.alertmanager_cluster_peers(["am9"], hostvars, "am1", 9094)


ROUTE = {"receiver": "triage", "group_by": ["alertname"], "routes": [
    {"receiver": "blackhole", "matchers": ['severity="info"']},
    {"matchers": ['team="infra"'], "routes": [
        {"receiver": "infra-pager", "matchers": ['severity="critical"'], "routes": [{"receiver": "infra-digest"}]},
        {"receiver": "infra-digest", "matchers": ['severity="warning"']}]},
]}


def test_time_intervals_go_on_their_receivers_routes_two_levels_deep():
    found = intervals.alertmanager_time_intervals(ROUTE, {"infra-digest": ["offhours"], "triage": ["never"]},
                                                  {"infra-pager": ["workhours"], "blackhole": ["always"]})
    assert "mute_time_intervals" not in found  # the root route is left as it is
    blackhole, infra = found["routes"]
    assert blackhole["active_time_intervals"] == ["always"]
    pager, digest = infra["routes"]
    assert pager["active_time_intervals"] == ["workhours"] and "mute_time_intervals" not in pager
    assert digest["mute_time_intervals"] == ["offhours"]
    assert pager["routes"] == [{"receiver": "infra-digest"}]  # deeper levels are not changed
    assert ROUTE["routes"][0] == {"receiver": "blackhole", "matchers": ['severity="info"']}  # input untouched
    assert intervals.alertmanager_time_intervals(ROUTE) == ROUTE


def test_channels_of_triage_and_every_team():
    teams = {"infra": {"pager": [{"type": "pagerduty"}], "digest": [{"type": "email", "to": "i@example.org"}]},
             "app": {"digest": None}, "comment": "not a team"}
    assert channels.alertmanager_channels(teams, [{"type": "slack"}]) == [
        {"type": "slack"}, {"type": "pagerduty"}, {"type": "email", "to": "i@example.org"}]
    with pytest.raises(AnsibleFilterError, match="alertmanager_teams.infra.pager must be a list, got dict"):
        channels.alertmanager_channels({"infra": {"pager": {"type": "pagerduty"}}})


CASES = [{"labels": {"alertname": "HostDown", "team": "infra", "severity": "critical"}, "receivers": ["infra-pager"]},
         {"labels": {"alertname": 'Say "hi"', "path": "C:\\temp", "quote": "it's"}, "receivers": ["triage", "infra-digest"]},
         {"labels": {"alertname": "Lost"}, "receivers": ["triage"]}]


def test_matchers_survive_the_shell_and_amtools_parser():
    first, second, _third = check.alertmanager_amtool_matchers(CASES)
    assert shlex.split(first) == ['alertname="HostDown"', 'team="infra"', 'severity="critical"']
    assert shlex.split(second) == ['alertname="Say \\"hi\\""', 'path="C:\\\\temp"', 'quote="it\'s"']


def test_answers_and_the_cases_that_went_elsewhere():
    answers = check.alertmanager_amtool_answers(["0\tinfra-pager", "1\tinfra-digest, triage ", "2\t"])
    assert answers == {0: "infra-pager", 1: "infra-digest, triage", 2: ""}
    # Receivers in any order are fine; a case with no answer got nothing.
    assert check.alertmanager_route_mismatches(CASES, answers) == ['labels {"alertname": "Lost"} expected triage got nothing']
    assert check.alertmanager_route_mismatches(CASES[:1], {0: "infra-digest"}) == [
        'labels {"alertname": "HostDown", "team": "infra", "severity": "critical"} expected infra-pager got infra-digest']


def test_route_check_input_is_named():
    with pytest.raises(AnsibleFilterError, match="route test case 0 needs labels and receivers"):
        check.alertmanager_amtool_matchers([{"labels": {}}])
    with pytest.raises(AnsibleFilterError, match="the case index of the line 'x\\\\tr' must be a number"):
        check.alertmanager_amtool_answers(["x\tr"])
