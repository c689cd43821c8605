"""What Kibana does with a rule's actions, as its documentation describes it, for tests.

* ``render_body``: Kibana renders a webhook action's ``body`` with mustache (mustache.js),
  escaping values for JSON strings, with its documented lambdas. Here: pystache with the
  same JSON escape, ``missing_tags='strict'`` (a variable Kibana does not document for
  that action fails the test instead of rendering empty) and the ``FormatDate`` lambda
  (``<date>; <time zone>; <moment.js format>``, Kibana >= 8.8) for the format tokens Vigil
  uses. Other lambdas are not emulated: a template using them fails here.
* ``due_actions``: which actions Kibana runs at a rule run, from the documented action
  frequencies (``onActiveAlert``: every run while the alert is in the action's group;
  ``onActionGroupChange``: when the alert enters the group; ``onThrottleInterval``: on
  entering, then once per throttle) and, for detection rules, summaries on every run
  that created alerts.
* ``stack_variables`` / ``detection_variables``: the context variables Kibana documents
  for an ``.es-query`` alert and a detection rule summary.

Source: Kibana's "Rule action variables" and "Enhancing Mustache variables" pages, the
Elasticsearch query rule's action variables, and Elastic Security's action variables.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, Dict, List, Optional
from zoneinfo import ZoneInfo

import pystache

# moment.js format tokens (longest first) used by Vigil's templates, and literal [text].
_MOMENT_TOKENS = {
    "YYYY": lambda d: "%04d" % d.year,
    "MM": lambda d: "%02d" % d.month,
    "DD": lambda d: "%02d" % d.day,
    "HH": lambda d: "%02d" % d.hour,
    "hh": lambda d: "%02d" % (d.hour % 12 or 12),
    "mm": lambda d: "%02d" % d.minute,
    "ss": lambda d: "%02d" % d.second,
    "SSS": lambda d: "%03d" % (d.microsecond // 1000),
    "a": lambda d: "am" if d.hour < 12 else "pm",
}
_MOMENT_RE = re.compile(r"\[[^\]]*\]|YYYY|SSS|MM|DD|HH|hh|mm|ss|a|[A-Za-z]|.", re.S)


def moment_format(value: dt.datetime, fmt: str) -> str:
    out = []
    for token in _MOMENT_RE.findall(fmt):
        if token.startswith("[") and token.endswith("]"):
            out.append(token[1:-1])
        elif token in _MOMENT_TOKENS:
            out.append(_MOMENT_TOKENS[token](value))
        elif token.isalpha():
            raise NotImplementedError("moment token %r is not emulated by tests/standins/kibana_actions.py" % token)
        else:
            out.append(token)
    return "".join(out)


def json_escape(value: Any) -> str:
    """Kibana's escape for webhook bodies: JSON string escaping without the quotes."""
    return json.dumps("%s" % value)[1:-1]


def iso(value: dt.datetime) -> str:
    """JavaScript's Date.toISOString(): UTC, milliseconds, Z."""
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (value.microsecond // 1000)


def _renderer() -> pystache.Renderer:
    return pystache.Renderer(escape=json_escape, missing_tags="strict")


def _format_date(context: Dict[str, Any]):
    def lambda_(text: str) -> str:
        rendered = _renderer().render(text.strip(), context).strip()
        # JavaScript's split(';', 3): at most three parts, the rest dropped.
        parts = [p.strip() for p in rendered.split(";")[:3]]
        date, zone, fmt = (parts + ["", "", ""])[:3]
        if not date:
            return ""
        parsed = dt.datetime.fromisoformat(date.replace("Z", "+00:00"))
        value = parsed.astimezone(ZoneInfo(zone or "UTC"))
        return moment_format(value, fmt or "YYYY-MM-DD hh:mma")

    return lambda_


def render_body(template: str, variables: Dict[str, Any]) -> str:
    """The string Kibana's webhook connector sends for this body template and these variables."""
    context = dict(variables)
    context["FormatDate"] = _format_date(variables)
    return _renderer().render(template, context)


def stack_variables(rule: Dict[str, Any], date: dt.datetime, group: str, alert_id: str, **context: Any) -> Dict[str, Any]:
    """Per-alert action variables of an .es-query rule run."""
    base = "https://kibana.example.org"
    ctx = {
        "title": "rule '%s' %s" % (rule["name"], "recovered" if group == "recovered" else "matched query"),
        "message": "rule '%s' is %s" % (rule["name"], "recovered" if group == "recovered" else "active"),
        "date": iso(date),
        "value": 0,
        "conditions": "Number of matching documents is less than 1",
        "hits": [],
        "link": "%s/app/r?l=DISCOVER_APP_LOCATOR" % base,
    }
    ctx.update(context)
    return {
        "date": iso(date),
        "kibanaBaseUrl": base,
        "rule": {
            "id": rule["id"],
            "name": rule["name"],
            "params": rule.get("params", {}),
            "spaceId": "default",
            "tags": rule.get("tags", []),
            "url": "%s/app/management/insightsAndAlerting/triggersActions/rule/%s" % (base, rule["id"]),
            "type": rule.get("rule_type_id"),
        },
        "alert": {
            "id": alert_id,
            "uuid": "3c6a5fd4-0000-4000-8000-%012d" % abs(hash(alert_id) % 10**12),
            "actionGroup": group,
            "actionGroupName": group,
            "flapping": False,
            "consecutiveMatches": 1,
        },
        "context": ctx,
    }


def detection_variables(rule: Dict[str, Any], date: dt.datetime, signals: int) -> Dict[str, Any]:
    """Summary action variables of a detection rule run that created ``signals`` alerts."""
    base = "https://kibana.example.org"
    return {
        "date": iso(date),
        "kibanaBaseUrl": base,
        "rule": {"id": rule["id"], "name": rule["name"], "spaceId": "default", "tags": rule.get("tags", [])},
        "state": {"signals_count": signals},
        "context": {
            "alerts": [{"destination": {"ip": "203.0.113.%d" % i}} for i in range(signals)],
            "results_link": "%s/app/security/detections/rules/id/%s" % (base, rule["id"]),
            "rule": {
                "id": rule["id"],
                "rule_id": rule["rule_id"],
                "name": rule["name"],
                "description": rule["description"],
                "severity": rule["severity"],
                "risk_score": rule["risk_score"],
            },
        },
    }


class StackAlertSchedule:
    """Kibana's action scheduling for one alert of a stack rule (per-alert actions)."""

    def __init__(self, actions: List[Dict[str, Any]], active_group: str):
        self.actions = actions
        self.active_group = active_group
        self.group: Optional[str] = None  # the alert's action group at the last run
        self.last_run: Dict[int, dt.datetime] = {}

    def run(self, date: dt.datetime, condition_met: bool) -> List[Dict[str, Any]]:
        """The actions Kibana runs at this rule run; updates the alert's state."""
        if condition_met:
            group: Optional[str] = self.active_group
        elif self.group == self.active_group:
            group = "recovered"
        else:
            group = None
        changed = group != self.group
        self.group = group if group != "recovered" else None
        if group is None:
            return []
        due = []
        for index, action in enumerate(self.actions):
            if action["group"] != group:
                continue
            frequency = action.get("frequency") or {}
            if frequency.get("summary"):
                raise NotImplementedError("summary actions of stack rules are not emulated")
            when = frequency.get("notify_when")
            if when == "onActiveAlert":
                fire = True
            elif when == "onActionGroupChange":
                fire = changed
            elif when == "onThrottleInterval":
                throttle = _seconds(frequency["throttle"])
                last = self.last_run.get(index)
                fire = changed or last is None or (date - last).total_seconds() >= throttle
            else:
                raise AssertionError("action %d has no valid frequency.notify_when: %r" % (index, frequency))
            if fire:
                self.last_run[index] = date
                due.append(action)
        return due


def detection_due_actions(actions: List[Dict[str, Any]], new_alerts: int) -> List[Dict[str, Any]]:
    """Detection rules run their summary actions on every run that created alerts."""
    if not new_alerts:
        return []
    due = []
    for action in actions:
        frequency = action.get("frequency") or {}
        if frequency.get("notifyWhen") == "onActiveAlert" and frequency.get("summary"):
            due.append(action)
        elif frequency:
            raise NotImplementedError("detection frequency %r is not emulated" % (frequency,))
    return due


def _seconds(value: str) -> int:
    number, unit = int(value[:-1]), value[-1]
    return number * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
