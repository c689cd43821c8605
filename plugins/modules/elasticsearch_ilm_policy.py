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
extends_documentation_fragment:
  - vigil.monitoring.api
options:
  api_key:
    description:
      - Elasticsearch API key, sent in the C(Authorization) header with the C(ApiKey) scheme; the C(encoded)
        value or C(id:api_key). Never logged. Mutually exclusive with O(api_token) and O(url_username).
    type: str
  name:
    description: Policy name.
    type: str
    required: true
  state:
    description: Whether the policy must exist.
    type: str
    choices: [present, absent]
    default: present
  policy:
    description:
      - The policy as sent under C(policy) to C(PUT _ilm/policy/<name>). Needs C(phases) (C(hot),
        C(warm), C(cold), C(frozen), C(delete)); may set C(_meta). Required when O(state=present).
    type: dict
notes:
  - Supports check mode and diff mode.
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
changed_fields:
  description: Dotted paths of the policy that differ from what was stored.
  returned: always
  type: list
  elements: str
diff:
  description: C(before) and C(after) policies.
  returned: in diff mode
  type: dict
"""

import copy  # noqa: E402
from typing import Any, Dict, Optional, Tuple  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import (  # noqa: E402
    ELASTIC_MUTUALLY_EXCLUSIVE,
    ELASTIC_REQUIRED_TOGETHER,
    ElasticsearchClient,
    changed_paths,
    diff_result,
    elastic_argument_spec,
    fail_api,
    same,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.vigil_http import (  # noqa: E402
    ApiError,
    ApiModule,
    quote_segment,
)

PHASES = ("hot", "warm", "cold", "frozen", "delete")
# Documented defaults Elasticsearch stores when an action leaves them out.
ACTION_DEFAULTS = {
    "delete": {"delete_searchable_snapshot": True},
    "searchable_snapshot": {"force_merge_index": True},
}


def argument_spec() -> Dict[str, Any]:
    spec = elastic_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        policy=dict(type="dict"),
    )
    return spec


def validate(module: AnsibleModule) -> None:
    policy = module.params["policy"]
    if policy is None:
        return
    phases = policy.get("phases")
    if not isinstance(phases, dict) or not phases:
        module.fail_json(
            msg="policy.phases must be a dict of phases, for example {hot: {actions: {rollover: {max_age: 1d}}}}"
        )
    unknown = sorted(set(phases) - set(PHASES))
    if unknown:
        module.fail_json(msg="policy.phases has unknown phase(s) %s; use %s" % (", ".join(unknown), ", ".join(PHASES)))
    for phase, spec in phases.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("actions", {}), dict):
            module.fail_json(
                msg="policy.phases.%s must be a dict with an 'actions' dict (and optionally min_age)" % phase
            )


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


def fetch(client: ElasticsearchClient, name: str) -> Tuple[Optional[Dict[str, Any]], Optional[int]]:
    found = client.get_or_none("/_ilm/policy/%s" % quote_segment(name), expect=dict)
    if not isinstance(found, dict) or name not in found:
        return None, None
    entry = found[name]
    return entry.get("policy"), entry.get("version")


def main() -> None:
    module = ApiModule(
        argument_spec=argument_spec(),
        mutually_exclusive=ELASTIC_MUTUALLY_EXCLUSIVE,
        required_together=ELASTIC_REQUIRED_TOGETHER,
        required_if=[("state", "present", ("policy",))],
        supports_check_mode=True,
    )
    validate(module)
    client = ElasticsearchClient(module)
    name = module.params["name"]
    path = "/_ilm/policy/%s" % quote_segment(name)
    try:
        current, version = fetch(client, name)
        result: Dict[str, Any] = {"changed": False, "name": name}
        if version is not None:
            result["version"] = version
        if module.params["state"] == "present":
            desired = with_defaults(module.params["policy"])
            result["policy"] = desired
            result["changed_fields"] = (
                [] if current is not None and same(current, desired) else changed_paths(current or {}, desired)
            )
            result["changed"] = bool(result["changed_fields"]) or current is None
            if result["changed"] and not module.check_mode:
                client.request("PUT", path, body={"policy": module.params["policy"]}, expect=dict)
        else:
            desired = None
            result["policy"] = {}
            result["changed"] = current is not None
            result["changed_fields"] = sorted(current) if current else []
            if result["changed"] and not module.check_mode:
                client.request("DELETE", path, expected=(200, 404), expect=None)
    except ApiError as err:
        fail_api(module, "ILM policy %s" % name, err)
        return
    if result["changed"] and module._diff:
        result["diff"] = diff_result(current, desired)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
