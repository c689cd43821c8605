# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Agent inputs that name Elastic's integrations (Fleet) and read the journal (hosts without syslog files)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.filter import elastic_agent_package_policies as fleet
from ansible_collections.vigil.monitoring.plugins.filter import elastic_agent_policy_problems as checks
from ansible_collections.vigil.monitoring.plugins.filter import elastic_agent_standalone_inputs as standalone

PIPELINES = ["vigil-ecs-fortinet-fortigate", "vigil-ecs-linux-auth", "vigil-ecs-generic-edr"]
RETENTIONS = ["security", "firewall", "system"]
PACKAGES = {"udp": "1.19.1", "tcp": "1.18.1", "filestream": "1.1.2", "winlog": "1.5.1",
            "fortinet_fortigate": "1.25.6", "system": "1.64.0"}
AUTH = {"id": "linux-auth", "type": "filestream", "paths": ["/var/log/auth.log"], "dataset": "vigil.linux_auth",
        "pipeline": "vigil-ecs-linux-auth", "retention": "security", "integration": "system_auth",
        "journald_facilities": [4, 10]}
SYSLOG = {"id": "linux-syslog", "type": "filestream", "paths": ["/var/log/syslog"], "dataset": "vigil.linux_syslog",
          "pipeline": "none", "retention": "system", "integration": "system_syslog",
          "journald_facilities": [0, 1, 2, 3, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23]}
FORTIGATE = {"id": "fortigate", "type": "udp", "port": 5514, "dataset": "vigil.fortinet_fortigate",
             "pipeline": "vigil-ecs-fortinet-fortigate", "retention": "firewall", "integration": "fortinet_fortigate"}
EDR = {"id": "edr", "type": "tcp", "port": 5520, "dataset": "vigil.edr", "pipeline": "vigil-ecs-generic-edr",
       "retention": "security"}


def policy(*inputs, policy_id="p"):
    return {"id": policy_id, "namespace": "site_a", "inputs": list(inputs)}


# -- checks -------------------------------------------------------------------------------


def test_integrations_and_journal_inputs_pass_the_checks():
    assert checks.elastic_agent_policy_problems([policy(AUTH, SYSLOG, FORTIGATE, EDR)], PIPELINES, RETENTIONS) == []


@pytest.mark.parametrize("changed, problem", [
    (dict(FORTIGATE, integration="fortinet"), "policy p, input fortigate: integration fortinet is not one Vigil knows"),
    (dict(FORTIGATE, integration="system_auth"), "policy p, input fortigate: integration system_auth reads filestream or "
                                                 "journald inputs, not udp"),
    (dict(FORTIGATE, journald_facilities=[4]), "policy p, input fortigate: journald_facilities is for filestream inputs"),
    (dict(AUTH, journald_facilities=[4, 24]), "policy p, input linux-auth: journald_facilities must be a non-empty list"),
    (dict(AUTH, journald_facilities="4,10"), "policy p, input linux-auth: journald_facilities must be a non-empty list"),
])
def test_each_mistake_names_the_policy_and_the_input(changed, problem):
    found = checks.elastic_agent_policy_problems([policy(changed)], PIPELINES, RETENTIONS)
    assert any(p.startswith(problem) for p in found), found


def test_a_facility_read_by_two_journal_inputs_is_refused():
    found = checks.elastic_agent_policy_problems([policy(AUTH, dict(SYSLOG, journald_facilities=[1, 4]))],
                                                 PIPELINES, RETENTIONS)
    assert found == ["policy p: inputs linux-auth and linux-syslog both read syslog facility 4 from the journal; each "
                     "journal entry would be shipped twice"]


def test_two_inputs_on_one_integration_stream_are_refused():
    found = checks.elastic_agent_policy_problems([policy(FORTIGATE, dict(FORTIGATE, id="fgt2", port=5600))],
                                                 PIPELINES, RETENTIONS)
    assert found == ["policy p: inputs fortigate and fgt2 both use fortinet_fortigate's fortinet_fortigate.log stream "
                     "over udp; Fleet has one per policy"]


# -- Fleet package policies -----------------------------------------------------------------


def test_an_integration_input_becomes_elastics_package_with_the_other_inputs_off():
    (fortigate,) = fleet.elastic_agent_package_policies([policy(FORTIGATE)], PACKAGES)["p"]
    assert fortigate["name"] == "p-fortinet_fortigate"
    assert fortigate["package"] == {"name": "fortinet_fortigate", "version": "1.25.6"}
    assert fortigate["inputs"] == {
        "fortinet_fortigate-logfile": {"enabled": False},
        "fortinet_fortigate-tcp": {"enabled": False},
        "fortinet_fortigate-udp": {"enabled": True, "streams": {"fortinet_fortigate.log": {
            "enabled": True, "vars": {"syslog_host": "0.0.0.0", "syslog_port": 5514, "preserve_original_event": True}}}},
    }
    # No pipeline variable: the integration's own pipeline runs and calls Vigil's @custom one.
    assert "pipeline" not in str(fortigate["inputs"])
    assert "logs-fortinet_fortigate.log@custom" in fortigate["description"]


def test_a_source_without_integration_keeps_vigils_pipeline_under_fleet():
    policies = fleet.elastic_agent_package_policies([policy(FORTIGATE, EDR)], PACKAGES)["p"]
    edr = next(p for p in policies if p["name"] == "p-edr")
    assert edr["package"]["name"] == "tcp"
    assert edr["inputs"]["tcp-tcp"]["streams"]["tcp.generic"]["vars"]["pipeline"] == "vigil-ecs-generic-edr"


def test_linux_logs_are_one_system_package_policy_with_files_and_journal_streams():
    (system,) = fleet.elastic_agent_package_policies([policy(AUTH, SYSLOG)], PACKAGES)["p"]
    assert system["name"] == "p-system" and system["package"] == {"name": "system", "version": "1.64.0"}
    inputs = system["inputs"]
    assert inputs["system-logfile"]["streams"] == {
        "system.auth": {"enabled": True, "vars": {"paths": ["/var/log/auth.log"]}},
        "system.syslog": {"enabled": True, "vars": {"paths": ["/var/log/syslog"]}},
    }
    # The journald streams: the integration's conditions pick files or journal on each agent, never both.
    assert inputs["system-journald"] == {"enabled": True, "streams": {"system.auth": {"enabled": True},
                                                                      "system.syslog": {"enabled": True}}}
    # Nothing else of the System integration (metrics, Windows event logs, httpjson) is collected.
    assert {k: v for k, v in inputs.items() if k not in ("system-logfile", "system-journald")} == {
        "system-winlog": {"enabled": False}, "system-system/metrics": {"enabled": False},
        "system-httpjson": {"enabled": False}}


def test_a_missing_integration_version_names_the_variable():
    with pytest.raises(AnsibleFilterError, match="elastic_agent_fleet_packages has no version for its type or "
                                                 "integration package"):
        fleet.elastic_agent_package_policies([policy(FORTIGATE)], {"udp": "1"})


# -- standalone: the journal on hosts without syslog files ---------------------------------


def test_on_a_journald_host_the_linux_inputs_read_the_journal_with_vigils_pipeline():
    auth, syslog, fortigate = standalone.elastic_agent_standalone_inputs(policy(AUTH, SYSLOG, FORTIGATE), "journald")
    assert auth["type"] == "journald"
    assert auth["streams"] == [{"id": "vigil-linux-auth", "data_stream": {"type": "logs", "dataset": "vigil.linux_auth"},
                                "facilities": [4, 10], "pipeline": "vigil-ecs-linux-auth"}]
    assert syslog["type"] == "journald" and 4 not in syslog["streams"][0]["facilities"]
    assert "paths" not in str(auth)
    # Network inputs do not change, and standalone agents keep Vigil's full pipeline for integrations' sources too.
    assert fortigate["type"] == "udp" and fortigate["streams"][0]["pipeline"] == "vigil-ecs-fortinet-fortigate"


def test_on_a_host_with_syslog_files_the_files_are_read():
    auth, _syslog = standalone.elastic_agent_standalone_inputs(policy(AUTH, SYSLOG), "files")
    assert auth["type"] == "filestream" and auth["streams"][0]["paths"] == ["/var/log/auth.log"]
    assert "facilities" not in auth["streams"][0]


def test_an_unknown_log_source_is_refused():
    with pytest.raises(AnsibleFilterError, match="log_source must be one of files, journald"):
        standalone.elastic_agent_standalone_inputs(policy(AUTH), "syslog")
