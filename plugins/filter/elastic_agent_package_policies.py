# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet package policies of the Elastic Agent policies (vigil.monitoring.elastic_agent_package_policies).

elastic_agent_package_policies(policies, packages)
  policies: elastic_agent_policies (checked by elastic_agent_policy_problems)
  packages: the Fleet package version per input type (elastic_agent_fleet_packages)
  returns {policy id: [package policy]}: one package policy per input, in Fleet's simplified
  format, named <policy id>-<input id>, for Elastic's Custom UDP/TCP Logs, Custom Logs
  (Filestream) and Custom Windows Event Logs integrations.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Dict, List

from ansible.errors import AnsibleFilterError
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


def elastic_agent_package_policies(policies: Any, packages: Any) -> Dict[Any, List[Dict[str, Any]]]:
    """{policy id: [Fleet package policy per input]} for every policy."""
    if not isinstance(packages, Mapping):
        raise AnsibleFilterError("elastic_agent_fleet_packages must map input types to package versions, got %s"
                                 % type(packages).__name__)
    found: Dict[Any, List[Dict[str, Any]]] = {}
    try:
        for policy in policy_list(policies):
            entry = as_mapping(policy)
            found[entry["id"]] = [_package_policy(entry, as_mapping(item), packages) for item in policy_inputs(entry)]
    except PolicyError as exc:
        raise AnsibleFilterError(str(exc)) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("elastic_agent_policies: a policy or input lacks %s (or elastic_agent_fleet_packages "
                                 "has no version for its type); run the role's policy checks "
                                 "(elastic_agent_policy_problems) first" % exc) from None
    return found


class FilterModule:
    """Fleet package policies."""

    def filters(self):
        return {"elastic_agent_package_policies": elastic_agent_package_policies}
