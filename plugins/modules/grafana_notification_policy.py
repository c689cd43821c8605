# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Set or reset the whole Grafana notification policy tree."""

from __future__ import annotations

DOCUMENTATION = r"""
module: grafana_notification_policy
short_description: Set or reset the whole Grafana notification policy tree
version_added: 0.1.0
description:
  - Sets the notification policy tree of one Grafana organisation through
    C(/api/v1/provisioning/policies), or resets it to Grafana's default.
  - "B(The tree is one single resource.) Grafana's API only reads and replaces the whole
    tree: a write replaces every policy, a reset replaces every policy. This module
    therefore always takes the B(complete) tree in O(tree) and offers nothing to add, change
    or remove one nested policy. B(Never manage the tree from two plays, two roles or two
    tasks with different trees): each run would replace what the other wrote and both would
    report a change every time. Build the tree in one place (for example from variables
    that several roles fill) and apply it with one task."
  - The module GETs the tree, normalises both sides (empty fields and C(continue=false)
    dropped, durations compared by value so C(60s) equals C(1m)) and writes only when they
    differ.
  - O(state=absent) resets the tree to Grafana's default (C(receiver=grafana-default-email),
    C(group_by=[grafana_folder, alertname])) with a DELETE. It is no change when the tree
    already is that default with an empty provenance. If a Grafana version resets to another
    default, the module warns, because the task will then report a change on every run.
  - "Provenance: without O(disable_provenance) the tree gets provenance C(api) and is
    read-only in the UI. Grafana refuses to make an C(api) tree editable in place; the task
    then fails, and running it once with O(state=absent) (which also unlocks the tree)
    before the run with O(disable_provenance=true) fixes it. A tree with another provenance
    (for example C(file)) is never changed or reset."
  - Contact points (C(receiver)) and mute timings (C(mute_time_intervals)) named in the tree
    must exist; create them first with M(vigil.monitoring.grafana_contact_point) and
    M(vigil.monitoring.grafana_mute_timing). Grafana refuses the tree otherwise (HTTP 400).
extends_documentation_fragment: [vigil.monitoring.api, vigil.monitoring.api.transport, vigil.monitoring.grafana, vigil.monitoring.resource]
options:
  state:
    description:
      - V(present) makes the tree equal to O(tree).
      - V(absent) resets it to Grafana's default tree.
  tree:
    description:
      - The complete tree, as its root policy in Grafana's API format. Required with
        O(state=present).
      - "Keys of every policy: C(receiver) (contact point name; required on the root),
        C(group_by), C(group_wait), C(group_interval), C(repeat_interval), C(routes) (list
        of nested policies), and on nested policies only C(object_matchers) (list of
        C([label, operator, value]) with operator C(=), C(!=), C(=~) or C(!~)),
        C(mute_time_intervals), C(active_time_intervals) and C(continue)."
      - The string form C(matchers) is not accepted, because Grafana rewrites it and the
        tree would never compare equal; use C(object_matchers).
    type: dict
seealso:
  - module: vigil.monitoring.grafana_contact_point
  - module: vigil.monitoring.grafana_mute_timing
"""

EXAMPLES = r"""
- name: Whole notification policy tree of the Vigil organisation
  vigil.monitoring.grafana_notification_policy:
    url: https://grafana.example.org
    api_token: "{{ vault_grafana_token }}"
    tree:
      receiver: oncall
      group_by: [grafana_folder, alertname]
      group_wait: 30s
      group_interval: 5m
      repeat_interval: 4h
      routes:
        - receiver: oncall
          object_matchers: [[severity, "=", critical]]
          repeat_interval: 1h
        - receiver: team-mail
          object_matchers: [[severity, "=~", "warning|info"]]
          mute_time_intervals: [out-of-office-hours]

- name: Give the tree back to Grafana's default (and unlock it in the UI)
  vigil.monitoring.grafana_notification_policy:
    url: https://grafana.example.org
    api_token: "{{ vault_grafana_token }}"
    state: absent
"""

RETURN = r"""
policy_tree:
  description: The tree after the task, normalised, with C(provenance) on the root.
  returned: always
  type: dict
  sample:
    receiver: oncall
    group_by: [grafana_folder, alertname]
    routes:
      - receiver: oncall
        object_matchers: [[severity, "=", critical]]
    provenance: api
"""

import copy
from typing import Any, Dict, Optional

from ansible_collections.vigil.monitoring.plugins.module_utils.durations import canonical_duration, check_duration
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana import (
    PROVENANCE_NONE,
    GrafanaResource,
    grafana_main,
)

KIND = "notification policy tree"
DEFAULT_TREE = {"receiver": "grafana-default-email", "group_by": ["grafana_folder", "alertname"]}
DURATION_KEYS = ("group_wait", "group_interval", "repeat_interval")
LIST_OF_STRINGS = ("group_by", "mute_time_intervals", "active_time_intervals")
ROOT_ONLY_FORBIDDEN = ("object_matchers", "mute_time_intervals", "active_time_intervals", "continue")
ALLOWED_KEYS = frozenset(("receiver", "routes", "object_matchers", "continue") + DURATION_KEYS + LIST_OF_STRINGS)
OPERATORS = ("=", "!=", "=~", "!~")


def normalise_route(route: Dict[str, Any]) -> Dict[str, Any]:
    """A policy as Grafana answers it: no provenance, no empty fields, canonical durations."""
    out: Dict[str, Any] = {}
    for key, value in route.items():
        if key == "provenance" or value is None or value in ("", [], {}) or (key == "continue" and value is False):
            continue
        if key in DURATION_KEYS:
            value = canonical_duration(value)
        elif key == "routes" and isinstance(value, list):
            value = [normalise_route(child) if isinstance(child, dict) else child for child in value]
        elif key == "object_matchers" and isinstance(value, list):
            value = [[str(part) for part in matcher] if isinstance(matcher, (list, tuple)) else matcher
                     for matcher in value]
        out[key] = copy.deepcopy(value)
    return out


def route_problem(route: Any, where: str, root: bool) -> Optional[str]:
    """First problem in one policy and its children, named by its path in O(tree)."""
    if not isinstance(route, dict):
        return "%s must be a mapping (one policy)" % where
    unknown = sorted(set(route) - ALLOWED_KEYS - {"provenance"})
    if unknown:
        hint = "; use object_matchers" if "matchers" in unknown else ""
        return "%s has unknown key(s) %s; allowed: %s%s" % (
            where, ", ".join(unknown), ", ".join(sorted(ALLOWED_KEYS)), hint)
    if root:
        if not isinstance(route.get("receiver"), str) or not route.get("receiver"):
            return "%s.receiver is required: the contact point that gets every alert no nested policy catches" % where
        forbidden = [key for key in ROOT_ONLY_FORBIDDEN if route.get(key)]
        if forbidden:
            return "%s is the root policy, which matches every alert and cannot have %s" % (where, ", ".join(forbidden))
    return first_field_problem(route, where)


def first_field_problem(route: Dict[str, Any], where: str) -> Optional[str]:
    for key in DURATION_KEYS:
        if route.get(key) is not None:
            problem = check_duration(route[key], "%s.%s" % (where, key))
            if problem:
                return problem
    for key in LIST_OF_STRINGS:
        value = route.get(key)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            return "%s.%s must be a list of strings" % (where, key)
    if route.get("continue") is not None and not isinstance(route["continue"], bool):
        return "%s.continue must be true or false" % where
    for index, matcher in enumerate(route.get("object_matchers") or []):
        if (not isinstance(matcher, (list, tuple)) or len(matcher) != 3
                or not all(isinstance(part, str) for part in matcher) or matcher[1] not in OPERATORS):
            return ("%s.object_matchers[%d] must be [label, operator, value] with operator one of %s, got %r"
                    % (where, index, " ".join(OPERATORS), matcher))
    children = route.get("routes")
    if children is not None and not isinstance(children, list):
        return "%s.routes must be a list of policies" % where
    for index, child in enumerate(children or []):
        problem = route_problem(child, "%s.routes[%d]" % (where, index), root=False)
        if problem:
            return problem
    return None


class PolicyTree(GrafanaResource):
    """The organisation's one policy tree: it always exists; state=absent resets it to Grafana's default."""

    kind = KIND
    result_key = "policy_tree"
    singleton = True
    url_segments = ("policies",)

    @property
    def name(self) -> str:
        org_id = self.params.get("org_id")
        return "of org %d" % org_id if org_id else "of the token's org"

    @property
    def wanted_provenance(self) -> str:
        # A reset tree is Grafana's own (no provenance).
        return PROVENANCE_NONE if self.state == "absent" else self.client.wanted_provenance

    def validate(self) -> Optional[str]:
        tree = self.params.get("tree")
        if not tree:
            return "state=present needs tree: the whole notification policy tree (its root policy)"
        return route_problem(tree, "tree", root=True)

    def fetch(self) -> Dict[str, Any]:
        return self.client.get(self.path, expect=dict)

    def normalise(self, raw: Dict[str, Any]) -> Dict[str, Any]:
        return normalise_route(raw)

    def desired(self) -> Dict[str, Any]:
        return normalise_route(DEFAULT_TREE if self.state == "absent" else self.params["tree"])

    def update_problem(self, raw: Any, current: Dict[str, Any], desired: Dict[str, Any]) -> Optional[str]:
        if self.state == "absent":  # a DELETE resets an 'api' tree as well; only another owner stops it
            return self.delete_problem(raw)
        return super().update_problem(raw, current, desired)

    def update(self, raw: Dict[str, Any]) -> Any:
        if self.state == "absent":
            self.client.delete(self.path)
            return self.client.get(self.path, expect=dict)
        return self.client.write("PUT", self.path, self.desired(), expected=(200, 202, 204), expect=dict)

    def written(self, desired: Dict[str, Any], answer: Any) -> Dict[str, Any]:
        if self.state != "absent":
            return desired
        actual = self.state_of(answer)
        if actual != desired:
            self.module.warn("Grafana reset the tree to %r, not to the default this module expects (%r); "
                             "state=absent will report a change on every run" % (actual, desired))
        return actual


def main() -> None:
    grafana_main(PolicyTree, tree=dict(type="dict"))


if __name__ == "__main__":
    main()
