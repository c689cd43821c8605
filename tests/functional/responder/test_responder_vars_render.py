# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The responder role's responses and the addresses of the monitoring hosts it never blocks.

The role's variables, and those of its preflight step that gathers every address of each
monitoring host (as the firewall resolved its name and ansible_host, and as its facts list
them), are evaluated by ansible-playbook on the controller. Each scenario is also kept
whole in tests/golden/role_vars/ (see role_vars_render.py).
"""

from __future__ import annotations

import json
from typing import Any, Dict

import pytest

from role_vars_render import golden_test, render_scenarios, task_vars

NAMES = ["_responder_responses", "__responder_hosts"]
PREFLIGHT = task_vars("responder", "preflight.yml", "Compute the allowlist (never blocked)")

INVENTORY = {
    "all": {
        "children": {
            "prometheus": {"hosts": {
                "prom1": {"ansible_host": "192.0.2.5", "render_ipv4": ["192.0.2.5", "10.1.0.5"],
                          "render_ipv6": ["2001:db8::5"]},
                "prom2": {},
            }},
            "alertmanager": {"hosts": {"am1": {"ansible_host": "am1.example.org"}}},
            "responder": {"hosts": {"fw1": {}}},
        }
    }
}
# The facts gathered on the monitoring hosts (prom1 only lists addresses).
FACTS = [{"name": "Give the host the addresses its facts would list", "ansible.builtin.set_fact": {
    "all_ipv4_addresses": "{{ render_ipv4 }}", "all_ipv6_addresses": "{{ render_ipv6 }}", "cacheable": True},
    "when": "render_ipv4 is defined"}]
# What the resolver script printed on fw1: {name: [addresses]}.
RESOLVED = {"am1": [], "am1.example.org": ["198.51.100.7"], "prom1": ["192.0.2.5"], "192.0.2.5": ["192.0.2.5"],
            "prom2": ["192.0.2.6", "2001:db8::6"]}
CATALOG = [
    {"name": "SshBruteForce", "response": {"action": "block", "source_label": "source_ip", "ttl": "1h"}},
    {"name": "HostDown"},
    {"name": "PortScan", "response": {"action": "block", "source_label": "src"}},
]

SCENARIOS: Dict[str, Dict[str, Any]] = {
    "defaults": {"__responder_resolved": {"stdout": json.dumps(RESOLVED)}},
    "responses": {
        "alert_catalog_effective": CATALOG,
        "responder_responses": [{"alertname": "ManualBlock", "action": "block", "source_label": "ip"}],
        "__responder_resolved": {"stdout": json.dumps(RESOLVED)},
    },
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Dict[str, Dict[str, Any]]]:
    return render_scenarios(tmp_path_factory, "responder", SCENARIOS, NAMES, INVENTORY, hosts="responder",
                            extra_task_vars=PREFLIGHT, setup_tasks=FACTS)


test_scenario_matches_golden_file = golden_test("responder", SCENARIOS)


def test_responses_come_from_the_catalog_then_the_inventory(rendered):
    assert rendered["responses"]["fw1"]["_responder_responses"] == [
        {"alertname": "SshBruteForce", "action": "block", "source_label": "source_ip", "ttl": "1h"},
        {"alertname": "PortScan", "action": "block", "source_label": "src"},
        {"alertname": "ManualBlock", "action": "block", "source_label": "ip"},
    ]
    assert rendered["defaults"]["fw1"]["_responder_responses"] == []


def test_every_address_of_each_monitoring_host(rendered):
    hosts = rendered["defaults"]["fw1"]["__responder_hosts"]
    assert hosts["prom1"] == ["192.0.2.5", "192.0.2.5", "192.0.2.5", "10.1.0.5", "2001:db8::5"]
    assert hosts["prom2"] == ["192.0.2.6", "2001:db8::6", "192.0.2.6", "2001:db8::6"]
    assert hosts["am1"] == ["198.51.100.7"]
