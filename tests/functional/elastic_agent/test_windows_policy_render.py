# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Windows host would receive from the elastic_agent role, rendered on the controller.

No Windows host exists here, so the Windows tasks never run. This renders, with the
role's defaults and its Windows variables, the two things they hand to the agent: the
standalone ``elastic-agent.yml`` of the ``vigil-windows`` policy (what
``win_template`` writes) and the Fleet package policies of that policy (what the Fleet
module sends). It shows the event log channels, pipelines and Windows paths are right;
not that Elastic Agent on Windows reads them.
"""

from __future__ import annotations

import json
from typing import Any, Dict

import pytest
import yaml

from local_playbook import ROOT, find_ansible_playbook, role_render_playbook, run_local_playbook

ROLE = ROOT / "roles" / "elastic_agent"

RENDER_TASKS = """\
    - name: Render elastic-agent.yml as win_template would
      ansible.builtin.template:
        src: {role}/templates/elastic-agent.yml.j2
        dest: "{{{{ out_dir }}}}/elastic-agent.yml"
        mode: "0640"
    - name: Write the Fleet package policies of the policy
      ansible.builtin.copy:
        content: "{{{{ _elastic_agent_fleet_package_policies[elastic_agent_policy_id] | to_json }}}}"
        dest: "{{{{ out_dir }}}}/package_policies.json"
        mode: "0640"
"""
RENDER_PLAYBOOK = role_render_playbook(
    "Render the elastic_agent role's Windows policy on the controller",
    ROLE,
    RENDER_TASKS.format(role=ROLE),
    vars_files=("../_elastic_common/defaults/main.yml", "defaults/main.yml", "vars/main.yml", "vars/Windows.yml"),
)

CHANNELS = {
    "vigil-windows-security": ("Security", "vigil.windows_security", "vigil-ecs-windows-security"),
    "vigil-windows-system": ("System", "vigil.windows_system", None),
    "vigil-windows-sysmon": ("Microsoft-Windows-Sysmon/Operational", "vigil.windows_sysmon", None),
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    workdir = tmp_path_factory.mktemp("windows_policy")
    extra = {
        "out_dir": str(workdir),
        "elastic_agent_policy_id": "vigil-windows",
        "elastic_agent_elasticsearch_hosts": ["https://es1.lab.invalid:9200"],
        "elastic_agent_elasticsearch_api_key": "lab-only-id:lab-only-key",
        "ecs_pipelines_enabled": None,
    }
    result = run_local_playbook(workdir, find_ansible_playbook(), RENDER_PLAYBOOK, extra)
    assert result.returncode == 0, result.stdout + result.stderr
    return {
        "config": yaml.safe_load((workdir / "elastic-agent.yml").read_text(encoding="utf-8")),
        "fleet": json.loads((workdir / "package_policies.json").read_text(encoding="utf-8")),
    }


def test_standalone_config_reads_the_three_event_logs(rendered: Dict[str, Any]) -> None:
    inputs = {i["id"]: i for i in rendered["config"]["inputs"]}
    assert set(inputs) == set(CHANNELS)
    for input_id, (channel, dataset, pipeline) in CHANNELS.items():
        (stream,) = inputs[input_id]["streams"]
        assert inputs[input_id]["type"] == "winlog"
        assert stream["name"] == channel
        assert stream["data_stream"] == {"type": "logs", "dataset": dataset}
        assert stream.get("pipeline") == pipeline


def test_standalone_output_uses_the_windows_ca_path(rendered: Dict[str, Any]) -> None:
    output = rendered["config"]["outputs"]["default"]
    assert output["hosts"] == ["https://es1.lab.invalid:9200"]
    assert output["ssl.certificate_authorities"] == ["C:\\ProgramData\\Vigil\\elastic-agent\\elasticsearch-ca.crt"]
    assert output["ssl.verification_mode"] == "full"


def test_fleet_package_policies_use_elastics_windows_integrations(rendered: Dict[str, Any]) -> None:
    """Under Fleet the event logs are Elastic's System (Security, System) and Windows (Sysmon) integrations."""
    policies = {p["name"]: p for p in rendered["fleet"]}
    assert set(policies) == {"vigil-windows-system", "vigil-windows-windows"}
    system = policies["vigil-windows-system"]
    assert system["package"]["name"] == "system"
    streams = {"system.security": {"enabled": True}, "system.system": {"enabled": True}}
    assert system["inputs"]["system-winlog"] == {"enabled": True, "streams": streams}
    # Nothing else of the System integration on Windows hosts (no Linux files, no metrics).
    assert all(not v["enabled"] for k, v in system["inputs"].items() if k != "system-winlog")
    assert "retention security" in system["description"]
    sysmon = policies["vigil-windows-windows"]
    assert sysmon["package"]["name"] == "windows"
    assert list(sysmon["inputs"]["windows-winlog"]["streams"]) == ["windows.sysmon_operational"]
