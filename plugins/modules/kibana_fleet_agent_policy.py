#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage a Fleet agent policy and the integrations (package policies) in it."""

from __future__ import annotations

DOCUMENTATION = r"""
module: kibana_fleet_agent_policy
short_description: Manage a Fleet agent policy and its integrations (package policies)
version_added: 0.1.0
description:
  - Creates, updates or deletes an Elastic Agent policy through Kibana's Fleet API
    (C(/api/fleet/agent_policies)), found by O(id) when set, otherwise by its exact O(name).
  - Fleet answers a single object under C(item) and a list under C(items) with C(total), C(page) and
    C(perPage); lists are read page by page. A missing policy is recognised only by HTTP 404 (by id) or by its
    absence from the list (by name).
  - Only the fields you set are compared (Fleet adds C(revision), C(updated_at), C(status), ...);
    the policy is written only when one differs.
  - With O(package_policies), the named integrations are created in the policy or updated (Fleet's
    C(simplified) format, C(/api/fleet/package_policies)); each is found by name among the policy's
    package policies and compared on the keys you set. O(purge_package_policies) removes the others.
  - Every request carries C(kbn-xsrf).
author:
  - Vigil maintainers (@vigil-monitoring)
extends_documentation_fragment:
  - vigil.monitoring.api
options:
  api_key:
    description:
      - Elasticsearch API key accepted by Kibana, sent in the C(Authorization) header with the C(ApiKey)
        scheme; the C(encoded) value or C(id:api_key). Never logged.
      - Mutually exclusive with O(api_token) and O(url_username).
    type: str
  space_id:
    description: Kibana space; unset or C(default) means the default space.
    type: str
  id:
    description:
      - Agent policy ID. When set, the policy is looked up (and created) with this ID; otherwise it is
        looked up by O(name) and Fleet generates the ID on creation.
    type: str
  name:
    description: Agent policy name (unique in Fleet). Required when O(state=present).
    type: str
  state:
    description: Whether the policy must exist.
    type: str
    choices: [present, absent]
    default: present
  namespace:
    description: Default data stream namespace of the policy's integrations.
    type: str
    default: default
  description:
    description: Policy description.
    type: str
  monitoring_enabled:
    description: Which Elastic Agent monitoring data the agents send (order does not matter).
    type: list
    elements: str
    choices: [logs, metrics, traces]
    default: [logs, metrics]
  inactivity_timeout:
    description: Seconds after which an agent that has not checked in is considered inactive.
    type: int
  settings:
    description:
      - Further agent policy fields sent as they are and compared on the keys you set, for example
        C(fleet_server_host_id), C(data_output_id), C(monitoring_output_id), C(download_source_id),
        C(is_protected), C(advanced_settings), C(global_data_tags), C(agent_features).
    type: dict
    default: {}
  sys_monitoring:
    description: When the policy is created, let Fleet add the System integration to it (C(?sys_monitoring=true)).
    type: bool
    default: false
  package_policies:
    description:
      - Integrations in this policy, in Fleet's simplified format. Each item needs C(name) (unique in
        Fleet) and C(package) (C({name, version})) and may set C(id), C(namespace), C(description),
        C(vars) and C(inputs) (keyed by C(<policy_template>-<input type>), each with C(enabled), C(vars)
        and C(streams) keyed by C(<package>.<dataset>)).
    type: list
    elements: dict
  purge_package_policies:
    description: Delete the package policies of this agent policy that O(package_policies) does not name.
    type: bool
    default: false
notes:
  - Supports check mode and diff mode.
  - Deleting a policy with enrolled agents fails; Fleet's error is reported.
"""

EXAMPLES = r"""
- name: Agent policy for the firewall log collectors
  vigil.monitoring.kibana_fleet_agent_policy:
    url: https://kibana.lab.example:5601
    api_key: "{{ vault_kibana_api_key }}"
    id: vigil-firewall-collectors
    name: Vigil firewall collectors
    namespace: lab
    description: Syslog from the firewalls, managed by Ansible
    monitoring_enabled: [logs, metrics]
    package_policies:
      - name: vigil-firewall-syslog
        package: {name: udp, version: 2.3.0}
        inputs:
          udp-udp:
            enabled: true
            streams:
              udp.generic:
                enabled: true
                vars: {listen_address: 0.0.0.0, listen_port: 5514, data_stream.dataset: firewall}

- name: Remove a policy
  vigil.monitoring.kibana_fleet_agent_policy:
    url: https://kibana.lab.example:5601
    api_key: "{{ vault_kibana_api_key }}"
    name: Old collectors
    state: absent
"""

RETURN = r"""
agent_policy:
  description: The agent policy as Fleet returns it (in check mode, the request that would be sent); empty when absent.
  returned: always
  type: dict
id:
  description: The agent policy ID (unknown in check mode when the policy would be created without O(id)).
  returned: always
  type: str
changed_fields:
  description: Dotted paths of the policy fields that differed.
  returned: always
  type: list
  elements: str
package_policies:
  description:
    - What happened to each package policy, items with C(name), C(id) and C(action) (C(created),
      C(updated), C(unchanged), C(deleted)).
  returned: when package_policies or purge_package_policies is set
  type: list
  elements: dict
diff:
  description: C(before) and C(after) of the managed fields and package policy names.
  returned: in diff mode
  type: dict
"""

import copy  # noqa: E402
from typing import Any, Dict, List, Optional  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import (  # noqa: E402
    ELASTIC_MUTUALLY_EXCLUSIVE,
    ELASTIC_REQUIRED_TOGETHER,
    KibanaClient,
    diff_result,
    fail_api,
    kibana_argument_spec,
    project,
    subset_changed_paths,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.vigil_http import (  # noqa: E402
    ApiError,
    ApiModule,
    quote_segment,
)

POLICIES = "/api/fleet/agent_policies"
PACKAGE_POLICIES = "/api/fleet/package_policies"
PER_PAGE = 100
PACKAGE_POLICY_KEYS = ("name", "package", "id", "namespace", "description", "vars", "inputs")


def argument_spec() -> Dict[str, Any]:
    spec = kibana_argument_spec()
    spec.update(
        id=dict(type="str"),
        name=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        namespace=dict(type="str", default="default"),
        description=dict(type="str"),
        monitoring_enabled=dict(
            type="list", elements="str", choices=["logs", "metrics", "traces"], default=["logs", "metrics"]
        ),
        inactivity_timeout=dict(type="int"),
        settings=dict(type="dict", default={}),
        sys_monitoring=dict(type="bool", default=False),
        package_policies=dict(type="list", elements="dict"),
        purge_package_policies=dict(type="bool", default=False),
    )
    return spec


def package_policy_errors(items: Optional[List[Any]]) -> List[str]:
    errors = []
    for index, item in enumerate(items or []):
        where = "package_policies[%d]" % index
        if not isinstance(item, dict):
            errors.append("%s must be a dict with name and package" % where)
            continue
        if not item.get("name"):
            errors.append("%s.name is required (unique in Fleet)" % where)
        package = item.get("package")
        if not isinstance(package, dict) or not package.get("name") or not package.get("version"):
            errors.append("%s.package must be {name: <package>, version: <installed or installable version>}" % where)
        unknown = sorted(set(item) - set(PACKAGE_POLICY_KEYS))
        if unknown:
            errors.append(
                "%s has unknown key(s) %s; allowed: %s" % (where, ", ".join(unknown), ", ".join(PACKAGE_POLICY_KEYS))
            )
    return errors


# -- agent policy ---------------------------------------------------------------------


def desired_policy(params: Dict[str, Any]) -> Dict[str, Any]:
    body: Dict[str, Any] = copy.deepcopy(params["settings"] or {})
    body.update(
        name=params["name"], namespace=params["namespace"], monitoring_enabled=sorted(params["monitoring_enabled"])
    )
    for key in ("description", "inactivity_timeout"):
        if params[key] is not None:
            body[key] = params[key]
    return body


def comparable(item: Dict[str, Any]) -> Dict[str, Any]:
    out = dict(item)
    if isinstance(out.get("monitoring_enabled"), list):
        out["monitoring_enabled"] = sorted(out["monitoring_enabled"])
    return out


def list_all(client: KibanaClient, path: str) -> List[Dict[str, Any]]:
    """Every item of a Fleet list endpoint, page by page."""
    items: List[Dict[str, Any]] = []
    page = 1
    while True:
        sep = "&" if "?" in path else "?"
        answer = client.request("GET", "%s%spage=%d&perPage=%d" % (path, sep, page, PER_PAGE), expect=dict)[1]
        batch = answer.get("items") or []
        items.extend(batch)
        if not batch or len(items) >= int(answer.get("total") or 0):
            return items
        page += 1


def get_policy(client: KibanaClient, policy_id: str) -> Optional[Dict[str, Any]]:
    found = client.get_or_none("%s/%s" % (POLICIES, quote_segment(policy_id)), expect=dict)
    return None if found is None else found.get("item")


def find_policy(client: KibanaClient, params: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    if params["id"]:
        return get_policy(client, params["id"])
    matches = [p for p in list_all(client, POLICIES) if p.get("name") == params["name"]]
    # The single GET includes package_policies; the list does not.
    return get_policy(client, matches[0]["id"]) if matches else None


def create_policy(module: AnsibleModule, client: KibanaClient, desired: Dict[str, Any]) -> Dict[str, Any]:
    body = dict(desired)
    if module.params["id"]:
        body["id"] = module.params["id"]
    if module.check_mode:
        return body
    query = "?sys_monitoring=true" if module.params["sys_monitoring"] else ""
    return client.request("POST", POLICIES + query, body=body, expect=dict)[1]["item"]


def ensure_policy(module: AnsibleModule, client: KibanaClient, current: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    desired = desired_policy(module.params)
    if current is None:
        item = create_policy(module, client, desired)
        return {
            "changed": True,
            "agent_policy": item,
            "changed_fields": sorted(desired),
            "before": None,
            "after": desired,
        }
    fields = subset_changed_paths(desired, comparable(current))
    result = {"changed": bool(fields), "agent_policy": current, "changed_fields": fields}
    result.update(before=project(comparable(current), desired), after=desired)
    if fields and not module.check_mode:
        path = "%s/%s" % (POLICIES, quote_segment(current["id"]))
        item = client.request("PUT", path, body=desired, expect=dict)[1]["item"]
        item.setdefault("package_policies", current.get("package_policies", []))
        result["agent_policy"] = item
    return result


# -- package policies -----------------------------------------------------------------


def package_policy_body(item: Dict[str, Any], policy_id: Optional[str]) -> Dict[str, Any]:
    body = {k: copy.deepcopy(item[k]) for k in PACKAGE_POLICY_KEYS if k in item and k != "id"}
    body["policy_id"] = policy_id
    return body


def sync_package_policy(
    module: AnsibleModule,
    client: KibanaClient,
    item: Dict[str, Any],
    existing: Optional[Dict[str, Any]],
    policy_id: Optional[str],
) -> Dict[str, Any]:
    body = package_policy_body(item, policy_id)
    if existing is None:
        if item.get("id"):
            body["id"] = item["id"]
        created_id = item.get("id")
        if not module.check_mode:
            created_id = client.request("POST", PACKAGE_POLICIES, body=body, expect=dict)[1]["item"]["id"]
        return {"name": item["name"], "id": created_id, "action": "created"}
    path = "%s/%s" % (PACKAGE_POLICIES, quote_segment(existing["id"]))
    current = client.request("GET", path + "?format=simplified", expect=dict)[1]["item"]
    fields = subset_changed_paths(without_policy_id(body), current)
    if not fields:
        return {"name": item["name"], "id": existing["id"], "action": "unchanged"}
    if not module.check_mode:
        client.request("PUT", path, body=body, expect=dict)
    return {"name": item["name"], "id": existing["id"], "action": "updated", "changed_fields": fields}


def without_policy_id(body: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in body.items() if k != "policy_id"}


def sync_package_policies(module: AnsibleModule, client: KibanaClient, policy: Dict[str, Any]) -> List[Dict[str, Any]]:
    wanted = module.params["package_policies"] or []
    attached = {pp.get("name"): pp for pp in policy.get("package_policies") or [] if isinstance(pp, dict)}
    outcome = [
        sync_package_policy(module, client, item, attached.get(item["name"]), policy.get("id")) for item in wanted
    ]
    if module.params["purge_package_policies"]:
        names = {item["name"] for item in wanted}
        for name, pp in sorted(attached.items(), key=lambda kv: str(kv[0])):
            if name in names:
                continue
            if not module.check_mode:
                client.request("DELETE", "%s/%s" % (PACKAGE_POLICIES, quote_segment(pp["id"])), expect=None)
            outcome.append({"name": name, "id": pp["id"], "action": "deleted"})
    return outcome


# -- main -----------------------------------------------------------------------------


def delete_policy(module: AnsibleModule, client: KibanaClient, current: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    result: Dict[str, Any] = {
        "changed": current is not None,
        "agent_policy": {},
        "changed_fields": ["(policy)"] if current else [],
    }
    result.update(before=project(current, ("name", "namespace", "description")) if current else None, after=None)
    if current is not None and not module.check_mode:
        client.request("POST", POLICIES + "/delete", body={"agentPolicyId": current["id"]}, expect=dict)
    return result


def main() -> None:
    module = ApiModule(
        argument_spec=argument_spec(),
        mutually_exclusive=ELASTIC_MUTUALLY_EXCLUSIVE,
        required_together=ELASTIC_REQUIRED_TOGETHER,
        required_if=[("state", "present", ("name",))],
        required_one_of=[("id", "name")],
        supports_check_mode=True,
    )
    errors = package_policy_errors(module.params["package_policies"])
    if errors:
        module.fail_json(msg="; ".join(errors))
    client = KibanaClient(module)
    label = module.params["id"] or module.params["name"]
    try:
        current = find_policy(client, module.params)
        if module.params["state"] == "absent":
            result = delete_policy(module, client, current)
        else:
            result = ensure_policy(module, client, current)
            if module.params["package_policies"] is not None or module.params["purge_package_policies"]:
                policy = dict(result["agent_policy"], package_policies=(current or {}).get("package_policies", []))
                result["package_policies"] = sync_package_policies(module, client, policy)
                touched = [p for p in result["package_policies"] if p["action"] != "unchanged"]
                result["changed"] = result["changed"] or bool(touched)
                result["before"] = dict(
                    result["before"] or {},
                    package_policies=sorted(p.get("name") for p in (current or {}).get("package_policies") or []),
                )
                result["after"] = dict(
                    result["after"],
                    package_policies=sorted(p["name"] for p in result["package_policies"] if p["action"] != "deleted"),
                )
    except ApiError as err:
        fail_api(module, "Fleet agent policy %s" % label, err)
        return
    before, after = result.pop("before", None), result.pop("after", None)
    if result["changed"] and module._diff:
        result["diff"] = diff_result(before, after)
    module.exit_json(id=(result["agent_policy"] or current or {}).get("id") or module.params["id"], **result)


if __name__ == "__main__":
    main()
