#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage a Kibana connector (for example a webhook to Alertmanager)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: kibana_connector
short_description: Manage a Kibana connector, for example a webhook to Alertmanager
version_added: 0.1.0
description:
  - Creates, updates or deletes a connector by its ID through the Kibana connectors API
    (C(POST/GET/PUT/DELETE /api/actions/connector/<id>)), in the default space or O(space_id).
  - Idempotent by O(id). O(name) and O(config) are compared with what Kibana returns; Kibana adds
    defaults to C(config) (for a webhook C(method=post), C(hasAuth=true), null fields), so only the
    keys you set are compared. A key you remove from O(config) is therefore not noticed by itself.
  - B(Secrets are write-only.) Kibana never returns C(secrets), so a change of a secret alone (for
    example a new webhook password) cannot be detected. Set O(force_secret_update=true) to send the
    secrets on every run (the task then always reports a change), or rotate the secret together with
    another change. Whenever the connector is written, O(secrets) is sent with it, because Kibana's
    update API replaces the secrets. When Kibana reports C(is_missing_secrets) (for example after its
    encryption key changed) and O(secrets) is given, the connector is rewritten.
  - C(connector_type_id) cannot be changed by the update API; a different type fails the task.
author:
  - Vigil maintainers (@vigil-monitoring)
options:
  id:
    description:
      - Connector ID, chosen by you so that runs are idempotent. Kibana 8.x documents it as a UUID v1 or
        v4; generate one once (for example with C(uuidgen)) and keep it in your variables.
    type: str
    required: true
  name:
    description: Display name. Required when O(state=present).
    type: str
  connector_type_id:
    description: Connector type, for example C(.webhook), C(.index), C(.server-log).
    type: str
    default: .webhook
  config:
    description:
      - Non-secret configuration. For C(.webhook) C(url), C(method) (C(post) or C(put)), C(headers),
        C(hasAuth), C(authType) (C(webhook-authentication-basic) or C(webhook-authentication-ssl)), C(ca),
        C(verificationMode).
    type: dict
    default: {}
  secrets:
    description:
      - Write-only secrets. For a C(.webhook) with basic authentication C(user) and C(password).
        Never logged and never returned.
    type: dict
  force_secret_update:
    description:
      - Send O(secrets) even when nothing else changed (the only way to roll a secret by itself).
        The task then reports C(changed) on every run.
    type: bool
    default: false
extends_documentation_fragment: [vigil.monitoring.api, vigil.monitoring.api.transport, vigil.monitoring.kibana,
  vigil.monitoring.resource, vigil.monitoring.resource.state]
notes:
  - Supports check mode and diff mode; the diff never contains secrets.
  - Like every C(no_log) option, each value in O(secrets) (a user name too) is masked wherever it
    appears in the task's output.
  - The Alertmanager payload is produced by the rule action's C(body); see the
    C(vigil.monitoring.kibana_alertmanager_body) filter and C(docs/elastic-modules.md).
"""

EXAMPLES = r"""
- name: Webhook connector posting to Alertmanager's v2 API
  vigil.monitoring.kibana_connector:
    url: https://kibana.lab.example:5601
    api_key: "{{ vault_kibana_api_key }}"
    id: 2b7c3a10-9a7e-4a55-8d8e-0f5b7d1c2e33
    name: Alertmanager
    connector_type_id: .webhook
    config:
      url: https://alertmanager.lab.example:9093/api/v2/alerts
      method: post
      headers: {Content-Type: application/json}
      hasAuth: true
      authType: webhook-authentication-basic
    secrets:
      user: kibana
      password: "{{ vault_alertmanager_kibana_password }}"

- name: Roll the webhook password (secrets cannot be compared)
  vigil.monitoring.kibana_connector:
    url: https://kibana.lab.example:5601
    api_key: "{{ vault_kibana_api_key }}"
    id: 2b7c3a10-9a7e-4a55-8d8e-0f5b7d1c2e33
    name: Alertmanager
    config:
      url: https://alertmanager.lab.example:9093/api/v2/alerts
      hasAuth: true
      authType: webhook-authentication-basic
    secrets: {user: kibana, password: "{{ vault_new_password }}"}
    force_secret_update: true
"""

RETURN = r"""
connector:
  description: The connector as Kibana returns it (no secrets); empty when absent.
  returned: always
  type: dict
secrets_sent:
  description: Whether this run sent O(secrets) to Kibana (in check mode, whether it would have).
  returned: always
  type: bool
"""

from typing import Any, Dict, List, Optional  # noqa: E402

from ansible_collections.vigil.monitoring.plugins.module_utils.api_resource import project, state_option, subset_changed_paths  # noqa: E402
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import (  # noqa: E402
    KibanaObject,
    kibana_argument_spec,
    looks_like_uuid,
    run_resource,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.vigil_http import ApiError  # noqa: E402

MANAGED = ("name", "connector_type_id", "config")


def argument_spec() -> Dict[str, Any]:
    return kibana_argument_spec(
        id=dict(type="str", required=True),
        state=state_option(),
        name=dict(type="str"),
        connector_type_id=dict(type="str", default=".webhook"),
        config=dict(type="dict", default={}),
        secrets=dict(type="dict", no_log=True),
        force_secret_update=dict(type="bool", default=False),
    )


class Connector(KibanaObject):
    """A connector; Kibana adds defaults to ``config`` (only the keys set are compared) and never returns secrets."""

    kind = "Kibana connector"
    result_key = "connector"
    prefix = "/api/actions/connector"
    secret_options = ("secrets",)

    def normalise(self, raw: Dict[str, Any]) -> Dict[str, Any]:
        return project(raw, MANAGED)

    def desired(self) -> Dict[str, Any]:
        p = self.params
        return {"name": p["name"], "connector_type_id": p["connector_type_id"], "config": p["config"] or {}}

    def changed_fields(self, current: Optional[Dict[str, Any]], desired: Optional[Dict[str, Any]]) -> List[str]:
        if current is None or desired is None:
            return list(MANAGED)
        if current.get("connector_type_id") != desired["connector_type_id"]:
            return ["connector_type_id"]
        found = [] if desired["name"] == current.get("name") else ["name"]
        found += subset_changed_paths({"config": desired["config"]}, {"config": current.get("config") or {}})
        return self.with_secrets_reason(found)

    def secrets_missing(self) -> Optional[str]:
        return "secrets (Kibana reports them missing)" if self.raw.get("is_missing_secrets") else None

    def update_problem(self, raw: Any, current: Dict[str, Any], desired: Dict[str, Any]) -> Optional[str]:
        if current.get("connector_type_id") != desired["connector_type_id"]:
            return ("Connector %s is of type %s; connector_type_id cannot be changed to %s by the update API. "
                    "Delete it first (state=absent) or use another id."
                    % (self.name, current.get("connector_type_id"), desired["connector_type_id"]))
        return None

    def create(self) -> Any:
        body = dict(self.desired(), secrets=self.params["secrets"] or {})
        return self.client.request("POST", self.path, body=body, expect=dict)[1]

    def update(self, raw: Dict[str, Any]) -> Any:
        desired = self.desired()
        body = {"name": desired["name"], "config": desired["config"], "secrets": self.params["secrets"] or {}}
        return self.client.request("PUT", self.path, body=body, expect=dict)[1]

    def delete(self, raw: Dict[str, Any]) -> None:
        self.client.request("DELETE", self.path, expected=(200, 204, 404), expect=None)

    def error_hint(self, exc: ApiError) -> str:
        if exc.status == 400 and not looks_like_uuid(self.params["id"]):
            return ("Kibana 8.x documents connector ids as UUID v1/v4; generate one once (uuidgen) and keep it in "
                    "your variables")
        return ""


def main() -> None:
    run_resource(Connector, argument_spec(), required_if=[("state", "present", ("name",))])


if __name__ == "__main__":
    main()
