#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage an Elasticsearch native user, its roles and its password."""

from __future__ import annotations

DOCUMENTATION = r"""
module: elasticsearch_user
short_description: Manage an Elasticsearch native user; its password is checked by logging in, never read back
version_added: 0.2.0
description:
  - Creates, updates or deletes a user of the native realm through C(PUT/GET/DELETE _security/user/<name>).
    C(roles), C(full_name), C(email), C(metadata) and C(enabled) are compared with what Elasticsearch
    returns and written only on a difference (without the password, so it is not reset).
  - Elasticsearch never returns passwords. With O(update_password=always) the module checks the password by
    authenticating as the user (C(GET _security/_authenticate) with O(user_password)); only when that
    answers 401 is the password set, with C(POST _security/user/<name>/_password). A second run with the same
    password therefore changes nothing. With O(update_password=on_create) the password is only sent when
    the user is created (the way M(ansible.builtin.user) and C(community.mysql.mysql_user) use the same
    choice), for passwords that other tools rotate.
  - A disabled user cannot log in, so its password cannot be checked; it is then only set when the user is
    created (a warning says so).
  - Built-in (reserved) users such as C(elastic) or C(kibana_system) are refused; their passwords are the
    elasticsearch role's business.
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
    description: User name (1 to 507 printable ASCII characters, no leading or trailing space).
    type: str
    required: true
  state:
    description: Whether the user must exist.
    type: str
    choices: [present, absent]
    default: present
  user_password:
    description:
      - The user's password (at least 6 characters for Elasticsearch; Vigil's roles ask for 16). Never
        logged. Required to create the user.
    type: str
  update_password:
    description:
      - C(always) - check the password on every run by logging in as the user, and set it when the login fails.
      - C(on_create) - send the password only when the user is created.
    type: str
    choices: [always, on_create]
    default: always
  roles:
    description: Roles of the user. The list replaces the stored one.
    type: list
    elements: str
    default: []
  full_name:
    description: Full name.
    type: str
  email:
    description: E-mail address.
    type: str
  metadata:
    description: Metadata stored with the user (keys starting with C(_) are reserved).
    type: dict
    default: {}
  enabled:
    description: Whether the user may log in.
    type: bool
    default: true
notes:
  - Supports check mode and diff mode; the password never appears in the diff, only whether it changes.
  - Needs the C(manage_security) cluster privilege (the C(elastic) user during bootstrap).
"""

EXAMPLES = r"""
- name: The Kibana rule owner
  vigil.monitoring.elasticsearch_user:
    url: https://es.lab.example:9200
    url_username: elastic
    url_password: "{{ vault_elasticsearch_elastic_password }}"
    name: vigil_kibana_rules
    user_password: "{{ vault_es_kibana_rules_password }}"
    roles: [vigil_kibana_rules]
    full_name: Vigil Kibana rule owner
  no_log: true
"""

RETURN = r"""
user:
  description: The user as it is (or, in check mode, would be) stored, without any password; empty when absent.
  returned: always
  type: dict
password_changed:
  description: Whether the password was (or, in check mode, would be) set in this run.
  returned: always
  type: bool
changed_fields:
  description: User fields that differ from what was stored (C(password) when only the password changes).
  returned: always
  type: list
  elements: str
diff:
  description: C(before) and C(after) user; the password is shown only as C(password changed).
  returned: in diff mode
  type: dict
"""

from typing import Any, Dict, List, Optional, Tuple  # noqa: E402

from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import (  # noqa: E402
    ELASTIC_MUTUALLY_EXCLUSIVE,
    ELASTIC_REQUIRED_TOGETHER,
    ElasticsearchClient,
    diff_result,
    elastic_argument_spec,
    fail_api,
    same,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic_security import (  # noqa: E402
    authenticate,
    client_as,
    is_reserved,
    object_or_none,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.vigil_http import ApiError, ApiModule, quote_segment  # noqa: E402

FIELDS = ("roles", "full_name", "email", "metadata", "enabled")
MIN_PASSWORD = 6


def argument_spec() -> Dict[str, Any]:
    spec = elastic_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        user_password=dict(type="str", no_log=True),
        update_password=dict(type="str", choices=["always", "on_create"], default="always", no_log=False),
        roles=dict(type="list", elements="str", default=[]),
        full_name=dict(type="str"),
        email=dict(type="str"),
        metadata=dict(type="dict", default={}),
        enabled=dict(type="bool", default=True),
    )
    return spec


def validate(module: ApiModule) -> None:
    name = module.params["name"]
    if not name or name != name.strip() or len(name) > 507 or not all(32 <= ord(c) < 127 for c in name):
        module.fail_json(msg="name must be 1 to 507 printable ASCII characters without leading or trailing spaces")
    password = module.params["user_password"]
    if password is not None and len(password) < MIN_PASSWORD:
        module.fail_json(msg="user_password of %s is shorter than %d characters; Elasticsearch refuses it"
                         % (name, MIN_PASSWORD))  # fmt: skip


def desired_user(params: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "roles": sorted(set(params["roles"])),
        "full_name": params["full_name"],
        "email": params["email"],
        "metadata": params["metadata"] or {},
        "enabled": params["enabled"],
    }


def shown(user: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """A stored user in the module's terms (roles as a sorted set, no server-only fields)."""
    if user is None:
        return None
    return {
        "roles": sorted(set(user.get("roles") or [])),
        "full_name": user.get("full_name"),
        "email": user.get("email"),
        "metadata": user.get("metadata") or {},
        "enabled": user.get("enabled", True),
    }


def password_in_sync(module: ApiModule, name: str) -> bool:
    """Log in as the user with the desired password: Elasticsearch confirms it or answers 401."""
    who = authenticate(client_as(module, username=name, password=module.params["user_password"]))
    return who is not None and who.get("username") == name


def plan_password(module: ApiModule, name: str, current: Optional[Dict[str, Any]],
                  desired: Dict[str, Any]) -> bool:  # fmt: skip
    """Whether the password has to be set on an existing user."""
    if current is None or module.params["user_password"] is None or module.params["update_password"] == "on_create":
        return False
    if not current["enabled"] or not desired["enabled"]:
        module.warn("user %s is disabled: its password cannot be checked by logging in and is left as it is" % name)
        return False
    return not password_in_sync(module, name)


def apply(module: ApiModule, client: ElasticsearchClient, name: str, current: Optional[Dict[str, Any]],
          desired: Dict[str, Any], fields: List[str], password: bool) -> None:  # fmt: skip
    path = "/_security/user/%s" % quote_segment(name)
    if current is None:
        client.request("PUT", path, body=dict(desired, password=module.params["user_password"]))
        return
    if fields:
        client.request("PUT", path, body=desired)
    if password:
        client.request("POST", path + "/_password", body={"password": module.params["user_password"]})


def present(module: ApiModule, client: ElasticsearchClient, name: str,
            current: Optional[Dict[str, Any]]) -> Tuple[Dict[str, Any], Dict[str, Any]]:  # fmt: skip
    desired = desired_user(module.params)
    if current is None and not module.params["user_password"]:
        module.fail_json(msg="user %s does not exist: user_password is required to create it" % name)
    fields = [] if current is None else [f for f in FIELDS if not same(current[f], desired[f])]
    password = plan_password(module, name, current, desired)
    changed = current is None or bool(fields) or password
    if changed and not module.check_mode:
        apply(module, client, name, current, desired, fields, password)
    result = {
        "user": dict(desired, username=name),
        "changed": changed,
        "password_changed": current is None or password,
        "changed_fields": (list(FIELDS) if current is None else fields) + (["password"] if password else []),
    }
    return result, desired


def main() -> None:
    module = ApiModule(
        argument_spec=argument_spec(),
        mutually_exclusive=ELASTIC_MUTUALLY_EXCLUSIVE,
        required_together=ELASTIC_REQUIRED_TOGETHER,
        supports_check_mode=True,
    )
    validate(module)
    client = ElasticsearchClient(module)
    name = module.params["name"]
    path = "/_security/user/%s" % quote_segment(name)
    desired: Optional[Dict[str, Any]] = None
    try:
        found = object_or_none(client, path)
        stored = found.get(name) if found is not None else None
        if is_reserved(stored):
            module.fail_json(msg="user %s is a built-in (reserved) user of Elasticsearch and cannot be managed here"
                             % name)  # fmt: skip
        current = shown(stored)
        if module.params["state"] == "present":
            result, desired = present(module, client, name, current)
        else:
            result = {"user": {}, "changed": current is not None, "password_changed": False,
                      "changed_fields": list(FIELDS) if current else []}  # fmt: skip
            if result["changed"] and not module.check_mode:
                client.request("DELETE", path)
    except ApiError as err:
        fail_api(module, "User %s" % name, err)
        return
    result["name"] = name
    if result["changed"] and module._diff:
        after = dict(desired, password="changed" if result["password_changed"] else "unchanged") if desired else None
        result["diff"] = diff_result(current, after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
