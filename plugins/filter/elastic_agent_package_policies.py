# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet package policies of the Elastic Agent policies (vigil.monitoring.elastic_agent_package_policies).

elastic_agent_package_policies(policies, packages)
  policies: elastic_agent_policies (checked by elastic_agent_policy_problems)
  packages: the Fleet package version per input type and per integration package (elastic_agent_fleet_packages)
  returns {policy id: [package policy]} in Fleet's simplified format:
  - an input without ``integration``: one package policy named <policy id>-<input id> of Elastic's Custom UDP/TCP
    Logs, Custom Logs (Filestream) or Custom Windows Event Logs integration, with Vigil's pipeline;
  - the inputs with ``integration``: one package policy per package, named <policy id>-<package>, with each
    input's stream of Elastic's integration enabled (no pipeline: the integration's own runs, and calls Vigil's
    ``logs-<dataset>@custom``), every other input of the package switched off. A file input that also reads the
    journal (``journald_facilities``) enables the integration's journald stream too: the integration's
    conditions choose, on each agent, the files or the journal, never both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Dict, List

from ansible.errors import AnsibleFilterError
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic_integrations import (
    INTEGRATIONS,
    custom_pipeline,
    package_input_key,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic_agent_inputs import (
    FLEET_KEYS,
    NETWORK_TYPES,
    PolicyError,
    as_mapping,
    has_pipeline,
    listen_address,
    namespace,
    policy_inputs,
    policy_list,
)


def _stream_vars(item: Mapping) -> Dict[str, Any]:
    found: Dict[str, Any] = {"data_stream.dataset": item["dataset"]}
    if item["type"] in NETWORK_TYPES:
        found.update({"listen_address": listen_address(item), "listen_port": int(item["port"])})
    elif item["type"] == "filestream":
        found["paths"] = item["paths"]
    elif item["type"] == "winlog":
        found["channel"] = item["channel"]
    if has_pipeline(item):
        # The winlog integration takes the pipeline as custom YAML, not as a variable.
        found.update({"custom": "pipeline: %s" % item["pipeline"]} if item["type"] == "winlog"
                     else {"pipeline": item["pipeline"]})
    return found


def _package_policy(policy: Mapping, item: Mapping, packages: Mapping) -> Dict[str, Any]:
    package_input, stream = FLEET_KEYS[item["type"]]
    space = namespace(policy)
    return {
        "name": "%s-%s" % (policy["id"], item["id"]),
        "description": "Vigil: pipeline %s, retention %s (ILM vigil-%s), data stream logs-%s-%s"
                       % (item["pipeline"], item["retention"], item["retention"], item["dataset"], space),
        "namespace": space,
        "package": {"name": item["type"], "version": packages[item["type"]]},
        "inputs": {package_input: {"enabled": True, "streams": {stream: {"enabled": True, "vars": _stream_vars(item)}}}},
    }


def _integration_stream_vars(item: Mapping) -> Dict[str, Any]:
    if item["type"] in NETWORK_TYPES:
        # Vigil's field maps keep the original line; the integrations do when asked.
        return {"syslog_host": listen_address(item), "syslog_port": int(item["port"]), "preserve_original_event": True}
    if item["type"] == "filestream":
        return {"paths": item["paths"]}
    return {}


def _integration_policies(policy: Mapping, items: List[Mapping], packages: Mapping) -> List[Dict[str, Any]]:
    """One package policy per Elastic package that the policy's inputs name."""
    by_package: Dict[str, Dict[str, Any]] = {}
    for item in items:
        entry = INTEGRATIONS[item["integration"]]
        name = entry["package"]
        space = namespace(policy)
        found = by_package.setdefault(name, {
            "name": "%s-%s" % (policy["id"], name),
            "namespace": space,
            "package": {"name": name, "version": packages[name]},
            "inputs": {"%s-%s" % (entry["template"], kind): {"enabled": False} for kind in entry["package_inputs"]},
            "_notes": [],
        })
        kinds = [item["type"]] + (["journald"] if item.get("journald_facilities") else [])
        for kind in kinds:
            key = package_input_key(entry, kind)
            stream_vars = _integration_stream_vars(item) if kind == item["type"] else {}
            target = found["inputs"].setdefault(key, {})
            target["enabled"] = True
            stream: Dict[str, Any] = {"enabled": True}
            if stream_vars:
                stream["vars"] = stream_vars
            target.setdefault("streams", {})[entry["dataset"]] = stream
        found["_notes"].append("%s: %s with %s, retention %s (ILM vigil-%s)"
                               % (item["id"], entry["dataset"], custom_pipeline(entry), item["retention"],
                                  item["retention"]))
    out = []
    for found in by_package.values():
        notes = found.pop("_notes")
        found["description"] = "Vigil: Elastic's integration; %s" % "; ".join(notes)
        out.append(found)
    return out


def elastic_agent_package_policies(policies: Any, packages: Any) -> Dict[Any, List[Dict[str, Any]]]:
    """{policy id: [Fleet package policy]} for every policy."""
    if not isinstance(packages, Mapping):
        raise AnsibleFilterError("elastic_agent_fleet_packages must map input types to package versions, got %s"
                                 % type(packages).__name__)
    found: Dict[Any, List[Dict[str, Any]]] = {}
    try:
        for policy in policy_list(policies):
            entry = as_mapping(policy)
            items = [as_mapping(item) for item in policy_inputs(entry)]
            found[entry["id"]] = [_package_policy(entry, item, packages) for item in items if "integration" not in item]
            found[entry["id"]] += _integration_policies(entry, [i for i in items if "integration" in i], packages)
    except PolicyError as exc:
        raise AnsibleFilterError(str(exc)) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("elastic_agent_policies: a policy or input lacks %s (or elastic_agent_fleet_packages "
                                 "has no version for its type or integration package); run the role's policy checks "
                                 "(elastic_agent_policy_problems) first" % exc) from None
    return found


class FilterModule:
    """Fleet package policies."""

    def filters(self):
        return {"elastic_agent_package_policies": elastic_agent_package_policies}
