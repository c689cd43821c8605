# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ILM policies and index templates of the retentions, and the kernel settings check."""

from __future__ import annotations

import base64

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.filter.elasticsearch_retention import FilterModule, elasticsearch_retention
from ansible_collections.vigil.monitoring.plugins.filter.elasticsearch_sysctl_low import (
    FilterModule as SysctlModule,
    elasticsearch_sysctl_low,
)

from ansible_collections.vigil.monitoring.plugins.filter.elasticsearch_retention import elasticsearch_retention_problems
from ansible_collections.vigil.monitoring.plugins.filter.elasticsearch_snapshots import (
    FilterModule as SnapshotsModule,
    elasticsearch_slm_policies,
    elasticsearch_snapshot_repository,
)

COMPOSED = ["logs@mappings", "logs@settings", "ecs@mappings"]
AGENTS = [{"id": "edge", "inputs": [
    {"id": "fw", "dataset": "vigil.fortinet_fortigate", "retention": "firewall"},
    {"id": "acme", "dataset": "vigil.acme", "retention": "firewall"},
    # An input naming Elastic's integration without a dataset of Vigil's: only the integration's stream (Fleet).
    {"id": "fleet-fw", "integration": "fortinet_fortigate", "retention": "firewall"},
    {"id": "nodataset", "retention": "firewall"},
    {"id": "app", "dataset": "vigil.app", "retention": "system"},
]}, {"id": "no-inputs"}, "not a policy"]
NO_TIERS = [["master", "data", "ingest"]]
TIERS = [["master", "data_hot"], ["data_warm"], ["data_cold", "data_warm"]]


def retention(entries, node_roles=None, slm=(), **settings):
    return elasticsearch_retention(entries, AGENTS, NO_TIERS if node_roles is None else node_roles, list(slm),
                                   dict({"composed_of": COMPOSED}, **settings))


def test_the_filters_are_exposed():
    assert FilterModule().filters() == {"elasticsearch_retention": elasticsearch_retention,
                                        "elasticsearch_retention_problems": elasticsearch_retention_problems}
    assert SysctlModule().filters() == {"elasticsearch_sysctl_low": elasticsearch_sysctl_low}
    assert SnapshotsModule().filters() == {"elasticsearch_snapshot_repository": elasticsearch_snapshot_repository,
                                           "elasticsearch_slm_policies": elasticsearch_slm_policies}


def test_without_tiers_a_class_is_hot_then_delete_attached_through_custom_hooks():
    out = retention([{"name": "firewall", "delete_after": "365d", "datasets": ["pfsense.log"]}], replicas=0)

    assert out["tiers"] == ["hot"]
    (policy,) = out["policies"]
    assert policy == {"name": "vigil-firewall", "retention": "firewall", "delete_after": "365d", "phases": ["hot", "delete"],
                      "body": {"_meta": {"managed_by": "vigil", "retention": "firewall"}, "phases": {
                          "hot": {"actions": {"rollover": {"max_age": "1d", "max_primary_shard_size": "50gb"},
                                              "set_priority": {"priority": 100}}},
                          "delete": {"min_age": "365d", "actions": {"delete": {}}}}}}
    # Every dataset, listed or from an agent input, gets its @custom hook; each once.
    assert [c["name"] for c in out["component_templates"]] == [
        "logs-pfsense.log@custom", "logs-vigil.fortinet_fortigate@custom", "logs-vigil.acme@custom",
        "logs-fortinet_fortigate.log@custom"]
    assert out["component_templates"][0]["body"] == {
        "template": {"settings": {"index.lifecycle.name": "vigil-firewall", "index.number_of_replicas": "0"}},
        "_meta": {"managed_by": "vigil", "retention": "firewall"}}
    # Index templates only for what Vigil owns: not for an integration's dataset, listed or from an integration input.
    assert [t["name"] for t in out["index_templates"]] == ["vigil-logs-vigil.fortinet_fortigate", "vigil-logs-vigil.acme"]
    assert out["index_templates"][1]["body"] == {
        "index_patterns": ["logs-vigil.acme-*"], "data_stream": {}, "priority": 150,
        "composed_of": COMPOSED + ["logs@custom", "logs-vigil.acme@custom"],
        "ignore_missing_component_templates": COMPOSED + ["logs@custom", "logs-vigil.acme@custom"],
        "_meta": {"managed_by": "vigil", "retention": "firewall"}}


def test_with_tiers_the_phases_follow_the_cluster_and_the_class():
    out = retention([
        {"name": "security", "delete_after": "365d", "owned_datasets": ["vigil.edr"], "cold_after": "90d"},
        {"name": "debug", "delete_after": "7d", "warm_after": "", "cold_after": "", "owned_datasets": ["vigil.debug"]},
        {"name": "warmonly", "delete_after": "60d", "cold_after": "", "owned_datasets": ["vigil.w"]},
    ], node_roles=TIERS, slm=["nightly"], wait_for_snapshot="nightly", shrink_shards=0, forcemerge_segments=2)

    assert out["tiers"] == ["hot", "warm", "cold"]
    security, debug, warmonly = out["policies"]
    assert security["phases"] == ["hot", "warm", "cold", "delete"]
    assert security["body"]["phases"]["warm"] == {"min_age": "7d", "actions": {
        "set_priority": {"priority": 50}, "readonly": {}, "forcemerge": {"max_num_segments": 2}}}
    assert security["body"]["phases"]["cold"] == {"min_age": "90d", "actions": {"set_priority": {"priority": 0}}}
    assert security["body"]["phases"]["delete"] == {"min_age": "365d", "actions": {
        "wait_for_snapshot": {"policy": "nightly"}, "delete": {}}}
    assert debug["phases"] == ["hot", "delete"]
    assert warmonly["phases"] == ["hot", "warm", "delete"]


def test_cold_without_warm_makes_the_index_read_only():
    out = retention([{"name": "x", "delete_after": "90d", "warm_after": "", "owned_datasets": ["vigil.x"]}],
                    node_roles=[["data_hot"], ["data_cold"]])

    (policy,) = out["policies"]
    assert out["tiers"] == ["hot", "cold"] and policy["phases"] == ["hot", "cold", "delete"]
    assert policy["body"]["phases"]["cold"]["actions"] == {"set_priority": {"priority": 0}, "readonly": {}}


def test_an_entry_overrides_rollover_priority_phases_and_adds_settings_and_mappings():
    out = retention([{"name": "system", "delete_after": "90d", "priority": "120", "rollover_max_age": "6h",
                      "owned_datasets": ["vigil.sys"], "settings": {"index.codec": "best_compression"},
                      "mappings": {"properties": {"site": {"type": "keyword"}}},
                      "phases": {"hot": {"actions": {"rollover": {"max_docs": 1000}}}}}],
                    rollover_max_primary_shard_size="10gb")

    (policy,) = out["policies"]
    assert policy["body"]["phases"]["hot"]["actions"]["rollover"] == {
        "max_age": "6h", "max_primary_shard_size": "10gb", "max_docs": 1000}
    custom = next(c for c in out["component_templates"] if c["dataset"] == "vigil.sys")["body"]["template"]
    assert custom["settings"]["index.codec"] == "best_compression"
    assert custom["mappings"] == {"properties": {"site": {"type": "keyword"}}}
    assert next(t for t in out["index_templates"] if t["dataset"] == "vigil.sys")["body"]["priority"] == 120


@pytest.mark.parametrize("entries, settings, message", [
    ([{"name": "x", "delete_after": "7d", "owned_datasets": ["a"], "warm_after": "14d"}], {},
     r"elasticsearch_retention_policies\[0\] \(x\): warm_after 14d is not before delete_after 7d"),
    ([{"name": "x", "delete_after": "30d", "owned_datasets": ["a"]}], {"warm_after": "30d"},
     r"elasticsearch_retention_warm_after \(for elasticsearch_retention_policies\[0\] \(x\)\) 30d is not before"),
    ([{"name": "x", "delete_after": "90d", "owned_datasets": ["a"], "warm_after": "40d"}], {},
     r"elasticsearch_retention_cold_after \(for .*\) 30d is not after warm_after 40d"),
    ([{"name": "x", "delete_after": "7 days", "owned_datasets": ["a"]}], {},
     r"\(x\): delete_after must be whole days such as 7d or 365d \(got '7 days'\)"),
    ([{"name": "x", "delete_after": "9d", "owned_datasets": ["a"], "warm_after": "1w"}], {},
     r"\(x\): warm_after must be whole days such as 7d, or '' for no warm phase \(got '1w'\)"),
    ([{"delete_after": "7d"}], {}, r"elasticsearch_retention_policies\[0\] \(no name\): name must be"),
    ([{"name": "x", "delete_after": "7d", "datasets": ["Bad-Name"]}], {}, r"'Bad-Name' is not a dataset name"),
    ([{"name": "x", "delete_after": "7d", "owned_datasets": ["a"]}], {"template_priority": 200},
     r"elasticsearch_retention_template_priority is 200: Vigil's index templates stay below Fleet's"),
    ([{"name": "x", "delete_after": "7d", "owned_datasets": ["a"], "retention": "x"}], {}, r"unknown key\(s\) retention"),
    ([{"name": "a", "delete_after": "7d", "datasets": ["d"]}, {"name": "b", "delete_after": "7d", "datasets": ["d"]}], {},
     r"the dataset d is in the retentions a and b"),
    ([{"name": "a", "delete_after": "7d", "datasets": ["d"]}, {"name": "a", "delete_after": "8d", "datasets": ["e"]}], {},
     r"the names a are given more than once"),
    ([{"name": "x", "delete_after": "7d", "owned_datasets": ["a"]}], {"wait_for_snapshot": "nope"},
     r"elasticsearch_retention_wait_for_snapshot names the SLM policy 'nope'"),
    (["debug"], {}, "every entry of elasticsearch_retention_policies must be a mapping, got str"),
    ({"name": "x"}, {}, "elasticsearch_retention_policies must be a list, got dict"),
])
def test_bad_entries_are_refused_naming_the_variable(entries, settings, message):
    with pytest.raises(AnsibleFilterError, match=message):
        retention(entries, node_roles=TIERS, **settings)
    assert elasticsearch_retention_problems(entries, AGENTS, TIERS, [], dict({"composed_of": COMPOSED}, **settings))


def test_a_usable_retention_has_no_problems():
    assert elasticsearch_retention_problems([{"name": "x", "delete_after": "7d", "owned_datasets": ["a"], "warm_after": ""}],
                                            [], NO_TIERS, [], {"cold_after": ""}) == []


def test_warm_beyond_delete_is_refused_also_without_a_warm_tier():
    with pytest.raises(AnsibleFilterError, match="warm_after 14d is not before delete_after 7d"):
        retention([{"name": "x", "delete_after": "7d", "owned_datasets": ["a"], "warm_after": "14d"}], node_roles=NO_TIERS)


def test_an_input_naming_an_integration_hooks_both_its_streams_and_owns_only_vigils():
    """The shipped input shape (elastic_agent_policies): Vigil's dataset for standalone mode, Elastic's integration
    under Fleet. Both data streams get the class's @custom hook; only Vigil's gets a Vigil index template, since Fleet
    installs the integration's own (priority 200) and a Vigil template must never stand in for it."""
    agents = [{"id": "collectors", "inputs": [
        {"id": "pfsense", "type": "udp", "dataset": "vigil.pfsense_filterlog", "integration": "pfsense", "retention": "firewall"},
        {"id": "auth", "type": "journald", "dataset": "vigil.linux_auth", "integration": "system_auth", "retention": "security"},
    ]}]
    out = elasticsearch_retention([{"name": "firewall", "delete_after": "365d"}, {"name": "security", "delete_after": "365d"}],
                                  agents, NO_TIERS, [], {"composed_of": COMPOSED})
    hooks = {c["name"]: c["retention"] for c in out["component_templates"]}
    assert hooks == {"logs-vigil.pfsense_filterlog@custom": "firewall", "logs-pfsense.log@custom": "firewall",
                     "logs-vigil.linux_auth@custom": "security", "logs-system.auth@custom": "security"}
    assert sorted(t["name"] for t in out["index_templates"]) == ["vigil-logs-vigil.linux_auth",
                                                                 "vigil-logs-vigil.pfsense_filterlog"]


def test_an_integrations_stream_in_another_class_than_its_input_is_refused():
    agents = [{"id": "edge", "inputs": [{"id": "fw", "dataset": "vigil.fw", "integration": "pfsense", "retention": "security"}]}]
    entries = [{"name": "firewall", "delete_after": "365d", "datasets": ["pfsense.log"]},
               {"name": "security", "delete_after": "365d"}]
    problems = elasticsearch_retention_problems(entries, agents, NO_TIERS, [], {"composed_of": COMPOSED})
    assert any("the dataset pfsense.log is in the retentions firewall and security" in p for p in problems), problems


def test_an_unknown_integration_is_refused_naming_the_input():
    agents = [{"id": "edge", "inputs": [{"id": "fw", "dataset": "vigil.fw", "integration": "fortigate", "retention": "x"}]}]
    problems = elasticsearch_retention_problems([{"name": "x", "delete_after": "90d"}], agents, NO_TIERS, [],
                                                {"composed_of": COMPOSED})
    assert problems == ["elasticsearch_retention_agent_policies: the input fw names the integration 'fortigate', which "
                        "Vigil does not know (known: cisco_ios, fortinet_fortigate, pfsense, system_auth, system_security, "
                        "system_syslog, system_system, windows_sysmon)"]


# -- snapshots ---------------------------------------------------------------------------


def test_no_repository_means_no_slm_policy():
    assert elasticsearch_snapshot_repository("", "vigil-snapshots") == {}
    assert elasticsearch_slm_policies([{"name": "n", "schedule": "0 30 1 * * ?"}], "") == []


def test_fs_and_s3_repositories():
    assert elasticsearch_snapshot_repository("fs", "repo", "/mnt/snap/", None, {"compress": True}) == {
        "name": "repo", "type": "fs", "settings": {"location": "/mnt/snap/repo", "compress": True}}
    assert elasticsearch_snapshot_repository("s3", "repo", "", {"bucket": "b", "client": "default", "base_path": ""}, {}) == {
        "name": "repo", "type": "s3", "settings": {"bucket": "b", "client": "default"}}


@pytest.mark.parametrize("args, message", [
    (("s3", "r", "", {"bucket": "", "client": "default"}, {}), "elasticsearch_snapshot_s3_bucket is required"),
    (("fs", "r", "relative", None, {}), "elasticsearch_snapshot_path_repo must be an absolute path"),
    (("s3", "r", "", {"bucket": "b"}, {"secret_key": "VIGIL-MARKER-x"}),
     "elasticsearch_snapshot_repository_settings: secret_key would put a credential"),
    (("azure", "r", "", None, {}), "elasticsearch_snapshot_repository_type must be '', fs or s3"),
])
def test_bad_repositories_are_refused(args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        elasticsearch_snapshot_repository(*args)


def test_slm_policies_with_defaults_and_overrides():
    nightly, weekly = elasticsearch_slm_policies([
        {"name": "nightly", "schedule": "0 30 1 * * ?"},
        {"name": "weekly", "schedule": "0 0 3 ? * SUN", "indices": ["logs-system.*"], "expire_after": "365d",
         "min_count": 4, "max_count": "60", "snapshot_name": "<weekly-{now/w}>"},
    ], "repo")
    assert nightly == {"name": "nightly", "body": {
        "name": "<nightly-{now/d}>", "schedule": "0 30 1 * * ?", "repository": "repo",
        "config": {"indices": ["logs-*"], "include_global_state": False, "ignore_unavailable": True},
        "retention": {"expire_after": "30d", "min_count": 7, "max_count": 100}}}
    assert weekly["body"]["retention"] == {"expire_after": "365d", "min_count": 4, "max_count": 60}
    assert weekly["body"]["config"]["indices"] == ["logs-system.*"] and weekly["body"]["name"] == "<weekly-{now/w}>"


@pytest.mark.parametrize("policies, message", [
    ([{"name": "n", "schedule": "30 1 * * *"}], r"schedule '30 1 \* \* \*' is not an Elasticsearch cron expression"),
    ([{"name": "n"}], r"elasticsearch_snapshot_policies\[0\] \(n\) needs name and schedule"),
    ([{"name": "n", "schedule": "0 0 1 * * ?", "expire_after": "1 month"}], "expire_after must be a time value"),
    ([{"name": "n", "schedule": "0 0 1 * * ?", "min_count": 9, "max_count": 3}], "min_count 9 is above max_count 3"),
    ([{"name": "n", "schedule": "0 0 1 * * ?", "keep": 3}], r"unknown key\(s\) keep"),
    ([{"name": "n", "schedule": "0 0 1 * * ?"}, {"name": "n", "schedule": "0 0 2 * * ?"}], "names n are given more than once"),
])
def test_bad_slm_policies_are_refused(policies, message):
    with pytest.raises(AnsibleFilterError, match=message):
        elasticsearch_slm_policies(policies, "repo")


def slurped(key, wanted, current):
    return {"content": base64.b64encode(current.encode()).decode(), "item": {"key": key, "value": wanted}}


def test_kernel_settings_below_what_elasticsearch_needs():
    results = [slurped("vm.max_map_count", 262144, "262144\n"), slurped("vm.max_map_count", "262144", "65530\n"),
               slurped("fs.file-max", 65535, "garbage")]
    assert elasticsearch_sysctl_low(results) == ["vm.max_map_count is 65530, needs 262144", "fs.file-max is garbage, needs 65535"]
    assert elasticsearch_sysctl_low([]) == []


def test_kernel_check_names_a_wanted_value_that_is_not_a_number():
    with pytest.raises(AnsibleFilterError, match="elasticsearch_sysctl vm.max_map_count must be a number, got 'lots'"):
        elasticsearch_sysctl_low([slurped("vm.max_map_count", "lots", "1")])
    with pytest.raises(AnsibleFilterError, match="pass the results of the slurp task"):
        elasticsearch_sysctl_low([{"content": ""}])
