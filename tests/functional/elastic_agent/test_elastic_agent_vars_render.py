# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the elastic_agent role computes from its policies and the inventory, on the controller.

The role's variables are evaluated by ansible-playbook (no agent, no Elasticsearch):
the policy checks' findings, the pipelines an input may name, the Elasticsearch output
URLs, the standalone inputs of elastic-agent.yml and the Fleet package policies. Each
scenario is also kept whole in tests/golden/role_vars/ (see role_vars_render.py).
"""

from __future__ import annotations

from typing import Any, Dict

import pytest

from role_vars_render import ELASTICSEARCH_GROUP, golden_test, render_scenarios

NAMES = [
    "_elastic_agent_known_pipelines",
    "_elastic_agent_policy_problems",
    "_elastic_agent_elasticsearch_hosts",
    "_elastic_agent_standalone_inputs",
    "_elastic_agent_standalone_config",
    "_elastic_agent_fleet_package_policies",
]

INVENTORY = {
    "all": {
        "children": {
            "elasticsearch": ELASTICSEARCH_GROUP,
            "agents": {
                "hosts": {
                    "collector1": {"elastic_agent_policy_id": "vigil-collectors"},
                    "linux1": {"elastic_agent_policy_id": "vigil-linux"},
                    "win1": {"elastic_agent_policy_id": "vigil-windows"},
                }
            },
        }
    }
}

CUSTOM_MAP = {"vendor": "Acme", "product": "Edge FW", "parse": []}

# Every rule of the policy checks broken once, each in its own input.
BAD_POLICIES = [
    {"id": "Bad Id", "inputs": [
        {"id": "a", "type": "udp", "port": 6000, "dataset": "ok.one", "pipeline": "none", "retention": "security"},
        {"id": "a", "type": "smoke", "dataset": "Not-OK", "retention": "forever"},
        {"type": "tcp", "port": "6000", "dataset": "ok.two", "pipeline": "vigil-ecs-unknown", "retention": "system"},
        {"id": "b", "type": "udp", "port": 6000, "dataset": "ok.three", "pipeline": "none", "retention": "system"},
        {"id": "c", "type": "tcp", "port": 70000, "dataset": "ok.four", "pipeline": "none", "retention": "system"},
        {"id": "d", "type": "filestream", "dataset": "ok.five", "pipeline": "none", "retention": "system"},
        {"id": "e", "type": "winlog", "channel": "", "dataset": "ok.six", "pipeline": "none", "retention": "system"},
    ]},
    {"id": "dup", "inputs": []},
    {"id": "dup"},
    {"name": "no id at all"},
]

# A custom policy: namespace, listen address, a custom map's pipeline, an extra pipeline.
CUSTOM_POLICIES = [
    {"id": "edge", "namespace": "branch", "inputs": [
        {"id": "acme", "type": "udp", "port": 6514, "listen_address": "198.51.100.7", "dataset": "vigil.acme",
         "pipeline": "vigil-ecs-acme-edge-fw", "retention": "firewall"},
        {"id": "app", "type": "filestream", "paths": ["/srv/app/*.log"], "dataset": "vigil.app",
         "pipeline": "site-app", "retention": "debug"},
        {"id": "audit", "type": "tcp", "port": 6601, "dataset": "vigil.audit", "pipeline": "none", "retention": "security"},
        {"id": "forwarded", "type": "winlog", "channel": "ForwardedEvents", "dataset": "vigil.forwarded",
         "pipeline": "vigil-ecs-windows-security", "retention": "security"},
    ]},
]

SCENARIOS: Dict[str, Dict[str, Any]] = {
    "defaults": {"ecs_pipelines_enabled": None},
    "custom": {
        "ecs_pipelines_enabled": ["windows_security", "cisco_ios"],
        "ecs_pipelines_custom_field_maps": [CUSTOM_MAP],
        "elastic_agent_extra_pipelines": ["site-app", "vigil-ecs-cisco-ios"],
        "elastic_agent_elasticsearch_hosts": ["https://logs.example.org:9243"],
        "elastic_agent_policies": CUSTOM_POLICIES,
        "elastic_agent_policy_id": "edge",
    },
    "bad": {"ecs_pipelines_enabled": [], "elastic_agent_policies": BAD_POLICIES, "elastic_agent_policy_id": "dup"},
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Dict[str, Dict[str, Any]]]:
    # With bad policies the role stops at its policy check: nothing else is computed.
    return render_scenarios(tmp_path_factory, "elastic_agent", SCENARIOS, lambda name: NAMES[:2] if name == "bad" else NAMES,
                            INVENTORY, hosts="agents")


test_scenario_matches_golden_file = golden_test("elastic_agent", SCENARIOS)


def test_known_pipelines_follow_the_enabled_field_maps(rendered):
    assert rendered["defaults"]["linux1"]["_elastic_agent_known_pipelines"] == [
        "vigil-ecs-cisco-ios", "vigil-ecs-fortinet-fortigate", "vigil-ecs-generic-edr", "vigil-ecs-linux-auth",
        "vigil-ecs-pfsense-filterlog", "vigil-ecs-windows-security",
    ]
    # Enabled maps in file order, the custom map, the extra pipelines, no name twice.
    assert rendered["custom"]["linux1"]["_elastic_agent_known_pipelines"] == [
        "vigil-ecs-cisco-ios", "vigil-ecs-windows-security", "vigil-ecs-acme-edge-fw", "site-app",
    ]


def test_shipped_policies_have_no_problem(rendered):
    assert rendered["defaults"]["linux1"]["_elastic_agent_policy_problems"] == []
    assert rendered["custom"]["linux1"]["_elastic_agent_policy_problems"] == []


def test_every_problem_names_the_policy_and_input(rendered):
    problems = rendered["bad"]["linux1"]["_elastic_agent_policy_problems"]
    assert problems[0] == "policy id dup is used twice"
    expected = [
        "policy Bad Id: id must be lower case letters, digits, - or _",
        "policy Bad Id, input a: every input needs an id, unique in its policy",
        "policy Bad Id, input a: type must be one of udp, tcp, filestream, winlog",
        "policy Bad Id, input a: dataset must be lower case letters, digits, _ or . (no -), e.g. vigil.fortinet_fortigate",
        "policy Bad Id, input a: name the ingest pipeline (pipeline: vigil-ecs-..., or pipeline: none)",
        "policy Bad Id, input a: retention must be one of security, firewall, network, system, debug "
        "(elasticsearch_retention_policies), got forever",
        "policy Bad Id, input #2: every input needs an id, unique in its policy",
        "policy Bad Id, input #2: pipeline vigil-ecs-unknown is not defined by any field map; known: ",
        "policy Bad Id, input #2: port 6000 is already used by input a; give every vendor its own port so that it "
        "lands on its own pipeline",
        "policy Bad Id, input b: port 6000 is already used by input a; give every vendor its own port so that it "
        "lands on its own pipeline",
        "policy Bad Id, input c: port must be 1-65535",
        "policy Bad Id, input d: filestream needs paths",
        "policy Bad Id, input e: winlog needs channel (Security, System, Microsoft-Windows-Sysmon/Operational, ...)",
        "policy (no id): id must be lower case letters, digits, - or _",
    ]
    assert problems[1:] == expected


def test_output_hosts_come_from_the_elasticsearch_group(rendered):
    assert rendered["defaults"]["linux1"]["_elastic_agent_elasticsearch_hosts"] == [
        "https://192.0.2.10:9200", "https://[2001:db8::12]:9201", "https://[2001:db8::13]:9200", "https://es4:9200",
    ]
    assert rendered["custom"]["linux1"]["_elastic_agent_elasticsearch_hosts"] == ["https://logs.example.org:9243"]


def test_standalone_inputs_of_a_collector(rendered):
    inputs = rendered["defaults"]["collector1"]["_elastic_agent_standalone_inputs"]
    assert inputs[0] == {
        "id": "vigil-fortinet-fortigate", "type": "udp", "use_output": "default",
        "data_stream": {"namespace": "default"},
        "streams": [{"id": "vigil-fortinet-fortigate", "data_stream": {"type": "logs", "dataset": "vigil.fortinet_fortigate"},
                     "host": "0.0.0.0:5514", "pipeline": "vigil-ecs-fortinet-fortigate"}],
    }
    assert [i["streams"][0]["host"] for i in inputs] == ["0.0.0.0:5514", "0.0.0.0:5515", "0.0.0.0:5516", "0.0.0.0:5520"]


def test_standalone_inputs_of_a_custom_policy(rendered):
    inputs = {i["id"]: i for i in rendered["custom"]["linux1"]["_elastic_agent_standalone_inputs"]}
    assert inputs["vigil-acme"]["data_stream"] == {"namespace": "branch"}
    assert inputs["vigil-acme"]["streams"][0]["host"] == "198.51.100.7:6514"
    app = inputs["vigil-app"]["streams"][0]
    assert app["paths"] == ["/srv/app/*.log"] and app["prospector.scanner.exclude_files"] == ["[.]gz$"]
    assert app["pipeline"] == "site-app"
    assert "pipeline" not in inputs["vigil-audit"]["streams"][0]
    assert inputs["vigil-forwarded"]["streams"][0]["name"] == "ForwardedEvents"


def test_fleet_package_policies_per_policy(rendered):
    policies = rendered["custom"]["linux1"]["_elastic_agent_fleet_package_policies"]
    assert list(policies) == ["edge"]
    acme, app, audit, forwarded = policies["edge"]
    assert [p["name"] for p in policies["edge"]] == ["edge-acme", "edge-app", "edge-audit", "edge-forwarded"]
    assert acme["description"].endswith("data stream logs-vigil.acme-branch") and acme["namespace"] == "branch"
    assert acme["inputs"]["udp-udp"]["streams"]["udp.generic"]["vars"]["listen_address"] == "198.51.100.7"
    assert app["inputs"]["filestream-filestream"]["streams"]["filestream.generic"]["vars"] == {
        "data_stream.dataset": "vigil.app", "paths": ["/srv/app/*.log"], "pipeline": "site-app"}
    assert "pipeline" not in audit["inputs"]["tcp-tcp"]["streams"]["tcp.generic"]["vars"]
    assert forwarded["inputs"]["winlogs-winlog"]["streams"]["winlog.winlog"]["vars"] == {
        "data_stream.dataset": "vigil.forwarded", "channel": "ForwardedEvents",
        "custom": "pipeline: vigil-ecs-windows-security"}
    defaults = rendered["defaults"]["linux1"]["_elastic_agent_fleet_package_policies"]
    assert list(defaults) == ["vigil-linux", "vigil-windows", "vigil-collectors"]
