# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The privileges Vigil grants on the Elastic side, checked without running anything.

* Every privilege name the roles grant (the elasticsearch role's identities, the agent
  and OpenCTI connector key descriptors) is one of Elasticsearch's documented names
  (derived from elastic/elasticsearch-specification) or a Kibana privilege Vigil knows.
* Each minted key asks for no more than its issuer holds (an API key can never exceed
  its owner, so a wider descriptor would silently not work).
* The rule owner can read every index the shipped rules query.
* The ingest identity's four cluster privileges cover every call the pipeline, ILM, SLM and
  template modules make, _simulate included (run against the secured fake).
* The derive script parses the specification the way the committed data says.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import yaml

from ansible_collections.vigil.monitoring.plugins.module_utils import elastic_privileges_data as data
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic_security import descriptor_errors
from ansible_collections.vigil.monitoring.plugins.modules import elasticsearch_component_template as component_module
from ansible_collections.vigil.monitoring.plugins.modules import elasticsearch_ilm_policy as ilm_module
from ansible_collections.vigil.monitoring.plugins.modules import elasticsearch_index_template as template_module
from ansible_collections.vigil.monitoring.plugins.modules import elasticsearch_ingest_pipeline as pipeline_module
from ansible_collections.vigil.monitoring.plugins.modules import elasticsearch_slm_policy as slm_module
from ansible_collections.vigil.monitoring.plugins.modules import elasticsearch_snapshot_repository as repository_module
from standins.elastic import FakeElasticsearch, module_failure
from local_playbook import ROOT

SCRIPT = ROOT / "scripts" / "derive_elastic_privileges.py"
SPEC_REPO = Path(os.environ.get("VIGIL_ES_SPEC_REPO", "/work/.mirror/elastic+elasticsearch-specification/repo"))


def load(path: str) -> Dict[str, Any]:
    return yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))


def identities() -> List[Dict[str, Any]]:
    return load("roles/elasticsearch/vars/main.yml")["_elasticsearch_identities"]


def granted() -> Dict[str, Dict[str, Any]]:
    """Every role descriptor Vigil grants: the identities' roles and the minted keys' descriptors."""
    out = {"identity %s" % i["component"]: i["role"] for i in identities()}
    agent = load("roles/elastic_agent/vars/main.yml")["_elastic_agent_api_key_descriptors"]
    opencti = load("roles/opencti/vars/main.yml")["_opencti_elastic_connector_descriptors"]
    out.update({"agent key %s" % k: v for k, v in agent.items()})
    out.update({"opencti key %s" % k: v for k, v in opencti.items()})
    return out


def privilege_names(descriptor: Dict[str, Any]) -> List[str]:
    names = list(descriptor.get("cluster") or [])
    for entry in (descriptor.get("indices") or []) + (descriptor.get("applications") or []):
        names.extend(entry.get("privileges") or [])
    return names


@pytest.mark.parametrize("where", sorted(granted()))
def test_every_granted_privilege_is_a_documented_name(where: str) -> None:
    descriptor = granted()[where]
    names = privilege_names(descriptor)
    assert names, "%s grants nothing" % where
    # Templated privilege names would escape this check: they must be literal.
    assert not [n for n in names if "{" in n], where
    assert descriptor_errors(descriptor, where) == []


def test_a_misspelt_privilege_would_be_caught_with_the_closest_name() -> None:
    role = dict(identities()[0]["role"], cluster=["manage_ingest_pipeline"])
    (error,) = descriptor_errors(role, "identity ingest")
    assert "unknown privilege 'manage_ingest_pipeline'" in error and "manage_ingest_pipelines" in error


def test_the_names_come_from_the_pinned_specification() -> None:
    version = load("roles/elasticsearch/defaults/main.yml")["elasticsearch_version"]
    if version.replace(" ", "") == "{{_elastic_common_stack_version}}":  # the one Elastic version
        version = load("roles/_elastic_common/defaults/main.yml")["_elastic_common_stack_version"]
    assert data.SPEC_REF == ".".join(version.split(".")[:2])
    assert data.SPEC_LICENSE == "Apache-2.0"
    assert {"manage_ingest_pipelines", "manage_index_templates", "manage_ilm", "manage_own_api_key"} <= set(
        data.CLUSTER_PRIVILEGES
    )
    assert {"create_doc", "auto_configure", "read", "view_index_metadata"} <= set(data.INDEX_PRIVILEGES)


def test_the_ingest_identity_has_exactly_the_four_upload_privileges() -> None:
    (ingest,) = [i for i in identities() if i["name"] == "{{ elasticsearch_ingest_username }}"]
    assert ingest["role"] == {"cluster": ["manage_ingest_pipelines", "manage_index_templates", "manage_ilm", "manage_slm"]}


def covered(names: List[str], patterns: List[str]) -> bool:
    return all(any(fnmatch.fnmatchcase(n.rstrip("*"), p) or n == p for p in patterns) for n in names)


def test_each_key_asks_for_no_more_than_its_issuer_holds() -> None:
    es_defaults = load("roles/elasticsearch/defaults/main.yml")
    by_component = {i["component"]: i["role"] for i in identities()}
    agent_issuer = by_component["Elastic Agent output keys (issuer)"]
    agent_key = load("roles/elastic_agent/vars/main.yml")["_elastic_agent_api_key_descriptors"]["vigil_agent_output"]
    agent_default = load("roles/elastic_agent/defaults/main.yml")["elastic_agent_api_key_indices"]
    # Both default to the same data streams (the agent role reads the elasticsearch role's variable).
    assert "elasticsearch_agent_indices" in agent_default
    assert es_defaults["elasticsearch_agent_indices"] == ["logs-*-*", "metrics-*-*"]
    assert set(agent_key["indices"][0]["privileges"]) <= set(agent_issuer["indices"][0]["privileges"])
    assert not agent_key.get("cluster") and not agent_key.get("applications")

    opencti_issuer = by_component["OpenCTI Elastic Security Intel connector key (issuer)"]
    opencti_keys = load("roles/opencti/vars/main.yml")["_opencti_elastic_connector_descriptors"]
    opencti_key = opencti_keys["vigil_opencti_connector"]
    assert set(opencti_key["cluster"]) <= set(opencti_issuer["cluster"]) - {"manage_own_api_key"}
    index = load("roles/opencti/defaults/main.yml")["opencti_elastic_connector_index"]
    assert covered([index + "*"], es_defaults["elasticsearch_opencti_indices"])
    for key_entry, issuer_entry in zip(opencti_key["indices"], opencti_issuer["indices"]):
        assert set(key_entry["privileges"]) <= set(issuer_entry["privileges"])
    assert opencti_key["applications"][0]["privileges"] == opencti_issuer["applications"][0]["privileges"]


def test_the_rule_owner_reads_every_index_the_shipped_rules_query() -> None:
    readable = load("roles/elasticsearch/defaults/main.yml")["elasticsearch_kibana_rules_indices"]
    indices = [i for rule in load("roles/kibana/defaults/main.yml")["kibana_log_rules"] for i in rule["index"]]
    opencti = load("roles/opencti/defaults/main.yml")
    rule = opencti["opencti_c2_correlation_rule"]
    indices += rule["index"] + [opencti["opencti_elastic_connector_index"] + "*"]
    assert indices and covered(indices, readable), (indices, readable)
    (owner,) = [i for i in identities() if i["name"] == "{{ elasticsearch_kibana_rules_username }}"]
    assert owner["role"]["indices"][0] == {"names": "{{ elasticsearch_kibana_rules_indices }}",
                                           "privileges": ["read", "view_index_metadata"]}  # fmt: skip


# -- the ingest identity against the secured fake --------------------------------------

ELASTIC = "bootstrap-only-elastic-pw"
INGEST_PASSWORD = "ingest-identity-password"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeElasticsearch]:
    fake = FakeElasticsearch(elastic_password=ELASTIC).start()
    yield fake
    fake.stop()


def as_ingest(es: FakeElasticsearch, cluster: List[str]) -> Dict[str, Any]:
    es.reset()
    realm = es.security
    realm.roles["vigil_ingest"] = {"cluster": cluster, "indices": [], "applications": [], "run_as": [], "metadata": {}}
    realm.users["vigil_ingest"] = {"username": "vigil_ingest", "roles": ["vigil_ingest"], "full_name": None,
                                   "email": None, "metadata": {}, "enabled": True,
                                   "password": INGEST_PASSWORD}  # fmt: skip
    return {"url": es.url, "url_username": "vigil_ingest", "url_password": INGEST_PASSWORD, "retry_delay": 0}


PIPELINE = {"description": "t", "processors": [{"set": {"field": "event.kind", "value": "event"}}]}
SAMPLES = [{"document": {"message": "x"}, "expected": {"event": {"kind": "event"}}}]
POLICY = {
    "phases": {
        "hot": {"actions": {"rollover": {"max_age": "1d"}}},
        "delete": {"min_age": "7d", "actions": {"delete": {}}},
    }
}
TEMPLATE = {"index_patterns": ["logs-vigil.debug-*"], "data_stream": {}, "priority": 150}
COMPONENT = {"template": {"settings": {"index.lifecycle.name": "vigil-debug"}}}
SLM = {"name": "<vigil-{now/d}>", "schedule": "0 30 1 * * ?", "repository": "vigil-snapshots",
       "retention": {"expire_after": "30d", "min_count": 7, "max_count": 100}}
UPLOAD_PRIVILEGES = ["manage_ingest_pipelines", "manage_index_templates", "manage_ilm", "manage_slm"]


def with_repository(server: FakeElasticsearch) -> None:
    """The repository elastic registers in the bootstrap (registering one needs manage)."""
    server.repositories["vigil-snapshots"] = {"type": "fs", "uuid": "_na_", "settings": {"location": "/srv/s/v"}}


def test_the_four_privileges_cover_every_upload_call_simulate_included(run_module, server) -> None:
    auth = as_ingest(server, UPLOAD_PRIVILEGES)
    with_repository(server)

    run_module(pipeline_module, dict(auth, name="vigil-t", body=PIPELINE, simulate_samples=SAMPLES))
    run_module(ilm_module, dict(auth, name="vigil-debug", policy=POLICY))
    run_module(component_module, dict(auth, name="logs-vigil.debug@custom", body=COMPONENT))
    run_module(template_module, dict(auth, name="vigil-logs-debug", body=TEMPLATE))
    run_module(slm_module, dict(auth, name="vigil-nightly", policy=SLM))

    calls = {(r.method, r.path) for r in server.requests}
    assert ("POST", "/_ingest/pipeline/_simulate") in calls
    assert {r.auth for r in server.requests} == {"vigil_ingest"}
    assert "vigil-t" in server.pipelines and "vigil-debug" in server.policies and "vigil-logs-debug" in server.templates
    assert "logs-vigil.debug@custom" in server.component_templates and "vigil-nightly" in server.slm_policies


def test_the_ingest_identity_cannot_register_a_repository(run_module, server) -> None:
    failed = module_failure(run_module, repository_module, dict(as_ingest(server, UPLOAD_PRIVILEGES), name="vigil-snapshots",
                                                                type="fs", settings={"location": "/srv/s/v"}))
    assert failed["status"] == 403 and server.repositories == {}


@pytest.mark.parametrize(
    "missing, module, args",
    [
        ("manage_ingest_pipelines", pipeline_module, dict(name="vigil-t", body=PIPELINE, simulate_samples=SAMPLES)),
        ("manage_ilm", ilm_module, dict(name="vigil-debug", policy=POLICY)),
        ("manage_index_templates", template_module, dict(name="vigil-logs-debug", body=TEMPLATE)),
        ("manage_index_templates", component_module, dict(name="logs-vigil.debug@custom", body=COMPONENT)),
        ("manage_slm", slm_module, dict(name="vigil-nightly", policy=SLM)),
    ],
)
def test_each_of_the_four_is_needed(run_module, server, missing, module, args) -> None:
    auth = as_ingest(server, [p for p in UPLOAD_PRIVILEGES if p != missing])
    with_repository(server)
    failed = module_failure(run_module, module, dict(auth, **args))
    assert failed["status"] == 403


# -- the derive script -----------------------------------------------------------------

SPEC = """
export enum ClusterPrivilege {
  all,
  /**
   * @availability stack
   */
  manage_ilm,
  /**
   * @availability serverless
   */
  read_project_routing,
  monitor
}
export enum RemoteClusterPrivilege {
  monitor_enrich
}
export enum IndexPrivilege {
  read,
  /**
   * @availability stack since=8.0.0
   * @availability serverless
   */
  create_doc
}
"""


def derive_module():
    spec = importlib.util.spec_from_file_location("derive_elastic_privileges", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_derive_keeps_stack_names_sorted_and_drops_serverless_only_ones() -> None:
    derived = derive_module().derive(SPEC)
    assert derived["CLUSTER_PRIVILEGES"] == ("all", "manage_ilm", "monitor")
    assert derived["INDEX_PRIVILEGES"] == ("create_doc", "read")
    assert derived["REMOTE_CLUSTER_PRIVILEGES"] == ("monitor_enrich",)


def test_derive_refuses_a_file_that_is_not_the_specification(tmp_path: Path) -> None:
    source = tmp_path / "Privileges.ts"
    source.write_text("export enum Something { a }\n", encoding="utf-8")
    result = subprocess.run([sys.executable, str(SCRIPT), "--source", str(source), "--output", str(tmp_path / "o.py")],
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode != 0 and "ClusterPrivilege not found" in result.stderr


@pytest.mark.skipif(not (SPEC_REPO / "HEAD").exists(), reason="no clone of elastic/elasticsearch-specification "
                    "(set VIGIL_ES_SPEC_REPO to one)")  # fmt: skip
def test_the_committed_data_is_what_the_script_derives_from_the_specification() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "--repo", str(SPEC_REPO), "--ref", data.SPEC_REF, "--check"],
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
