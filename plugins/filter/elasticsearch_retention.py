# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ILM policies and index templates of Vigil's retentions (vigil.monitoring.elasticsearch_retention).

elasticsearch_retention(retentions, agent_policies, rollover_max_age, rollover_max_primary_shard_size,
                        template_priority, composed_of, replicas)
  retentions:     elasticsearch_retention_policies ({name, delete_after, index_patterns,
                  priority, rollover_max_age, rollover_max_primary_shard_size, phases})
  agent_policies: elasticsearch_retention_agent_policies: each input that names a retention
                  adds logs-<dataset>-* to that retention's index patterns
  the others:     the role's defaults for every retention
  returns per retention {name, delete_after, policy_name, policy, template_name, template}:
  the ILM policy vigil-<name> (rollover when hot, deleted after delete_after; ``phases``
  merged over that) and the data stream template vigil-logs-<name> that applies it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Dict, List

from ansible.errors import AnsibleFilterError
from ansible_collections.vigil.monitoring.plugins.plugin_utils.filter_input import (
    FilterInputError,
    as_list,
    as_mapping,
    merge,
    whole_number,
)


def _agent_patterns(name: Any, agent_policies: List[Any]) -> List[str]:
    patterns = []
    for policy in agent_policies:
        for item in as_list(policy.get("inputs", []) if isinstance(policy, Mapping) else [], "the inputs of an agent policy"):
            if isinstance(item, Mapping) and item.get("retention", "") == name and "dataset" in item:
                patterns.append("logs-%s-*" % item["dataset"])
    return patterns


def _unique(values: List[Any]) -> List[Any]:
    found: List[Any] = []
    for value in values:
        if value not in found:
            found.append(value)
    return found


def _phases(entry: Mapping, delete_after: str, defaults: Mapping) -> Dict[str, Any]:
    rollover = {
        "max_age": entry.get("rollover_max_age", defaults["rollover_max_age"]),
        "max_primary_shard_size": entry.get("rollover_max_primary_shard_size", defaults["rollover_max_primary_shard_size"]),
    }
    base = {"hot": {"actions": {"rollover": rollover}}, "delete": {"min_age": delete_after, "actions": {"delete": {}}}}
    return merge(base, as_mapping(entry.get("phases", {}), "elasticsearch_retention_policies %s: phases" % entry["name"]))


def _retention(entry: Any, agent_policies: List[Any], defaults: Mapping) -> Dict[str, Any]:
    entry = as_mapping(entry, "every entry of elasticsearch_retention_policies")
    where = "elasticsearch_retention_policies %s" % entry.get("name", "(no name)")
    try:
        name, delete_after = entry["name"], str(entry["delete_after"])
    except KeyError as exc:
        raise FilterInputError("%s needs %s" % (where, exc.args[0])) from None
    policy_name = "vigil-%s" % name
    meta = {"managed_by": "vigil", "retention": delete_after}
    patterns = as_list(entry.get("index_patterns", []), where + ": index_patterns") + _agent_patterns(name, agent_policies)
    return {
        "name": name,
        "delete_after": delete_after,
        "policy_name": policy_name,
        "policy": {"_meta": meta, "phases": _phases(entry, delete_after, defaults)},
        "template_name": "vigil-logs-%s" % name,
        "template": {
            "index_patterns": _unique(patterns),
            "data_stream": {},
            "priority": whole_number(entry.get("priority", defaults["template_priority"]), where + ": priority"),
            "composed_of": defaults["composed_of"],
            "ignore_missing_component_templates": defaults["composed_of"],
            "template": {"settings": {"index.lifecycle.name": policy_name, "index.number_of_replicas": str(defaults["replicas"])}},
            "_meta": meta,
        },
    }


def elasticsearch_retention(retentions: Any, agent_policies: Any = None, rollover_max_age: Any = "1d",
                            rollover_max_primary_shard_size: Any = "50gb", template_priority: Any = 250,
                            composed_of: Any = None, replicas: Any = 1) -> List[Dict[str, Any]]:
    """The ILM policy and index template of every retention."""
    defaults = {"rollover_max_age": rollover_max_age, "rollover_max_primary_shard_size": rollover_max_primary_shard_size,
                "template_priority": template_priority, "composed_of": composed_of if composed_of is not None else [],
                "replicas": replicas}
    try:
        policies = as_list(agent_policies, "elasticsearch_retention_agent_policies")
        return [_retention(entry, policies, defaults) for entry in as_list(retentions, "elasticsearch_retention_policies")]
    except FilterInputError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    """Elasticsearch retention."""

    def filters(self):
        return {"elasticsearch_retention": elasticsearch_retention}
