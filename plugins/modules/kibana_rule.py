#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage a Kibana rule: stack alerting rules (.es-query, ...) and security detection rules."""

from __future__ import annotations

DOCUMENTATION = r"""
module: kibana_rule
short_description: Manage a Kibana rule (Elasticsearch query rules and indicator match detection rules)
version_added: 0.1.0
description:
  - Creates, updates, enables/disables or deletes a Kibana rule identified by O(id), so repeated runs
    are idempotent.
  - B(Stack alerting rules) (for example O(rule_type_id=.es-query)) use the alerting API
    C(/api/alerting/rule/<id>) - C(POST) creates the rule with your O(id), C(GET) reads it, C(PUT)
    updates it with only the updatable fields (C(name), C(tags), C(schedule), C(params), C(actions));
    Kibana rejects C(rule_type_id) and C(consumer) on update, so a rule whose type or consumer
    differs fails the task (delete it first). O(enabled) is applied with C(_enable)/C(_disable).
  - B(Security detection rules) (C(siem.*) rule types, in particular C(siem.indicatorRule), the
    B(indicator match) rule) are created through the documented detection engine API
    C(/api/detection_engine/rules) with O(id) as the rule's C(rule_id) (C(GET/DELETE ?rule_id=),
    C(POST) to create, C(PUT) to replace). The detection C(type) is derived from O(rule_type_id)
    (C(siem.indicatorRule) -> C(threat_match), C(siem.queryRule) -> C(query), ...).
  - Kibana adds server fields (C(created_at), C(updated_by), C(execution_status), C(revision),
    action C(uuid), ...) and fills defaults into rule parameters; the module compares only what you
    set (O(params), O(detection) and action keys are compared as "what you set is what Kibana has";
    O(name), O(tags), O(interval) and O(enabled) exactly) and writes only on a difference.
  - A missing rule is recognised only by HTTP 404. Every request carries C(kbn-xsrf).
author:
  - Vigil maintainers (@vigil-monitoring)
options:
  id:
    description:
      - Stable rule identifier. For alerting rules the rule ID (Kibana before 8.17 accepts only a UUID
        v1/v4 here; generate one once and keep it in your variables). For detection rules the C(rule_id),
        any string.
    type: str
    required: true
    aliases: [rule_id]
  rule_type_id:
    description:
      - C(.es-query) (or another stack rule type) for the alerting API; C(siem.indicatorRule) (or
        another C(siem.*) type) for the detection engine API. Required when O(state=present). With
        O(state=absent) and no O(rule_type_id), both APIs are checked.
    type: str
  name:
    description: Rule name. Required when O(state=present).
    type: str
  tags:
    description: Rule tags.
    type: list
    elements: str
    default: []
  enabled:
    description: Whether the rule runs.
    type: bool
    default: true
  interval:
    description:
      - How often the rule runs (alerting C(schedule.interval), detection C(interval)), for example
        C(1m), C(5m).
    type: str
    default: 1m
  consumer:
    description: Alerting API only. The Kibana feature owning the rule (C(stackAlerts), C(alerts), C(discover), ...).
    type: str
    default: stackAlerts
  params:
    description:
      - Alerting API only, required there. The rule type parameters. For C(.es-query) with a DSL query
        C(searchType=esQuery), C(esQuery) (the query as a JSON string), C(index), C(timeField), C(size),
        C(threshold), C(thresholdComparator), C(timeWindowSize), C(timeWindowUnit).
    type: dict
  detection:
    description:
      - Detection engine only, required there. The detection rule fields other than C(rule_id),
        C(type), C(name), C(tags), C(enabled), C(interval) and C(actions) (set by the options above).
      - For an indicator match rule C(description), C(severity) (C(low), C(medium), C(high),
        C(critical)), C(risk_score) (0-100), C(index) (or C(data_view_id)), C(query) (KQL, for example
        C(event.outcome:success and event.type:allowed)), C(threat_index), C(threat_query),
        C(threat_mapping) (a list of items whose C(entries) list C(field), C(type=mapping), C(value)) and optionally
        C(threat_indicator_path), C(threat_language), C(from), C(max_signals), ...
    type: dict
  actions:
    description: Notifications sent through connectors when the rule fires.
    type: list
    elements: dict
    default: []
    suboptions:
      connector_id:
        description: ID of the connector (see M(vigil.monitoring.kibana_connector)).
        type: str
        required: true
        aliases: [id]
      group:
        description:
          - Action group. Defaults to C(query matched) for C(.es-query) and C(default) for detection
            rules; required for other rule types.
        type: str
      params:
        description: Connector parameters (mustache templates); for a webhook its C(body).
        type: dict
        default: {}
      frequency:
        description:
          - When to notify. Alerting API C({summary, notify_when, throttle}) (default C(summary=false),
            C(notify_when=onActionGroupChange), C(throttle=null), which Kibana requires when the rule has
            no rule-level C(notify_when)); detection API C({summary, notifyWhen, throttle}) (no default).
          - An action to Alertmanager with C(onActionGroupChange) posts once, and Alertmanager resolves the alert
            C(resolve_timeout) later while the condition may still hold; use O(alertmanager) instead.
        type: dict
      action_type_id:
        description:
          - Detection engine only. Connector type (for example C(.webhook)); read from the connector
            when not set.
        type: str
  alertmanager:
    description:
      - Deliver the rule's alerts to Alertmanager with a lifecycle; the module adds these actions to O(actions).
      - B(Stack alerting rules) get two actions. One in the active group (O(alertmanager.group), default
        C(query matched) for C(.es-query)) posts on B(every run) while the alert is active
        (C(frequency.notify_when=onActiveAlert)) with C(endsAt) = run date + O(alertmanager.hold_intervals) x
        O(interval); one in the C(recovered) group posts the same labels with C(endsAt) = run date. Alertmanager
        keeps the alert open while the condition holds and resolves it at the first run after it clears.
      - B(Detection rules) have no recovery. One summary action posts on every run that found new matches with
        C(endsAt) = run date + O(alertmanager.window), so the alert resolves O(alertmanager.window) after the
        last match.
      - The run date + hold is computed by Kibana's C(FormatDate) mustache lambda (Kibana 8.8 or later), as the
        run date written with a negative RFC 3339 offset; holds are whole minutes from 1m to 23h59m.
    type: dict
    suboptions:
      connector_id:
        description: ID of the Alertmanager webhook connector (C(.webhook) to C(/api/v2/alerts)).
        type: str
        required: true
      labels:
        description: Alert labels; C(alertname), C(severity) and C(team) are required, C(source=kibana) is added.
        type: dict
        required: true
      annotations:
        description: Annotations (strings, mustache allowed). Default C(summary)/C(description) from Kibana's context.
        type: dict
      group:
        description: Stack rules only. The active action group; default C(query matched) for C(.es-query).
        type: str
      hold_intervals:
        description: How many rule intervals an active alert stays open without a new post (at least 2).
        type: int
        default: 3
      window:
        description:
          - Detection rules only. How long the alert stays open after the last run with new matches, for
            example C(1h). Default O(alertmanager.hold_intervals) x O(interval).
        type: str
extends_documentation_fragment: [vigil.monitoring.api, vigil.monitoring.api.transport, vigil.monitoring.kibana,
  vigil.monitoring.resource, vigil.monitoring.resource.state]
notes:
  - Keys you remove from O(params) or O(detection) are not noticed by themselves, because Kibana fills
    defaults in; detection rules are replaced as a whole (C(PUT)) whenever anything you set differs.
"""

EXAMPLES = r"""
- name: Alert when the firewall reports denied traffic to the lab network
  vigil.monitoring.kibana_rule:
    url: https://kibana.lab.example:5601
    api_key: "{{ vault_kibana_api_key }}"
    id: 6f0f7f3e-2d4b-4c55-9a51-3c1de1c6f1a2
    rule_type_id: .es-query
    name: Firewall denies to the lab network
    tags: [vigil, firewall]
    interval: 1m
    params:
      searchType: esQuery
      index: ["logs-firewall-*"]
      timeField: "@timestamp"
      esQuery: '{"query": {"term": {"event.outcome": "failure"}}}'
      size: 100
      threshold: [10]
      thresholdComparator: ">"
      timeWindowSize: 5
      timeWindowUnit: m
    # Posts on every run while active (endsAt = run date + 3 x 1m) and resolves on recovery.
    alertmanager:
      connector_id: 2b7c3a10-9a7e-4a55-8d8e-0f5b7d1c2e33
      labels: {alertname: FirewallDenies, severity: warning, team: netops}

- name: Indicator match - allowed traffic to a known-bad IP
  vigil.monitoring.kibana_rule:
    url: https://kibana.lab.example:5601
    api_key: "{{ vault_kibana_api_key }}"
    id: vigil-ioc-destination-ip
    rule_type_id: siem.indicatorRule
    name: Allowed connection to a threat indicator IP
    interval: 5m
    detection:
      description: Successful, allowed connection to an IP listed by OpenCTI
      severity: critical
      risk_score: 99
      index: ["logs-firewall-*"]
      query: "event.outcome:success and event.type:allowed"
      threat_index: ["logs-ti_opencti*"]
      threat_query: "@timestamp >= \"now-30d/d\""
      threat_mapping:
        - entries:
            - {field: destination.ip, type: mapping, value: threat.indicator.ip}
    # Posts on every run with new matches; the alert resolves 1h after the last one.
    alertmanager:
      connector_id: 2b7c3a10-9a7e-4a55-8d8e-0f5b7d1c2e33
      labels: {alertname: ThreatIndicatorMatch, severity: critical, team: security}
      window: 1h

- name: Remove a rule
  vigil.monitoring.kibana_rule:
    url: https://kibana.lab.example:5601
    api_key: "{{ vault_kibana_api_key }}"
    id: vigil-ioc-destination-ip
    rule_type_id: siem.indicatorRule
    state: absent
"""

RETURN = r"""
rule:
  description:
    - The rule as Kibana returns it after this run (in check mode, the request that would be sent).
    - Empty when absent.
  returned: always
  type: dict
api:
  description: Which API manages the rule, C(alerting) or C(detection_engine).
  returned: always
  type: str
"""

import copy  # noqa: E402
from typing import Any, Dict, List, Optional, Tuple  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.vigil.monitoring.plugins.module_utils.api_resource import (  # noqa: E402
    ApiResource,
    project,
    reconcile,
    state_option,
    subset_changed_paths,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import (  # noqa: E402
    HOLD_INTERVALS_DEFAULT,
    KibanaClient,
    elastic_module,
    kibana_alertmanager_actions,
    kibana_argument_spec,
    kibana_returned,
    looks_like_uuid,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.vigil_http import ApiError, quote_segment  # noqa: E402

DETECTION_TYPES = {
    "siem.indicatorRule": "threat_match",
    "siem.queryRule": "query",
    "siem.savedQueryRule": "saved_query",
    "siem.thresholdRule": "threshold",
    "siem.eqlRule": "eql",
    "siem.esqlRule": "esql",
    "siem.newTermsRule": "new_terms",
    "siem.mlRule": "machine_learning",
}
DETECTION_OWNED = ("rule_id", "type", "name", "tags", "enabled", "interval", "actions")
THREAT_MATCH_REQUIRED = (
    "description",
    "severity",
    "risk_score",
    "query",
    "threat_index",
    "threat_query",
    "threat_mapping",
)
SEVERITIES = ("low", "medium", "high", "critical")
DEFAULT_GROUPS = {".es-query": "query matched"}
ALERTING_FREQUENCY = {"summary": False, "notify_when": "onActionGroupChange", "throttle": None}
ALERTING_UPDATABLE = ("name", "tags", "schedule", "params", "actions")
DETECTION_API = "/api/detection_engine/rules"


def argument_spec() -> Dict[str, Any]:
    return kibana_argument_spec(
        id=dict(type="str", required=True, aliases=["rule_id"]),
        state=state_option(),
        rule_type_id=dict(type="str"),
        name=dict(type="str"),
        tags=dict(type="list", elements="str", default=[]),
        enabled=dict(type="bool", default=True),
        interval=dict(type="str", default="1m"),
        consumer=dict(type="str", default="stackAlerts"),
        params=dict(type="dict"),
        detection=dict(type="dict"),
        alertmanager=dict(
            type="dict",
            options=dict(
                connector_id=dict(type="str", required=True),
                labels=dict(type="dict", required=True),
                annotations=dict(type="dict"),
                group=dict(type="str"),
                hold_intervals=dict(type="int", default=HOLD_INTERVALS_DEFAULT),
                window=dict(type="str"),
            ),
        ),
        actions=dict(
            type="list",
            elements="dict",
            default=[],
            options=dict(
                connector_id=dict(type="str", required=True, aliases=["id"]),
                group=dict(type="str"),
                params=dict(type="dict", default={}),
                frequency=dict(type="dict"),
                action_type_id=dict(type="str"),
            ),
        ),
    )


def is_detection(rule_type_id: Optional[str]) -> bool:
    return bool(rule_type_id) and rule_type_id.startswith("siem.")


# -- validation -----------------------------------------------------------------------


def validation_errors(params: Dict[str, Any]) -> List[str]:
    if params["state"] != "present":
        return []
    rule_type_id = params["rule_type_id"]
    if is_detection(rule_type_id):
        return detection_errors(params)
    errors = []
    if params["detection"] is not None:
        errors.append(
            "detection applies only to siem.* rule types; for %s put the rule type parameters under params"
            % rule_type_id
        )
    if not isinstance(params["params"], dict):
        errors.append(
            "params is required for rule_type_id %s: the rule type's parameters, for example "
            "{searchType: esQuery, esQuery: '{\"query\": ...}', index: [...], timeField: '@timestamp', "
            "threshold: [0], ...}" % rule_type_id
        )
    for index, action in enumerate(params["actions"]):
        if not action["group"] and rule_type_id not in DEFAULT_GROUPS:
            errors.append(
                "actions[%d].group is required for rule_type_id %s (its action group, for example 'threshold met')"
                % (index, rule_type_id)
            )
    return errors


def detection_errors(params: Dict[str, Any]) -> List[str]:
    rule_type_id = params["rule_type_id"]
    if rule_type_id not in DETECTION_TYPES:
        return [
            "rule_type_id %s is not a detection rule type this module knows; use one of %s"
            % (rule_type_id, ", ".join(sorted(DETECTION_TYPES)))
        ]
    detection = params["detection"]
    if params["params"] is not None:
        return [
            "params applies to alerting API rule types; for %s put the detection rule fields under detection"
            % rule_type_id
        ]
    if not isinstance(detection, dict):
        return [
            "detection is required for rule_type_id %s: "
            "the detection rule fields (description, severity, risk_score, ...)" % rule_type_id
        ]
    errors = [
        "detection.%s is set by the top-level option %s; remove it from detection" % (k, k)
        for k in DETECTION_OWNED
        if k in detection
    ]
    if DETECTION_TYPES[rule_type_id] == "threat_match":
        errors.extend(threat_match_errors(detection))
    return errors


def threat_match_errors(detection: Dict[str, Any]) -> List[str]:
    errors = [
        "detection.%s is required for an indicator match rule" % k for k in THREAT_MATCH_REQUIRED if k not in detection
    ]
    if "index" not in detection and "data_view_id" not in detection:
        errors.append(
            "detection.index (list of index patterns) or detection.data_view_id is required for an indicator match rule"
        )
    if "severity" in detection and detection["severity"] not in SEVERITIES:
        errors.append("detection.severity must be one of %s, not %r" % (", ".join(SEVERITIES), detection["severity"]))
    score = detection.get("risk_score")
    if "risk_score" in detection and (isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 100):
        errors.append("detection.risk_score must be an integer from 0 to 100, not %r" % (score,))
    mapping = detection.get("threat_mapping")
    if "threat_mapping" in detection and not valid_threat_mapping(mapping):
        errors.append(
            "detection.threat_mapping must be a non-empty list of "
            "{entries: [{field: destination.ip, type: mapping, value: threat.indicator.ip}]}"
        )
    return errors


def valid_threat_mapping(mapping: Any) -> bool:
    if not isinstance(mapping, list) or not mapping:
        return False
    for item in mapping:
        entries = item.get("entries") if isinstance(item, dict) else None
        if not isinstance(entries, list) or not entries:
            return False
        if not all(
            isinstance(e, dict) and e.get("field") and e.get("value") and e.get("type") == "mapping" for e in entries
        ):
            return False
    return True


# -- alerting API ---------------------------------------------------------------------


def alerting_path(rule_id: str, suffix: str = "") -> str:
    return "/api/alerting/rule/%s%s" % (quote_segment(rule_id), suffix)


def alerting_actions(params: Dict[str, Any]) -> List[Dict[str, Any]]:
    default_group = DEFAULT_GROUPS.get(params["rule_type_id"])
    return [
        {
            "group": a["group"] or default_group,
            "id": a["connector_id"],
            "params": a["params"] or {},
            "frequency": a["frequency"] if a["frequency"] is not None else dict(ALERTING_FREQUENCY),
        }
        for a in params["actions"]
    ]


def alerting_desired(params: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "rule_type_id": params["rule_type_id"],
        "consumer": params["consumer"],
        "name": params["name"],
        "tags": params["tags"],
        "enabled": params["enabled"],
        "schedule": {"interval": params["interval"]},
        "params": params["params"],
        "actions": alerting_actions(params),
    }


def without(values: Dict[str, Any], keys: Tuple[str, ...]) -> Dict[str, Any]:
    return {k: v for k, v in values.items() if k not in keys}


# -- detection engine API -------------------------------------------------------------


def detection_query(rule_id: str) -> str:
    return "%s?rule_id=%s" % (DETECTION_API, quote_segment(rule_id))


def connector_type(module: AnsibleModule, client: KibanaClient, index: int, connector_id: str) -> Optional[str]:
    found = client.get_optional("/api/actions/connector/%s" % quote_segment(connector_id), expect=dict)
    if found is not None:
        return found.get("connector_type_id")
    message = (
        "actions[%d].connector_id %s: no such connector in this space; "
        "create it first (kibana_connector) or set action_type_id" % (index, connector_id)
    )
    if module.check_mode:
        module.warn(message)
        return None
    module.fail_json(msg=message)
    return None


def detection_actions(module: AnsibleModule, client: KibanaClient) -> List[Dict[str, Any]]:
    actions = []
    for index, a in enumerate(module.params["actions"]):
        action: Dict[str, Any] = {
            "group": a["group"] or "default",
            "id": a["connector_id"],
            "params": a["params"] or {},
        }
        type_id = a["action_type_id"] or connector_type(module, client, index, a["connector_id"])
        if type_id:
            action["action_type_id"] = type_id
        if a["frequency"] is not None:
            action["frequency"] = a["frequency"]
        actions.append(action)
    return actions


def detection_desired(module: AnsibleModule, client: KibanaClient) -> Dict[str, Any]:
    p = module.params
    body = copy.deepcopy(p["detection"])
    body.update(
        rule_id=p["id"],
        type=DETECTION_TYPES[p["rule_type_id"]],
        name=p["name"],
        tags=p["tags"],
        enabled=p["enabled"],
        interval=p["interval"],
        actions=detection_actions(module, client),
    )
    return body


# -- main -----------------------------------------------------------------------------


def find(
    client: KibanaClient, rule_id: str, rule_type_id: Optional[str]
) -> Tuple[Optional[str], Optional[Dict[str, Any]]]:
    """(api, rule) for the rule with this id; api is None when it does not exist."""
    if not is_detection(rule_type_id):
        found = client.get_optional(alerting_path(rule_id), expect=dict)
        if found is not None or rule_type_id:
            return ("alerting" if found is not None else None), found
    found = client.get_optional(detection_query(rule_id), expect=dict)
    return ("detection_engine" if found is not None else None), found


def lifecycle_actions(params: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The Alertmanager actions for O(alertmanager), in the O(actions) format; ValueError when invalid."""
    spec = params.get("alertmanager")
    if not spec or params["state"] != "present":
        return []
    detection = is_detection(params["rule_type_id"])
    try:
        actions = kibana_alertmanager_actions(
            spec["connector_id"],
            spec["labels"],
            params["interval"],
            rule_kind="detection" if detection else "stack",
            group=spec.get("group") or (None if detection else DEFAULT_GROUPS.get(params["rule_type_id"])),
            annotations=spec.get("annotations"),
            hold_intervals=spec.get("hold_intervals"),
            window=spec.get("window"),
        )
    except ValueError as exc:
        raise ValueError("alertmanager: %s" % exc) from exc
    return [dict({"group": None, "params": {}, "frequency": None, "action_type_id": None}, **a) for a in actions]


class Rule(ApiResource):
    """A rule of the alerting API or of the detection engine (siem.* rule types), by its id."""

    kind = "Kibana rule"
    result_key = "rule"
    api: Optional[str] = None
    wanted: Optional[Dict[str, Any]] = None

    @property
    def name(self) -> str:
        return self.params["id"]

    @property
    def detection(self) -> bool:
        return is_detection(self.params["rule_type_id"])

    def fetch(self) -> Optional[Dict[str, Any]]:
        self.api, found = find(self.client, self.params["id"], self.params["rule_type_id"])
        return found

    def normalise(self, raw: Dict[str, Any]) -> Dict[str, Any]:
        """Kibana's values of the managed fields (the whole rule when it is to be deleted)."""
        return raw if self.state == "absent" else project(raw, self.desired())

    def desired(self) -> Dict[str, Any]:
        if self.wanted is None:  # a detection rule's actions need the connectors' types (one GET each)
            self.wanted = detection_desired(self.module, self.client) if self.detection else alerting_desired(
                self.params)
        return self.wanted

    def immutable(self, current: Dict[str, Any], desired: Dict[str, Any]) -> List[str]:
        fixed = ("type",) if self.detection else ("rule_type_id", "consumer")
        return [key for key in fixed if current.get(key) != desired[key]]

    def same(self, current: Dict[str, Any], desired: Dict[str, Any]) -> bool:
        return not self.changed_fields(current, desired)

    def changed_fields(self, current: Optional[Dict[str, Any]], desired: Optional[Dict[str, Any]]) -> List[str]:
        if current is None or desired is None:
            return super().changed_fields(current, desired)
        if self.immutable(current, desired):
            return self.immutable(current, desired)
        if self.detection:
            return subset_changed_paths(desired, current)
        fields = subset_changed_paths(without(desired, ("rule_type_id", "consumer", "enabled")), current)
        return fields + (["enabled"] if current.get("enabled") != desired["enabled"] else [])

    def update_problem(self, raw: Any, current: Dict[str, Any], desired: Dict[str, Any]) -> Optional[str]:
        fixed = self.immutable(current, desired)
        if not fixed:
            return None
        if self.detection:
            return "Detection rule %s is of type %s, not %s; delete it first (state=absent)" % (
                self.name, current.get("type"), desired["type"])
        return ("Rule %s has %s %r; Kibana cannot change %s on update. Delete the rule (state=absent) or use another "
                "id." % (self.name, fixed[0], current.get(fixed[0]), fixed[0]))

    def create(self) -> Any:
        path = DETECTION_API if self.detection else alerting_path(self.params["id"])
        return self.client.request("POST", path, body=self.desired(), expect=dict)[1]

    def update(self, raw: Dict[str, Any]) -> Any:
        desired = self.desired()
        if self.detection:
            return self.client.request("PUT", DETECTION_API, body=desired, expect=dict)[1]
        path = alerting_path(self.params["id"])
        changed = self.changed_fields(self.normalise(raw), desired)
        if [field for field in changed if field != "enabled"]:
            self.client.request("PUT", path, body={k: desired[k] for k in ALERTING_UPDATABLE}, expect=dict)
        if "enabled" in changed:
            toggle = "/_enable" if desired["enabled"] else "/_disable"
            self.client.request("POST", alerting_path(self.params["id"], toggle), expected=(200, 204), expect=None)
        return self.client.request("GET", path, expect=dict)[1]

    def delete(self, raw: Dict[str, Any]) -> None:
        if self.api == "alerting":
            self.client.request("DELETE", alerting_path(self.params["id"]), expected=(200, 204, 404), expect=None)
        else:
            self.client.request("DELETE", detection_query(self.params["id"]), expected=(200, 404), expect=None)

    def returned(self, after: Optional[Dict[str, Any]], raw: Any, answer: Any, changed: bool) -> Any:
        return kibana_returned(after, raw, answer, changed)

    def error_hint(self, exc: ApiError) -> str:
        return id_hint(self.params["id"], self.params["rule_type_id"], exc) or ""

    def extra_result(self) -> Dict[str, Any]:
        api = self.api if self.state == "absent" else None
        return {"id": self.params["id"], "api": api or ("detection_engine" if self.detection else "alerting")}


def main() -> None:
    module = elastic_module(argument_spec(), required_if=[("state", "present", ("rule_type_id", "name"))])
    errors = validation_errors(module.params)
    try:
        module.params["actions"] = list(module.params["actions"]) + lifecycle_actions(module.params)
    except ValueError as exc:
        errors.append(str(exc))
    if errors:
        module.fail_json(msg="; ".join(errors))
    reconcile(Rule(module, KibanaClient(module)))


def id_hint(rule_id: str, rule_type_id: Optional[str], err: ApiError) -> Optional[str]:
    """Kibana before 8.17 refuses non-UUID ids for alerting rules with HTTP 400."""
    if err.status == 400 and not is_detection(rule_type_id) and not looks_like_uuid(rule_id):
        return (
            "Kibana before 8.17 accepts only a UUID v1/v4 as an alerting rule id; "
            "generate one once (uuidgen) and keep it in your variables"
        )
    return None


if __name__ == "__main__":
    main()
