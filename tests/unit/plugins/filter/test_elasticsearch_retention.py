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

COMPOSED = ["logs@mappings", "logs@settings", "ecs@mappings"]
AGENTS = [{"id": "edge", "inputs": [
    {"id": "fw", "dataset": "vigil.fortinet_fortigate", "retention": "firewall"},
    {"id": "acme", "dataset": "vigil.acme", "retention": "firewall"},
    {"id": "nodataset", "retention": "firewall"},
    {"id": "app", "dataset": "vigil.app", "retention": "system"},
]}, {"id": "no-inputs"}, "not a policy"]


def retention(entries, **kwargs):
    return elasticsearch_retention(entries, AGENTS, composed_of=COMPOSED, **kwargs)


def test_the_filters_are_exposed():
    assert FilterModule().filters() == {"elasticsearch_retention": elasticsearch_retention}
    assert SysctlModule().filters() == {"elasticsearch_sysctl_low": elasticsearch_sysctl_low}


def test_a_retention_is_an_ilm_policy_and_a_data_stream_template():
    (firewall,) = retention([{"name": "firewall", "delete_after": "365d", "index_patterns": ["logs-vigil.fortinet_fortigate-*"]}],
                            replicas=0)
    meta = {"managed_by": "vigil", "retention": "365d"}
    assert firewall == {
        "name": "firewall", "delete_after": "365d", "policy_name": "vigil-firewall",
        "policy": {"_meta": meta, "phases": {
            "hot": {"actions": {"rollover": {"max_age": "1d", "max_primary_shard_size": "50gb"}}},
            "delete": {"min_age": "365d", "actions": {"delete": {}}}}},
        "template_name": "vigil-logs-firewall",
        "template": {
            # The agent inputs' data streams join the patterns given, each once.
            "index_patterns": ["logs-vigil.fortinet_fortigate-*", "logs-vigil.acme-*"],
            "data_stream": {}, "priority": 250, "composed_of": COMPOSED, "ignore_missing_component_templates": COMPOSED,
            "template": {"settings": {"index.lifecycle.name": "vigil-firewall", "index.number_of_replicas": "0"}},
            "_meta": meta},
    }


def test_an_entry_overrides_rollover_priority_and_phases():
    (system,) = retention([{"name": "system", "delete_after": 90, "priority": "300", "rollover_max_age": "6h",
                            "phases": {"warm": {"min_age": "7d", "actions": {"shrink": {"number_of_shards": 1}}},
                                       "hot": {"actions": {"rollover": {"max_docs": 1000}}}}}],
                          rollover_max_primary_shard_size="10gb")
    assert system["delete_after"] == "90"
    assert system["template"]["priority"] == 300
    assert system["template"]["index_patterns"] == ["logs-vigil.app-*"]
    assert system["policy"]["phases"] == {
        "hot": {"actions": {"rollover": {"max_age": "6h", "max_primary_shard_size": "10gb", "max_docs": 1000}}},
        "delete": {"min_age": "90", "actions": {"delete": {}}},
        "warm": {"min_age": "7d", "actions": {"shrink": {"number_of_shards": 1}}},
    }


@pytest.mark.parametrize("entries, message", [
    ([{"name": "x"}], "elasticsearch_retention_policies x needs delete_after"),
    ([{"delete_after": "7d"}], r"elasticsearch_retention_policies \(no name\) needs name"),
    (["debug"], "every entry of elasticsearch_retention_policies must be a mapping, got str"),
    ([{"name": "x", "delete_after": "7d", "priority": "high"}], "elasticsearch_retention_policies x: priority must be a number"),
    ([{"name": "x", "delete_after": "7d", "phases": ["warm"]}], "elasticsearch_retention_policies x: phases must be a mapping"),
    ({"name": "x"}, "elasticsearch_retention_policies must be a list, got dict"),
])
def test_bad_entries_are_named(entries, message):
    with pytest.raises(AnsibleFilterError, match=message):
        retention(entries)


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
