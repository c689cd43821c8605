# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create, update or delete one Grafana-managed alert rule through the provisioning API."""

from __future__ import annotations

DOCUMENTATION = r"""
module: grafana_alert_rule
short_description: Manage one Grafana-managed alert rule by UID
version_added: 0.1.0
description:
  - Creates, updates or deletes one Grafana-managed alert rule through Grafana's alerting
    provisioning HTTP API (C(/api/v1/provisioning/alert-rules/{uid})).
  - The rule is identified by the UID you give, never by its title, so renaming a rule
    updates it in place. The module GETs the rule (a 404 means it does not exist), compares
    it with the options after normalising both sides, and only writes when they differ.
    Server-only fields (C(id), C(updated), C(orgID), C(provenance)) and the defaults Grafana
    fills into query models (C(intervalMs=1000), C(maxDataPoints=43200), C(queryType),
    an empty C(relativeTimeRange) of 0 to 0 seconds) are not reported as differences. Durations are
    compared by value, so C(300s) equals C(5m).
  - Uses the API format (flat rule objects with C(folderUID), C(ruleGroup), C(data),
    C(condition)), not the file-provisioning export format (C(groups) of rules). Do not
    paste an export file into O(data) without converting it.
  - A new rule joins O(rule_group) in O(folder_uid). If the group does not exist yet Grafana
    creates it with its default evaluation interval; use M(vigil.monitoring.grafana_rule_group)
    to set the interval or to manage every rule of a group at once. Do not manage the same
    rule with both modules.
  - "Provenance: without O(disable_provenance) the rule is marked C(api) and is read-only in
    the Grafana UI. The provenance is part of the wished state: switching
    O(disable_provenance) updates the rule. A rule with any other provenance (for example
    C(file), from file provisioning) is never changed or deleted; the task fails and says so."
  - "UID clash: if the create (POST) answers HTTP 409 because the rule appeared since the
    GET (another play, a retry after a timeout), the module reads it again and updates it
    like any existing rule, with a warning. If no rule with that UID is visible, the 409 is
    about something else (usually another rule with the same title in the same folder) and
    the task fails with Grafana's message."
  - Fields of the rule this module has no option for (for example C(record) or
    C(missingSeriesEvalsToResolve)) are kept as they are on update.
extends_documentation_fragment: [vigil.monitoring.api, vigil.monitoring.api.transport, vigil.monitoring.grafana,
                                  vigil.monitoring.resource, vigil.monitoring.grafana_rule]
options:
  state:
    description:
      - V(present) creates the rule or updates it to match the options.
      - V(absent) deletes it; a rule that does not exist is no change.
  folder_uid:
    description: UID of the Grafana folder holding the rule. It must exist. Required with O(state=present).
    type: str
  rule_group:
    description: Name of the evaluation group inside O(folder_uid). Required with O(state=present).
    type: str
seealso:
  - module: vigil.monitoring.grafana_rule_group
  - name: Grafana alerting provisioning HTTP API
    description: The API this module uses.
    link: https://grafana.com/docs/grafana/latest/developers/http_api/alerting_provisioning/
"""

EXAMPLES = r"""
- name: Alert when a Prometheus target is down
  vigil.monitoring.grafana_alert_rule: &target_down
    url: https://grafana.example.org
    api_token: "{{ vault_grafana_token }}"
    uid: vigil-target-down
    title: Target down
    folder_uid: vigil-alerts
    rule_group: availability
    condition: C
    pending_period: 5m
    labels:
      severity: critical
    annotations:
      # !unsafe keeps Ansible from templating Grafana's own template syntax.
      summary: !unsafe "{{ $labels.instance }} is down"
    data:
      - refId: A
        datasourceUid: prometheus
        relativeTimeRange: {from: 600, to: 0}
        model:
          expr: up
          refId: A
      - refId: B
        datasourceUid: __expr__
        model: {type: reduce, expression: A, reducer: last, refId: B}
      - refId: C
        datasourceUid: __expr__
        model: {type: threshold, expression: B, refId: C,
                conditions: [{evaluator: {type: lt, params: [1]}}]}

- name: The same rule, kept editable in the Grafana UI (a YAML merge key repeats the options above)
  vigil.monitoring.grafana_alert_rule:
    <<: *target_down
    disable_provenance: true

- name: Delete the rule
  vigil.monitoring.grafana_alert_rule:
    url: https://grafana.example.org
    url_username: admin
    url_password: "{{ vault_grafana_admin_password }}"
    uid: vigil-target-down
    state: absent
"""

RETURN = r"""
rule:
  description:
    - The rule after the task in normalised API format (what the module compares), with
      C(provenance) (C(api) or an empty string). C({}) when absent (after O(state=absent)).
    - In check mode, the rule as it would be.
  returned: always
  type: dict
  sample:
    uid: vigil-target-down
    title: Target down
    folderUID: vigil-alerts
    ruleGroup: availability
    condition: C
    for: 5m
    noDataState: NoData
    execErrState: Error
    isPaused: false
    labels: {severity: critical}
    annotations: {}
    data: []
    provenance: api
uid:
  description: UID of the rule.
  returned: always
  type: str
  sample: vigil-target-down
"""

from typing import Any, Dict, Optional

from ansible_collections.vigil.monitoring.plugins.module_utils.api_resource import require_present_options
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana import (
    GrafanaResource,
    desired_rule,
    grafana_main,
    rule_options_spec,
    rule_payload,
    rule_state,
    validate_rule_options,
)


class AlertRule(GrafanaResource):
    kind = "alert rule"
    result_key = "rule"
    api_to_none_allowed = True  # Grafana lets a rule PUT move provenance 'api' to ''.
    url_segments = ("alert-rules", "{uid}")

    def validate(self) -> Optional[str]:
        return (require_present_options(self.module, ("title", "folder_uid", "rule_group", "condition", "data"),
                                        "create or update a rule")
                or validate_rule_options(self.params))

    def normalise(self, raw: Dict[str, Any]) -> Dict[str, Any]:
        return rule_state(raw, self.params)

    def desired(self) -> Dict[str, Any]:
        return desired_rule(self.params, self.params["folder_uid"], self.params["rule_group"])

    def create(self) -> None:
        body = rule_payload(self.desired(), None, self.params.get("org_id"))
        self.client.write("POST", self.collection_path, body, expected=(200, 201), expect=dict)

    def update(self, raw: Dict[str, Any]) -> None:
        body = rule_payload(self.desired(), raw, self.params.get("org_id"))
        self.client.write("PUT", self.path, body, expected=(200, 201, 202), expect=dict)

    def conflict_hint(self) -> str:
        return ("Usually another rule already has the title %r in folder %r (titles are unique per folder); rename "
                "one of them." % (self.params.get("title"), self.params.get("folder_uid")))

    def extra_result(self) -> Dict[str, Any]:
        return {"uid": self.params["uid"]}


def main() -> None:
    grafana_main(AlertRule, folder_uid=dict(type="str"), rule_group=dict(type="str"), **rule_options_spec())


if __name__ == "__main__":
    main()
