# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Vigil's retention as Elasticsearch objects (vigil.monitoring.elasticsearch_retention).

elasticsearch_retention(retentions, agent_policies, node_roles, snapshot_policies, settings)
  retentions:        elasticsearch_retention_policies, one entry per log class
                     ({name, delete_after, warm_after, cold_after, datasets, owned_datasets,
                     settings, mappings, priority, rollover_max_age,
                     rollover_max_primary_shard_size, phases})
  agent_policies:    elasticsearch_retention_agent_policies: an input that names a retention
                     adds its dataset to it (owned by Vigil: its pipeline writes it in standalone
                     mode) and, when it names an Elastic ``integration``, that integration's
                     dataset (written under Fleet; Fleet installs its index template)
  node_roles:        the node.roles of every host of the cluster: data_warm / data_cold on
                     any node make the warm / cold phases
  snapshot_policies: the names of the SLM policies (elasticsearch_snapshot_policies)
  settings:          the role's defaults for every class (see ``DEFAULTS``)
  returns {policies, component_templates, index_templates, tiers}:
  * per class the ILM policy vigil-<name>: hot (rollover) -> warm (readonly, forcemerge,
    shrink) -> cold -> delete (optionally waiting for an SLM snapshot), the tiers' phases
    only when the cluster has those tiers, the entry's ``phases`` merged over that;
  * per dataset the component template logs-<dataset>@custom (the hook every Fleet
    integration template composes): the class's ILM policy, replicas, settings, mappings;
  * per dataset Vigil owns (no Elastic integration writes it) the index template
    vigil-logs-<dataset>, below Fleet's priority, composing the same hooks.
elasticsearch_retention_problems(...): the same arguments; what is wrong, each naming the
  variable (an empty list when the retention is usable). The main filter raises them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Dict, List, Optional, Tuple

from ansible.errors import AnsibleFilterError
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic_integrations import INTEGRATIONS, known
from ansible_collections.vigil.monitoring.plugins.plugin_utils.filter_input import (
    FilterInputError,
    as_list,
    as_mapping,
    merge,
    whole_number,
)

VAR = "elasticsearch_retention_policies"
DEFAULTS = {
    "warm_after": "7d",
    "cold_after": "30d",
    "rollover_max_age": "1d",
    "rollover_max_primary_shard_size": "50gb",
    "template_priority": 150,
    "composed_of": ["logs@mappings", "logs@settings", "ecs@mappings"],
    "replicas": 1,
    "forcemerge_segments": 1,
    "shrink_shards": 1,
    "wait_for_snapshot": "",
}
# Fleet installs every integration's index template at priority 200: Vigil's own stay below.
FLEET_TEMPLATE_PRIORITY = 200
DAYS = re.compile(r"^([1-9][0-9]*)d$")
DATASET = re.compile(r"^[a-z0-9][a-z0-9_.]*$")
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
TIERS = (("warm", "data_warm"), ("cold", "data_cold"))
ENTRY_KEYS = {"name", "delete_after", "warm_after", "cold_after", "datasets", "owned_datasets", "settings", "mappings",
              "priority", "rollover_max_age", "rollover_max_primary_shard_size", "phases"}
GLOBAL_VARS = {"warm_after": "elasticsearch_retention_warm_after", "cold_after": "elasticsearch_retention_cold_after"}


class Problems:
    """Collects what is wrong; every message names the variable."""

    def __init__(self) -> None:
        self.found: List[str] = []

    def add(self, message: str) -> None:
        self.found.append(message)


def _days(value: Any) -> Optional[int]:
    match = DAYS.match(str(value).strip())
    return int(match.group(1)) if match else None


def _tiers(node_roles: Any) -> List[str]:
    roles = set()
    for entry in as_list(node_roles, "the node roles of the cluster (elasticsearch_node_roles)"):
        roles.update(as_list(entry, "elasticsearch_node_roles"))
    return [phase for phase, role in TIERS if role in roles]


def _agent_datasets(name: Any, agent_policies: List[Any], problems: Problems) -> List[Tuple[str, bool]]:
    """(dataset, owned) of every agent input that names this retention.

    The input's ``dataset`` is Vigil's (standalone mode: Vigil's pipeline writes logs-<dataset>-*, Vigil owns it).
    An input that names an Elastic ``integration`` also writes, under Fleet, the integration's data stream: that
    dataset gets the class's @custom hook but no Vigil index template (Fleet installs the integration's).
    """
    found = []
    for policy in agent_policies:
        for item in as_list(policy.get("inputs", []) if isinstance(policy, Mapping) else [], "the inputs of an agent policy"):
            if not isinstance(item, Mapping) or item.get("retention", "") != name:
                continue
            if item.get("dataset"):
                found.append((str(item["dataset"]), True))
            if item.get("integration"):
                entry = INTEGRATIONS.get(str(item["integration"]))
                if entry is None:
                    problems.add("elasticsearch_retention_agent_policies: the input %s names the integration %r, which "
                                 "Vigil does not know (known: %s)" % (item.get("id", "(no id)"), item["integration"],
                                                                      ", ".join(known())))
                else:
                    found.append((str(entry["dataset"]), False))
    return found


def _phase_age(entry: Mapping, key: str, where: str, defaults: Mapping, problems: Problems) -> Optional[int]:
    """Days of the warm or cold phase; None when the class has no such phase ('' turns it off)."""
    value = entry.get(key, defaults[key])
    if value in ("", None):
        return None
    days = _days(value)
    if days is None:
        named = "%s: %s" % (where, key) if key in entry else GLOBAL_VARS[key]
        problems.add("%s must be whole days such as 7d, or '' for no %s phase (got %r)" % (named, key[:-6], value))
    return days


def _ages(entry: Mapping, where: str, defaults: Mapping, tiers: List[str], problems: Problems) -> Dict[str, int]:
    """The min_age in days of each phase the class gets, checked in order hot < warm < cold < delete."""
    delete = _days(entry.get("delete_after"))
    if delete is None:
        problems.add("%s: delete_after must be whole days such as 7d or 365d (got %r)" % (where, entry.get("delete_after")))
        return {}
    ages = {"delete": delete}
    previous: Tuple[str, int] = ("", 0)
    # Checked also when the cluster lacks the tier (the inventory may gain it later); used only when it has it.
    for phase, _role in TIERS:
        key = phase + "_after"
        days = _phase_age(entry, key, where, defaults, problems)
        if days is None:
            continue
        named = "%s: %s" % (where, key) if key in entry else "%s (for %s)" % (GLOBAL_VARS[key], where)
        if days >= delete:
            problems.add("%s %sd is not before delete_after %sd: the %s phase would never start; lower it, raise "
                         "delete_after, or set %s: '' on the entry for no %s phase" % (named, days, delete, phase, key, phase))
        elif previous[0] and days <= previous[1]:
            problems.add("%s %sd is not after %s %sd" % (named, days, previous[0], previous[1]))
        else:
            previous = (key, days)
            if phase in tiers:
                ages[phase] = days
    return ages


def _policy(entry: Mapping, where: str, ages: Mapping[str, int], defaults: Mapping) -> Dict[str, Any]:
    rollover = {
        "max_age": entry.get("rollover_max_age", defaults["rollover_max_age"]),
        "max_primary_shard_size": entry.get("rollover_max_primary_shard_size", defaults["rollover_max_primary_shard_size"]),
    }
    phases: Dict[str, Any] = {"hot": {"actions": {"rollover": rollover, "set_priority": {"priority": 100}}}}
    if "warm" in ages:
        warm: Dict[str, Any] = {"set_priority": {"priority": 50}, "readonly": {},
                                "forcemerge": {"max_num_segments": whole_number(defaults["forcemerge_segments"],
                                                                                "elasticsearch_retention_forcemerge_segments")}}
        shards = whole_number(defaults["shrink_shards"], "elasticsearch_retention_shrink_shards")
        if shards > 0:
            warm["shrink"] = {"number_of_shards": shards}
        phases["warm"] = {"min_age": "%dd" % ages["warm"], "actions": warm}
    if "cold" in ages:
        cold: Dict[str, Any] = {"set_priority": {"priority": 0}}
        if "warm" not in ages:
            cold["readonly"] = {}
        phases["cold"] = {"min_age": "%dd" % ages["cold"], "actions": cold}
    delete: Dict[str, Any] = {"delete": {}}
    if defaults["wait_for_snapshot"]:
        delete = {"wait_for_snapshot": {"policy": defaults["wait_for_snapshot"]}, "delete": {}}
    phases["delete"] = {"min_age": "%dd" % ages["delete"], "actions": delete}
    overrides = as_mapping(entry.get("phases", {}), "%s: phases" % where)
    return {"_meta": {"managed_by": "vigil", "retention": entry["name"]}, "phases": merge(phases, overrides)}


def _dataset_list(entry: Mapping, key: str, where: str, problems: Problems) -> List[str]:
    values = [str(v) for v in as_list(entry.get(key, []), "%s: %s" % (where, key))]
    for value in values:
        if not DATASET.match(value):
            problems.add("%s: %s entry %r is not a dataset name (lower case letters, digits, _ and .; no -): the data "
                         "stream is logs-<dataset>-<namespace>" % (where, key, value))
    return values


def _component(name: str, dataset: str, policy_name: str, entry: Mapping, where: str, defaults: Mapping) -> Dict[str, Any]:
    settings = {"index.lifecycle.name": policy_name, "index.number_of_replicas": str(defaults["replicas"])}
    settings.update(as_mapping(entry.get("settings", {}), "%s: settings" % where))
    template: Dict[str, Any] = {"settings": settings}
    mappings = as_mapping(entry.get("mappings", {}), "%s: mappings" % where)
    if mappings:
        template["mappings"] = dict(mappings)
    return {"name": "logs-%s@custom" % dataset, "dataset": dataset, "retention": name,
            "body": {"template": template, "_meta": {"managed_by": "vigil", "retention": name}}}


def _index_template(name: str, dataset: str, entry: Mapping, where: str, defaults: Mapping,
                    problems: Problems) -> Dict[str, Any]:
    priority = whole_number(entry.get("priority", defaults["template_priority"]), where + ": priority")
    if priority >= FLEET_TEMPLATE_PRIORITY:
        named = where + ": priority" if "priority" in entry else "elasticsearch_retention_template_priority"
        problems.add("%s is %d: Vigil's index templates stay below Fleet's integration templates (%d) so they never "
                     "replace one; use 101-199" % (named, priority, FLEET_TEMPLATE_PRIORITY))
    hooks = ["logs@custom", "logs-%s@custom" % dataset]
    base = [str(c) for c in as_list(defaults["composed_of"], "elasticsearch_retention_composed_of")]
    return {"name": "vigil-logs-%s" % dataset, "dataset": dataset, "retention": name, "body": {
        "index_patterns": ["logs-%s-*" % dataset],
        "data_stream": {},
        "priority": priority,
        "composed_of": base + hooks,
        "ignore_missing_component_templates": base + hooks,
        "_meta": {"managed_by": "vigil", "retention": name},
    }}


def _entry(entry: Any, index: int, agent_policies: List[Any], tiers: List[str], defaults: Mapping,
           problems: Problems, out: Dict[str, List[Any]]) -> None:
    entry = as_mapping(entry, "every entry of %s" % VAR)
    name = entry.get("name")
    where = "%s[%d] (%s)" % (VAR, index, name if name else "no name")
    if not name or not NAME.match(str(name)):
        problems.add("%s: name must be lower case letters, digits, - or _ (got %r)" % (where, name))
        return
    unknown = sorted(set(entry) - ENTRY_KEYS)
    if "index_patterns" in unknown:
        problems.add("%s: index_patterns is no longer read: list the datasets (datasets: written by Elastic "
                     "integrations, owned_datasets: written only by Vigil); the lifecycle attaches through "
                     "logs-<dataset>@custom" % where)
    elif unknown:
        problems.add("%s: unknown key(s) %s; use %s" % (where, ", ".join(unknown), ", ".join(sorted(ENTRY_KEYS))))
    ages = _ages(entry, where, defaults, tiers, problems)
    if not ages:
        return
    policy_name = "vigil-%s" % name
    out["policies"].append({"name": policy_name, "retention": name, "delete_after": "%dd" % ages["delete"],
                            "phases": [p for p in ("hot", "warm", "cold", "delete") if p == "hot" or p in ages],
                            "body": _policy(entry, where, ages, defaults)})
    listed = [(d, False) for d in _dataset_list(entry, "datasets", where, problems)]
    listed += [(d, True) for d in _dataset_list(entry, "owned_datasets", where, problems)]
    listed += _agent_datasets(name, agent_policies, problems)
    seen: Dict[str, bool] = {}
    for dataset, owned in listed:
        seen[dataset] = seen.get(dataset, False) or owned
    if not seen:
        problems.add("%s: no dataset: list datasets or owned_datasets, or name this retention in an agent input" % where)
    for dataset, owned in seen.items():
        out["component_templates"].append(_component(name, dataset, policy_name, entry, where, defaults))
        if owned:
            out["index_templates"].append(_index_template(name, dataset, entry, where, defaults, problems))


def _build(retentions: Any, agent_policies: Any, node_roles: Any, snapshot_policies: Any,
           settings: Any) -> Tuple[Dict[str, Any], List[str]]:
    problems = Problems()
    defaults = dict(DEFAULTS)
    defaults.update(as_mapping(settings, "the retention settings"))
    tiers = _tiers(node_roles)
    out: Dict[str, Any] = {"policies": [], "component_templates": [], "index_templates": [], "tiers": ["hot"] + tiers}
    wait = defaults["wait_for_snapshot"]
    slm = [str(p) for p in as_list(snapshot_policies, "elasticsearch_snapshot_policies")]
    if wait and wait not in slm:
        known = ", ".join(slm) or "none: set a snapshot repository and its policies first"
        problems.add("elasticsearch_retention_wait_for_snapshot names the SLM policy %r, which is not in "
                     "elasticsearch_snapshot_policies (%s)" % (wait, known))
    agents = as_list(agent_policies, "elasticsearch_retention_agent_policies")
    entries = as_list(retentions, VAR)
    for index, entry in enumerate(entries):
        _entry(entry, index, agents, tiers, defaults, problems, out)
    _check_unique(out, entries, problems)
    return out, problems.found


def _check_unique(out: Mapping[str, Any], entries: List[Any], problems: Problems) -> None:
    names = [e.get("name") for e in entries if isinstance(e, Mapping)]
    twice = sorted({str(n) for n in names if names.count(n) > 1})
    if twice:
        problems.add("%s: the names %s are given more than once" % (VAR, ", ".join(twice)))
    owners: Dict[str, List[str]] = {}
    for component in out["component_templates"]:
        owners.setdefault(component["dataset"], []).append(component["retention"])
    for dataset, classes in sorted(owners.items()):
        if len(classes) > 1:
            problems.add("%s: the dataset %s is in the retentions %s (as a dataset or through an agent input); a data "
                         "stream has one lifecycle" % (VAR, dataset, " and ".join(classes)))


def elasticsearch_retention(retentions: Any, agent_policies: Any = None, node_roles: Any = None,
                            snapshot_policies: Any = None, settings: Any = None) -> Dict[str, Any]:
    """The ILM policies, @custom component templates and Vigil index templates of the retention."""
    try:
        out, problems = _build(retentions, agent_policies, node_roles, snapshot_policies, settings)
    except FilterInputError as exc:
        raise AnsibleFilterError(str(exc)) from None
    if problems:
        raise AnsibleFilterError("; ".join(problems))
    return out


def elasticsearch_retention_problems(retentions: Any, agent_policies: Any = None, node_roles: Any = None,
                                     snapshot_policies: Any = None, settings: Any = None) -> List[str]:
    """What is wrong with the retention, each message naming the variable; [] when it is usable."""
    try:
        return _build(retentions, agent_policies, node_roles, snapshot_policies, settings)[1]
    except FilterInputError as exc:
        return [str(exc)]


class FilterModule:
    """Elasticsearch retention."""

    def filters(self):
        return {"elasticsearch_retention": elasticsearch_retention,
                "elasticsearch_retention_problems": elasticsearch_retention_problems}
