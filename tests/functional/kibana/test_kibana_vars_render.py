# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the kibana role computes from the inventory and its log rules, on the controller.

The role's variables are evaluated by ansible-playbook (no Kibana): the Elasticsearch
hosts kibana.yml lists, the whole kibana.yml settings, and the .es-query rule parameters
handed to vigil.monitoring.kibana_rule. Each scenario is also kept whole in
tests/golden/role_vars/ (see role_vars_render.py).
"""

from __future__ import annotations

import json
from typing import Any, Dict

import pytest

from role_vars_render import ELASTICSEARCH_GROUP, golden_test, render_scenarios

NAMES = ["_kibana_elasticsearch_hosts", "_kibana_settings", "_kibana_rules"]

INVENTORY = {
    "all": {
        "children": {
            "elasticsearch": ELASTICSEARCH_GROUP,
            "kibana": {"hosts": {"kibana1": {}}},
        }
    }
}

RULE = {
    "id": "0b4f2c8e-6a1d-4e3b-9c7f-1a2b3c4d5e6f", "name": "Admin logons", "index": ["logs-vigil.linux_auth-*"],
    "query": {"term": {"user.name": "root"}}, "threshold": "3", "window": "15m",
    "labels": {"alertname": "AdminLogons", "severity": "info", "team": "security"},
}
RULE_NO_TEAM = {
    "id": "1c5a3d9f-7b2e-4f4c-8d80-2b3c4d5e6f70", "name": "Quiet", "index": ["logs-*"], "query": {"match_all": {}},
    "threshold": 0, "comparator": "<=", "window": "2h", "interval": "10m", "time_field": "event.ingested",
    "labels": {"alertname": "Quiet", "severity": "warning"}, "summary": "Nothing for two hours",
}

SCENARIOS: Dict[str, Dict[str, Any]] = {
    "defaults": {},
    "custom": {
        "kibana_elasticsearch_hosts": ["https://logs.example.org:9243"],
        "kibana_log_rules": [RULE, RULE_NO_TEAM],
        "kibana_tls_cert_file": "/etc/kibana/tls/kibana.crt",
        "kibana_tls_key_file": "/etc/kibana/tls/kibana.key",
        "kibana_fleet_server_hosts": ["https://fleet.example.org:8220"],
        "kibana_config": {"server.port": 5602, "logging.root": {"level": "debug"}},
    },
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Dict[str, Dict[str, Any]]]:
    return render_scenarios(tmp_path_factory, "kibana", SCENARIOS, NAMES, INVENTORY, hosts="kibana")


test_scenario_matches_golden_file = golden_test("kibana", SCENARIOS)


def test_elasticsearch_hosts_of_the_group_ipv6_bracketed(rendered):
    assert rendered["defaults"]["kibana1"]["_kibana_elasticsearch_hosts"] == [
        "https://192.0.2.10:9200", "https://[2001:db8::12]:9201", "https://[2001:db8::13]:9200", "https://es4:9200",
    ]
    assert rendered["defaults"]["kibana1"]["_kibana_settings"]["elasticsearch.hosts"][0] == "https://192.0.2.10:9200"
    assert rendered["custom"]["kibana1"]["_kibana_elasticsearch_hosts"] == ["https://logs.example.org:9243"]


def test_log_rules_become_es_query_parameters(rendered):
    admin, quiet = rendered["custom"]["kibana1"]["_kibana_rules"]
    assert admin == {
        "id": RULE["id"], "name": "Admin logons", "interval": "1m", "tags": ["vigil", "logs", "security"],
        "params": {"searchType": "esQuery", "index": ["logs-vigil.linux_auth-*"], "timeField": "@timestamp",
                   "esQuery": json.dumps({"query": {"term": {"user.name": "root"}}}), "size": 10, "threshold": [3],
                   "thresholdComparator": ">", "timeWindowSize": 15, "timeWindowUnit": "m",
                   "excludeHitsFromPreviousRun": True},
        "labels": RULE["labels"], "summary": "Admin logons",
    }
    assert quiet["tags"] == ["vigil", "logs"]
    assert quiet["interval"] == "10m" and quiet["summary"] == "Nothing for two hours"
    assert quiet["params"]["timeField"] == "event.ingested"
    assert quiet["params"]["threshold"] == [0] and quiet["params"]["thresholdComparator"] == "<="
    assert (quiet["params"]["timeWindowSize"], quiet["params"]["timeWindowUnit"]) == (2, "h")


def test_shipped_rules(rendered):
    rules = rendered["defaults"]["kibana1"]["_kibana_rules"]
    assert [r["name"] for r in rules] == ["Many failed logons", "Firewall denies surge", "Firewall logs stopped"]
    assert rules[2]["params"]["thresholdComparator"] == "<" and rules[2]["params"]["timeWindowSize"] == 30
