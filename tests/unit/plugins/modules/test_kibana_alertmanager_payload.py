"""The Alertmanager v2 payload: the Kibana webhook body template and the lab payload are the same."""

from __future__ import annotations

import json
import re

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.vigil.monitoring.plugins.filter.kibana_alertmanager import FilterModule
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import (
    alertmanager_alerts,
    kibana_alertmanager_body,
)

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
