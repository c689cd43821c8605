# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The elasticsearch role's retention, run by ansible-playbook against the Elasticsearch fake.

A cluster of three nodes in the inventory (es2 a warm, es3 a cold data node), a shared file
system snapshot repository, an SLM policy the ILM delete phase waits for, and a Fleet-managed
integration template already on the "cluster" (as Fleet installs it, composing its @custom
hooks). The role's API steps (api, identities, retention) run as site.yml runs them, with
security on: the first run writes, a second run changes and writes nothing, check mode on the
converged fake writes nothing, and check mode on a fresh fake writes nothing and says what it
skipped. This is the fake following Elastic's documented API (request bodies checked against
the 8.17 specification), not Elasticsearch.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from standins.base import Request
from standins.elastic import FakeElasticsearch
from local_playbook import find_ansible_playbook, recap_changed, run_local_playbook

ELASTIC = "retention-VIGIL-MARKER-elastic"
INGEST = "retention-VIGIL-MARKER-ingest-01"
PATH_REPO = "/srv/vigil-snapshots"
FLEET_TEMPLATE = {
    # What Fleet installs for the FortiGate integration (trimmed): its own priority 200 and hooks.
    "index_patterns": ["logs-fortinet_fortigate.log-*"],
    "data_stream": {},
    "priority": 200,
    "composed_of": ["logs@mappings", "logs@settings", "logs-fortinet_fortigate.log@package", "logs@custom",
                    "logs-fortinet_fortigate.log@custom", "ecs@mappings"],
    "ignore_missing_component_templates": ["logs@custom", "logs-fortinet_fortigate.log@custom",
                                           "logs-fortinet_fortigate.log@package"],
    "_meta": {"managed_by": "fleet", "managed": True, "package": {"name": "fortinet_fortigate"}},
}

INVENTORY = """\
all:
  children:
    elasticsearch:
      hosts:
        es1: {ansible_connection: local, elasticsearch_node_roles: [master, data_hot, data_content, ingest]}
        es2: {ansible_connection: local, elasticsearch_node_roles: [data_warm]}
        es3: {ansible_connection: local, elasticsearch_node_roles: [data_cold]}
"""

PLAYBOOK = """\
---
- name: Elasticsearch API steps (bootstrap as elastic, retention as the ingest identity)
  hosts: es1
  gather_facts: false
  tasks:
    - name: Can the API steps run
      ansible.builtin.include_role: {name: vigil.monitoring.elasticsearch, tasks_from: api}
    - name: Identities and the snapshot repository
      ansible.builtin.include_role: {name: vigil.monitoring.elasticsearch, tasks_from: identities}
      when: __elasticsearch_api_ready | bool
    - name: Retention
      ansible.builtin.include_role: {name: vigil.monitoring.elasticsearch, tasks_from: retention}
"""


def variables(es: FakeElasticsearch, out: Path) -> Dict[str, object]:
    return {
        "elasticsearch_api_url": es.url,
        "elasticsearch_api_external": True,
        "elasticsearch_api_delay": 1,
        "elasticsearch_elastic_password": ELASTIC,
        "elasticsearch_ingest_password": INGEST,
        "elasticsearch_snapshot_repository_type": "fs",
        "elasticsearch_snapshot_path_repo": PATH_REPO,
        "elasticsearch_retention_wait_for_snapshot": "vigil-logs-nightly",
        "elasticsearch_retention_render_dir": str(out / "render"),
        "vigil_no_log": False,
    }


class Cluster:
    def __init__(self, tmp: Path, fleet: bool = True) -> None:
        self.es = FakeElasticsearch(elastic_password=ELASTIC).start()
        self.es.path_repo = [PATH_REPO]
        if fleet:
            self.es.templates["logs-fortinet_fortigate.log"] = dict(FLEET_TEMPLATE)
        self.tmp = tmp
        self.runs: Dict[str, subprocess.CompletedProcess] = {}
        self.spans: Dict[str, List[Request]] = {}

    def run(self, label: str, *args: str) -> subprocess.CompletedProcess:
        start = len(self.es.requests)
        result = run_local_playbook(self.tmp / label, find_ansible_playbook(), PLAYBOOK, variables(self.es, self.tmp),
                                    inventory=INVENTORY, args=args)
        self.runs[label] = result
        self.spans[label] = self.es.requests[start:]
        return result


def writes(requests: List[Request]) -> List[Request]:
    return [r for r in requests if r.method in ("PUT", "POST", "DELETE") and r.path != "/_security/_authenticate"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    find_ansible_playbook()
    fake = Cluster(tmp_path_factory.mktemp("retention"))
    for label, args in (("first", ()), ("second", ()), ("check", ("--check", "--diff"))):
        result = fake.run(label, *args)
        assert result.returncode == 0, "%s run failed:\n%s\n%s" % (label, result.stdout[-6000:], result.stderr[-2000:])
    yield fake
    fake.es.stop()


def test_the_first_run_writes_repository_slm_ilm_hooks_and_owned_templates_in_order(cluster: Cluster) -> None:
    order = [r.path.split("/")[1] for r in writes(cluster.spans["first"]) if not r.path.startswith("/_security/")]
    # The repository (bootstrap), then SLM before ILM (wait_for_snapshot), hooks before the templates composing them.
    firsts = [order.index(kind) for kind in ("_snapshot", "_slm", "_ilm", "_component_template", "_index_template")]
    assert firsts == sorted(firsts), order
    es = cluster.es
    assert es.repositories["vigil-snapshots"]["settings"] == {"location": PATH_REPO + "/vigil-snapshots", "compress": "true"}
    assert es.slm_policies["vigil-logs-nightly"]["policy"]["repository"] == "vigil-snapshots"
    assert sorted(es.policies) == ["vigil-debug", "vigil-firewall", "vigil-network", "vigil-security", "vigil-system"]


def test_tiers_from_the_inventory_make_hot_warm_cold_delete_and_delete_waits_for_the_snapshot(cluster: Cluster) -> None:
    phases = cluster.es.policies["vigil-firewall"]["policy"]["phases"]
    assert sorted(phases) == ["cold", "delete", "hot", "warm"]
    assert (phases["warm"]["min_age"], phases["cold"]["min_age"], phases["delete"]["min_age"]) == ("7d", "30d", "365d")
    assert set(phases["warm"]["actions"]) == {"set_priority", "readonly", "forcemerge", "shrink"}
    assert phases["delete"]["actions"]["wait_for_snapshot"] == {"policy": "vigil-logs-nightly"}
    # The debug class turns warm and cold off: hot then delete.
    assert sorted(cluster.es.policies["vigil-debug"]["policy"]["phases"]) == ["delete", "hot"]


def test_fleet_templates_are_left_alone_and_get_the_lifecycle_through_their_custom_hook(cluster: Cluster) -> None:
    es = cluster.es
    touched = {r.path for r in writes(cluster.spans["first"])}
    assert "/_index_template/logs-fortinet_fortigate.log" not in touched
    assert es.templates["logs-fortinet_fortigate.log"]["_meta"]["managed_by"] == "fleet"
    assert "logs-fortinet_fortigate.log@custom" in es.templates["logs-fortinet_fortigate.log"]["composed_of"]
    hook = es.component_templates["logs-fortinet_fortigate.log@custom"]["template"]["settings"]
    assert hook["index.lifecycle.name"] == "vigil-firewall"
    # No Vigil index template for an integration's data stream; Vigil's own stay below Fleet's 200.
    vigil = {name: t for name, t in es.templates.items() if t.get("_meta", {}).get("managed_by") == "vigil"}
    assert "vigil-logs-vigil.edr" in vigil and "vigil-logs-vigil.fortinet_fortigate" in vigil
    assert all(name.startswith("vigil-logs-vigil.") for name in vigil)  # only the data streams Vigil owns
    assert {t["priority"] for t in vigil.values()} == {150}
    assert all(t["composed_of"][-1] == "logs-%s@custom" % name[len("vigil-logs-"):] for name, t in vigil.items())


def test_identities_elastic_registers_only_the_repository_and_ingest_writes_the_rest(cluster: Cluster) -> None:
    first = writes(cluster.spans["first"])
    by_kind: Dict[str, set] = {}
    for req in first:
        if not req.path.startswith("/_security/"):
            by_kind.setdefault(req.path.split("/")[1], set()).add(req.auth)
    assert by_kind == {"_snapshot": {"elastic"}, "_slm": {"vigil_ingest"}, "_ilm": {"vigil_ingest"},
                       "_component_template": {"vigil_ingest"}, "_index_template": {"vigil_ingest"}}
    assert cluster.es.security.roles["vigil_ingest"]["cluster"] == [
        "manage_ingest_pipelines", "manage_index_templates", "manage_ilm", "manage_slm"]
    assert cluster.es.rejected == []


def test_the_render_holds_everything_written(cluster: Cluster) -> None:
    import json

    rendered = json.loads((cluster.tmp / "render" / "vigil-retention.json").read_text(encoding="utf-8"))
    assert rendered["tiers"] == ["hot", "warm", "cold"]
    assert set(rendered["component_templates"]) == set(cluster.es.component_templates)
    assert set(rendered["slm_policies"]) == {"vigil-logs-nightly"}
    assert rendered["snapshot_repository"]["type"] == "fs"


def test_a_second_run_changes_and_writes_nothing(cluster: Cluster) -> None:
    assert recap_changed(cluster.runs["second"].stdout, "es1") == 0
    assert writes(cluster.spans["second"]) == []


def test_check_mode_on_the_converged_cluster_writes_nothing(cluster: Cluster) -> None:
    assert recap_changed(cluster.runs["check"].stdout, "es1") == 0
    assert writes(cluster.spans["check"]) == []


def test_check_mode_reports_a_changed_class_and_writes_nothing(cluster: Cluster, tmp_path: Path) -> None:
    before = len(cluster.es.requests)
    result = run_local_playbook(tmp_path, find_ansible_playbook(), PLAYBOOK,
                                dict(variables(cluster.es, cluster.tmp), elasticsearch_retention_cold_after="45d"),
                                inventory=INVENTORY, args=("--check", "--diff"))
    assert result.returncode == 0, result.stdout[-4000:]
    assert writes(cluster.es.requests[before:]) == []
    # Every class's cold phase moves (debug has none): four ILM policies would change, shown in the diff.
    assert recap_changed(result.stdout, "es1") >= 1
    assert '"min_age": "45d"' in result.stdout or "min_age: 45d" in result.stdout


def test_check_mode_on_a_fresh_cluster_writes_nothing_and_says_what_it_skipped(tmp_path: Path) -> None:
    fresh = Cluster(tmp_path)
    try:
        result = fresh.run("fresh", "--check")
        assert result.returncode == 0, result.stdout[-4000:]
        assert writes(fresh.es.requests) == []
        assert "SKIPPED (check mode)" in result.stdout or "SKIPPED: check mode" in result.stdout
    finally:
        fresh.es.stop()


def test_no_secret_in_any_output(cluster: Cluster) -> None:
    for label, result in cluster.runs.items():
        text = result.stdout + result.stderr
        assert ELASTIC not in text and INGEST not in text, label
