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
options:
  name:
    description: User name (1 to 507 printable ASCII characters, no leading or trailing space).
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
extends_documentation_fragment: [vigil.monitoring.api, vigil.monitoring.api.transport, vigil.monitoring.elasticsearch, vigil.monitoring.elasticsearch.name,
  vigil.monitoring.resource, vigil.monitoring.resource.state]
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
"""

from typing import Any, Dict, List, Optional  # noqa: E402

from ansible_collections.vigil.monitoring.plugins.module_utils.canonical import same  # noqa: E402
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import named_resource_spec, run_resource  # noqa: E402
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic_security import (  # noqa: E402
    SecurityResource,
    authenticate,
    client_as,
)

FIELDS = ("roles", "full_name", "email", "metadata", "enabled")
MIN_PASSWORD = 6
# How the state shows the password: never its value, only whether this run sets it.
PASSWORD_SET = "changed"
PASSWORD_KEPT = "unchanged"


def argument_spec() -> Dict[str, Any]:
    return named_resource_spec(
        user_password=dict(type="str", no_log=True),
        update_password=dict(type="str", choices=["always", "on_create"], default="always", no_log=False),
        roles=dict(type="list", elements="str", default=[]),
        full_name=dict(type="str"),
        email=dict(type="str"),
        metadata=dict(type="dict", default={}),
        enabled=dict(type="bool", default=True),
    )


def argument_problem(params: Dict[str, Any]) -> Optional[str]:
    name = params["name"]
    if not name or name != name.strip() or len(name) > 507 or not all(32 <= ord(c) < 127 for c in name):
        return "name must be 1 to 507 printable ASCII characters without leading or trailing spaces"
    password = params["user_password"]
    if password is not None and len(password) < MIN_PASSWORD:
        return "user_password of %s is shorter than %d characters; Elasticsearch refuses it" % (name, MIN_PASSWORD)
    return None


def user_fields(user: Dict[str, Any]) -> Dict[str, Any]:
    """A user in the module's terms (roles as a sorted set, no server-only fields)."""
    return {
        "roles": sorted(set(user.get("roles") or [])),
        "full_name": user.get("full_name"),
        "email": user.get("email"),
        "metadata": user.get("metadata") or {},
        "enabled": user.get("enabled", True),
    }


class User(SecurityResource):
    """A native user; its state carries ``password`` (changed or unchanged), never the password itself."""

    kind = "user"
    result_key = "user"
    prefix = "/_security/user"
    stored: Optional[Dict[str, Any]] = None
    wanted: Optional[Dict[str, Any]] = None

    def check_options(self) -> Optional[str]:
        return argument_problem(self.params)

    def fetch(self) -> Optional[Dict[str, Any]]:
        self.stored = self.fetch_named()
        return self.stored

    def normalise(self, raw: Dict[str, Any]) -> Dict[str, Any]:
        return dict(user_fields(raw), password=PASSWORD_KEPT)

    def desired(self) -> Dict[str, Any]:
        if self.wanted is None:  # checking the password logs in once per run
            fields = user_fields(self.params)
            sets_password = self.stored is None or self.password_out_of_sync(fields)
            self.wanted = dict(fields, password=PASSWORD_SET if sets_password else PASSWORD_KEPT)
        return self.wanted

    def password_out_of_sync(self, desired: Dict[str, Any]) -> bool:
        """Whether an existing user's password has to be set: log in as the user, set it when that fails."""
        if self.params["user_password"] is None or self.params["update_password"] == "on_create":
            return False
        if not user_fields(self.stored or {})["enabled"] or not desired["enabled"]:
            self.module.warn("user %s is disabled: its password cannot be checked by logging in and is left as it is"
                             % self.name)
            return False
        who = authenticate(client_as(self.module, username=self.name, password=self.params["user_password"]))
        return who is None or who.get("username") != self.name

    def create_problem(self, desired: Dict[str, Any]) -> Optional[str]:
        if not self.params["user_password"]:
            return "user %s does not exist: user_password is required to create it" % self.name
        return None

    def changed_fields(self, current: Optional[Dict[str, Any]], desired: Optional[Dict[str, Any]]) -> List[str]:
        if current is None or desired is None:
            return list(FIELDS)
        fields = [f for f in FIELDS if not same(current[f], desired[f])]
        return fields + (["password"] if desired["password"] == PASSWORD_SET else [])

    def create(self) -> Any:
        return self.client.request("PUT", self.path, body=dict(user_fields(self.params),
                                                               password=self.params["user_password"]))[1]

    def update(self, raw: Dict[str, Any]) -> Any:
        current, desired = self.normalise(raw), self.desired()
        if any(not same(current[f], desired[f]) for f in FIELDS):  # without the password, so it is not reset
            self.client.request("PUT", self.path, body=user_fields(self.params))
        if desired["password"] == PASSWORD_SET:
            self.client.request("POST", self.path + "/_password", body={"password": self.params["user_password"]})

    def returned(self, after: Optional[Dict[str, Any]], raw: Any, answer: Any, changed: bool) -> Any:
        if after is None:
            return {}
        return dict(user_fields(self.params), username=self.name)

    def extra_result(self) -> Dict[str, Any]:
        sets_password = self.outcome in ("created", "updated") and (self.wanted or {}).get("password") == PASSWORD_SET
        return dict(super().extra_result(), password_changed=sets_password)


def main() -> None:
    run_resource(User, argument_spec())


if __name__ == "__main__":
    main()
