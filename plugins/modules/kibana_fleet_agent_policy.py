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
author:
  - Vigil maintainers (@vigil-monitoring)
options:
  id:
    description:
      - Agent policy ID. When set, the policy is looked up (and created) with this ID; otherwise it is
        looked up by O(name) and Fleet generates the ID on creation.
    type: str
  name:
    description: Agent policy name (unique in Fleet). Required when O(state=present).
    type: str
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
extends_documentation_fragment: [vigil.monitoring.api, vigil.monitoring.api.transport, vigil.monitoring.kibana,
  vigil.monitoring.resource, vigil.monitoring.resource.state]
notes:
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
package_policies:
  description:
    - What happened to each package policy, items with C(name), C(id) and C(action) (C(created),
      C(updated), C(unchanged), C(deleted)).
  returned: when package_policies or purge_package_policies is set
  type: list
  elements: dict
"""

import copy  # noqa: E402
from typing import Any, Dict, List, Optional  # noqa: E402

from ansible_collections.vigil.monitoring.plugins.module_utils.api_resource import (  # noqa: E402
    ApiResource,
    project,
    reconcile,
    state_option,
    subset_changed_paths,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import (  # noqa: E402
    KibanaClient,
    elastic_module,
    fleet_items,
    kibana_argument_spec,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.vigil_http import quote_segment  # noqa: E402

POLICIES = "/api/fleet/agent_policies"
PACKAGE_POLICIES = "/api/fleet/package_policies"
PACKAGE_POLICY_KEYS = ("name", "package", "id", "namespace", "description", "vars", "inputs")
SHOWN_WHEN_DELETED = ("name", "namespace", "description")


def argument_spec() -> Dict[str, Any]:
    return kibana_argument_spec(
        id=dict(type="str"),
        name=dict(type="str"),
        state=state_option(),
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


def get_policy(client: KibanaClient, policy_id: str) -> Optional[Dict[str, Any]]:
    found = client.get_optional("%s/%s" % (POLICIES, quote_segment(policy_id)), expect=dict)
    return None if found is None else found.get("item")


def find_policy(client: KibanaClient, params: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    if params["id"]:
        return get_policy(client, params["id"])
    matches = [p for p in fleet_items(client, POLICIES) if p.get("name") == params["name"]]
    # The single GET includes package_policies; the list does not.
    return get_policy(client, matches[0]["id"]) if matches else None


# -- package policies -----------------------------------------------------------------


def package_policy_body(item: Dict[str, Any], policy_id: Optional[str]) -> Dict[str, Any]:
    body = {k: copy.deepcopy(item[k]) for k in PACKAGE_POLICY_KEYS if k in item and k != "id"}
    body["policy_id"] = policy_id
    return body


def without_policy_id(body: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in body.items() if k != "policy_id"}


def attached_policies(policy: Optional[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    return {pp.get("name"): pp for pp in (policy or {}).get("package_policies") or [] if isinstance(pp, dict)}


# -- the resource ---------------------------------------------------------------------


class AgentPolicy(ApiResource):
    """An agent policy, compared on the fields set; its package policies are planned (read) before any write."""

    kind = "Fleet agent policy"
    result_key = "agent_policy"
    plan: Optional[List[Dict[str, Any]]] = None
    stored: Optional[Dict[str, Any]] = None  # the policy as fetched
    item: Optional[Dict[str, Any]] = None  # the policy as Fleet answered the write

    def check_options(self) -> Optional[str]:
        return "; ".join(package_policy_errors(self.params["package_policies"])) or None

    @property
    def name(self) -> str:
        return self.params["id"] or self.params["name"]

    @property
    def manages_packages(self) -> bool:
        return self.params["package_policies"] is not None or self.params["purge_package_policies"]

    def fetch(self) -> Optional[Dict[str, Any]]:
        self.stored = find_policy(self.client, self.params)
        return self.stored

    def normalise(self, raw: Dict[str, Any]) -> Dict[str, Any]:
        if self.state == "absent":
            return project(raw, SHOWN_WHEN_DELETED)
        state = project(comparable(raw), desired_policy(self.params))
        if self.manages_packages:
            state["package_policies"] = sorted(attached_policies(raw))
        return state

    def desired(self) -> Dict[str, Any]:
        state = desired_policy(self.params)
        if self.manages_packages:
            state["package_policies"] = sorted(p["name"] for p in self.planned() if p["action"] != "deleted")
        return state

    def planned(self) -> List[Dict[str, Any]]:
        """What happens to each package policy (reads only): created, updated, unchanged or deleted."""
        if self.plan is None:
            attached = attached_policies(self.stored)
            wanted = self.params["package_policies"] or []
            self.plan = [self.plan_one(item, attached.get(item["name"])) for item in wanted]
            if self.params["purge_package_policies"]:
                names = {item["name"] for item in wanted}
                self.plan.extend({"name": name, "id": pp["id"], "action": "deleted"}
                                 for name, pp in sorted(attached.items(), key=lambda kv: str(kv[0]))
                                 if name not in names)
        return self.plan

    def plan_one(self, item: Dict[str, Any], existing: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        if existing is None:
            return {"name": item["name"], "id": item.get("id"), "action": "created", "item": item}
        path = "%s/%s" % (PACKAGE_POLICIES, quote_segment(existing["id"]))
        current = self.client.request("GET", path + "?format=simplified", expect=dict)[1]["item"]
        fields = subset_changed_paths(without_policy_id(package_policy_body(item, None)), current)
        if not fields:
            return {"name": item["name"], "id": existing["id"], "action": "unchanged"}
        return {"name": item["name"], "id": existing["id"], "action": "updated", "changed_fields": fields,
                "item": item}

    def policy_fields(self, current: Dict[str, Any]) -> List[str]:
        return subset_changed_paths(desired_policy(self.params), without_keys_pp(current))

    def same(self, current: Dict[str, Any], desired: Dict[str, Any]) -> bool:
        return not self.changed_fields(current, desired)

    def changed_fields(self, current: Optional[Dict[str, Any]], desired: Optional[Dict[str, Any]]) -> List[str]:
        if current is None or desired is None:
            return super().changed_fields(current, desired)
        touched = ["package_policies.%s" % p["name"] for p in self.planned() if p["action"] != "unchanged"]
        return self.policy_fields(current) + touched

    def create(self) -> Any:
        body = desired_policy(self.params)
        if self.params["id"]:
            body["id"] = self.params["id"]
        query = "?sys_monitoring=true" if self.params["sys_monitoring"] else ""
        self.item = self.client.request("POST", POLICIES + query, body=body, expect=dict)[1]["item"]
        self.apply_plan(self.item.get("id"))
        return self.item

    def update(self, raw: Dict[str, Any]) -> Any:
        item = raw
        if self.policy_fields(self.normalise(raw)):
            path = "%s/%s" % (POLICIES, quote_segment(raw["id"]))
            item = self.client.request("PUT", path, body=desired_policy(self.params), expect=dict)[1]["item"]
            item.setdefault("package_policies", raw.get("package_policies", []))
        self.item = item
        self.apply_plan(raw.get("id"))
        return item

    def apply_plan(self, policy_id: Optional[str]) -> None:
        for step in self.planned():
            if step["action"] == "created":
                body = package_policy_body(step["item"], policy_id)
                if step["item"].get("id"):
                    body["id"] = step["item"]["id"]
                step["id"] = self.client.request("POST", PACKAGE_POLICIES, body=body, expect=dict)[1]["item"]["id"]
            elif step["action"] == "updated":
                path = "%s/%s" % (PACKAGE_POLICIES, quote_segment(step["id"]))
                self.client.request("PUT", path, body=package_policy_body(step["item"], policy_id), expect=dict)
            elif step["action"] == "deleted":
                self.client.request("DELETE", "%s/%s" % (PACKAGE_POLICIES, quote_segment(step["id"])), expect=None)

    def delete(self, raw: Dict[str, Any]) -> None:
        self.client.request("POST", POLICIES + "/delete", body={"agentPolicyId": raw["id"]}, expect=dict)

    def returned(self, after: Optional[Dict[str, Any]], raw: Any, answer: Any, changed: bool) -> Any:
        if after is None:
            return {}
        if answer is not None:
            return answer
        if raw is not None:
            return raw
        request = desired_policy(self.params)  # check mode: the create request
        if self.params["id"]:
            request["id"] = self.params["id"]
        return request

    def extra_result(self) -> Dict[str, Any]:
        extra: Dict[str, Any] = {"id": (self.item or self.stored or {}).get("id") or self.params["id"]}
        if self.manages_packages and self.state == "present":
            extra["package_policies"] = [{k: v for k, v in step.items() if k != "item"} for step in self.planned()]
        return extra


def without_keys_pp(state: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in state.items() if k != "package_policies"}


def main() -> None:
    module = elastic_module(argument_spec(), required_if=[("state", "present", ("name",))],
                            required_one_of=[("id", "name")])
    reconcile(AgentPolicy(module, KibanaClient(module)))


if __name__ == "__main__":
    main()
