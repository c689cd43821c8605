# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage a whole Grafana alert rule group (interval and every rule) through the provisioning API."""

from __future__ import annotations

DOCUMENTATION = r"""
module: grafana_rule_group
short_description: Manage a Grafana alert rule group, its interval and all its rules
version_added: 0.1.0
description:
  - Makes one evaluation group of Grafana-managed alert rules in a folder exactly match the
    options, through C(/api/v1/provisioning/folder/{folderUid}/rule-groups/{group}).
  - The group is one resource. A write (PUT) replaces the whole group. Rules of the group
    that are not listed in O(rules) are deleted by Grafana, and rules are kept in the order
    given. Use it for an alert catalog that owns its groups. To manage single rules in a
    group that something else also fills, use M(vigil.monitoring.grafana_alert_rule)
    instead, and never use both modules on the same group.
  - Every rule has an explicit UID. Grafana accepts UIDs for new rules in a group write from
    Grafana 11.5.2 on; older versions answer HTTP 500.
  - The module GETs the group (a 404 means it does not exist), normalises it (server-only
    fields and the defaults Grafana fills into query models are ignored, durations are
    compared by value) and writes only when it differs from the options.
  - "Provenance: without O(disable_provenance) the rules get provenance C(api) (read-only in
    the UI). With it, the write makes every rule of the group editable in the UI. A group
    holding a rule with another provenance (for example C(file)) is never changed or
    deleted."
  - Deleting a group (O(state=absent)) needs a Grafana recent enough to have the rule group
    DELETE endpoint (it is in the Grafana 11 and 12 API reference); older versions answer with an
    error and the task fails saying so.
extends_documentation_fragment: [vigil.monitoring.api, vigil.monitoring.api.transport, vigil.monitoring.grafana,
                                  vigil.monitoring.resource, vigil.monitoring.grafana_rule.group]
options:
  folder_uid:
    description: UID of the Grafana folder of the group. It must exist.
    type: str
    required: true
  name:
    description: Name (title) of the group, unique within the folder.
    type: str
    required: true
  state:
    description:
      - V(present) creates the group or makes it match O(interval) and O(rules).
      - V(absent) deletes the group and all its rules; a group that does not exist is no change.
  interval:
    description:
      - How often the rules are evaluated, as a duration such as C(1m). It must be a
        multiple of 10s (Grafana's base evaluation interval). Required with O(state=present).
    type: str
  rules:
    description:
      - Every rule of the group, in order. At least one is required with O(state=present).
      - Each entry takes the same options as M(vigil.monitoring.grafana_alert_rule), without
        O(vigil.monitoring.grafana_alert_rule#module:folder_uid) and
        O(vigil.monitoring.grafana_alert_rule#module:rule_group).
    type: list
    elements: dict
seealso:
  - module: vigil.monitoring.grafana_alert_rule
"""

EXAMPLES = r"""
- name: Availability alerts, evaluated every minute
  vigil.monitoring.grafana_rule_group:
    url: https://grafana.example.org
    api_token: "{{ vault_grafana_token }}"
    folder_uid: vigil-alerts
    name: availability
    interval: 1m
    rules:
      - uid: vigil-target-down
        title: Target down
        condition: B
        pending_period: 5m
        labels: {severity: critical}
        data:
          - refId: A
            datasourceUid: prometheus
            relativeTimeRange: {from: 600, to: 0}
            model: {expr: "min by (instance) (up)", refId: A}
          - refId: B
            datasourceUid: __expr__
            model: {type: threshold, expression: A, refId: B,
                    conditions: [{evaluator: {type: lt, params: [1]}}]}

- name: Remove the group and its rules
  vigil.monitoring.grafana_rule_group:
    url: https://grafana.example.org
    api_token: "{{ vault_grafana_token }}"
    folder_uid: vigil-alerts
    name: availability
    state: absent
"""

RETURN = r"""
group:
  description:
    - The group after the task, normalised (C(title), C(folderUid), C(interval) as a
      duration, C(rules) in API format), with C(provenance). C({}) when absent (after O(state=absent)).
  returned: always
  type: dict
  sample:
    title: availability
    folderUid: vigil-alerts
    interval: 1m
    rules: []
    provenance: api
"""

from typing import Any, Dict, List, Optional

from ansible_collections.vigil.monitoring.plugins.module_utils.durations import (
    canonical_duration,
    check_duration,
    duration_ms,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana import (
    PROVENANCE_API,
    PROVENANCE_NONE,
    GrafanaResource,
    desired_rule,
    grafana_main,
    rule_group_rules_spec,
    rule_payload,
    rule_state,
    validate_rule_options,
)

BASE_INTERVAL_MS = 10000


class RuleGroup(GrafanaResource):
    kind = "rule group"
    result_key = "group"
    api_to_none_allowed = True  # Grafana lets a group PUT move its rules from 'api' to ''.

    url_segments = ("folder", "{folder_uid}", "rule-groups", "{name}")

    def rule_options(self) -> Dict[str, Dict[str, Any]]:
        return {opts["uid"]: opts for opts in self.params.get("rules") or []}

    def validate(self) -> Optional[str]:
        interval, rules = self.params.get("interval"), self.params.get("rules")
        if not interval:
            return "state=present needs interval, for example interval: 1m"
        problem = check_duration(interval, "interval")
        if problem:
            return problem
        ms = duration_ms(interval) or 0
        if ms < BASE_INTERVAL_MS or ms % BASE_INTERVAL_MS:
            return "interval must be at least 10s and a multiple of 10s (Grafana's base interval), got %r" % interval
        if not rules:
            return "state=present needs at least one entry in rules; to remove the group use state=absent"
        return self.validate_rules(rules)

    @staticmethod
    def validate_rules(rules: List[Dict[str, Any]]) -> Optional[str]:
        seen_uids, seen_titles = set(), set()
        for index, opts in enumerate(rules):
            prefix = "rules[%d]." % index
            problem = validate_rule_options(opts, prefix)
            if problem:
                return problem
            if opts["uid"] in seen_uids:
                return "%suid %r is listed twice" % (prefix, opts["uid"])
            if opts["title"] in seen_titles:
                return "%stitle %r is listed twice; titles are unique within a folder" % (prefix, opts["title"])
            seen_uids.add(opts["uid"])
            seen_titles.add(opts["title"])
        return None

    def normalise(self, raw: Dict[str, Any]) -> Dict[str, Any]:
        options = self.rule_options()
        rules = []
        for rule in raw.get("rules") or []:
            rules.append(rule_state(rule, options.get(rule.get("uid"), {})))
        return {
            "title": raw.get("title"),
            "folderUid": raw.get("folderUid"),
            "interval": canonical_duration(raw.get("interval") or 0),
            "rules": rules,
        }

    def desired(self) -> Dict[str, Any]:
        folder, group = self.params["folder_uid"], self.params["name"]
        return {
            "title": group,
            "folderUid": folder,
            "interval": canonical_duration(self.params["interval"]),
            "rules": [desired_rule(opts, folder, group) for opts in self.params["rules"]],
        }

    def provenance_of(self, raw: Dict[str, Any]) -> str:
        found = {str(rule.get("provenance") or "") for rule in raw.get("rules") or []}
        foreign = sorted(found - {PROVENANCE_API, PROVENANCE_NONE})
        if foreign:
            return foreign[0]
        return PROVENANCE_API if PROVENANCE_API in found else PROVENANCE_NONE

    def body(self, raw: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        current = {rule.get("uid"): rule for rule in (raw or {}).get("rules") or []}
        desired = self.desired()
        return {
            "title": desired["title"],
            "folderUid": desired["folderUid"],
            "interval": (duration_ms(self.params["interval"]) or 0) // 1000,
            "rules": [rule_payload(rule, current.get(rule["uid"]), self.params.get("org_id"))
                      for rule in desired["rules"]],
        }

    def create(self) -> None:
        self.client.write("PUT", self.path, self.body(None), expected=(200, 201, 202), expect=dict)

    def update(self, raw: Dict[str, Any]) -> None:
        self.client.write("PUT", self.path, self.body(raw), expected=(200, 201, 202), expect=dict)

    def conflict_hint(self) -> str:
        return ("Usually a rule title of the group is already used by another rule of folder %r."
                % self.params["folder_uid"])

    def delete_hint(self) -> str:
        return ("If this Grafana has no rule group DELETE endpoint (older versions), delete the rules with "
                "vigil.monitoring.grafana_alert_rule state=absent instead.")


def main() -> None:
    grafana_main(
        RuleGroup,
        folder_uid=dict(type="str", required=True),
        name=dict(type="str", required=True),
        interval=dict(type="str"),
        rules=dict(type="list", elements="dict", options=rule_group_rules_spec()),
    )


if __name__ == "__main__":
    main()
