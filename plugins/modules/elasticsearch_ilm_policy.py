#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage an Elasticsearch index lifecycle (ILM) policy."""

from __future__ import annotations

DOCUMENTATION = r"""
module: elasticsearch_ilm_policy
short_description: Manage an Elasticsearch index lifecycle management (ILM) policy
version_added: 0.1.0
description:
  - Creates, updates or deletes an ILM policy through C(PUT/GET/DELETE _ilm/policy/<name>).
  - C(GET) answers an object keyed by the policy name holding C(version), C(modified_date), C(policy) and
    C(in_use_by); only C(policy) is compared.
    Before comparing, the defaults Elasticsearch fills in are applied to O(policy) (C(min_age) C(0ms)
    for a phase without one, C(delete_searchable_snapshot=true) for the C(delete) action,
    C(force_merge_index=true) for C(searchable_snapshot)), so a policy written without them is not
    rewritten on every run. Everything else is compared exactly.
  - The policy is written only when it differs. A missing policy is recognised only by HTTP 404.
author:
  - Vigil maintainers (@vigil-monitoring)
options:
  policy:
    description:
      - The policy as sent under C(policy) to C(PUT _ilm/policy/<name>). Needs C(phases) (C(hot),
        C(warm), C(cold), C(frozen), C(delete)); may set C(_meta). Required when O(state=present).
    type: dict
extends_documentation_fragment: [vigil.monitoring.api, vigil.monitoring.api.transport, vigil.monitoring.elasticsearch, vigil.monitoring.elasticsearch.name,
  vigil.monitoring.resource, vigil.monitoring.resource.state]
notes:
  - A policy in use cannot be deleted; Elasticsearch answers with an error that the task reports.
"""

EXAMPLES = r"""
- name: Keep firewall and security logs one year
  vigil.monitoring.elasticsearch_ilm_policy:
    url: https://es.lab.example:9200
    api_key: "{{ vault_es_api_key }}"
    name: vigil-security-365d
    policy:
      _meta: {managed_by: vigil}
      phases:
        hot:
          actions:
            rollover: {max_age: 1d, max_primary_shard_size: 50gb}
        delete:
          min_age: 365d
          actions:
            delete: {}

- name: Debug logs live a week
  vigil.monitoring.elasticsearch_ilm_policy:
    url: https://es.lab.example:9200
    api_key: "{{ vault_es_api_key }}"
    name: vigil-debug-7d
    policy:
      phases:
        hot: {actions: {rollover: {max_age: 1d, max_primary_shard_size: 10gb}}}
        delete: {min_age: 7d, actions: {delete: {}}}
"""

RETURN = r"""
policy:
  description:
    - The policy as it is (or, in check mode, would be) stored, Elasticsearch's defaults included.
    - Empty when absent.
  returned: always
  type: dict
version:
  description: The policy version Elasticsearch reported before this run (it increments on every write).
  returned: when the policy existed
  type: int
"""

import copy  # noqa: E402
from typing import Any, Dict, Optional  # noqa: E402

from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import VersionedResource, run_body_resource  # noqa: E402

PHASES = ("hot", "warm", "cold", "frozen", "delete")
# Documented defaults Elasticsearch stores when an action leaves them out.
ACTION_DEFAULTS = {
    "delete": {"delete_searchable_snapshot": True},
    "searchable_snapshot": {"force_merge_index": True},
}


def policy_problem(policy: Dict[str, Any]) -> Optional[str]:
    phases = policy.get("phases")
    if not isinstance(phases, dict) or not phases:
        return "policy.phases must be a dict of phases, for example {hot: {actions: {rollover: {max_age: 1d}}}}"
    unknown = sorted(set(phases) - set(PHASES))
    if unknown:
        return "policy.phases has unknown phase(s) %s; use %s" % (", ".join(unknown), ", ".join(PHASES))
    for phase, spec in phases.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("actions", {}), dict):
            return "policy.phases.%s must be a dict with an 'actions' dict (and optionally min_age)" % phase
    return None


def with_defaults(policy: Dict[str, Any]) -> Dict[str, Any]:
    """The policy the way Elasticsearch stores it (documented defaults filled in)."""
    out = copy.deepcopy(policy)
    for phase in out.get("phases", {}).values():
        phase.setdefault("min_age", "0ms")
        actions = phase.setdefault("actions", {})
        for action, defaults in ACTION_DEFAULTS.items():
            if action in actions:
                config = actions[action] if isinstance(actions[action], dict) else {}
                actions[action] = dict(defaults, **config)
    return out


class IlmPolicy(VersionedResource):
    kind = "ILM policy"
    result_key = wrap_key = "policy"
    prefix = "/_ilm/policy"
    document_problem = staticmethod(policy_problem)
    document_form = staticmethod(with_defaults)
    stored_form = staticmethod(dict)


def main() -> None:
    run_body_resource(IlmPolicy)


if __name__ == "__main__":
    main()
