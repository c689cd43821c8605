# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Elastic Agent policy filters: the checks, elastic-agent.yml's inputs and Fleet's package policies."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.filter import elastic_agent_package_policies as fleet
from ansible_collections.vigil.monitoring.plugins.filter import elastic_agent_policy_problems as checks
from ansible_collections.vigil.monitoring.plugins.filter import elastic_agent_standalone_inputs as standalone

PIPELINES = ["vigil-ecs-fortinet-fortigate", "vigil-ecs-windows-security"]
RETENTIONS = ["security", "firewall", "system"]
PACKAGES = {"udp": "1.19.1", "tcp": "1.18.1", "filestream": "1.1.2", "winlog": "1.5.1"}


def collector(**changes):
    policy = {"id": "collectors", "namespace": "site_a", "inputs": [
        {"id": "fortigate", "type": "udp", "port": 5514, "dataset": "vigil.fortinet_fortigate",
         "pipeline": "vigil-ecs-fortinet-fortigate", "retention": "firewall"},
        {"id": "app", "type": "filestream", "paths": ["/var/log/app/*.log"], "dataset": "vigil.app", "pipeline": "none",
         "retention": "system"},
        {"id": "security", "type": "winlog", "channel": "Security", "dataset": "vigil.windows_security",
         "pipeline": "vigil-ecs-windows-security", "retention": "security"},
    ]}
    policy.update(changes)
    return policy


def test_the_filters_are_exposed():
    assert checks.FilterModule().filters() == {"elastic_agent_policy_problems": checks.elastic_agent_policy_problems}
    assert standalone.FilterModule().filters() == {"elastic_agent_standalone_inputs": standalone.elastic_agent_standalone_inputs}
    assert fleet.FilterModule().filters() == {"elastic_agent_package_policies": fleet.elastic_agent_package_policies}


# -- checks ---------------------------------------------------------------------


def test_a_good_policy_has_no_problem():
    assert checks.elastic_agent_policy_problems([collector()], PIPELINES, RETENTIONS) == []
    assert checks.elastic_agent_policy_problems([], PIPELINES, RETENTIONS) == []


def test_a_policy_id_used_twice_is_named_once():
    problems = checks.elastic_agent_policy_problems([collector(), collector(), collector(id="other")], PIPELINES, RETENTIONS)
    assert problems == ["policy id collectors is used twice"]


@pytest.mark.parametrize("bad_input, problem", [
    ({"type": "udp", "port": 6000, "dataset": "x.y", "pipeline": "none", "retention": "system"},
     "policy collectors, input #3: every input needs an id, unique in its policy"),
    ({"id": "fortigate", "type": "tcp", "port": 6000, "dataset": "x.y", "pipeline": "none", "retention": "system"},
     "policy collectors, input fortigate: every input needs an id, unique in its policy"),
    ({"id": "n", "type": "syslog", "dataset": "x.y", "pipeline": "none", "retention": "system"},
     "policy collectors, input n: type must be one of udp, tcp, filestream, winlog"),
    ({"id": "n", "type": "tcp", "port": 6000, "dataset": "Vigil-App", "pipeline": "none", "retention": "system"},
     "policy collectors, input n: dataset must be lower case letters, digits, _ or . (no -), e.g. vigil.fortinet_fortigate"),
    ({"id": "n", "type": "tcp", "port": 6000, "dataset": "x.y", "retention": "system"},
     "policy collectors, input n: name the ingest pipeline (pipeline: vigil-ecs-..., or pipeline: none)"),
    ({"id": "n", "type": "tcp", "port": 6000, "dataset": "x.y", "pipeline": "vigil-ecs-acme", "retention": "system"},
     "policy collectors, input n: pipeline vigil-ecs-acme is not defined by any field map; known: "
     "vigil-ecs-fortinet-fortigate, vigil-ecs-windows-security"),
    ({"id": "n", "type": "tcp", "port": 6000, "dataset": "x.y", "pipeline": "none"},
     "policy collectors, input n: retention must be one of security, firewall, system (elasticsearch_retention_policies), "
     "got nothing"),
    ({"id": "n", "type": "tcp", "port": 0, "dataset": "x.y", "pipeline": "none", "retention": "system"},
     "policy collectors, input n: port must be 1-65535"),
    ({"id": "n", "type": "udp", "port": "65536", "dataset": "x.y", "pipeline": "none", "retention": "system"},
     "policy collectors, input n: port must be 1-65535"),
    ({"id": "n", "type": "udp", "dataset": "x.y", "pipeline": "none", "retention": "system"},
     "policy collectors, input n: port must be 1-65535"),
    ({"id": "n", "type": "tcp", "port": "5514", "dataset": "x.y", "pipeline": "none", "retention": "system"},
     "policy collectors, input n: port 5514 is already used by input fortigate; give every vendor its own port so that "
     "it lands on its own pipeline"),
    ({"id": "n", "type": "filestream", "paths": [], "dataset": "x.y", "pipeline": "none", "retention": "system"},
     "policy collectors, input n: filestream needs paths"),
    ({"id": "n", "type": "winlog", "dataset": "x.y", "pipeline": "none", "retention": "system"},
     "policy collectors, input n: winlog needs channel (Security, System, Microsoft-Windows-Sysmon/Operational, ...)"),
])
def test_each_rule_names_the_policy_and_the_input(bad_input, problem):
    policy = collector()
    policy["inputs"].append(bad_input)
    assert checks.elastic_agent_policy_problems([policy], PIPELINES, RETENTIONS) == [problem]


def test_ports_are_per_policy_and_the_id_rule():
    other = collector(id="Branch Office")
    problems = checks.elastic_agent_policy_problems([collector(), other], PIPELINES, RETENTIONS)
    # The same port in two policies is fine (two hosts); the id is not.
    assert problems == ["policy Branch Office: id must be lower case letters, digits, - or _"]


def test_entries_that_are_not_mappings_are_named_not_crashed_on():
    problems = checks.elastic_agent_policy_problems(["collectors"], PIPELINES, RETENTIONS)
    assert problems == ["policy (no id): id must be lower case letters, digits, - or _"]
    problems = checks.elastic_agent_policy_problems([{"id": "p", "inputs": ["udp"]}], PIPELINES, RETENTIONS)
    assert problems[0] == "policy p, input #0: every input needs an id, unique in its policy"
    assert len(problems) == 5


@pytest.mark.parametrize("policies, message", [
    ({"id": "p"}, "elastic_agent_policies must be a list of policies, got dict"),
    ("vigil-linux", "elastic_agent_policies must be a list of policies, got str"),
    ([{"id": "p", "inputs": {"id": "x"}}], "elastic_agent_policies: policy p: inputs must be a list, got dict"),
])
def test_policies_of_the_wrong_shape_fail_naming_the_variable(policies, message):
    with pytest.raises(AnsibleFilterError, match="^%s$" % message):
        checks.elastic_agent_policy_problems(policies, PIPELINES, RETENTIONS)


# -- elastic-agent.yml --------------------------------------------------------------


def test_standalone_inputs_of_each_type():
    udp, files, events = standalone.elastic_agent_standalone_inputs(collector())
    assert udp == {"id": "vigil-fortigate", "type": "udp", "use_output": "default", "data_stream": {"namespace": "site_a"},
                   "streams": [{"id": "vigil-fortigate", "data_stream": {"type": "logs", "dataset": "vigil.fortinet_fortigate"},
                                "host": "0.0.0.0:5514", "pipeline": "vigil-ecs-fortinet-fortigate"}]}
    # Rotated, compressed files are not read again; no pipeline is named for pipeline: none.
    assert files["streams"] == [{"id": "vigil-app", "data_stream": {"type": "logs", "dataset": "vigil.app"},
                                 "paths": ["/var/log/app/*.log"], "prospector.scanner.exclude_files": ["[.]gz$"]}]
    assert events["streams"][0]["name"] == "Security" and events["streams"][0]["pipeline"] == "vigil-ecs-windows-security"


def test_standalone_listen_address_and_default_namespace():
    policy = {"id": "p", "inputs": [{"id": "syslog", "type": "tcp", "port": "6514", "listen_address": "192.0.2.1",
                                     "dataset": "vigil.syslog", "pipeline": "none", "retention": "system"}]}
    (item,) = standalone.elastic_agent_standalone_inputs(policy)
    assert item["streams"][0]["host"] == "192.0.2.1:6514"
    assert item["data_stream"] == {"namespace": "default"}


def test_no_policy_means_no_input():
    assert standalone.elastic_agent_standalone_inputs({}) == []
    assert standalone.elastic_agent_standalone_inputs(None) == []


def test_standalone_refuses_what_the_checks_refuse():
    with pytest.raises(AnsibleFilterError, match="policy p: an input lacks 'dataset'"):
        standalone.elastic_agent_standalone_inputs({"id": "p", "inputs": [{"id": "x", "type": "udp", "port": 1, "pipeline": "none"}]})
    with pytest.raises(AnsibleFilterError, match="must be a mapping, got list"):
        standalone.elastic_agent_standalone_inputs([collector()])


# -- Fleet ---------------------------------------------------------------------------


def test_package_policies_per_policy_and_input():
    found = fleet.elastic_agent_package_policies([collector(), {"id": "empty"}], PACKAGES)
    assert list(found) == ["collectors", "empty"] and found["empty"] == []
    udp, files, events = found["collectors"]
    assert udp == {
        "name": "collectors-fortigate",
        "description": "Vigil: pipeline vigil-ecs-fortinet-fortigate, retention firewall (ILM vigil-firewall), "
                       "data stream logs-vigil.fortinet_fortigate-site_a",
        "namespace": "site_a",
        "package": {"name": "udp", "version": "1.19.1"},
        "inputs": {"udp-udp": {"enabled": True, "streams": {"udp.generic": {"enabled": True, "vars": {
            "data_stream.dataset": "vigil.fortinet_fortigate", "listen_address": "0.0.0.0", "listen_port": 5514,
            "pipeline": "vigil-ecs-fortinet-fortigate"}}}}},
    }
    assert files["inputs"]["filestream-filestream"]["streams"]["filestream.generic"]["vars"] == {
        "data_stream.dataset": "vigil.app", "paths": ["/var/log/app/*.log"]}
    # The winlog integration takes the pipeline as custom YAML.
    assert events["package"] == {"name": "winlog", "version": "1.5.1"}
    assert events["inputs"]["winlogs-winlog"]["streams"]["winlog.winlog"]["vars"] == {
        "data_stream.dataset": "vigil.windows_security", "channel": "Security", "custom": "pipeline: vigil-ecs-windows-security"}


def test_a_network_port_given_as_text_is_a_number_for_fleet():
    policy = collector()
    policy["inputs"][0]["port"] = "5514"
    vars_ = fleet.elastic_agent_package_policies([policy], PACKAGES)["collectors"][0]["inputs"]["udp-udp"]["streams"]
    assert vars_["udp.generic"]["vars"]["listen_port"] == 5514


@pytest.mark.parametrize("policies, packages, message", [
    ([collector()], {"udp": "1"}, "elastic_agent_fleet_packages has no version for its type"),
    ([collector()], ["udp"], "elastic_agent_fleet_packages must map input types to package versions, got list"),
    ([{"inputs": []}], PACKAGES, "a policy or input lacks 'id'"),
])
def test_fleet_refuses_incomplete_input_naming_the_variables(policies, packages, message):
    with pytest.raises(AnsibleFilterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        fleet.elastic_agent_package_policies(policies, packages)
