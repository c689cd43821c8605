# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Elastic side's identities, end to end, run by ansible-playbook on localhost.

The roles' API steps run as site.yml runs them, in order, against the Elasticsearch
and Kibana fakes with security on (standins/elastic_security.py: users, roles, API keys,
authentication and privilege checks; every request records who it authenticated as):

1. bootstrap: the elasticsearch role probes the API and creates one role and user per
   component, as ``elastic`` (the only calls made as elastic);
2. the elasticsearch role's retention (ILM policies, index templates) and the
   ecs_pipelines upload, as the ingest identity;
3. the kibana role's connector and rules, and the opencti role's correlation rule, as
   the rule owner;
4. a standalone agent's output key and the OpenCTI connector's key, minted by their
   issuers from the controller and stored in 0640 files;
5. Grafana's datasource and the minted keys used the way their consumers use them.

Then a second run (nothing written, no new key), check mode on the converged fakes and
on fresh ones (nothing written). These are fakes following Elastic's documented API:
no Elasticsearch, Kibana, Elastic Agent, Grafana or OpenCTI ran here.
"""

from __future__ import annotations

import base64
import json
import stat
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import yaml

from standins.base import Request
from standins.elastic import FakeElasticsearch, FakeKibana
from local_playbook import ROOT, find_ansible_playbook, run_local_playbook

ELASTIC = "bootstrap-only-elastic-password"
PASSWORDS = {
    "elasticsearch_ingest_password": "flow-ingest-password-0001",
    "elasticsearch_kibana_rules_password": "flow-kibana-rules-password-02",
    "elasticsearch_grafana_password": "flow-grafana-password-0003",
    "elasticsearch_agent_writer_password": "flow-agent-writer-password-4",
    "elasticsearch_opencti_password": "flow-opencti-password-00005",
    "elasticsearch_fleet_password": "flow-fleet-password-0000006",
}
OPENCTI_CONNECTOR = {
    "name": "elastic-security-intel",
    "image": "connector-elastic-security-intel",
    "enabled": True,
    "id": "c1e2d3f4-a5b6-4c7d-9e8f-1a2b3c4d5e6f",
    "interval": None,
    "api_key": "",
    "api_key_env": "ELASTIC_SECURITY_API_KEY",
    "environment": {"CONNECTOR_NAME": "Elastic Security Intel"},
}

PLAYBOOK = """\
---
- name: Elasticsearch - bootstrap the identities as elastic, then the retention as the ingest identity
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Can the API steps run
      ansible.builtin.include_role: {name: vigil.monitoring.elasticsearch, tasks_from: api}
    - name: Identities
      ansible.builtin.include_role: {name: vigil.monitoring.elasticsearch, tasks_from: identities}
      when: __elasticsearch_api_ready | bool
    - name: Retention
      ansible.builtin.include_role: {name: vigil.monitoring.elasticsearch, tasks_from: retention}

- name: ECS ingest pipelines, with the variables playbooks/logs.yml gives them
  hosts: localhost
  gather_facts: false
  roles:
    - role: vigil.monitoring.ecs_pipelines
      vars:
        ecs_pipelines_es_host: localhost
        ecs_pipelines_es_url: "{{ elasticsearch_api_url }}"
        ecs_pipelines_es_username: "{{ elasticsearch_ingest_username | default('vigil_ingest') }}"
        ecs_pipelines_es_password: "{{ elasticsearch_ingest_password | default('') }}"

- name: Kibana - the connector and the log-side rules, as the rule owner
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Kibana runs here
      ansible.builtin.set_fact:
        __kibana_unit: {rc: 0}
    - name: Provision
      ansible.builtin.include_role: {name: vigil.monitoring.kibana, tasks_from: provision}

- name: A standalone agent's output key, minted by its issuer from the controller
  hosts: localhost
  gather_facts: false
  tasks:
    - name: The key
      ansible.builtin.include_role: {name: vigil.monitoring.elastic_agent, tasks_from: api_key, public: true}
    - name: Render the output as the role does
      ansible.builtin.copy:
        content: "{{ _elastic_agent_standalone_config.outputs | to_nice_yaml }}"
        dest: "{{ out_dir }}/agent-output.yml"
        mode: "0640"
      no_log: true

- name: OpenCTI - the connector's key, and the correlation rule as the rule owner
  hosts: localhost
  gather_facts: false
  tasks:
    - name: The connector's key
      ansible.builtin.include_role: {name: vigil.monitoring.opencti, tasks_from: elastic_key, public: true}
    - name: The role would keep this key (the connector is enabled, its key not vaulted, the issuer known)
      ansible.builtin.assert:
        that: _opencti_elastic_key_managed | bool
    - name: The connector's environment gets that key
      ansible.builtin.copy:
        content: "{{ (_opencti_connectors | selectattr('name', 'equalto', 'elastic-security-intel') | first).api_key }}"
        dest: "{{ out_dir }}/opencti-connector-key"
        mode: "0640"
      no_log: true
    - name: Correlation rule
      ansible.builtin.include_role: {name: vigil.monitoring.opencti, tasks_from: correlation}

- name: Grafana - the Elasticsearch datasource as rendered
  hosts: localhost
  gather_facts: false
  vars_files:
    - {root}/roles/grafana/defaults/main.yml
    - {root}/roles/grafana/vars/main.yml
  tasks:
    - name: Write the datasource
      ansible.builtin.copy:
        content: "{{ _grafana_elasticsearch_datasources | to_json }}"
        dest: "{{ out_dir }}/grafana-datasources.json"
        mode: "0640"
      no_log: true
"""


def variables(es: FakeElasticsearch, kibana: FakeKibana, out: Path) -> Dict[str, Any]:
    """What an inventory would give (the passwords from its vault)."""
    values: Dict[str, Any] = dict(PASSWORDS)
    values.update(
        out_dir=str(out),
        elasticsearch_api_url=es.url,
        elasticsearch_api_external=True,
        elasticsearch_elastic_password=ELASTIC,
        elasticsearch_api_delay=1,
        ecs_pipelines_enabled=["windows_security"],
        ecs_pipelines_render_dir=str(out / "pipelines"),
        # The fake cannot evaluate the pipelines' `if` conditions; _simulate's privilege is
        # covered by tests/functional/security/test_elastic_identities.py.
        ecs_pipelines_simulate=False,
        kibana_api_url=kibana.url,
        kibana_api_retries=2,
        kibana_api_delay=1,
        kibana_alertmanager_url="https://alertmanager.lab.invalid:9093/api/v2/alerts",
        elastic_agent_mode="standalone",
        elastic_agent_elasticsearch_hosts=[es.url],
        elastic_agent_elasticsearch_ca_file="/etc/vigil/tls/ca.crt",
        _elastic_agent_config_dir=str(out / "elastic-agent"),
        opencti_base_dir=str(out / "opencti"),
        opencti_connectors=[OPENCTI_CONNECTOR],
        opencti_elastic_connector_url=es.url,
        opencti_kibana_url=kibana.url,
        opencti_kibana_delegate_to="localhost",
        grafana_elasticsearch_url=es.url,
        # Shown even where the roles defer to vigil_no_log: secrets must still be hidden.
        vigil_no_log=False,
    )
    return values


class Stack:
    """The two fakes, the output directory, and the runs made against them."""

    def __init__(self, tmp: Path) -> None:
        self.es = FakeElasticsearch(elastic_password=ELASTIC).start()
        self.kibana = FakeKibana(security=self.es).start()
        self.out = tmp / "out"
        for sub in ("elastic-agent", "opencti"):
            (self.out / sub).mkdir(parents=True, exist_ok=True)
        self.tmp = tmp
        self.runs: Dict[str, subprocess.CompletedProcess] = {}
        self.marks: Dict[str, Tuple[int, int]] = {}
        self.ends: Dict[str, Tuple[int, int]] = {}

    def run(self, label: str, *args: str) -> subprocess.CompletedProcess:
        self.marks[label] = (len(self.es.requests), len(self.kibana.requests))
        playbook = PLAYBOOK.replace("{root}", str(ROOT))
        result = run_local_playbook(self.tmp / label, find_ansible_playbook(), playbook,
                                    variables(self.es, self.kibana, self.out), args=args)  # fmt: skip
        self.runs[label] = result
        self.ends[label] = (len(self.es.requests), len(self.kibana.requests))
        return result

    def es_requests(self, label: str) -> List[Request]:
        """The requests the run made (not those the tests make afterwards as consumers)."""
        return self.es.requests[self.marks[label][0]:self.ends[label][0]]

    def kibana_requests(self, label: str) -> List[Request]:
        return self.kibana.requests[self.marks[label][1]:self.ends[label][1]]

    def stop(self) -> None:
        self.kibana.stop()
        self.es.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    find_ansible_playbook()
    fakes = Stack(tmp_path_factory.mktemp("identities"))
    for label, args in (("first", ()), ("second", ()), ("check", ("--check", "--diff"))):
        result = fakes.run(label, *args)
        assert result.returncode == 0, "%s run failed:\n%s\n%s" % (label, result.stdout[-6000:], result.stderr[-2000:])
    yield fakes
    fakes.stop()


def recap_changed(result: subprocess.CompletedProcess) -> int:
    line = next(l for l in result.stdout.splitlines() if l.startswith("localhost") and "changed=" in l)
    return int(line.split("changed=")[1].split()[0])


def is_bootstrap(req: Request) -> bool:
    return req.path == "/_security/_authenticate" or req.path.startswith(("/_security/role/", "/_security/user/"))


def writes(requests: List[Request]) -> List[Request]:
    return [r for r in requests if r.method in ("POST", "PUT", "DELETE", "PATCH") and not r.path.endswith("/_simulate")]


# -- the first run ---------------------------------------------------------------------


def test_elastic_only_bootstraps_the_identities_then_never_authenticates_again(stack: Stack) -> None:
    first = stack.es_requests("first")
    as_elastic = [i for i, r in enumerate(first) if r.auth == "elastic"]
    component_calls = [i for i, r in enumerate(first) if not r.path.startswith("/_security/")]
    assert as_elastic, "the bootstrap did not run as elastic"
    # Every call made as elastic is a bootstrap call (probe, roles, users) ...
    assert {first[i].path.split("/")[2] for i in as_elastic} <= {"_authenticate", "role", "user"}
    assert all(is_bootstrap(first[i]) for i in as_elastic)
    # ... and all of them come before the first call of any component.
    assert max(as_elastic) < min(component_calls)
    # Nothing after the first run's bootstrap, and nothing on Kibana, is elastic.
    later = stack.es_requests("second") + stack.es_requests("check")
    assert [r for r in later if r.auth == "elastic" and not is_bootstrap(r)] == []
    assert [r for r in stack.kibana.requests if r.auth == "elastic"] == []


def test_the_bootstrap_created_one_role_and_user_per_component(stack: Stack) -> None:
    realm = stack.es.security
    names = {"vigil_ingest", "vigil_kibana_rules", "vigil_grafana", "vigil_agent_writer", "vigil_opencti",
             "vigil_fleet"}  # fmt: skip
    assert names <= set(realm.roles) and names <= set(realm.users)
    for name in names:
        assert realm.users[name]["roles"] == [name]
    assert realm.roles["vigil_ingest"]["cluster"] == ["manage_ingest_pipelines", "manage_index_templates", "manage_ilm",
                                                      "manage_slm"]
    assert realm.roles["vigil_grafana"]["indices"][0]["privileges"] == ["read", "view_index_metadata"]


def test_each_component_used_exactly_its_identity(stack: Stack) -> None:
    first = stack.es_requests("first")
    by_path: Dict[str, set] = {}
    for req in first:
        if not is_bootstrap(req):
            by_path.setdefault(req.path.split("/")[1], set()).add(req.auth)
    assert by_path["_ilm"] == {"vigil_ingest"}
    assert by_path["_index_template"] == {"vigil_ingest"}
    assert by_path["_component_template"] == {"vigil_ingest"}
    assert by_path["_ingest"] == {"vigil_ingest"}
    keys = [r for r in first if r.path == "/_security/api_key"]
    owners = {(r.body or {}).get("name") or "get": r.auth for r in keys if r.method == "POST"}
    assert owners == {"vigil-agent-localhost": "vigil_agent_writer",
                      "vigil-opencti-elastic-security-intel": "vigil_opencti"}  # fmt: skip
    kibana_auth = {(r.path.split("/")[2], r.auth) for r in stack.kibana_requests("first")}
    assert kibana_auth == {("status", "vigil_kibana_rules"), ("actions", "vigil_kibana_rules"),
                           ("alerting", "vigil_kibana_rules"), ("detection_engine", "vigil_kibana_rules")}  # fmt: skip


def test_the_rules_run_as_the_rule_owner(stack: Stack) -> None:
    assert stack.kibana.rules, "no rule was written"
    assert {rule["api_key_owner"] for rule in stack.kibana.rules.values()} == {"vigil_kibana_rules"}
    assert {rule["created_by"] for rule in stack.kibana.detection.values()} == {"vigil_kibana_rules"}


def test_the_written_objects_are_there(stack: Stack) -> None:
    assert stack.es.policies and stack.es.templates
    # The enabled field map's pipeline and the @custom pipelines Vigil attaches to Elastic's integrations
    # (ecs_pipelines_integration_custom), all uploaded as the ingest identity (see the uploads' test).
    assert sorted(stack.es.pipelines) == ["logs-cisco_ios.log@custom", "logs-fortinet_fortigate.log@custom",
                                          "logs-pfsense.log@custom", "vigil-ecs-windows-security"]


def held_key(path: Path) -> str:
    assert stat.S_IMODE(path.stat().st_mode) == 0o640, path
    return path.read_text(encoding="utf-8").strip()


def test_the_agent_writes_its_data_streams_with_its_key_and_nothing_else(stack: Stack) -> None:
    key = held_key(stack.out / "elastic-agent" / "vigil-output.key")
    output = yaml.safe_load((stack.out / "agent-output.yml").read_text(encoding="utf-8"))
    assert output["default"]["api_key"] == key  # id:key, what Elastic Agent's output takes
    header = {"authorization": "ApiKey " + base64.b64encode(key.encode()).decode()}
    assert post(stack.es, "/logs-vigil.linux_auth-default/_doc", header) == 201
    assert post(stack.es, "/metrics-elastic_agent.filebeat-default/_doc", header) == 201
    assert post(stack.es, "/.kibana/_doc", header) == 403
    assert post(stack.es, "/logs-vigil.linux_auth-default/_search", header, body=None) == 403


def test_the_opencti_connector_key_is_in_its_environment_and_limited(stack: Stack) -> None:
    key = held_key(stack.out / "opencti" / "elastic-security-intel.key")
    assert (stack.out / "opencti-connector-key").read_text(encoding="utf-8") == key  # encoded, as the connector wants
    header = {"authorization": "ApiKey " + key}
    assert post(stack.es, "/logs-ti_custom_opencti.indicator/_doc", header) == 201
    assert post(stack.es, "/logs-vigil.linux_auth-default/_doc", header) == 403


def test_grafana_reads_logs_only(stack: Stack) -> None:
    (datasource,) = json.loads((stack.out / "grafana-datasources.json").read_text(encoding="utf-8"))
    assert datasource["basicAuth"] is True and datasource["basicAuthUser"] == "vigil_grafana"
    password = datasource["secureJsonData"]["basicAuthPassword"]
    header = {"authorization": "Basic " + base64.b64encode(("vigil_grafana:" + password).encode()).decode()}
    assert post(stack.es, "/logs-*/_search", header, body=None) == 200
    assert post(stack.es, "/.kibana/_search", header, body=None) == 403
    assert post(stack.es, "/logs-vigil.linux_auth-default/_doc", header) == 403


def test_no_secret_in_any_output(stack: Stack) -> None:
    secrets = [ELASTIC] + list(PASSWORDS.values())
    secrets += [held_key(stack.out / "elastic-agent" / "vigil-output.key"),
                held_key(stack.out / "opencti" / "elastic-security-intel.key")]  # fmt: skip
    for label, result in stack.runs.items():
        text = result.stdout + result.stderr
        assert [s for s in secrets if s in text] == [], label


# -- the second run and check mode ------------------------------------------------------


def test_a_second_run_writes_nothing_and_mints_no_key(stack: Stack) -> None:
    assert recap_changed(stack.runs["second"]) == 0
    assert writes(stack.es_requests("second")) == []
    assert writes(stack.kibana_requests("second")) == []
    assert len(stack.es.security.api_keys) == 2


def test_check_mode_on_the_converged_stack_writes_nothing(stack: Stack) -> None:
    assert recap_changed(stack.runs["check"]) == 0
    assert writes(stack.es_requests("check")) == []
    assert writes(stack.kibana_requests("check")) == []


def test_check_mode_on_a_fresh_cluster_writes_nothing_and_says_what_it_skipped(tmp_path: Path) -> None:
    fresh = Stack(tmp_path)
    try:
        result = fresh.run("fresh", "--check")
        assert result.returncode == 0, result.stdout[-6000:]
        assert writes(fresh.es.requests) == [] and writes(fresh.kibana.requests) == []
        assert set(fresh.es.security.users) == {"elastic"} and fresh.es.security.api_keys == {}
        assert "SKIPPED (check mode)" in result.stdout
        assert not (fresh.out / "elastic-agent" / "vigil-output.key").exists()
    finally:
        fresh.stop()


def post(es: FakeElasticsearch, path: str, headers: Dict[str, str], body: Any = "doc") -> int:
    """One request the way a consumer makes it; the status Elasticsearch (the fake) answers."""
    from ansible.module_utils.urls import open_url

    data = json.dumps({"@timestamp": "2026-01-01T00:00:00Z", "message": "x"}) if body == "doc" else None
    try:
        answer = open_url(es.url + path, data=data, method="POST" if data else "GET",
                          headers=dict(headers, **{"content-type": "application/json"}))  # fmt: skip
        return answer.status
    except Exception as err:  # noqa: BLE001 - HTTPError carries the status
        return getattr(err, "code", -1)
