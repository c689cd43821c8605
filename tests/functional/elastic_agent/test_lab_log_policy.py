# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's log policy as the elastic_agent role renders it (inventories/lab), on the controller.

The role's variables are evaluated by ansible-playbook for every host of the lab inventory's
elastic_agent group, with the lab's group variables and, as each host's facts, what the role's
preflight reads there: whether a syslog daemon is installed. The lab images
(scripts/lab-images.sh: a debootstrap minbase of Debian 12 or 13 with systemd, python3, sudo,
iproute2, ca-certificates, procps) have none, as stock Debian 12 and 13. Checked:

* every Debian host of the lab reads its system logs from the journal (standalone, the lab's mode),
  with Vigil's pipeline, and no syslog facility twice; a host given rsyslog reads the files instead;
* under Fleet, each firewall vendor of the lab's policies is Elastic's integration with Vigil's
  ``logs-<dataset>@custom`` pipeline (uploaded by the ecs_pipelines role in the lab), and the
  generic EDR keeps Vigil's full pipeline.

Nothing here runs an agent, Fleet or Elasticsearch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

from ansible_collections.vigil.monitoring.plugins.module_utils.elastic_integrations import INTEGRATIONS, custom_pipeline
from local_playbook import load_yaml
from role_vars_render import render_role_vars

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "inventories" / "lab"
NAMES = ["_elastic_agent_log_source", "_elastic_agent_standalone_inputs", "_elastic_agent_fleet_package_policies",
         "_elastic_agent_policy_problems", "elastic_agent_mode"]
FIREWALLS = {"fortinet-fortigate": "fortinet_fortigate", "pfsense-filterlog": "pfsense"}
NO_SYSLOG_DAEMON = {"results": [{"item": "/usr/sbin/rsyslogd", "stat": {"exists": False}},
                                {"item": "/usr/sbin/syslog-ng", "stat": {"exists": False}}]}
WITH_RSYSLOG = {"results": [{"item": "/usr/sbin/rsyslogd", "stat": {"exists": True}},
                            {"item": "/usr/sbin/syslog-ng", "stat": {"exists": False}}]}


def lab_group_vars() -> Dict[str, Any]:
    """The lab's group variables, less Ansible's own (ansible_connection would reach the lab's containers:
    this test evaluates variables on the controller only)."""
    found: Dict[str, Any] = {}
    for path in sorted((LAB / "group_vars" / "all").glob("*.yml")):
        found.update(load_yaml(path) or {})
    return {name: value for name, value in found.items() if not name.startswith("ansible_")}


def lab_inventory() -> Dict[str, Any]:
    return yaml.safe_load((LAB / "hosts.yml").read_text(encoding="utf-8"))


def agent_hosts() -> list:
    inventory = lab_inventory()["all"]["children"]
    assert inventory["elastic_agent"] == {"children": {"lab": None}}
    return sorted(inventory["lab"]["hosts"])


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Dict[str, Dict[str, Any]]:
    """Every lab agent host; vigil-edge1 is given rsyslog in a second rendering (``edge1_rsyslog``)."""
    facts = {"name": "The syslog daemons the role's preflight looks for (lab images: none)",
             "ansible.builtin.set_fact": {"__elastic_agent_syslog_daemons": NO_SYSLOG_DAEMON, "os_family": "Debian",
                                          "cacheable": True}}
    found = render_role_vars(tmp_path_factory.mktemp("lab"), "elastic_agent", NAMES, extra_vars=lab_group_vars(),
                             inventory=lab_inventory(), hosts="elastic_agent", setup_tasks=[facts])
    with_rsyslog = {"name": "vigil-edge1 with rsyslog installed",
                    "ansible.builtin.set_fact": {"__elastic_agent_syslog_daemons": WITH_RSYSLOG, "os_family": "Debian",
                                                 "cacheable": True}}
    found["edge1_rsyslog"] = render_role_vars(tmp_path_factory.mktemp("edge1"), "elastic_agent", NAMES,
                                              extra_vars=lab_group_vars(), inventory=lab_inventory(),
                                              hosts="vigil-edge1", setup_tasks=[with_rsyslog])["vigil-edge1"]
    return found


def test_the_lab_policies_pass_the_checks(rendered):
    for host in agent_hosts():
        assert rendered[host]["_elastic_agent_policy_problems"] == [], host


def test_every_debian_host_of_the_lab_reads_the_journal(rendered):
    hosts = agent_hosts()
    assert len(hosts) == 5
    for host in hosts:
        values = rendered[host]
        assert values["elastic_agent_mode"] == "standalone"
        assert values["_elastic_agent_log_source"] == "journald", host
        inputs = {i["id"]: i for i in values["_elastic_agent_standalone_inputs"]}
        auth, syslog = inputs["vigil-linux-auth"], inputs["vigil-linux-syslog"]
        assert auth["type"] == syslog["type"] == "journald", host
        assert auth["streams"][0]["facilities"] == [4, 10]
        assert auth["streams"][0]["pipeline"] == "vigil-ecs-linux-auth"
        # No journal entry read twice: the two inputs' facilities do not overlap, and nothing reads files.
        assert not set(auth["streams"][0]["facilities"]) & set(syslog["streams"][0]["facilities"])
        assert all("paths" not in stream for i in inputs.values() for stream in i["streams"]), host


def test_the_choice_follows_the_facts_of_each_host(rendered):
    values = rendered["edge1_rsyslog"]
    assert values["_elastic_agent_log_source"] == "files"
    auth = next(i for i in values["_elastic_agent_standalone_inputs"] if i["id"] == "vigil-linux-auth")
    assert auth["type"] == "filestream" and "/var/log/auth.log" in auth["streams"][0]["paths"]


def test_under_fleet_each_firewall_is_elastics_integration_with_vigils_custom_pipeline(rendered):
    policies = rendered[agent_hosts()[0]]["_elastic_agent_fleet_package_policies"]["vigil-collectors"]
    by_package = {p["package"]["name"]: p for p in policies}
    uploaded = yaml.safe_load((ROOT / "roles" / "ecs_pipelines" / "defaults" / "main.yml").read_text())[
        "ecs_pipelines_integration_custom"]
    for input_id, integration in FIREWALLS.items():
        entry = INTEGRATIONS[integration]
        policy = by_package[entry["package"]]
        streams = policy["inputs"]["%s-udp" % entry["template"]]["streams"]
        assert list(streams) == [entry["dataset"]]
        assert "pipeline" not in streams[entry["dataset"]].get("vars", {}), "the integration's own pipeline runs"
        assert custom_pipeline(entry) in policy["description"]
        custom = yaml.safe_load((ROOT / "roles" / "ecs_pipelines" / "files" / "integration_custom" /
                                 ("%s.yml" % integration)).read_text())
        assert integration in uploaded and custom["name"] == custom_pipeline(entry)


def test_under_fleet_the_edr_keeps_vigils_pipeline(rendered):
    policies = rendered[agent_hosts()[0]]["_elastic_agent_fleet_package_policies"]["vigil-collectors"]
    (edr,) = [p for p in policies if p["name"] == "vigil-collectors-edr-alerts"]
    assert edr["package"]["name"] == "tcp"
    assert edr["inputs"]["tcp-tcp"]["streams"]["tcp.generic"]["vars"]["pipeline"] == "vigil-ecs-generic-edr"
