#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage an Elasticsearch API key by name, for one consumer that holds its secret."""

from __future__ import annotations

DOCUMENTATION = r"""
module: elasticsearch_api_key
short_description: Keep one Elasticsearch API key per name, minting a new one only when its holder has none
version_added: 0.2.0
description:
  - Manages the REST API keys that the authenticated user owns, identified by O(name) - C(GET
    _security/api_key?name=<name>&owner=true), C(POST _security/api_key), C(PUT _security/api_key/<id>)
    (Elasticsearch 8.4 and later; role descriptors are compared from 8.5, which returns them) and
    C(DELETE _security/api_key) with C(owner=true). Keys of other users are never touched.
  - Elasticsearch returns an API key's secret only once, when it is created. The module returns it then,
    as RV(encoded) (the base64 of C(id:api_key), what the C(ApiKey) authorization scheme and Elastic Agent's
    C(api_key) take), and never again. The task must use C(no_log), and the caller stores the key where its
    consumer reads it (the elastic_agent and opencti roles write it to a 0640 file on the consuming host).
  - Without O(current_key), an active key (neither invalidated nor expired) with the name is kept - its
    role descriptors and metadata are updated in place when they differ - and no new key is minted.
  - With O(current_key) (what the consumer holds now, possibly an empty string), the module first logs in
    with that key (C(GET _security/_authenticate)). If it works and is an active key of this name, it is
    kept (and updated in place when needed). Otherwise the consumer has lost its key (a new host, a deleted
    file, a run interrupted after the key was minted) - a new key is minted and every other active key with
    this name owned by the caller is invalidated, since no consumer holds it any more.
  - O(state=absent) invalidates every active key with the name owned by the caller.
author:
  - Vigil maintainers (@vigil-monitoring)
options:
  api_key:
    description:
      - API key the module authenticates with (not the managed one). Elasticsearch does not let an API key
        update keys or give privileges to keys it creates, so use O(url_username) and O(url_password) of
        the owning user.
    type: str
  name:
    description: Name of the API key (no C(*); Elasticsearch reads it as a wildcard in searches).
    type: str
    required: true
  state:
    description: Whether an active key with this name must exist.
  role_descriptors:
    description:
      - The key's privileges, C({role name - descriptor}); each descriptor has the shape of a role
        (C(cluster), C(indices), C(applications), ...). Privilege names are checked like in
        M(vigil.monitoring.elasticsearch_role). The key can never do more than its owner.
      - Empty means the key has all of its owner's privileges; give descriptors.
    type: dict
    default: {}
  metadata:
    description: Metadata stored with the key.
    type: dict
    default: {}
  expiration:
    description:
      - Lifetime of a new key, for example C(90d). Applied when a key is minted; an existing key keeps its
        expiration. Empty - the key does not expire.
    type: str
  current_key:
    description:
      - The key the consumer holds now (C(encoded) or C(id:api_key)); an empty string when it holds none.
        Never logged. When given, only this key counts as the existing key (see the description).
    type: str
extends_documentation_fragment: [vigil.monitoring.api, vigil.monitoring.api.transport, vigil.monitoring.elasticsearch,
  vigil.monitoring.resource, vigil.monitoring.resource.state]
notes:
  - Supports check mode (nothing is minted, updated or invalidated) and diff mode (descriptors and metadata;
    never key material).
  - The authenticated user needs C(manage_own_api_key) (or C(manage_api_key)/C(manage_security)) and at least
    the privileges it gives the key.
"""

EXAMPLES = r"""
- name: Read the key this agent already holds
  ansible.builtin.slurp:
    src: /etc/elastic-agent/vigil-output.key
  register: held
  failed_when: false
  no_log: true

- name: Keep (or mint) the agent's output key
  vigil.monitoring.elasticsearch_api_key:
    url: https://es.lab.example:9200
    url_username: vigil_agent_writer
    url_password: "{{ vault_es_agent_writer_password }}"
    name: vigil-agent-web-1
    current_key: "{{ held.content | default('') | b64decode | trim }}"
    role_descriptors:
      vigil_agent_output:
        indices:
          - names: ["logs-*-*", "metrics-*-*"]
            privileges: [create_doc, auto_configure]
  delegate_to: localhost
  register: agent_key
  no_log: true
"""

RETURN = r"""
id:
  description: Id of the active key (not a secret). Empty when absent or, in check mode, not minted yet.
  returned: always
  type: str
created:
  description: Whether a new key was (or, in check mode, would be) minted.
  returned: always
  type: bool
encoded:
  description:
    - The new key, base64 of C(id:api_key). Returned only in the run that minted it; never again.
  returned: when created, not in check mode
  type: str
updated:
  description: Whether the kept key's role descriptors or metadata were (or would be) updated.
  returned: always
  type: bool
invalidated:
  description: Ids of the keys with this name that were (or would be) invalidated.
  returned: always
  type: list
  elements: str
"""

import time  # noqa: E402
from typing import Any, Dict, List, Optional  # noqa: E402

from ansible.module_utils.six.moves.urllib.parse import urlencode  # noqa: E402
from ansible_collections.vigil.monitoring.plugins.module_utils.api_resource import (  # noqa: E402
    ApiResource,
    reconcile,
    state_option,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import (  # noqa: E402
    ElasticsearchClient,
    elastic_argument_spec,
    elastic_module,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic_security import (  # noqa: E402
    authenticate,
    client_as,
    descriptor_errors,
    encoded_api_key,
    normalize_descriptors,
    split_api_key,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.vigil_http import ApiError, quote_segment  # noqa: E402

KEYS = "/_security/api_key"


def argument_spec() -> Dict[str, Any]:
    return elastic_argument_spec(
        name=dict(type="str", required=True),
        state=state_option(),
        role_descriptors=dict(type="dict", default={}),
        metadata=dict(type="dict", default={}),
        expiration=dict(type="str"),
        current_key=dict(type="str", no_log=True),
    )


def argument_problem(params: Dict[str, Any]) -> Optional[str]:
    name = params["name"]
    if not name or "*" in name or name != name.strip():
        return "name %r must be non-empty, without '*' and without leading or trailing spaces" % name
    errors: List[str] = []
    for role, descriptor in (params["role_descriptors"] or {}).items():
        errors.extend(descriptor_errors(descriptor, "role_descriptors.%s" % role))
    if errors:
        return "; ".join(errors)
    current = params["current_key"]
    if current and split_api_key(current) is None:
        return "current_key is neither an encoded API key nor id:api_key (value not shown)"
    return None


def active_keys(client: ElasticsearchClient, name: str) -> List[Dict[str, Any]]:
    """The caller's active REST keys with exactly this name, oldest first."""
    path = "%s?%s" % (KEYS, urlencode({"name": name, "owner": "true"}))
    status, body = client.request("GET", path, expected=(200, 404))
    if status == 200 and not (isinstance(body, dict) and isinstance(body.get("api_keys"), list)):
        raise ApiError("GET", client.base_url + path, status, "expected an object with api_keys, got %r" % (body,))
    keys = body["api_keys"] if status == 200 else []
    now_ms = int(time.time() * 1000)
    return sorted(
        (
            k
            for k in keys
            if isinstance(k, dict)
            and k.get("name") == name
            and not k.get("invalidated")
            and (not k.get("expiration") or k["expiration"] > now_ms)
            and k.get("type", "rest") == "rest"
        ),
        key=lambda k: k.get("creation") or 0,
    )


class ApiKey(ApiResource):
    """The key a consumer holds: kept (and updated in place) while it works, minted anew when it is lost.

    ``fetch`` finds the kept key (state=present) or the newest one (state=absent); creating
    mints a key and invalidates the other keys of the name; deleting invalidates them all.
    """

    kind = "API key"
    result_key = "key"

    def check_options(self) -> Optional[str]:
        return argument_problem(self.params)

    keys: List[Dict[str, Any]] = []
    held: Optional[Dict[str, Any]] = None
    minted: Optional[Dict[str, Any]] = None

    def fetch(self) -> Optional[Dict[str, Any]]:
        self.keys = active_keys(self.client, self.name)
        if self.state == "absent" or self.params["current_key"] is None:
            self.held = self.keys[-1] if self.keys else None
        else:
            held_id = self.held_key_id() if self.keys else None
            self.held = next((k for k in self.keys if k["id"] == held_id), None)
        return self.held

    def held_key_id(self) -> Optional[str]:
        """The id of the key the consumer holds, if that key still logs in."""
        parts = split_api_key(self.params["current_key"] or "")
        if parts is None:
            return None
        who = authenticate(client_as(self.module, api_key="%s:%s" % parts))
        key = (who or {}).get("api_key") or {}
        return key.get("id") if key.get("id") == parts[0] else None

    def normalise(self, raw: Dict[str, Any]) -> Dict[str, Any]:
        return {"name": self.name, "role_descriptors": normalize_descriptors(raw.get("role_descriptors")),
                "metadata": raw.get("metadata") or {}}  # fmt: skip

    def desired(self) -> Dict[str, Any]:
        return {"name": self.name, "role_descriptors": normalize_descriptors(self.params["role_descriptors"]),
                "metadata": self.params["metadata"] or {}}  # fmt: skip

    def same(self, current: Dict[str, Any], desired: Dict[str, Any]) -> bool:
        # Before 8.5 GET does not return role_descriptors: nothing to compare, nothing updated.
        return "role_descriptors" not in (self.held or {}) or super().same(current, desired)

    def create(self) -> Any:
        body: Dict[str, Any] = {"name": self.name, "role_descriptors": self.params["role_descriptors"],
                                "metadata": self.params["metadata"]}  # fmt: skip
        if self.params["expiration"]:
            body["expiration"] = self.params["expiration"]
        made = self.client.request("POST", KEYS, body=body)[1]
        if not isinstance(made, dict) or not made.get("id") or not made.get("api_key"):
            self.module.fail_json(msg="POST _security/api_key answered without id and api_key; no key was stored")
        self.minted = made
        self.invalidate()
        return made

    def update(self, raw: Dict[str, Any]) -> Any:
        body = {"role_descriptors": self.params["role_descriptors"], "metadata": self.params["metadata"]}
        return self.client.request("PUT", "%s/%s" % (KEYS, quote_segment(raw["id"])), body=body)[1]

    def delete(self, raw: Dict[str, Any]) -> None:
        self.invalidate()

    def invalidate(self) -> None:
        if self.keys:
            self.client.request("DELETE", KEYS, body={"ids": [k["id"] for k in self.keys], "owner": True})

    def extra_result(self) -> Dict[str, Any]:
        replaced = self.outcome in ("created", "deleted")
        extra: Dict[str, Any] = {
            "name": self.name,
            "created": self.outcome == "created",
            "updated": self.outcome == "updated",
            "invalidated": [k["id"] for k in self.keys] if replaced else [],
            "id": "",
        }
        if self.minted:
            extra["id"] = self.minted["id"]
            extra["encoded"] = self.minted.get("encoded") or encoded_api_key(self.minted["id"], self.minted["api_key"])
        elif self.outcome in ("updated", "unchanged") and self.held:
            extra["id"] = self.held["id"]
        return extra


def main() -> None:
    module = elastic_module(argument_spec())
    reconcile(ApiKey(module, ElasticsearchClient(module)))


if __name__ == "__main__":
    main()
