# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create, update or delete one Grafana contact point (one integration) by UID."""

from __future__ import annotations

DOCUMENTATION = r"""
module: grafana_contact_point
short_description: Manage one Grafana alerting contact point integration by UID
version_added: 0.1.0
description:
  - Creates, updates or deletes one contact point integration (a webhook, a Slack channel,
    an e-mail list, ...) through Grafana's alerting provisioning API
    (C(/api/v1/provisioning/contact-points)).
  - The integration is identified by the UID you give. Several integrations with the same
    O(name) form one contact point in the Grafana UI and in notification policies
    (C(receiver)); manage each of them with its own task and UID.
  - Grafana has no GET by UID for contact points, so the module lists them and picks the
    UID (the C(name) filter of the list would miss a renamed integration). It compares the
    normalised integration with the options and writes only when they differ.
  - "Secrets: Grafana never returns secret settings (webhook C(password), Slack C(url) or
    C(token), ...); a GET shows C([REDACTED]) instead. Put them in O(secure_settings), which
    is never logged. The module can only see whether each secret is set, not its value, so a
    run where only a secret value changed reports no change. Set O(force_secret_update) to
    send the secrets every run (the task then always reports a change). Any other change
    sends the secrets from O(secure_settings) too."
  - A secret written in O(settings) instead of O(secure_settings) still works (it is
    recognised by the C([REDACTED]) answer and compared like a secret) but the module warns,
    because O(settings) is logged.
  - "Provenance: without O(disable_provenance) the integration gets provenance C(api) and is
    read-only in the UI. Grafana refuses to turn an C(api) contact point editable in place;
    the task then fails and tells you to delete and re-create it. A contact point with
    another provenance (for example C(file)) is never changed or deleted."
  - "UID clash: if the create answers HTTP 409 because the UID appeared since the list was
    read, the module reads it again and updates it, with a warning. If the UID is still not
    visible the task fails with Grafana's message."
extends_documentation_fragment: [vigil.monitoring.api, vigil.monitoring.api.transport, vigil.monitoring.grafana, vigil.monitoring.resource]
options:
  uid:
    description: UID of the integration, 1 to 40 characters from C(a-z A-Z 0-9 - _).
    type: str
    required: true
  state:
    description:
      - V(present) creates the integration or updates it to match the options.
      - V(absent) deletes it; one that does not exist is no change. Grafana refuses to
        delete the last integration of a contact point that a notification policy still uses.
  name:
    description: Contact point name, as used in notification policies. Required with O(state=present).
    type: str
  type:
    description:
      - Integration type, for example C(webhook), C(slack), C(email), C(pagerduty),
        C(telegram), C(teams), C(opsgenie). Required with O(state=present).
    type: str
  settings:
    description:
      - Non-secret settings of the integration, as in Grafana's API (for example C(url) and
        C(httpMethod) for a webhook, C(addresses) for e-mail).
    type: dict
    default: {}
  secure_settings:
    description:
      - Secret settings, merged into O(settings) when sent and never logged. Nested secrets
        are written with a dotted key, for example C(hmacConfig.secret).
      - The same key must not appear in O(settings).
    type: dict
    default: {}
  force_secret_update:
    description:
      - Send O(secure_settings) even when nothing visible differs, because Grafana hides the
        stored values and the module cannot tell whether they changed. The task then reports
        a change on every run (when O(secure_settings) is not empty).
      - Use it once after rotating a secret, or always if you prefer certainty to idempotence.
    type: bool
    default: false
  disable_resolve_message:
    description: Do not send a message when the alert is resolved.
    type: bool
    default: false
notes:
  - Check mode and diff mode are supported; check mode sends no write request. Secrets
    appear in the diff and the result as C([REDACTED]) key names only.
seealso:
  - module: vigil.monitoring.grafana_notification_policy
"""

EXAMPLES = r"""
- name: Webhook to the on-call bridge
  vigil.monitoring.grafana_contact_point: &oncall_webhook
    url: https://grafana.example.org
    api_token: "{{ vault_grafana_token }}"
    uid: vigil-oncall-webhook
    name: oncall
    type: webhook
    settings:
      url: https://oncall.example.org/hooks/grafana
      httpMethod: POST
      username: grafana
    secure_settings:
      password: "{{ vault_oncall_webhook_password }}"

- name: Slack channel, same contact point name
  vigil.monitoring.grafana_contact_point:
    url: https://grafana.example.org
    api_token: "{{ vault_grafana_token }}"
    uid: vigil-oncall-slack
    name: oncall
    type: slack
    settings:
      recipient: "#oncall"
    secure_settings:
      url: "{{ vault_slack_webhook_url }}"

# After rotating vault_oncall_webhook_password: the same integration (a YAML merge key
# repeats the options above), sending the secret once.
- name: Push the rotated webhook password
  vigil.monitoring.grafana_contact_point:
    <<: *oncall_webhook
    force_secret_update: true

- name: Remove the Slack integration
  vigil.monitoring.grafana_contact_point:
    url: https://grafana.example.org
    api_token: "{{ vault_grafana_token }}"
    uid: vigil-oncall-slack
    state: absent
"""

RETURN = r"""
contact_point:
  description:
    - The integration after the task, normalised. C(settings) holds the non-secret settings,
      C(secure_settings) the names of the secret settings that are set (never their values),
      plus C(provenance). C({}) when absent (after O(state=absent)).
  returned: always
  type: dict
  sample:
    uid: vigil-oncall-webhook
    name: oncall
    type: webhook
    settings: {url: "https://oncall.example.org/hooks/grafana", httpMethod: POST}
    secure_settings: [password]
    disableResolveMessage: false
    provenance: api
uid:
  description: UID of the integration.
  returned: always
  type: str
"""

import copy
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.vigil.monitoring.plugins.module_utils.api_resource import (
    first_problem,
    require_present_options,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana import (
    REDACTED,
    GrafanaResource,
    check_uid,
    grafana_argument_spec,
    grafana_main,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.vigil_http import LIST_OF_OBJECTS


def split_secrets(settings: Dict[str, Any], prefix: str = "") -> Tuple[Dict[str, Any], List[str]]:
    """Settings without the [REDACTED] values, and the dotted paths of those values."""
    plain: Dict[str, Any] = {}
    secrets: List[str] = []
    for key, value in settings.items():
        path = prefix + str(key)
        if value == REDACTED:
            secrets.append(path)
        elif isinstance(value, dict):
            inner, inner_secrets = split_secrets(value, path + ".")
            secrets.extend(inner_secrets)
            if inner or not inner_secrets:
                plain[key] = inner
        else:
            plain[key] = value
    return plain, sorted(secrets)


def set_path(settings: Dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = settings
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value


def pop_path(settings: Dict[str, Any], path: str) -> bool:
    """Remove a dotted path from nested settings; True when it was there."""
    *parents, last = path.split(".")
    node = settings
    for key in parents:
        node = node.get(key)
        if not isinstance(node, dict):
            return False
    if last not in node:
        return False
    del node[last]
    return True


class ContactPoint(GrafanaResource):
    kind = "contact point"
    result_key = "contact_point"

    def __init__(self, module, client):
        super().__init__(module, client)
        self._warned = False

    url_segments = ("contact-points", "{uid}")

    def validate(self) -> Optional[str]:
        return first_problem(
            lambda: check_uid(self.params["uid"]),
            lambda: require_present_options(self.module, ("name", "type"), "create or update a contact point"),
            self.check_secure_settings,
        )

    def check_secure_settings(self) -> Optional[str]:
        for key, value in self.params["secure_settings"].items():
            if isinstance(value, (dict, list)) or value is None:
                return "secure_settings.%s must be a string (the secret itself)" % key
            probe = copy.deepcopy(self.params["settings"])
            if pop_path(probe, key):
                return "%s is in both settings and secure_settings; keep it only in secure_settings" % key
        return None

    def fetch(self) -> Optional[Dict[str, Any]]:
        # Grafana has no GET by UID for contact points: list them all.
        for item in self.client.get(self.collection_path, expect=LIST_OF_OBJECTS):
            if item.get("uid") == self.params["uid"]:
                return item
        return None

    def normalise(self, raw: Dict[str, Any]) -> Dict[str, Any]:
        plain, secrets = split_secrets(raw.get("settings") or {})
        return {
            "uid": raw.get("uid"),
            "name": raw.get("name"),
            "type": raw.get("type"),
            "settings": plain,
            "secure_settings": secrets,
            "disableResolveMessage": bool(raw.get("disableResolveMessage")),
        }

    def desired(self) -> Dict[str, Any]:
        return {
            "uid": self.params["uid"],
            "name": self.params["name"],
            "type": self.params["type"],
            "settings": copy.deepcopy(self.params["settings"]),
            "secure_settings": sorted(self.params["secure_settings"]),
            "disableResolveMessage": self.params["disable_resolve_message"],
        }

    def aligned(self, current: Dict[str, Any], desired: Dict[str, Any]) -> Dict[str, Any]:
        """Treat settings that Grafana redacts as secrets even when given in plain settings."""
        desired = copy.deepcopy(desired)
        moved = [path for path in current["secure_settings"] if pop_path(desired["settings"], path)]
        if moved:
            desired["secure_settings"] = sorted(set(desired["secure_settings"]) | set(moved))
            if not self._warned:
                self._warned = True
                self.module.warn("Grafana treats settings %s of contact point %r as secret; move them to "
                                 "secure_settings so that they are not logged" % (", ".join(moved), self.name))
        return desired

    def same(self, current: Dict[str, Any], desired: Dict[str, Any]) -> bool:
        desired = self.aligned(current, desired)
        if self.params["force_secret_update"] and desired["secure_settings"]:
            return False
        return current == desired

    def body(self) -> Dict[str, Any]:
        settings = copy.deepcopy(self.params["settings"])
        for path, value in self.params["secure_settings"].items():
            set_path(settings, path, value)
        return {
            "uid": self.params["uid"],
            "name": self.params["name"],
            "type": self.params["type"],
            "settings": settings,
            "disableResolveMessage": self.params["disable_resolve_message"],
        }

    def create(self) -> None:
        self.client.write("POST", self.collection_path, self.body(), expected=(200, 201, 202), expect=dict)

    def update(self, raw: Dict[str, Any]) -> None:
        self.client.write("PUT", self.path, self.body(), expected=(200, 202, 204), expect=dict)

    def conflict_hint(self) -> str:
        return "The UID may be used by a contact point in another organisation or one this account cannot see."

    def delete_hint(self) -> str:
        return ("Grafana refuses to delete a contact point that a notification policy (or a rule's "
                "notification_settings) still uses; change those first.")

    def extra_result(self) -> Dict[str, Any]:
        return {"uid": self.params["uid"]}


def argument_spec() -> Dict[str, Dict[str, Any]]:
    return grafana_argument_spec(
        uid=dict(type="str", required=True),
        name=dict(type="str"),
        type=dict(type="str"),
        settings=dict(type="dict", default={}),
        secure_settings=dict(type="dict", default={}, no_log=True),
        force_secret_update=dict(type="bool", default=False),
        disable_resolve_message=dict(type="bool", default=False),
    )


def main() -> None:
    grafana_main(ContactPoint, **argument_spec())


if __name__ == "__main__":
    main()
