"""The Alertmanager v2 payload: the Kibana webhook body template and the lab payload are the same."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.vigil.monitoring.plugins.filter.kibana_alertmanager import FilterModule
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import (
    alertmanager_alerts,
    kibana_alertmanager_actions,
    kibana_alertmanager_body,
    kibana_ends_at_template,
)
from standins.kibana_actions import detection_variables, render_body, stack_variables

LABELS = {"alertname": "ThreatIndicatorMatch", "severity": "critical", "team": "security", "site": "lab"}


def render_like_kibana(template: str, variables: dict) -> str:
    """Kibana renders webhook bodies as mustache with JSON escaping of the values."""

    def value(match):
        node = variables
        for part in match.group(1).strip().split("."):
            node = node[part]
        return json.dumps(str(node))[1:-1]

    return re.sub(r"\{\{([^{}]+)\}\}", value, template)


def test_lab_payload_shape():
    payload = alertmanager_alerts(
        LABELS, annotations={"summary": "s"}, generator_url="https://kibana/x", starts_at="2026-01-01T00:00:00Z"
    )

    assert payload == [
        {
            "labels": {
                "alertname": "ThreatIndicatorMatch",
                "severity": "critical",
                "team": "security",
                "site": "lab",
                "source": "kibana",
            },
            "annotations": {"summary": "s"},
            "generatorURL": "https://kibana/x",
            "startsAt": "2026-01-01T00:00:00Z",
        }
    ]


def test_rendered_kibana_body_equals_the_lab_payload_for_the_same_values():
    variables = {
        "context": {"title": 'Rule "Firewall" matched', "message": "10 hits\nin 5m", "rule": {}},
        "rule": {"url": "https://kibana.lab.example/app/rules/r1"},
        "date": "2026-01-01T10:00:00.000Z",
    }

    rendered = json.loads(render_like_kibana(kibana_alertmanager_body(LABELS), variables))

    assert rendered == alertmanager_alerts(
        LABELS,
        annotations={"summary": 'Rule "Firewall" matched', "description": "10 hits\nin 5m"},
        generator_url="https://kibana.lab.example/app/rules/r1",
        starts_at="2026-01-01T10:00:00.000Z",
    )


def test_detection_body_uses_detection_variables():
    body = kibana_alertmanager_body(LABELS, rule_kind="detection")

    assert "{{context.rule.name}}" in body
    assert "{{context.results_link}}" in body


def test_values_are_strings_and_source_can_be_overridden():
    payload = alertmanager_alerts(dict(LABELS, source="lab-script", port=5514), annotations={"count": 3})

    assert payload[0]["labels"]["source"] == "lab-script"
    assert payload[0]["labels"]["port"] == "5514"
    assert payload[0]["annotations"]["count"] == "3"


def test_missing_required_labels_are_named():
    with pytest.raises(ValueError) as error:
        alertmanager_alerts({"alertname": "X"})

    assert "missing: severity, team" in str(error.value)


def test_filters_are_registered_and_report_errors_as_filter_errors():
    filters = FilterModule().filters()

    assert filters["alertmanager_alerts"](LABELS)[0]["labels"]["source"] == "kibana"
    assert json.loads(filters["kibana_alertmanager_body"](LABELS))[0]["startsAt"] == "{{date}}"
    with pytest.raises(AnsibleFilterError, match="labels must set alertname, severity, team"):
        filters["alertmanager_alerts"]({"severity": "critical"})
    with pytest.raises(AnsibleFilterError, match="rule_kind must be one of detection, stack"):
        filters["kibana_alertmanager_body"](LABELS, rule_kind="other")


# -- the alert lifecycle: actions that keep the Alertmanager alert open while active ---------

RUN = dt.datetime(2026, 3, 1, 23, 50, 7, 123000, tzinfo=dt.timezone.utc)


def rendered(action, variables):
    return json.loads(render_body(action["params"]["body"], variables))[0]


def test_ends_at_is_the_run_date_plus_the_hold_as_an_rfc3339_offset():
    template = kibana_ends_at_template(15 * 60)
    assert template == "{{#FormatDate}}{{{date}}};UTC;YYYY-MM-DD[T]HH:mm:ss.SSS[-00:15]{{/FormatDate}}"
    text = render_body(template, {"date": "2026-03-01T23:50:07.123Z"})
    assert text == "2026-03-01T23:50:07.123-00:15"
    # The instant it names: 15 minutes later, across midnight.
    assert dt.datetime.fromisoformat(text) == RUN + dt.timedelta(minutes=15)


@pytest.mark.parametrize("seconds,offset", [(1, "-00:01"), (90, "-00:02"), (3 * 3600, "-03:00"), (86340, "-23:59")])
def test_holds_round_up_to_whole_minutes_within_a_day(seconds, offset):
    assert kibana_ends_at_template(seconds).endswith("[%s]{{/FormatDate}}" % offset)


def test_a_hold_of_a_day_or_more_is_refused():
    with pytest.raises(ValueError, match="longer than 23h59m"):
        kibana_ends_at_template(86400)


def test_stack_rules_post_every_run_while_active_and_resolve_on_recovery():
    firing, recovered = kibana_alertmanager_actions("c1", LABELS, "5m", group="query matched")

    assert firing["group"] == "query matched"
    assert firing["frequency"] == {"summary": False, "notify_when": "onActiveAlert", "throttle": None}
    assert recovered["group"] == "recovered"
    assert recovered["frequency"]["notify_when"] == "onActionGroupChange"
    rule = {"id": "r1", "name": "Firewall logs stopped"}
    active = rendered(firing, stack_variables(rule, RUN, "query matched", "query matched"))
    assert active["labels"] == dict(LABELS, source="kibana")
    assert active["startsAt"] == "2026-03-01T23:50:07.123Z"
    assert dt.datetime.fromisoformat(active["endsAt"]) == RUN + dt.timedelta(minutes=15)
    gone = rendered(recovered, stack_variables(rule, RUN, "recovered", "query matched"))
    assert gone["labels"] == active["labels"]
    assert gone["endsAt"] == "2026-03-01T23:50:07.123Z"
    assert "recovered" in gone["annotations"]["summary"]


def test_hold_intervals_sets_how_many_runs_an_active_alert_survives():
    firing = kibana_alertmanager_actions("c1", LABELS, "1m", group="query matched", hold_intervals=5)[0]
    assert "[-00:05]" in firing["params"]["body"]


def test_detection_rules_post_each_run_with_matches_and_expire_after_the_window():
    (action,) = kibana_alertmanager_actions("c1", LABELS, "5m", rule_kind="detection", window="1h")

    assert action["group"] == "default"
    assert action["action_type_id"] == ".webhook"
    assert action["frequency"] == {"summary": True, "notifyWhen": "onActiveAlert", "throttle": None}
    rule = {"id": "i1", "rule_id": "vigil-x", "name": "C2", "description": "d", "severity": "critical", "risk_score": 99}
    alert = rendered(action, detection_variables(rule, RUN, 3))
    assert dt.datetime.fromisoformat(alert["endsAt"]) == RUN + dt.timedelta(hours=1)
    assert alert["annotations"] == {"summary": "C2", "description": "d"}
    # Without a window: hold_intervals x interval.
    (default,) = kibana_alertmanager_actions("c1", LABELS, "5m", rule_kind="detection")
    assert "[-00:15]" in default["params"]["body"]


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"interval": "5 minutes", "group": "g"}, "interval '5 minutes' is not a Kibana interval"),
        ({"interval": "1m"}, "group is required"),
        ({"interval": "1m", "group": "g", "hold_intervals": 1}, "hold_intervals must be an integer of at least 2"),
        ({"interval": "1m", "group": "g", "window": "1h"}, "window applies to detection rules"),
        ({"interval": "5m", "rule_kind": "detection", "window": "1m"}, "window 1m is shorter than the rule interval"),
        ({"interval": "5m", "rule_kind": "detection", "window": "2d"}, "longer than 23h59m"),
        ({"interval": "5m", "rule_kind": "other"}, "rule_kind must be one of detection, stack"),
    ],
)
def test_lifecycle_errors_name_the_fix(kwargs, message):
    interval = kwargs.pop("interval")
    with pytest.raises(ValueError, match=re.escape(message)):
        kibana_alertmanager_actions("c1", LABELS, interval, **kwargs)


def test_the_actions_filter_defaults_to_the_es_query_group_and_reports_filter_errors():
    filters = FilterModule().filters()
    firing, recovered = filters["kibana_alertmanager_actions"](LABELS, "c1", interval="1m")
    assert (firing["group"], recovered["group"]) == ("query matched", "recovered")
    assert json.loads(filters["kibana_alertmanager_body"](LABELS, ends_at="{{date}}"))[0]["endsAt"] == "{{date}}"
    with pytest.raises(AnsibleFilterError, match="kibana_alertmanager_actions: connector_id is required"):
        filters["kibana_alertmanager_actions"](LABELS, "", interval="1m")
