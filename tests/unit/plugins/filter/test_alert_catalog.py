"""Unit tests for the alert catalog filters (plugins/filter/alert_catalog.py)."""

from __future__ import annotations

import copy
import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.filter import alert_catalog as ac
from ansible_collections.vigil.monitoring.plugins.filter.alert_catalog import (
    FilterModule,
    alert_catalog_grafana,
    alert_catalog_merge,
    alert_catalog_rules,
    alertmanager_route_tests,
    alertmanager_routing,
    grafana_rule_uid,
)

BASE = "https://runbooks.example.org/"


def entry(name, **overrides):
    value = {
        "name": name,
        "expr": 'up{job="node"} == 0',
        "for": "5m",
        "severity": "critical",
        "owner": "infra",
        "summary": "%s on {{ $labels.instance }}" % name,
        "description": "Something is wrong on {{ $labels.instance }} ({{ $value }}).",
        "runbook_url": "https://runbooks.example.org/%s" % name.lower(),
    }
    value.update(overrides)
    return {k: v for k, v in value.items() if v is not None}


BUILTIN = [
    entry("HostDown", group="host"),
    entry(
        "DiskAlmostFull",
        severity="warning",
        expr='node_filesystem_avail_bytes{job="node"} / node_filesystem_size_bytes{job="node"} < 0.1',
        labels={"component": "disk"},
    ),
    entry("ProbeFailed", owner="network", expr='probe_success{job="blackbox"} == 0', inhibits=["ProbeSlow"]),
    entry("ProbeSlow", owner="network", severity="warning", expr='probe_duration_seconds{job="blackbox"} > 2'),
    entry("HostRebooted", severity="info", expr='time() - node_boot_time_seconds{job="node"} < 600', **{"for": "0m"}),
]

TEAMS = {
    "infra": {
        "pager": [{"type": "pagerduty", "routing_key": "pd-infra"}],
        "digest": [{"type": "slack", "api_url": "https://hooks.slack.com/services/X", "channel": "#infra"}],
    },
    "network": {
        "pager": [{"type": "opsgenie", "api_key": "og-network", "priority": "P1"}],
        "digest": [{"type": "msteams", "url": "http://teams-bridge:2000/network"}],
    },
}
TRIAGE = [{"type": "webhook", "url": "https://triage.example.org/hook"}]


def merged(user=None, **kwargs):
    return alert_catalog_merge(copy.deepcopy(BUILTIN), user, **kwargs)


def by_name(catalog):
    return {item["name"]: item for item in catalog}


def routing_for(catalog=None, teams=None, **kwargs):
    kwargs.setdefault("triage_channels", TRIAGE)
    return alertmanager_routing(merged() if catalog is None else catalog, TEAMS if teams is None else teams, **kwargs)


def test_filter_module_exposes_all_filters():
    assert set(FilterModule().filters()) == {
        "alert_catalog_merge",
        "alert_catalog_rules",
        "alert_catalog_grafana",
        "alertmanager_routing",
        "alertmanager_route_tests",
    }


# ----------------------------------------------------------------------------- merge


def test_merge_without_user_list_keeps_builtin_order_and_fills_defaults():
    catalog = merged()
    assert [e["name"] for e in catalog] == ["HostDown", "DiskAlmostFull", "ProbeFailed", "ProbeSlow", "HostRebooted"]
    disk = by_name(catalog)["DiskAlmostFull"]
    assert disk["group"] == "host"  # derived from job="node"
    assert disk["labels"] == {"component": "disk"}
    assert disk["inhibits"] == []
    assert "enabled" not in disk
    assert by_name(catalog)["ProbeFailed"]["group"] == "probe"


def test_override_changes_only_given_fields_and_merges_labels():
    catalog = by_name(
        merged([{"name": "DiskAlmostFull", "for": "30m", "labels": {"tier": "db"}, "incident": "INC-42"}])
    )
    disk = catalog["DiskAlmostFull"]
    assert disk["for"] == "30m"
    assert disk["labels"] == {"component": "disk", "tier": "db"}
    assert disk["incident"] == "INC-42"
    assert disk["severity"] == "warning"
    assert disk["expr"] == BUILTIN[1]["expr"]


def test_enabled_false_removes_the_alert_and_inhibits_to_it_are_dropped():
    catalog = by_name(merged([{"name": "ProbeSlow", "enabled": False}]))
    assert "ProbeSlow" not in catalog
    assert catalog["ProbeFailed"]["inhibits"] == []


def test_new_user_alert_is_appended_with_defaults():
    new = entry(
        "QueueStuck",
        owner=None,
        runbook_url="queue-stuck",
        expr='queue_depth{job="custom"} > 10',
        keep_firing_for="10m",
    )
    catalog = merged([new], default_owner="app", runbook_base_url=BASE)
    assert catalog[-1]["name"] == "QueueStuck"
    assert catalog[-1]["owner"] == "app"
    assert catalog[-1]["runbook_url"] == BASE + "queue-stuck"
    assert catalog[-1]["group"] == "custom"
    assert catalog[-1]["keep_firing_for"] == "10m"


def test_a_complete_new_alert_can_be_kept_disabled_as_a_draft():
    assert [e["name"] for e in merged([entry("Draft", enabled=False)])][-1] == "HostRebooted"


@pytest.mark.parametrize(
    "user,expected",
    [
        # A misspelt disable would leave the real alert paging: refused, with the closest names.
        (
            [{"name": "HostDonw", "enabled": False}],
            "alert_catalog entry 'HostDonw' (item 1): disables 'HostDonw', which is not an alert of the catalog "
            "(nothing would be disabled); give the exact name of a built-in alert. Did you mean HostDown?",
        ),
        (
            [{"name": "Nothing", "enabled": False}],
            "disables 'Nothing', which is not an alert of the catalog (nothing would be disabled); "
            "give the exact name of a built-in alert.",
        ),
        # A misspelt override would become an incomplete new alert.
        (
            [{"name": "ProbeSlw", "for": "30m"}],
            "alert_catalog entry 'ProbeSlw' (item 1): 'ProbeSlw' matches no built-in alert, so it would be a new "
            "alert, and it lacks expr, severity, summary, description, runbook_url; to override a built-in alert give "
            "its exact name. Did you mean ProbeSlow or ProbeFailed? A new alert needs name, expr,",
        ),
        # Names differing only in case: refused, as an override and as a second alert.
        (
            [{"name": "Hostdown", "for": "1m"}],
            "alert_catalog entry 'Hostdown' (item 1): name 'Hostdown' differs from the built-in alert 'HostDown' only "
            "in case; write 'HostDown' to override or disable it",
        ),
        ([entry("HOSTDOWN")], "name 'HOSTDOWN' differs from the built-in alert 'HostDown' only in case"),
        (
            [entry("QueueStuck"), entry("Queuestuck")],
            "alert_catalog entry 'Queuestuck' (item 2): name 'Queuestuck' differs from 'QueueStuck' (also in "
            "alert_catalog) only in case",
        ),
    ],
)
def test_names_that_match_no_alert_or_differ_only_in_case_are_refused(user, expected):
    message = _error(merged, user)
    assert expected in message, message


def test_builtin_names_differing_only_in_case_are_refused():
    message = _error(alert_catalog_merge, [entry("HostDown"), entry("Hostdown")], [])
    assert "alert_catalog_builtin entry 'Hostdown' (item 2): name 'Hostdown' differs from 'HostDown'" in message


@pytest.mark.parametrize(
    "expr,group",
    [
        ('prometheus_config_last_reload_successful{job="prometheus"} == 0', "prometheus"),
        ('windows_os_info{job="windows"}', "windows"),
        ("vigil_custom_source_up == 0", "custom"),
        ("alertmanager_cluster_members < 3", "alertmanager"),
        ("vector(1)", "general"),
    ],
)
def test_group_is_derived_from_job_then_metric_prefix(expr, group):
    assert merged([entry("Xyz", expr=expr)])[-1]["group"] == group


def test_absolute_runbook_url_is_kept():
    assert merged(runbook_base_url=BASE)[0]["runbook_url"] == "https://runbooks.example.org/hostdown"


def test_merging_an_effective_catalog_again_changes_nothing():
    catalog = merged()
    assert alert_catalog_merge(catalog, []) == catalog


def _error(func, *args, **kwargs):
    with pytest.raises(AnsibleFilterError) as info:
        func(*args, **kwargs)
    return str(info.value)


@pytest.mark.parametrize(
    "user,expected",
    [
        (
            [entry("Bad", severity="urgent")],
            r"alert_catalog entry 'Bad' \(item 1\): unknown severity 'urgent'; use one of critical, warning, info",
        ),
        (
            [entry("Bad", owner=None)],
            r"alert_catalog entry 'Bad' \(item 1\): missing owner; set owner to the team .* alert_catalog_default_owner",
        ),
        (
            [entry("Bad", owner="Infra Team")],
            r"'Bad' \(item 1\): owner 'Infra Team' is not a team name; use a lower-case team name",
        ),
        (
            [entry("Bad", expr=None)],
            r"alert_catalog entry 'Bad' \(item 1\): missing expr; set expr to the PromQL expression",
        ),
        ([entry("Bad", expr="  ")], r"'Bad' \(item 1\): missing expr"),
        (
            [entry("Bad", summary=None, runbook_url=None)],
            r"'Bad' \(item 1\): missing summary, runbook_url; set summary",
        ),
        ([entry("Bad", description=None)], r"'Bad' \(item 1\): missing description; set description"),
        ([entry("Bad", **{"for": None})], r"'Bad' \(item 1\): missing for; set for to how long"),
        (
            [entry("Bad", **{"for": "5 minutes"})],
            r"'Bad' \(item 1\): for '5 minutes' is not a Prometheus duration; write it like 30s, 5m",
        ),
        ([entry("Bad", **{"for": 5})], r"'Bad' \(item 1\): for 5 is not a Prometheus duration"),
        ([entry("Bad", **{"for": "5m1h"})], r"'Bad' \(item 1\): for '5m1h' is not a Prometheus duration"),
        (
            [entry("Bad", keep_firing_for="soon")],
            r"'Bad' \(item 1\): keep_firing_for 'soon' is not a Prometheus duration",
        ),
        (
            [entry("Bad", team="infra")],
            r"'Bad' \(item 1\): unknown key\(s\) team; allowed keys are name, expr, .*\(extra Prometheus labels go under 'labels'",
        ),
        (
            [entry("Bad"), entry("Other"), entry("Bad")],
            r"alert_catalog entry 'Bad' \(item 3\): name 'Bad' appears twice in alert_catalog \(items 1 and 3\); merge",
        ),
        (
            [{"expr": "up == 0"}],
            r"alert_catalog item 1 \(no name\): missing name; give every alert a unique CamelCase name",
        ),
        ([entry("disk_full")], r"'disk_full' \(item 1\): name 'disk_full' is not CamelCase"),
        (["HostDown"], r"alert_catalog item 1 \(no name\): is a str, not a mapping"),
        (
            [entry("Bad", enabled="no")],
            r"'Bad' \(item 1\): enabled 'no' is not a boolean; write enabled: true or enabled: false",
        ),
        ([entry("Bad", labels=["a"])], r"'Bad' \(item 1\): labels must be a mapping, got list"),
        (
            [entry("Bad", labels={"severity": "page"})],
            r"'Bad' \(item 1\): label 'severity' is set by the catalog; use the entry's",
        ),
        ([entry("Bad", labels={"team": "x"})], r"'Bad' \(item 1\): label 'team' is set by the catalog"),
        (
            [entry("Bad", labels={"bad-name": "x"})],
            r"'Bad' \(item 1\): label name 'bad-name' is not a valid Prometheus label name",
        ),
        ([entry("Bad", labels={"__meta": "x"})], r"'Bad' \(item 1\): label name '__meta' is not a valid"),
        (
            [entry("Bad", labels={"paged": True})],
            r"'Bad' \(item 1\): label 'paged' has value True; label values are strings: quote it",
        ),
        ([entry("Bad", group="my group")], r"'Bad' \(item 1\): group 'my group' is not a valid rule group name"),
        (
            [entry("Bad", runbook_url="wiki/bad")],
            r"'Bad' \(item 1\): runbook_url 'wiki/bad' is not an absolute http\(s\) URL; .* alert_catalog_runbook_base_url",
        ),
        (
            [entry("Bad", inhibits=["Nope"])],
            r"alert_catalog entry 'Bad': inhibits unknown alert 'Nope'; list only alert names",
        ),
        ([entry("Bad", inhibits=["Bad"])], r"'Bad' \(item 1\): inhibits itself; remove Bad"),
        ([entry("Bad", inhibits="HostDown")], r"'Bad' \(item 1\): inhibits must be a list of alert names"),
        ([entry("Bad", incident={"id": 1})], r"'Bad' \(item 1\): incident must be a reference string, got dict"),
        ([entry("Bad", summary=["x"])], r"'Bad' \(item 1\): summary must be a string, got list"),
        (
            [{"name": "DiskAlmostFull", "severity": "page"}],
            r"alert_catalog entry 'DiskAlmostFull' \(item 1, overriding the built-in alert\): unknown severity 'page'",
        ),
        (
            [{"name": "HostDown", "sevrity": "warning"}],
            r"alert_catalog entry 'HostDown' \(item 1\): unknown key\(s\) sevrity",
        ),
    ],
)
def test_invalid_user_entries_name_the_entry_and_the_fix(user, expected):
    message = _error(merged, user, runbook_base_url=None)
    assert re.search(expected, message), message


def test_invalid_builtin_entries_are_reported_as_builtin():
    message = _error(alert_catalog_merge, [entry("HostDown"), entry("HostDown")], [])
    assert (
        "alert_catalog_builtin entry 'HostDown' (item 2): name 'HostDown' appears twice in alert_catalog_builtin"
        in message
    )


@pytest.mark.parametrize("bad", ["HostDown", {"name": "HostDown"}, 3])
def test_catalog_must_be_a_list(bad):
    assert "alert_catalog must be a list of alert entries" in _error(merged, bad)


def test_invalid_default_owner_is_refused():
    assert "alert_catalog_default_owner 'Ops Team' is not a team name" in _error(merged, [], default_owner="Ops Team")


# ----------------------------------------------------------------------------- catalog parameters

SIZED = entry(
    "AlertmanagerClusterDegraded",
    owner="platform",
    expr='alertmanager_cluster_members{job="alertmanager"} < ${alertmanager_cluster_size}',
    summary="Cluster of {{ $labels.instance }} is smaller than ${alertmanager_cluster_size}",
    description="Only {{ $value }} of ${alertmanager_cluster_size} members for ${quiet}.",
    **{"for": "${quiet}"},
)


def test_parameters_replace_placeholders_in_expr_for_and_texts():
    catalog = by_name(
        alert_catalog_merge([copy.deepcopy(SIZED)], parameters={"alertmanager_cluster_size": 3, "quiet": "15m"})
    )
    alert = catalog["AlertmanagerClusterDegraded"]
    assert alert["expr"] == 'alertmanager_cluster_members{job="alertmanager"} < 3'
    assert alert["for"] == "15m"
    assert alert["summary"] == "Cluster of {{ $labels.instance }} is smaller than 3"
    assert alert["description"] == "Only {{ $value }} of 3 members for 15m."


def test_user_entries_may_use_the_parameters_and_overrides_are_resolved_too():
    user = [
        {"name": "AlertmanagerClusterDegraded", "expr": "alertmanager_cluster_members < ${alertmanager_cluster_size} - 1"},
        entry("FewPeers", expr="alertmanager_cluster_members < ${alertmanager_cluster_size}"),
    ]
    catalog = by_name(
        alert_catalog_merge([copy.deepcopy(SIZED)], user, parameters={"alertmanager_cluster_size": 2, "quiet": "5m"})
    )
    assert catalog["AlertmanagerClusterDegraded"]["expr"] == "alertmanager_cluster_members < 2 - 1"
    assert catalog["FewPeers"]["expr"] == "alertmanager_cluster_members < 2"


def test_a_placeholder_without_a_value_names_the_entry_and_the_parameter():
    message = _error(alert_catalog_merge, [copy.deepcopy(SIZED)], parameters={"quiet": "5m"})
    assert message == (
        "alert_catalog_builtin entry 'AlertmanagerClusterDegraded' (item 1): expr uses ${alertmanager_cluster_size}, "
        "which is not a catalog parameter (known: quiet); correct the name, or give it a value in "
        "alert_catalog_parameters"
    )


def test_a_disabled_entry_needs_no_parameter_value():
    assert alert_catalog_merge([copy.deepcopy(SIZED)], [{"name": "AlertmanagerClusterDegraded", "enabled": False}]) == []


def test_rendering_a_catalog_with_an_unresolved_placeholder_fails():
    message = _error(alert_catalog_rules, [copy.deepcopy(SIZED)])
    assert "expr uses ${alertmanager_cluster_size}, which is not a catalog parameter (known: none)" in message


@pytest.mark.parametrize(
    "parameters,expected",
    [
        ([1], "alert_catalog_parameters must be a mapping of name to value, got list"),
        ({"Size": 3}, "alert_catalog_parameters: 'Size' is not a parameter name"),
        ({"size": True}, "alert_catalog_parameters['size'] is True; a parameter is a number or a non-empty string"),
        ({"size": ""}, "alert_catalog_parameters['size'] is ''"),
        ({"size": [3]}, "alert_catalog_parameters['size'] is [3]"),
    ],
)
def test_invalid_parameters_are_refused(parameters, expected):
    assert expected in _error(alert_catalog_merge, copy.deepcopy(BUILTIN), parameters=parameters)


# ----------------------------------------------------------------------------- Prometheus rules


def test_rules_group_alerts_and_turn_owner_into_team_label():
    user = [
        entry("QueueStuck", owner="app", expr='queue_depth{job="custom"} > 10', incident="INC-7", keep_firing_for="15m")
    ]
    rules = alert_catalog_rules(merged(user))
    assert [g["name"] for g in rules["groups"]] == ["host", "probe", "custom"]
    host = rules["groups"][0]["rules"]
    assert [r["alert"] for r in host] == ["HostDown", "DiskAlmostFull", "HostRebooted"]
    assert host[1] == {
        "alert": "DiskAlmostFull",
        "expr": BUILTIN[1]["expr"],
        "for": "5m",
        "labels": {"severity": "warning", "team": "infra", "component": "disk"},
        "annotations": {
            "summary": "DiskAlmostFull on {{ $labels.instance }}",
            "description": "Something is wrong on {{ $labels.instance }} ({{ $value }}).",
            "runbook_url": "https://runbooks.example.org/diskalmostfull",
        },
    }
    queue = rules["groups"][2]["rules"][0]
    assert queue["keep_firing_for"] == "15m"
    assert queue["annotations"]["incident"] == "INC-7"
    assert queue["labels"]["team"] == "app"


def test_rules_validate_a_catalog_that_was_not_merged():
    assert "catalog entry 'X' (item 1): unknown severity 'page'" in _error(
        alert_catalog_rules, [entry("X", severity="page")]
    )


# ----------------------------------------------------------------------------- Grafana


@pytest.mark.parametrize(
    "name,uid",
    [
        ("HostDown", "vigil-host-down"),
        ("TlsCertExpiringCritical", "vigil-tls-cert-expiring-critical"),
        ("HTTPProbeFailed", "vigil-http-probe-failed"),
    ],
)
def test_grafana_uid_is_readable_and_stable(name, uid):
    assert grafana_rule_uid(name) == uid


def test_grafana_uid_of_a_long_name_is_shortened_but_unique():
    one = grafana_rule_uid("PrometheusRemoteWriteDesiredShardsTooHigh")
    two = grafana_rule_uid("PrometheusRemoteWriteDesiredShardsTooLow")
    for uid in (one, two):
        assert len(uid) <= 40
        assert re.match(r"^[a-zA-Z0-9_-]+$", uid)
    assert one != two
    assert one == grafana_rule_uid("PrometheusRemoteWriteDesiredShardsTooHigh")


def test_grafana_document_follows_the_provisioning_format():
    doc = alert_catalog_grafana(merged(), "prom-uid", folder="Ops", interval="2m", org_id=3)
    assert doc["apiVersion"] == 1
    group = doc["groups"][0]
    assert {k: group[k] for k in ("orgId", "name", "folder", "interval")} == {
        "orgId": 3,
        "name": "host",
        "folder": "Ops",
        "interval": "2m",
    }
    rule = group["rules"][0]
    assert rule["uid"] == "vigil-host-down"
    assert rule["title"] == "HostDown"
    assert rule["condition"] == "C"
    query, math, threshold = rule["data"]
    assert query["refId"] == "A" and query["datasourceUid"] == "prom-uid"
    assert query["model"]["expr"] == 'up{job="node"} == 0' and query["model"]["instant"] is True
    assert query["relativeTimeRange"] == {"from": 600, "to": 0}
    assert math["datasourceUid"] == "__expr__" and math["model"]["type"] == "math"
    assert math["model"]["expression"] == "is_number($A)"
    assert threshold["datasourceUid"] == "__expr__"
    assert threshold["model"]["type"] == "threshold" and threshold["model"]["expression"] == "B"
    assert threshold["model"]["conditions"] == [{"evaluator": {"type": "gt", "params": [0]}}]
    assert rule["for"] == "5m"
    assert rule["labels"] == {"severity": "critical", "team": "infra"}
    assert rule["noDataState"] == "OK" and rule["execErrState"] == "Error"
    # Grafana's $value is a string of all query values: the catalog's $value is query A's value.
    assert rule["annotations"]["description"] == "Something is wrong on {{ $labels.instance }} ({{ $values.A.Value }})."
    assert rule["annotations"]["summary"] == "HostDown on {{ $labels.instance }}"
    uids = [r["uid"] for g in doc["groups"] for r in g["rules"]]
    assert len(uids) == len(set(uids)) == len(BUILTIN)


@pytest.mark.parametrize(
    "kwargs,expected",
    [
        (
            {"datasource_uid": ""},
            "alert_catalog_grafana: datasource_uid is empty; pass the uid of Grafana's Prometheus datasource",
        ),
        (
            {"datasource_uid": "p", "no_data_state": "Quiet"},
            "no_data_state 'Quiet' is not one of OK, NoData, Alerting, KeepLast",
        ),
        (
            {"datasource_uid": "p", "exec_err_state": "Boom"},
            "exec_err_state 'Boom' is not one of OK, Error, Alerting, KeepLast",
        ),
        ({"datasource_uid": "p", "interval": "often"}, "interval 'often' is not a Prometheus duration"),
    ],
)
def test_grafana_argument_errors(kwargs, expected):
    assert expected in _error(alert_catalog_grafana, merged(), **kwargs)


# ----------------------------------------------------------------------------- Alertmanager routing


def test_default_route_goes_to_triage_and_info_to_the_null_receiver():
    route = routing_for()["route"]
    assert route["receiver"] == "triage"
    assert route["group_by"] == ["alertname", "team"]
    assert route["routes"][0] == {"receiver": "blackhole", "matchers": ['severity="info"'], "continue": False}


def test_team_routes_page_critical_and_digest_warning():
    routes = {r["matchers"][0]: r for r in routing_for()["route"]["routes"][1:]}
    assert sorted(routes) == ['team="infra"', 'team="network"']
    critical, warning = routes['team="infra"']["routes"]
    assert critical == {
        "receiver": "infra-pager",
        "matchers": ['severity="critical"'],
        "group_wait": "10s",
        "group_interval": "5m",
        "repeat_interval": "1h",
        "continue": False,
    }
    assert warning["receiver"] == "infra-digest" and warning["matchers"] == ['severity="warning"']
    assert warning["repeat_interval"] == "12h" and warning["group_interval"] == "30m"
    assert "receiver" not in routes['team="infra"']  # unmatched severities fall back to triage


def test_timings_can_be_overridden():
    routing = routing_for(
        pager_timing={"repeat_interval": "30m"},
        digest_timing={"repeat_interval": "24h"},
        default_timing={"group_wait": "1m"},
    )
    infra = [r for r in routing["route"]["routes"] if r.get("matchers") == ['team="infra"']][0]
    assert infra["routes"][0]["repeat_interval"] == "30m"
    assert infra["routes"][1]["repeat_interval"] == "24h"
    assert routing["route"]["group_wait"] == "1m"


def test_receivers_use_alertmanager_025_integration_keys_and_keep_secrets_as_given():
    receivers = {r["name"]: r for r in routing_for()["receivers"]}
    assert receivers["triage"] == {"name": "triage", "webhook_configs": [{"url": "https://triage.example.org/hook"}]}
    assert receivers["blackhole"] == {"name": "blackhole"}
    assert receivers["infra-pager"] == {"name": "infra-pager", "pagerduty_configs": [{"routing_key": "pd-infra"}]}
    assert receivers["infra-digest"]["slack_configs"] == [
        {"api_url": "https://hooks.slack.com/services/X", "channel": "#infra"}
    ]
    assert receivers["network-pager"]["opsgenie_configs"] == [{"api_key": "og-network", "priority": "P1"}]
    # No msteams_configs before Alertmanager 0.26: Teams goes through a bridge's webhook.
    assert receivers["network-digest"] == {
        "name": "network-digest",
        "webhook_configs": [{"url": "http://teams-bridge:2000/network"}],
    }


def test_email_channel_and_several_channels_in_one_receiver():
    teams = copy.deepcopy(TEAMS)
    teams["infra"]["digest"].append({"type": "email", "to": "infra@example.org", "send_resolved": True})
    receivers = {r["name"]: r for r in routing_for(teams=teams)["receivers"]}
    assert receivers["infra-digest"]["email_configs"] == [{"to": "infra@example.org", "send_resolved": True}]
    assert len(receivers["infra-digest"]["slack_configs"]) == 1


class _Vaulted:
    """Stands in for ansible-core 2.19's EncryptedString: not a str, str() gives the secret."""

    def __str__(self):
        return "decrypted-key"


def test_vaulted_secret_is_written_as_its_text():
    teams = copy.deepcopy(TEAMS)
    teams["infra"]["pager"] = [{"type": "pagerduty", "routing_key": _Vaulted()}]
    receivers = {r["name"]: r for r in routing_for(teams=teams)["receivers"]}
    assert receivers["infra-pager"]["pagerduty_configs"] == [{"routing_key": "decrypted-key"}]


def test_team_without_pager_gets_critical_alerts_in_its_digest():
    teams = copy.deepcopy(TEAMS)
    del teams["infra"]["pager"]
    infra = [r for r in routing_for(teams=teams)["route"]["routes"] if r.get("matchers") == ['team="infra"']][0]
    assert [child["receiver"] for child in infra["routes"]] == ["infra-digest", "infra-digest"]
    assert infra["routes"][0]["repeat_interval"] == "1h"  # still pager timing


def test_team_without_alerts_still_gets_routes():
    teams = dict(TEAMS, security={"pager": [{"type": "webhook", "url": "https://soc/hook"}]})
    routes = routing_for(teams=teams)["route"]["routes"]
    security = [r for r in routes if r.get("matchers") == ['team="security"']][0]
    assert [child["receiver"] for child in security["routes"]] == ["security-pager"]


def test_inhibit_rules():
    rules = routing_for()["inhibit_rules"]
    assert rules == [
        {
            "source_matchers": ['alertname="HostDown"'],
            "target_matchers": ['alertname!="HostDown"'],
            "equal": ["instance"],
        },
        {
            "source_matchers": ['severity="critical"', 'instance=~".+"'],
            "target_matchers": ['severity="warning"'],
            "equal": ["instance"],
        },
        {
            "source_matchers": ['alertname="ProbeFailed"'],
            "target_matchers": ['alertname="ProbeSlow"'],
            "equal": ["instance"],
        },
    ]
    assert rules[0]["equal"] is not rules[1]["equal"]  # no YAML anchors when dumped


def test_critical_inhibits_warning_needs_the_equal_labels_on_the_source():
    rules = routing_for(inhibit_equal=["host"])["inhibit_rules"]
    severity = [r for r in rules if r["target_matchers"] == ['severity="warning"']]
    assert severity == [
        {"source_matchers": ['severity="critical"', 'host=~".+"'], "target_matchers": ['severity="warning"'], "equal": ["host"]}
    ]
    off = routing_for(critical_inhibits_warning=False)["inhibit_rules"]
    assert all(r["target_matchers"] != ['severity="warning"'] for r in off)


def test_inhibit_with_several_targets_and_custom_equal():
    catalog = merged([{"name": "ProbeFailed", "inhibits": ["ProbeSlow", "DiskAlmostFull"]}])
    rules = routing_for(catalog, inhibit_equal=["instance", "job"])["inhibit_rules"]
    assert rules[2]["target_matchers"] == ['alertname=~"ProbeSlow|DiskAlmostFull"']
    assert rules[2]["equal"] == ["instance", "job"]


def test_no_host_down_rule_without_host_down_alert():
    catalog = merged([{"name": "HostDown", "enabled": False}])
    assert all('alertname="HostDown"' not in r["source_matchers"] for r in routing_for(catalog)["inhibit_rules"])


@pytest.mark.parametrize(
    "kwargs,expected",
    [
        ({"triage_channels": []}, "the triage receiver 'triage' has no channels; set alertmanager_triage_channels"),
        ({"triage_channels": None}, "set alertmanager_triage_channels"),
        (
            {"triage_channels": [{"type": "email", "to": "ops@example.org"}]},
            "the triage receiver 'triage' only sends email; an email-only catch-all is where alerts get lost",
        ),
        ({"triage_receiver": ""}, "triage_receiver is empty"),
        ({"teams": ["infra"]}, "teams must be a mapping of team name"),
        (
            {"teams": {"infra": TEAMS["infra"]}},
            "alertmanager_teams['network']: team 'network' owns alerts (ProbeFailed, ProbeSlow) but has no receiver; add network",
        ),
        (
            {"teams": dict(TEAMS, network={})},
            "alertmanager_teams['network']: team 'network' has no pager or digest channels but owns alerts (ProbeFailed, ProbeSlow)",
        ),
        (
            {"teams": dict(TEAMS, network={"pager": TEAMS["network"]["pager"]})},
            "alertmanager_teams['network']: team 'network' owns warning alerts (ProbeSlow) but has no digest channels; add digest channels",
        ),
        ({"teams": dict(TEAMS, network={"pagers": []})}, "alertmanager_teams['network']: unknown key(s) pagers"),
        (
            {"teams": dict(TEAMS, network="slack")},
            "alertmanager_teams['network']: must be a mapping with pager and/or digest channel lists",
        ),
        ({"teams": dict(TEAMS, Ops={"pager": TRIAGE})}, "alertmanager_teams['Ops']: team name 'Ops' is not valid"),
        (
            {"teams": dict(TEAMS, network={"pager": [{"type": "sms", "to": "1"}], "digest": TRIAGE})},
            "alertmanager_teams['network'].pager channel 1: unknown channel type 'sms'; use one of email, msteams, opsgenie, pagerduty, slack, webhook",
        ),
        (
            {"teams": dict(TEAMS, network={"pager": [{"type": "pagerduty", "routing_key": ""}], "digest": TRIAGE})},
            "alertmanager_teams['network'].pager channel 1: pagerduty channel has no routing_key; set routing_key (keep the secret in Ansible Vault",
        ),
        (
            {"teams": dict(TEAMS, network={"pager": [{"type": "slack", "channel": "#x"}], "digest": TRIAGE})},
            "pager channel 1: slack channel has no api_url or api_url_file",
        ),
        (
            {
                "teams": dict(
                    TEAMS,
                    network={"pager": [{"type": "opsgenie", "api_key": "k", "service_key": "x"}], "digest": TRIAGE},
                )
            },
            "alertmanager_teams['network'].pager channel 1: unknown key(s) service_key for a opsgenie channel; allowed: api_key",
        ),
        (
            {"teams": dict(TEAMS, network={"pager": "webhook", "digest": TRIAGE})},
            "alertmanager_teams['network'].pager: channels must be a list",
        ),
        (
            {"triage_channels": [{"type": "webhook"}]},
            "alertmanager_triage_channels channel 1: webhook channel has no url",
        ),
        (
            {"pager_timing": {"repeat": "1h"}},
            "pager_timing has unknown key 'repeat'; use group_wait, group_interval or repeat_interval",
        ),
        ({"digest_timing": {"repeat_interval": "daily"}}, "repeat_interval 'daily' is not a Prometheus duration"),
    ],
)
def test_routing_errors_name_the_team_or_setting(kwargs, expected):
    teams = kwargs.pop("teams", TEAMS)
    kwargs.setdefault("triage_channels", TRIAGE)
    message = _error(alertmanager_routing, merged(), teams, **kwargs)
    assert expected in message, message


# ----------------------------------------------------------------------------- route tests


def test_route_tests_follow_the_policy():
    catalog = merged()
    cases = alertmanager_route_tests(catalog, routing_for(catalog))
    assert [(c["labels"]["alertname"], c["receivers"]) for c in cases] == [
        ("HostDown", ["infra-pager"]),
        ("DiskAlmostFull", ["infra-digest"]),
        ("ProbeFailed", ["network-pager"]),
        ("ProbeSlow", ["network-digest"]),
        ("HostRebooted", ["blackhole"]),
    ]
    assert cases[1]["labels"] == {
        "alertname": "DiskAlmostFull",
        "severity": "warning",
        "team": "infra",
        "component": "disk",
    }


def test_route_tests_expect_digest_when_team_has_no_pager():
    teams = copy.deepcopy(TEAMS)
    del teams["infra"]["pager"]
    catalog = merged()
    cases = alertmanager_route_tests(catalog, routing_for(catalog, teams=teams))
    assert cases[0]["receivers"] == ["infra-digest"]


def test_route_tests_expect_triage_for_a_team_the_routing_does_not_know():
    catalog = merged()
    routing = routing_for(catalog)
    catalog = merged([{"name": "HostDown", "owner": "dba"}])
    assert alertmanager_route_tests(catalog, routing)[0]["receivers"] == ["triage"]


@pytest.mark.parametrize(
    "routing,expected",
    [
        ({}, "routing must be the output of alertmanager_routing"),
        (
            {"route": {"receiver": "triage"}, "receivers": [{"name": "triage", "webhook_configs": [{"url": "u"}]}]},
            "no null receiver",
        ),
    ],
)
def test_route_tests_need_a_routing(routing, expected):
    assert expected in _error(alertmanager_route_tests, merged(), routing)


def test_module_constants_match_alertmanager_integrations():
    assert ac.CONFIG_LIST_KEYS == (
        "email_configs",
        "opsgenie_configs",
        "pagerduty_configs",
        "slack_configs",
        "webhook_configs",
    )


# -- the dead man's switch ----------------------------------------------------------------------

WATCHDOG = entry("Watchdog", severity="info", owner="platform", expr="vector(1)", **{"for": "0s"})
HEARTBEAT = {"type": "webhook", "url": "https://hc-ping.example.org/uuid"}
PLATFORM = dict(TEAMS, platform={"pager": [{"type": "webhook", "url": "https://oncall.example.org/platform"}]})


def with_watchdog(**entry_overrides):
    return merged([dict(WATCHDOG, **entry_overrides)])


def test_the_watchdog_goes_alone_and_first_to_the_heartbeat_receiver():
    routing = routing_for(with_watchdog(), PLATFORM, heartbeat=HEARTBEAT)

    first = routing["route"]["routes"][0]
    assert first == {
        "receiver": "heartbeat",
        "matchers": ['alertname="Watchdog"'],
        "group_by": ["alertname"],
        "group_wait": "0s",
        "group_interval": "1m",
        "repeat_interval": "50s",
        "continue": False,
    }
    receiver = next(r for r in routing["receivers"] if r["name"] == "heartbeat")
    assert receiver["webhook_configs"] == [{"url": HEARTBEAT["url"], "send_resolved": False}]
    cases = alertmanager_route_tests(with_watchdog(), routing)
    assert {"labels": {"alertname": "Watchdog", "severity": "info", "team": "platform"}, "receivers": ["heartbeat"]} in cases


def test_heartbeat_timing_can_be_set():
    routing = routing_for(
        with_watchdog(), PLATFORM, heartbeat=HEARTBEAT, heartbeat_timing={"group_interval": "10s", "repeat_interval": "9s"}
    )
    first = routing["route"]["routes"][0]
    assert (first["group_wait"], first["group_interval"], first["repeat_interval"]) == ("0s", "10s", "9s")


def test_without_a_heartbeat_channel_the_watchdog_goes_to_the_null_receiver_on_its_own_route():
    routing = routing_for(with_watchdog(), PLATFORM)

    assert routing["route"]["routes"][0]["receiver"] == "blackhole"
    assert routing["route"]["routes"][0]["matchers"] == ['alertname="Watchdog"']
    assert "heartbeat" not in {r["name"] for r in routing["receivers"]}
    case = next(c for c in alertmanager_route_tests(with_watchdog(), routing) if c["labels"]["alertname"] == "Watchdog")
    assert case["receivers"] == ["blackhole"]


def test_the_watchdog_is_neither_source_nor_target_of_any_inhibition():
    routing = routing_for(with_watchdog(), PLATFORM, heartbeat=HEARTBEAT)

    assert routing["inhibit_rules"]
    for rule in routing["inhibit_rules"]:
        assert 'alertname!="Watchdog"' in rule["source_matchers"]
        assert 'alertname!="Watchdog"' in rule["target_matchers"]
    # Without a Watchdog in the catalog the rules are as before.
    assert all('alertname!="Watchdog"' not in r["target_matchers"] for r in routing_for()["inhibit_rules"])


def test_grafana_never_evaluates_the_watchdog():
    document = alert_catalog_grafana(with_watchdog(), "prom")
    titles = [r["title"] for g in document["groups"] for r in g["rules"]]
    assert "Watchdog" not in titles and "HostDown" in titles


@pytest.mark.parametrize(
    "kwargs,expected",
    [
        (
            {"heartbeat": {"type": "slack", "api_url": "https://hooks.slack.com/x"}},
            r"alertmanager_heartbeat: channel type 'slack' cannot be a heartbeat; use type webhook",
        ),
        (
            {"heartbeat": dict(HEARTBEAT, send_resolved=True)},
            r"alertmanager_heartbeat: send_resolved: true would ping the heartbeat service when the Watchdog stops",
        ),
        ({"heartbeat": [HEARTBEAT]}, r"alertmanager_heartbeat: must be one channel"),
        ({"heartbeat": {"type": "webhook"}}, r"webhook channel has no url"),
        ({"heartbeat_timing": {"repeat": "1m"}, "heartbeat": HEARTBEAT}, r"heartbeat_timing has unknown key 'repeat'"),
    ],
)
def test_heartbeat_errors_name_the_setting_and_the_fix(kwargs, expected):
    message = _error(routing_for, with_watchdog(), PLATFORM, **kwargs)
    assert re.search(expected, message), message


def test_a_heartbeat_channel_without_the_watchdog_alert_is_refused():
    catalog = alert_catalog_merge(copy.deepcopy(BUILTIN) + [WATCHDOG], [{"name": "Watchdog", "enabled": False}])
    message = _error(routing_for, catalog, PLATFORM, heartbeat=HEARTBEAT)
    assert "the catalog has no 'Watchdog' alert (disabled?)" in message


@pytest.mark.parametrize(
    "user,expected",
    [
        ([dict(WATCHDOG, inhibits=["HostDown"])], "alert_catalog entry 'Watchdog': the heartbeat alert inhibits HostDown"),
        (
            [WATCHDOG, {"name": "HostDown", "inhibits": ["Watchdog"]}],
            "alert_catalog entry 'HostDown': inhibits the heartbeat alert Watchdog",
        ),
    ],
)
def test_inhibitions_involving_the_watchdog_are_refused(user, expected):
    message = _error(routing_for, merged(user), PLATFORM, heartbeat=HEARTBEAT)
    assert expected in message
