# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Vigil's log rules as Kibana Elasticsearch query rules."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.filter.kibana_es_query_rules import FilterModule, kibana_es_query_rules

RULE = {"id": "3c1d9a4e-2f6b-4d8a-9e71-5b0c4a2f8d11", "name": "Many failed logons", "index": ["logs-vigil.*"],
        "query": {"bool": {"filter": [{"term": {"event.outcome": "failure"}}]}}, "comparator": ">=", "threshold": 50,
        "window": "15m", "interval": "5m", "labels": {"alertname": "ManyFailedLogons", "severity": "warning", "team": "security"},
        "summary": "Many failed logons"}


def test_the_filter_is_exposed():
    assert FilterModule().filters() == {"kibana_es_query_rules": kibana_es_query_rules}


def test_a_log_rule_becomes_an_es_query_rule():
    (rule,) = kibana_es_query_rules([RULE])
    assert rule == {
        "id": RULE["id"], "name": "Many failed logons", "interval": "5m", "tags": ["vigil", "logs", "security"],
        "params": {"searchType": "esQuery", "index": ["logs-vigil.*"], "timeField": "@timestamp",
                   "esQuery": json.dumps({"query": RULE["query"]}), "size": 10, "threshold": [50],
                   "thresholdComparator": ">=", "timeWindowSize": 15, "timeWindowUnit": "m", "excludeHitsFromPreviousRun": True},
        "labels": RULE["labels"], "summary": "Many failed logons",
    }


def test_defaults_and_numbers_written_as_text():
    minimal = {key: RULE[key] for key in ("id", "name", "index", "query")}
    minimal.update(threshold="3", window="2h", labels={"alertname": "A", "severity": "info"})
    (rule,) = kibana_es_query_rules([minimal])
    assert (rule["interval"], rule["summary"], rule["tags"]) == ("1m", "Many failed logons", ["vigil", "logs"])
    assert rule["params"]["threshold"] == [3] and rule["params"]["thresholdComparator"] == ">"
    assert (rule["params"]["timeWindowSize"], rule["params"]["timeWindowUnit"]) == (2, "h")
    assert kibana_es_query_rules([]) == []


@pytest.mark.parametrize("rules, message", [
    ([dict(RULE, threshold="many")], "kibana_log_rules entry 'Many failed logons': threshold must be a number, got 'many'"),
    ([dict(RULE, window="m")], "kibana_log_rules entry 'Many failed logons': window .* must be a number"),
    ([{"id": "x", "name": "No index"}], "kibana_log_rules entry 'No index' needs labels"),
    (["rule"], r"kibana_log_rules\[0\] must be a mapping, got str"),
    ({"id": "x"}, "kibana_log_rules must be a list, got dict"),
])
def test_bad_rules_are_named(rules, message):
    with pytest.raises(AnsibleFilterError, match=message):
        kibana_es_query_rules(rules)
