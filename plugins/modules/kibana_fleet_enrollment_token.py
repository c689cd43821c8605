#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Get or create the Fleet enrollment token (enrollment API key) of an agent policy."""

from __future__ import annotations

DOCUMENTATION = r"""
module: kibana_fleet_enrollment_token
short_description: Get or create the Fleet enrollment token of an agent policy
version_added: 0.1.0
description:
  - Returns an active enrollment API key (the token C(elastic-agent enroll --enrollment-token) needs)
    for an agent policy, creating one through C(POST /api/fleet/enrollment_api_keys) only when the
    policy has no active key (matching O(name) when set). Repeated runs reuse the same key.
  - Fleet creates a C(Default) key with every new agent policy; without O(name) that key is reused.
  - Fleet stores a key created with a name as that name followed by the key's UUID in parentheses; a
    key matches O(name) when its name is O(name) or O(name) followed by a space and a parenthesis.
  - With O(state=absent) every active matching key of the policy is revoked
    (C(DELETE /api/fleet/enrollment_api_keys/<id>)); agents already enrolled keep working.
  - B(The token is a secret.) It is returned only under RV(enrollment_token) and never in
    RV(enrollment_key) or the diff. Ansible cannot hide a value a module returns, so the calling task
    B(must) set C(no_log=true) (and the variable you register it into must not be printed). The
    module warns when the task runs without C(no_log).
author:
  - Vigil maintainers (@vigil-monitoring)
options:
  policy_id:
    description: ID of the agent policy. One of O(policy_id) and O(policy_name) is required.
    type: str
  policy_name:
    description: Exact name of the agent policy, looked up in Fleet's list of agent policies.
    type: str
  name:
    description: Name of the enrollment key. Unset means any active key of the policy is reused.
    type: str
  state:
    description: C(present) returns (creating if needed) a key; C(absent) revokes the matching keys.
extends_documentation_fragment: [vigil.monitoring.api, vigil.monitoring.api.transport, vigil.monitoring.kibana,
  vigil.monitoring.resource.state]
notes:
  - Supports check mode (no key is created, so no token is returned when none exists yet) and diff mode.
"""

EXAMPLES = r"""
- name: Enrollment token of the firewall collectors policy
  vigil.monitoring.kibana_fleet_enrollment_token:
    url: https://kibana.lab.example:5601
    api_key: "{{ vault_kibana_api_key }}"
    policy_id: vigil-firewall-collectors
    name: vigil
  register: enrollment
  no_log: true

- name: Enroll the agent
  ansible.builtin.command:
    argv:
      - elastic-agent
      - enroll
      - --url=https://fleet.lab.example:8220
      - --enrollment-token={{ enrollment.enrollment_token }}
      - --force
  no_log: true
"""

RETURN = r"""
enrollment_token:
  description:
    - The enrollment token (the key's C(api_key)). B(Secret) - set C(no_log) on the task.
    - Empty in check mode when a key would have to be created, and with O(state=absent).
  returned: always
  type: str
enrollment_key:
  description:
    - The key's metadata (C(id), C(name), C(policy_id), C(active), C(created_at), C(api_key_id)),
      without the token.
  returned: when state is present
  type: dict
policy_id:
  description: The agent policy ID.
  returned: always
  type: str
revoked:
  description: IDs of the keys revoked (with O(state=absent)).
  returned: when state is absent
  type: list
  elements: str
"""

from typing import Any, Dict, List, Optional  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.vigil.monitoring.plugins.module_utils.api_resource import fail_api, state_option  # noqa: E402
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import (  # noqa: E402
    KibanaClient,
    elastic_module,
    fleet_items,
    kibana_argument_spec,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.vigil_http import ApiError, quote_segment  # noqa: E402

KEYS = "/api/fleet/enrollment_api_keys"
POLICIES = "/api/fleet/agent_policies"
METADATA = ("id", "name", "policy_id", "active", "created_at", "api_key_id")


def argument_spec() -> Dict[str, Any]:
    return kibana_argument_spec(
        policy_id=dict(type="str"),
        policy_name=dict(type="str"),
        name=dict(type="str"),
        state=state_option(),
    )


def resolve_policy(module: AnsibleModule, client: KibanaClient) -> Optional[str]:
    if module.params["policy_id"]:
        return module.params["policy_id"]
    name = module.params["policy_name"]
    for policy in fleet_items(client, POLICIES):
        if policy.get("name") == name:
            return policy.get("id")
    message = "No Fleet agent policy is named %r; create it first (kibana_fleet_agent_policy) or pass policy_id" % name
    if module.check_mode:
        module.warn(message + " (check mode: it may be created by an earlier task)")
        return None
    module.fail_json(msg=message)
    return None


def name_matches(key_name: Optional[str], wanted: Optional[str]) -> bool:
    if wanted is None:
        return True
    return key_name == wanted or (key_name or "").startswith(wanted + " (")


def matching_keys(client: KibanaClient, policy_id: str, wanted: Optional[str]) -> List[Dict[str, Any]]:
    kuery = quote_segment('policy_id:"%s"' % policy_id)
    keys = fleet_items(client, "%s?kuery=%s" % (KEYS, kuery))
    return [
        k
        for k in keys
        if k.get("policy_id") == policy_id
        and k.get("active")
        and not k.get("hidden")
        and name_matches(k.get("name"), wanted)
    ]


def metadata(key: Dict[str, Any]) -> Dict[str, Any]:
    return {k: key.get(k) for k in METADATA if k in key}


def ensure_present(module: AnsibleModule, client: KibanaClient, policy_id: Optional[str]) -> Dict[str, Any]:
    keys = matching_keys(client, policy_id, module.params["name"]) if policy_id else []
    if keys:
        key = sorted(keys, key=lambda k: str(k.get("created_at") or ""))[0]
        return {"changed": False, "enrollment_token": key.get("api_key") or "", "enrollment_key": metadata(key)}
    body: Dict[str, Any] = {"policy_id": policy_id}
    if module.params["name"]:
        body["name"] = module.params["name"]
    if module.check_mode:
        return {"changed": True, "enrollment_token": "", "enrollment_key": dict(body, active=True)}
    item = client.request("POST", KEYS, body=body, expect=dict)[1]["item"]
    return {"changed": True, "enrollment_token": item.get("api_key") or "", "enrollment_key": metadata(item)}


def ensure_absent(module: AnsibleModule, client: KibanaClient, policy_id: Optional[str]) -> Dict[str, Any]:
    keys = matching_keys(client, policy_id, module.params["name"]) if policy_id else []
    if not module.check_mode:
        for key in keys:
            client.request("DELETE", "%s/%s" % (KEYS, quote_segment(key["id"])), expect=None)
    return {"changed": bool(keys), "enrollment_token": "", "revoked": [k["id"] for k in keys]}


def main() -> None:
    module = elastic_module(argument_spec(), mutually_exclusive=[("policy_id", "policy_name")],
                            required_one_of=[("policy_id", "policy_name")])
    if not module.no_log and module.params["state"] == "present":
        module.warn("kibana_fleet_enrollment_token returns a secret token: set 'no_log: true' on this task")
    client = KibanaClient(module)
    try:
        policy_id = resolve_policy(module, client)
        if module.params["state"] == "present":
            result = ensure_present(module, client, policy_id)
            after: Dict[str, Any] = {"enrollment_key": result["enrollment_key"].get("name") or "(any active key)"}
        else:
            result = ensure_absent(module, client, policy_id)
            after = {"active_keys": []}
    except ApiError as err:
        fail_api(
            module,
            "Fleet enrollment token for policy %s" % (module.params["policy_id"] or module.params["policy_name"]),
            err,
        )
        return
    result["changed_fields"] = sorted(after) if result["changed"] else []
    if module._diff:
        before = {"active_keys": result.get("revoked", [])} if module.params["state"] == "absent" else {}
        result["diff"] = {"before": before if result["changed"] else after, "after": after}
    module.exit_json(policy_id=policy_id, **result)


if __name__ == "__main__":
    main()
