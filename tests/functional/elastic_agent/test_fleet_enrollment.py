# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet mode of the elastic_agent role, run by ansible-playbook on localhost.

The role's Fleet steps (tasks_from fleet: agent policy and enrollment token through
Kibana's Fleet API, from the controller) and its enrollment (tasks_from enroll) run
against the in-process Kibana fake (``FakeKibana``: Fleet API shapes, ``kbn-xsrf``
required, basic auth checked) and a stand-in ``elastic-agent`` command that answers
``status --output json`` as Elastic Agent 8.x does (``FleetState`` 6 with
``FleetMessage`` "Not enrolled into Fleet" until it is enrolled, 2 "Connected" after)
and records every ``enroll``. Neither is Elastic software: what a real Fleet Server
does with the token is not shown here.
"""

from __future__ import annotations

import base64
import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from standins.elastic import FakeKibana
from local_playbook import find_ansible_playbook, run_local_playbook

PASSWORD = "lab-only-kibana-password"
FLEET_URL = "https://fleet.lab.invalid:8220"
CA_FILE = "/etc/vigil/tls/ca.crt"

PLAYBOOK = """\
---
- name: Fleet policy, token and enrollment of one agent
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Fleet agent policies and enrollment tokens
      ansible.builtin.include_role:
        name: vigil.monitoring.elastic_agent
        tasks_from: fleet
    - name: Enroll in Fleet
      ansible.builtin.include_role:
        name: vigil.monitoring.elastic_agent
        tasks_from: enroll
"""

# The stand-in: `status --output json` and `enroll`, state in files next to it.
AGENT = """\
#!{python}
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
state = os.path.join(here, "fleet.json")
calls = os.path.join(here, "calls.jsonl")
args = sys.argv[1:]
with open(calls, "a") as handle:
    handle.write(json.dumps(args) + "\\n")
if os.path.exists(os.path.join(here, "daemon-down")):
    print("Error: failed to communicate with Elastic Agent daemon: dial unix "
          "/opt/Elastic/Agent/elastic-agent.sock: connect: no such file or directory", file=sys.stderr)
    sys.exit(1)
if args[:3] == ["status", "--output", "json"]:
    enrolled = os.path.exists(state)
    print(json.dumps({{
        "info": {{"id": "9f1c2d3e-stand-in", "version": "8.17.4", "snapshot": False, "pid": os.getpid()}},
        "state": 2, "message": "Running", "components": [],
        "FleetState": 2 if enrolled else 6,
        "FleetMessage": "Connected" if enrolled else "Not enrolled into Fleet",
    }}, indent=2))
    sys.exit(0)
if args[:1] == ["enroll"]:
    options = dict(a[2:].split("=", 1) for a in args[1:] if a.startswith("--") and "=" in a)
    if "--force" not in args or not (options.get("enrollment-token") or options.get("fleet-server-service-token")):
        print("Error: enroll needs --force in a script, and --enrollment-token or --fleet-server-service-token",
              file=sys.stderr)
        sys.exit(1)
    with open(state, "w") as handle:
        json.dump(options, handle)
    print("Successfully enrolled the Elastic Agent.")
    sys.exit(0)
print("Error: unknown command %r" % args, file=sys.stderr)
sys.exit(1)
"""


@pytest.fixture(scope="module")
def kibana() -> Iterator[FakeKibana]:
    # The role's default Fleet API user is the Fleet identity, never elastic.
    token = base64.b64encode(("vigil_fleet:" + PASSWORD).encode()).decode()
    fake = FakeKibana(expected_auth="Basic " + token).start()
    yield fake
    fake.stop()


class Agent:
    """The stand-in elastic-agent in its own directory."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.dir = directory
        self.binary = directory / "elastic-agent"
        self.binary.write_text(AGENT.format(python=sys.executable), encoding="utf-8")
        self.binary.chmod(self.binary.stat().st_mode | stat.S_IXUSR)

    def calls(self) -> List[List[str]]:
        path = self.dir / "calls.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def enrolls(self) -> List[List[str]]:
        return [c for c in self.calls() if c[:1] == ["enroll"]]

    def enrollment(self) -> Dict[str, str]:
        return json.loads((self.dir / "fleet.json").read_text())


@pytest.fixture
def agent(tmp_path: Path) -> Agent:
    return Agent(tmp_path / "agent")


def run(tmp_path: Path, kibana: FakeKibana, agent: Agent, *args: str, **extra: Any) -> subprocess.CompletedProcess:
    variables = {
        "elastic_agent_mode": "fleet",
        "elastic_agent_policy_id": "vigil-linux",
        "elastic_agent_kibana_url": kibana.url,
        "elastic_agent_kibana_password": PASSWORD,
        "elastic_agent_kibana_wait_retries": 1,
        "elastic_agent_kibana_wait_delay": 1,
        "elastic_agent_fleet_url": FLEET_URL,
        "elastic_agent_fleet_ca_file": CA_FILE,
        "elastic_agent_elasticsearch_ca_file": CA_FILE,
        # The role's own variable, overridden (extra vars win over role vars): the stand-in.
        "_elastic_agent_binary": str(agent.binary),
        # Shown even where the role defers to vigil_no_log: the token must still be hidden.
        "vigil_no_log": False,
    }
    variables.update(extra)
    return run_local_playbook(tmp_path / "run", find_ansible_playbook(), PLAYBOOK, variables, args=("-v",) + args)


def recap_changed(result: subprocess.CompletedProcess) -> int:
    line = next(l for l in result.stdout.splitlines() if l.startswith("localhost") and "changed=" in l)
    return int(line.split("changed=")[1].split()[0])


def issued_token(kibana: FakeKibana, policy_id: str) -> str:
    """The role's key of the policy (name "vigil"; Fleet also made a Default key with the policy)."""
    keys = [
        k
        for k in kibana.enrollment_keys.values()
        if k["policy_id"] == policy_id and k["active"] and k["name"].startswith("vigil (")
    ]
    assert len(keys) == 1, keys
    return keys[0]["api_key"]


def test_a_new_agent_enrolls_once_with_its_policys_token(tmp_path: Path, kibana: FakeKibana, agent: Agent) -> None:
    kibana.reset(kibana.expected_auth)
    first = run(tmp_path, kibana, agent)
    assert first.returncode == 0, first.stdout[-3000:]
    # The policy exists in Fleet with the role's inputs, and the agent enrolled with
    # that policy's token, the Fleet URL and the CA.
    assert ("default", "vigil-linux") in kibana.agent_policies
    token = issued_token(kibana, "vigil-linux")
    assert agent.enrollment() == {"url": FLEET_URL, "enrollment-token": token, "certificate-authorities": CA_FILE}
    assert len(agent.enrolls()) == 1
    assert token not in first.stdout + first.stderr

    # Run again: the agent says it is enrolled, so it is not enrolled again, and Fleet is
    # only read.
    writes_before = len(kibana.writes())
    second = run(tmp_path, kibana, agent)
    assert second.returncode == 0, second.stdout[-3000:]
    assert len(agent.enrolls()) == 1
    assert len(kibana.writes()) == writes_before
    assert recap_changed(second) == 0
    assert token not in second.stdout + second.stderr


def test_an_enrolled_agent_is_left_alone(tmp_path: Path, kibana: FakeKibana, agent: Agent) -> None:
    kibana.reset(kibana.expected_auth)
    (agent.dir / "fleet.json").write_text(json.dumps({"url": FLEET_URL, "enrollment-token": "enrolled-earlier"}))
    result = run(tmp_path, kibana, agent)
    assert result.returncode == 0, result.stdout[-3000:]
    assert agent.enrolls() == []
    assert agent.enrollment()["enrollment-token"] == "enrolled-earlier"


def test_check_mode_neither_writes_to_fleet_nor_enrolls(tmp_path: Path, kibana: FakeKibana, agent: Agent) -> None:
    kibana.reset(kibana.expected_auth)
    result = run(tmp_path, kibana, agent, "--check")
    assert result.returncode == 0, result.stdout[-3000:]
    assert kibana.writes() == []
    assert agent.enrolls() == []
    assert ["status", "--output", "json"] in agent.calls()


def test_an_agent_that_does_not_answer_stops_the_play(tmp_path: Path, kibana: FakeKibana, agent: Agent) -> None:
    kibana.reset(kibana.expected_auth)
    (agent.dir / "daemon-down").write_text("")
    result = run(tmp_path, kibana, agent)
    assert result.returncode != 0
    assert "`elastic-agent status` failed on localhost (rc 1)" in result.stdout
    assert "failed to communicate with Elastic Agent daemon" in result.stdout
    assert "journalctl -u elastic-agent" in result.stdout
    assert agent.enrolls() == []


def test_wrong_kibana_credentials_stop_before_any_enrollment(tmp_path: Path, kibana: FakeKibana, agent: Agent) -> None:
    kibana.reset(kibana.expected_auth)
    result = run(tmp_path, kibana, agent, elastic_agent_kibana_password="not-the-password")
    assert result.returncode != 0
    assert "did not answer 200 (got 401" in result.stdout
    assert agent.calls() == []
    assert "not-the-password" not in result.stdout


SERVICE_TOKEN = "AAEAAWVsYXN0aWMvZmxlZXQtc2VydmVyL3ZpZ2lsLWxhYjpsYWItb25seS1mbGVldC10b2tlbi1zZWNyZXQtNDU2Nw"


def test_the_fleet_server_host_enrolls_with_the_service_token(tmp_path: Path, kibana: FakeKibana, agent: Agent) -> None:
    kibana.reset(kibana.expected_auth)
    fleet_server = {
        "elastic_agent_fleet_server": True,
        "elastic_agent_fleet_server_service_token": SERVICE_TOKEN,
        "elastic_agent_fleet_server_cert_file": "/etc/vigil/tls/host.crt",
        "elastic_agent_fleet_server_key_file": "/etc/vigil/tls/host.key",
        "elastic_agent_elasticsearch_hosts": ["https://es1.lab.invalid:9200"],
    }
    result = run(tmp_path, kibana, agent, **fleet_server)
    assert result.returncode == 0, result.stdout[-3000:]
    # The Fleet Server policy was created with the fleet_server integration, and the
    # agent enrolled into it as Fleet Server, against Elasticsearch, with its certificate.
    policy = kibana.agent_policies[("default", "vigil-fleet-server")]
    assert policy.get("has_fleet_server") is True
    assert any(p["package"]["name"] == "fleet_server" for p in kibana.package_policies.values())
    assert agent.enrollment() == {
        "url": FLEET_URL,
        "certificate-authorities": CA_FILE,
        "fleet-server-es": "https://es1.lab.invalid:9200",
        "fleet-server-es-ca": CA_FILE,
        "fleet-server-service-token": SERVICE_TOKEN,
        "fleet-server-policy": "vigil-fleet-server",
        "fleet-server-port": "8220",
        "fleet-server-cert": "/etc/vigil/tls/host.crt",
        "fleet-server-cert-key": "/etc/vigil/tls/host.key",
    }
    assert SERVICE_TOKEN not in result.stdout + result.stderr
    again = run(tmp_path, kibana, agent, **fleet_server)
    assert again.returncode == 0 and len(agent.enrolls()) == 1 and recap_changed(again) == 0, again.stdout[-3000:]
