# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every problem of the Elastic Agent policies (vigil.monitoring.elastic_agent_policy_problems).

elastic_agent_policy_problems(policies, known_pipelines, retention_names)
  policies:        elastic_agent_policies
  known_pipelines: the ingest pipelines an input may name (vigil.monitoring.ecs_pipeline_names)
  retention_names: the retentions an input may name (elastic_agent_retention_names)
  returns one sentence per problem, each naming the policy and the input; empty when all is well.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Dict, List, Sequence

from ansible.errors import AnsibleFilterError
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic_integrations import INTEGRATIONS
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic_agent_inputs import (
    INPUT_TYPES,
    NETWORK_TYPES,
    NO_PIPELINE,
    PolicyError,
    as_mapping,
    policy_inputs,
    policy_list,
)

_POLICY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_DATASET = re.compile(r"^[a-z0-9_.]+$")
_DIGITS = re.compile(r"^[0-9]+$")


def _matches(pattern: "re.Pattern[str]", value: Any) -> bool:
    return isinstance(value, str) and pattern.match(value) is not None


def _duplicate_ids(policies: Sequence[Any]) -> List[str]:
    ids = [as_mapping(policy).get("id", "") for policy in policies]
    seen: List[Any] = []
    for policy_id in ids:
        if policy_id not in seen:
            seen.append(policy_id)
    return ["policy id %s is used twice" % policy_id for policy_id in seen if ids.count(policy_id) > 1]


def _pipeline_problem(item: Mapping, known_pipelines: Sequence[Any]) -> List[str]:
    if "pipeline" not in item:
        return ["name the ingest pipeline (pipeline: vigil-ecs-..., or pipeline: none)"]
    if item["pipeline"] != NO_PIPELINE and item["pipeline"] not in known_pipelines:
        return ["pipeline %s is not defined by any field map; known: %s" % (item["pipeline"], ", ".join(map(str, known_pipelines)))]
    return []


def _port_problem(item: Mapping, ports: Dict[str, Any]) -> List[str]:
    port = item.get("port", "")
    text = str(port)
    if not _DIGITS.match(text) or not 1 <= int(text) <= 65535:
        return ["port must be 1-65535"]
    if text in ports:
        return ["port %s is already used by input %s; give every vendor its own port so that it lands on its own pipeline"
                % (port, ports[text])]
    ports[text] = item.get("id", "?")
    return []


def _source_problem(item: Mapping, ports: Dict[str, Any]) -> List[str]:
    kind = item.get("type", "")
    if kind in NETWORK_TYPES:
        return _port_problem(item, ports)
    if kind == "filestream" and not item.get("paths"):
        return ["filestream needs paths"]
    if kind == "winlog" and not item.get("channel"):
        return ["winlog needs channel (Security, System, Microsoft-Windows-Sysmon/Operational, ...)"]
    return []


def _input_problems(item: Mapping, seen_ids: List[Any], ports: Dict[str, Any], known_pipelines: Sequence[Any],
                    retention_names: Sequence[Any]) -> List[str]:
    found = []
    if "id" not in item or item["id"] in seen_ids:
        found.append("every input needs an id, unique in its policy")
    seen_ids.append(item.get("id", ""))
    if item.get("type", "") not in INPUT_TYPES:
        found.append("type must be one of " + ", ".join(INPUT_TYPES))
    if not _matches(_DATASET, item.get("dataset", "")):
        found.append("dataset must be lower case letters, digits, _ or . (no -), e.g. vigil.fortinet_fortigate")
    found += _pipeline_problem(item, known_pipelines)
    if item.get("retention", "") not in retention_names:
        found.append("retention must be one of %s (elasticsearch_retention_policies), got %s"
                     % (", ".join(map(str, retention_names)), item.get("retention", "nothing")))
    return found + _source_problem(item, ports) + _integration_problems(item) + _journald_problems(item)


def _integration_problems(item: Mapping) -> List[str]:
    """An input's Elastic integration (Fleet mode): a known one that reads this input type."""
    if "integration" not in item:
        return []
    entry = INTEGRATIONS.get(item["integration"])
    if entry is None:
        return ["integration %s is not one Vigil knows; known: %s" % (item["integration"], ", ".join(sorted(INTEGRATIONS)))]
    if item.get("type") not in entry["types"]:
        return ["integration %s reads %s inputs, not %s" % (item["integration"], " or ".join(entry["types"]),
                                                            item.get("type"))]
    return []


def _journald_problems(item: Mapping) -> List[str]:
    """journald_facilities: the syslog facilities (0-23) a file input reads from the journal on hosts without files."""
    if "journald_facilities" not in item:
        return []
    facilities = item["journald_facilities"]
    if item.get("type") != "filestream":
        return ["journald_facilities is for filestream inputs (the journal replaces the files), not %s" % item.get("type")]
    if isinstance(facilities, (str, bytes, Mapping)) or not isinstance(facilities, Sequence) or not facilities \
            or not all(isinstance(f, int) and not isinstance(f, bool) and 0 <= f <= 23 for f in facilities):
        return ["journald_facilities must be a non-empty list of syslog facility numbers 0-23 (auth 4, authpriv 10)"]
    return []


def _overlapping_facilities(policy: Any) -> List[str]:
    """Two journal inputs of one policy must not read the same facility: that entry would be shipped twice."""
    owner: Dict[int, Any] = {}
    found = []
    for raw in policy_inputs(policy):
        item = as_mapping(raw)
        facilities = item.get("journald_facilities")
        if not isinstance(facilities, Sequence) or isinstance(facilities, (str, bytes)):
            continue
        for facility in facilities:
            if isinstance(facility, int) and facility in owner and owner[facility] != item.get("id"):
                found.append(
                    "policy %s: inputs %s and %s both read syslog facility %s from the journal; each journal entry "
                    "would be shipped twice" % (as_mapping(policy).get("id"), owner[facility], item.get("id"), facility))
            elif isinstance(facility, int):
                owner[facility] = item.get("id")
    return found


def _integration_streams(policy: Any) -> List[str]:
    """One input per integration data stream in a policy (a package policy has one stream per data stream)."""
    seen: Dict[Any, Any] = {}
    found = []
    for raw in policy_inputs(policy):
        item = as_mapping(raw)
        entry = INTEGRATIONS.get(item.get("integration"))
        if entry is None:
            continue
        key = (entry["dataset"], item.get("type"))
        if key in seen:
            found.append("policy %s: inputs %s and %s both use %s's %s stream over %s; Fleet has one per policy"
                         % (as_mapping(policy).get("id"), seen[key], item.get("id"), item["integration"],
                            entry["dataset"], item.get("type")))
        seen[key] = item.get("id")
    return found


def _policy_problems(policy: Any, known_pipelines: Sequence[Any], retention_names: Sequence[Any]) -> List[str]:
    entry = as_mapping(policy)
    where = "policy %s" % entry.get("id", "(no id)")
    found = []
    if not _matches(_POLICY_ID, entry.get("id", "")):
        found.append("%s: id must be lower case letters, digits, - or _" % where)
    seen_ids: List[Any] = []
    ports: Dict[str, Any] = {}
    for index, raw in enumerate(policy_inputs(policy)):
        item = as_mapping(raw)
        at = "%s, input %s" % (where, item.get("id", "#%d" % index))
        found += ["%s: %s" % (at, problem)
                  for problem in _input_problems(item, seen_ids, ports, known_pipelines, retention_names)]
    return found + _overlapping_facilities(policy) + _integration_streams(policy)


def elastic_agent_policy_problems(policies: Any, known_pipelines: Sequence[Any] = (),
                                  retention_names: Sequence[Any] = ()) -> List[str]:
    """Every problem of elastic_agent_policies, each naming the policy and input (empty: all is well)."""
    try:
        items = policy_list(policies)
        found = _duplicate_ids(items)
        for policy in items:
            found += _policy_problems(policy, list(known_pipelines or []), list(retention_names or []))
    except PolicyError as exc:
        raise AnsibleFilterError(str(exc)) from None
    return found


class FilterModule:
    """Elastic Agent policy checks."""

    def filters(self):
        return {"elastic_agent_policy_problems": elastic_agent_policy_problems}
