# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the elasticsearch role computes from the inventory and its settings, on the controller.

The role's variables are evaluated by ansible-playbook (no Elasticsearch): the cluster's
masters and seed hosts as elasticsearch.yml lists them, the service tokens as the file
store holds them, the ILM policies and index templates of the retention, and the roles of
the component identities. Each scenario is also kept whole in tests/golden/role_vars/
(see role_vars_render.py).
"""

from __future__ import annotations

import base64
from typing import Any, Dict

import pytest

from role_vars_render import golden_test, render_scenarios, task_vars

NAMES = [
    "_elasticsearch_master_hosts",
    "_elasticsearch_master_node_names",
    "_elasticsearch_seed_hosts",
    "_elasticsearch_discovery_settings",
    "_elasticsearch_api_host",
    "_elasticsearch_service_token_entries",
    "_elasticsearch_retention",
    "_elasticsearch_snapshot_repository",
    "_elasticsearch_slm_policies",
    "_elasticsearch_snapshot_settings",
    "_elasticsearch_identity_roles",
    "__elasticsearch_bad_tokens",
    "__elasticsearch_bad_identities",
    "__elasticsearch_sysctl_low",
    "__elasticsearch_token_existing",
]
# The task programs: the preflight's token and identity checks, the kernel check, the token store.
TASK_VARS = dict(
    task_vars("elasticsearch", "preflight.yml", "Assert the service-account tokens are bearer tokens"),
    **task_vars("elasticsearch", "preflight.yml", "Assert the component identities are usable"),
    **task_vars("elasticsearch", "kernel.yml", "Compare the kernel settings with what Elasticsearch needs"),
    **task_vars("elasticsearch", "secrets.yml", "Write the service token store (hashes only)"),
)
BAD_NAMES = ["__elasticsearch_bad_tokens", "__elasticsearch_bad_identities", "__elasticsearch_sysctl_low",
             "_elasticsearch_retention_problems"]

CLUSTER = {
    "all": {
        "children": {
            "elasticsearch": {
                "hosts": {
                    "es1": {"ansible_host": "192.0.2.10", "elasticsearch_node_roles": ["master", "data"]},
                    "es2": {"ansible_host": "2001:db8::12", "elasticsearch_node_roles": ["data", "ingest"],
                            "elasticsearch_node_name": "data-two"},
                    "es3": {"elasticsearch_node_name": "es-three"},
                    "es4": {"ansible_host": "[2001:db8::14]", "elasticsearch_node_roles": ["master"]},
                }
            }
        }
    }
}
# The same hosts with data tiers: es2 holds the warm and cold tiers.
TIERED = {"all": {"children": {"elasticsearch": {"hosts": dict(
    CLUSTER["all"]["children"]["elasticsearch"]["hosts"],
    es2={"ansible_host": "2001:db8::12", "elasticsearch_node_roles": ["data_warm", "data_cold", "ingest"],
         "elasticsearch_node_name": "data-two"})}}}}
SINGLE = {"all": {"hosts": {"logs1": {"ansible_host": "198.51.100.20"}}}}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# What slurp read from /proc/sys (content), per elasticsearch_sysctl entry (item).
SYSCTL = {"results": [
    {"content": b64("262144\n"), "item": {"key": "vm.max_map_count", "value": 262144}},
    {"content": b64("65530\n"), "item": {"key": "vm.swappiness_floor", "value": "100000"}},
    {"content": b64("not a number\n"), "item": {"key": "fs.file-max", "value": 10}},
]}
STORE = {"content": b64("elastic/kibana/vigil-kibana:$2a$10$render.test.hash.one\n"
                        " elastic/fleet-server/fleet : $2b$10$render.test.hash.two \nno separator here\n\n")}


def token(text: str, prefix: bytes = b"\x00\x01\x00\x01") -> str:
    """A bearer token as Elasticsearch makes them: base64 without padding."""
    return base64.b64encode(prefix + text.encode()).decode().rstrip("=")


TOKENS = [
    token("elastic/kibana/vigil-kibana:render-test-secret-0001"),
    token("elastic/fleet-server/fleet:short"),
    token("elastic/kibana/vigil-kibana-2:render-test-secret-0002", prefix=b"\x00\x01\x00\x02"),
    token("no-slashes:render-test-secret-0003"),
    token("elastic/kibana/no-secret"),
]

AGENT_POLICIES = [
    {"id": "edge", "inputs": [
        {"id": "acme", "dataset": "vigil.acme", "retention": "firewall"},
        {"id": "app", "dataset": "vigil.app", "retention": "short"},
        {"id": "nothing", "retention": "short"},
        {"id": "norentention", "dataset": "vigil.other"},
        {"id": "dup", "dataset": "vigil.fortinet_fortigate", "retention": "firewall"},
    ]},
    {"id": "no-inputs"},
]
RETENTION = [
    {"name": "firewall", "delete_after": "400d", "cold_after": "60d", "datasets": ["fortinet_fortigate.log"],
     "mappings": {"properties": {"organization": {"properties": {"site": {"type": "keyword"}}}}}},
    {"name": "short", "delete_after": "3d", "warm_after": "1d", "cold_after": "", "priority": "120", "rollover_max_age": "6h",
     "phases": {"hot": {"actions": {"rollover": {"max_docs": 1000}}}}},
]
EXTRA_IDENTITY = {"name": "site_reader", "password": "render-test-password-site", "component": "site dashboards",
                  "role": {"indices": [{"names": ["logs-site-*"], "privileges": ["read"]}]}}

SCENARIOS: Dict[str, Dict[str, Any]] = {
    "single": ({"__elasticsearch_sysctl_current": {"results": []}}, SINGLE),
    "cluster": ({"__elasticsearch_bootstrapped": False, "__elasticsearch_sysctl_current": SYSCTL}, CLUSTER),
    "custom": ({
        "__elasticsearch_sysctl_current": SYSCTL,
        "__elasticsearch_tokens_current": STORE,
        "__elasticsearch_bootstrapped": True,
        "elasticsearch_seed_hosts": ["seed1.example.org:9300", "[2001:db8::99]:9300"],
        "elasticsearch_service_tokens": TOKENS,
        "elasticsearch_retention_policies": RETENTION,
        "elasticsearch_retention_agent_policies": AGENT_POLICIES,
        "elasticsearch_ingest_password": "render-test-password-ingest",
        "elasticsearch_grafana_password": "render-test-password-grafana",
        "elasticsearch_kibana_space": "soc",
        "elasticsearch_kibana_rules_password": "render-test-password-rules",
        "elasticsearch_identities_extra": [EXTRA_IDENTITY, {"name": "no_password_yet", "role": {}}],
        "elasticsearch_snapshot_repository_type": "fs",
        "elasticsearch_snapshot_path_repo": "/mnt/es-snapshots",
        "elasticsearch_retention_wait_for_snapshot": "vigil-logs-nightly",
    }, TIERED),
    # Unusable identities: the role stops at its preflight, nothing else is computed.
    "bad": ({
        "__elasticsearch_sysctl_current": {"results": []},
        "elasticsearch_grafana_password": "short-password",
        "elasticsearch_ingest_password": "render-test-password-ingest",
        "elasticsearch_identities_extra": [
            {"name": "elastic", "password": "render-test-password-elastic", "role": {}},
            {"name": "vigil_ingest", "password": "render-test-password-again", "role": {}},
            {"password": "render-test-password-noname", "role": {}},
            {"name": "no_role", "password": "render-test-password-norole", "role": "superuser"},
            {"name": "fine", "password": "render-test-password-fine", "role": {"cluster": ["monitor"]}},
        ],
        # A warm phase after the delete phase, a priority above Fleet's, an old-style entry.
        "elasticsearch_retention_policies": [
            {"name": "debug", "delete_after": "7d", "owned_datasets": ["vigil.debug"], "priority": 250},
            {"name": "old", "delete_after": "30d", "index_patterns": ["logs-vigil.old-*"]},
        ],
        "elasticsearch_retention_warm_after": "10d",
        "elasticsearch_retention_cold_after": "",
        "elasticsearch_retention_wait_for_snapshot": "nightly",
    }, SINGLE),
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Dict[str, Dict[str, Any]]]:
    return render_scenarios(tmp_path_factory, "elasticsearch", {name: extra for name, (extra, _hosts) in SCENARIOS.items()},
                            lambda name: BAD_NAMES if name == "bad" else NAMES, lambda name: SCENARIOS[name][1],
                            extra_task_vars=TASK_VARS)


test_scenario_matches_golden_file = golden_test("elasticsearch", SCENARIOS)


def test_a_single_host_is_its_own_master_and_seed(rendered):
    host = rendered["single"]["logs1"]
    assert host["_elasticsearch_master_hosts"] == ["logs1"]
    assert host["_elasticsearch_master_node_names"] == ["logs1"]
    assert host["_elasticsearch_seed_hosts"] == ["198.51.100.20:9300"]
    assert host["_elasticsearch_api_host"] == "logs1"


def test_masters_and_seed_hosts_of_a_cluster(rendered):
    host = rendered["cluster"]["es2"]
    assert host["_elasticsearch_master_hosts"] == ["es1", "es3", "es4"]
    assert host["_elasticsearch_master_node_names"] == ["es1", "es-three", "es4"]
    assert host["_elasticsearch_seed_hosts"] == ["192.0.2.10:9300", "[2001:db8::12]:9300", "es3:9300", "[2001:db8::14]:9300"]
    assert host["_elasticsearch_discovery_settings"] == {
        "discovery.seed_hosts": host["_elasticsearch_seed_hosts"],
        "cluster.initial_master_nodes": ["es1", "es-three", "es4"],
    }
    assert host["_elasticsearch_api_host"] == "es1"
    # Once bootstrapped, the initial masters are left out; given seed hosts are used as they are.
    custom = rendered["custom"]["es1"]
    assert custom["_elasticsearch_discovery_settings"] == {
        "discovery.seed_hosts": ["seed1.example.org:9300", "[2001:db8::99]:9300"]}


def test_service_tokens_are_split_and_checked(rendered):
    entries = rendered["custom"]["es1"]["_elasticsearch_service_token_entries"]
    assert entries == [
        {"valid": True, "qualified_name": "elastic/kibana/vigil-kibana", "secret": "render-test-secret-0001"},
        {"valid": True, "qualified_name": "elastic/fleet-server/fleet", "secret": "short"},
        {"valid": False, "qualified_name": "elastic/kibana/vigil-kibana-2", "secret": "render-test-secret-0002"},
        {"valid": False, "qualified_name": "no-slashes", "secret": "render-test-secret-0003"},
        {"valid": False, "qualified_name": "elastic/kibana/no-secret", "secret": ""},
    ]
    assert rendered["single"]["logs1"]["_elasticsearch_service_token_entries"] == []


def test_retention_without_tiers_is_hot_then_delete_through_custom_hooks(rendered):
    single = rendered["single"]["logs1"]["_elasticsearch_retention"]
    assert single["tiers"] == ["hot"]
    assert [(p["name"], p["phases"], p["delete_after"]) for p in single["policies"]] == [
        ("vigil-security", ["hot", "delete"], "365d"), ("vigil-firewall", ["hot", "delete"], "365d"),
        ("vigil-network", ["hot", "delete"], "180d"), ("vigil-system", ["hot", "delete"], "90d"),
        ("vigil-debug", ["hot", "delete"], "7d")]
    # Fleet's integration templates are never written: only their @custom hooks.
    components = {c["name"]: c["body"]["template"]["settings"]["index.lifecycle.name"] for c in single["component_templates"]}
    assert components["logs-fortinet_fortigate.log@custom"] == "vigil-firewall"
    assert components["logs-system.auth@custom"] == "vigil-security"
    assert all(c["body"]["template"]["settings"]["index.number_of_replicas"] == "0" for c in single["component_templates"])
    # Vigil's own templates only for the data streams Vigil owns (default agent policies included), below Fleet's 200.
    owned = {t["name"]: t["body"] for t in single["index_templates"]}
    assert "vigil-logs-vigil.edr" in owned and "vigil-logs-vigil.debug" in owned
    assert not any(name.startswith("vigil-logs-fortinet") for name in owned)
    assert {body["priority"] for body in owned.values()} == {150}
    assert owned["vigil-logs-vigil.edr"]["composed_of"][-2:] == ["logs@custom", "logs-vigil.edr@custom"]
    assert rendered["single"]["logs1"]["_elasticsearch_snapshot_repository"] == {}
    assert rendered["single"]["logs1"]["_elasticsearch_slm_policies"] == []
    assert rendered["single"]["logs1"]["_elasticsearch_snapshot_settings"] == {}


def test_retention_with_tiers_and_snapshots(rendered):
    es1 = rendered["custom"]["es1"]
    retention = es1["_elasticsearch_retention"]
    assert retention["tiers"] == ["hot", "warm", "cold"]
    firewall, short = retention["policies"]
    phases = {
        "hot": {"actions": {"rollover": {"max_age": "1d", "max_primary_shard_size": "50gb"},
                            "set_priority": {"priority": 100}}},
        "warm": {"min_age": "7d", "actions": {"set_priority": {"priority": 50}, "readonly": {},
                                              "forcemerge": {"max_num_segments": 1}, "shrink": {"number_of_shards": 1}}},
        "cold": {"min_age": "60d", "actions": {"set_priority": {"priority": 0}}},
        "delete": {"min_age": "400d", "actions": {"wait_for_snapshot": {"policy": "vigil-logs-nightly"}, "delete": {}}}}
    assert firewall == {"name": "vigil-firewall", "retention": "firewall", "delete_after": "400d",
                        "phases": ["hot", "warm", "cold", "delete"],
                        "body": {"_meta": {"managed_by": "vigil", "retention": "firewall"}, "phases": phases}}
    assert short["phases"] == ["hot", "warm", "delete"]
    assert short["body"]["phases"]["hot"]["actions"]["rollover"] == {"max_age": "6h", "max_primary_shard_size": "50gb",
                                                                     "max_docs": 1000}
    components = {c["name"]: c for c in retention["component_templates"]}
    assert sorted(components) == ["logs-fortinet_fortigate.log@custom", "logs-vigil.acme@custom", "logs-vigil.app@custom",
                                  "logs-vigil.fortinet_fortigate@custom"]
    assert components["logs-fortinet_fortigate.log@custom"]["body"]["template"] == {
        "settings": {"index.lifecycle.name": "vigil-firewall", "index.number_of_replicas": "1"},
        "mappings": {"properties": {"organization": {"properties": {"site": {"type": "keyword"}}}}}}
    templates = {t["name"]: t["body"]["priority"] for t in retention["index_templates"]}
    assert templates == {"vigil-logs-vigil.acme": 150, "vigil-logs-vigil.fortinet_fortigate": 150, "vigil-logs-vigil.app": 120}
    assert es1["_elasticsearch_snapshot_repository"] == {
        "name": "vigil-snapshots", "type": "fs", "settings": {"location": "/mnt/es-snapshots/vigil-snapshots", "compress": True}}
    assert es1["_elasticsearch_snapshot_settings"] == {"path.repo": ["/mnt/es-snapshots"]}
    (slm,) = es1["_elasticsearch_slm_policies"]
    assert slm == {"name": "vigil-logs-nightly", "body": {
        "name": "<vigil-logs-nightly-{now/d}>", "schedule": "0 30 1 * * ?", "repository": "vigil-snapshots",
        "config": {"indices": ["logs-*"], "include_global_state": False, "ignore_unavailable": True},
        "retention": {"expire_after": "30d", "min_count": 7, "max_count": 100}}}
    # The ingest identity may write SLM policies only when there are some.
    ingest = next(r for r in es1["_elasticsearch_identity_roles"] if r["name"] == "vigil_ingest")
    assert ingest["role"]["cluster"] == ["manage_ingest_pipelines", "manage_index_templates", "manage_ilm", "manage_slm"]


def test_bad_retention_is_named_before_any_host_changes(rendered):
    problems = rendered["bad"]["logs1"]["_elasticsearch_retention_problems"]
    assert problems == [
        "elasticsearch_retention_wait_for_snapshot names the SLM policy 'nightly', which is not in "
        "elasticsearch_snapshot_policies (none: set a snapshot repository and its policies first)",
        "elasticsearch_retention_warm_after (for elasticsearch_retention_policies[0] (debug)) 10d is not before "
        "delete_after 7d: the warm phase would never start; lower it, raise delete_after, or set warm_after: '' on the "
        "entry for no warm phase",
        "elasticsearch_retention_policies[0] (debug): priority is 250: Vigil's index templates stay below Fleet's "
        "integration templates (200) so they never replace one; use 101-199",
        "elasticsearch_retention_policies[1] (old): index_patterns is no longer read: list the datasets (datasets: "
        "written by Elastic integrations, owned_datasets: written only by Vigil); the lifecycle attaches through "
        "logs-<dataset>@custom",
        "elasticsearch_retention_policies[1] (old): no dataset: list datasets or owned_datasets, or name this retention "
        "in an agent input",
    ]


def test_identity_roles_carry_no_password(rendered):
    roles = rendered["custom"]["es1"]["_elasticsearch_identity_roles"]
    assert [r["name"] for r in roles] == ["vigil_ingest", "vigil_kibana_rules", "vigil_grafana", "site_reader"]
    assert all(set(r) == {"name", "component", "role"} for r in roles)
    assert roles[1]["role"]["applications"][0]["resources"] == ["space:soc"]
    assert roles[3] == {"name": "site_reader", "component": "site dashboards", "role": EXTRA_IDENTITY["role"]}
    assert "render-test-password" not in repr(roles)


def test_preflight_names_the_unusable_tokens_by_position(rendered):
    assert rendered["custom"]["es1"]["__elasticsearch_bad_tokens"] == [1, 2, 3, 4]
    assert rendered["single"]["logs1"]["__elasticsearch_bad_tokens"] == []


def test_preflight_names_the_unusable_identities(rendered):
    assert rendered["custom"]["es1"]["__elasticsearch_bad_identities"] == []
    assert rendered["bad"]["logs1"]["__elasticsearch_bad_identities"] == [
        "vigil_ingest", "vigil_grafana", "elastic", "(entry 10)", "no_role"]


def test_kernel_settings_below_what_elasticsearch_needs(rendered):
    assert rendered["cluster"]["es1"]["__elasticsearch_sysctl_low"] == [
        "vm.swappiness_floor is 65530, needs 100000", "fs.file-max is not a number, needs 10"]
    assert rendered["single"]["logs1"]["__elasticsearch_sysctl_low"] == []


def test_token_store_is_read_back_as_hashes(rendered):
    assert rendered["custom"]["es1"]["__elasticsearch_token_existing"] == {
        "elastic/kibana/vigil-kibana": "$2b$10$render.test.hash.one",
        "elastic/fleet-server/fleet": "$2b$10$render.test.hash.two",
    }
    assert rendered["single"]["logs1"]["__elasticsearch_token_existing"] == {}
