# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create, update or delete one Grafana alerting mute timing by name."""

from __future__ import annotations

DOCUMENTATION = r"""
module: grafana_mute_timing
short_description: Manage one Grafana alerting mute timing by name
version_added: 0.1.0
description:
  - Creates, updates or deletes one mute timing (time interval) through Grafana's alerting
    provisioning API (C(/api/v1/provisioning/mute-timings/{name})). The name is the identifier.
  - The module GETs the mute timing (a 404 means it does not exist) and compares it with
    the options in Alertmanager's canonical form, the form Grafana answers with. Weekdays
    and months are lower-case names (C(1:3) equals C(january:march)), a range whose ends are
    equal is one value (C(monday:monday) equals C(monday)) and times are C(HH:MM)
    (C(9:00) equals C(09:00)). It writes only when they differ.
  - "Provenance: without O(disable_provenance) the mute timing gets provenance C(api) and is
    read-only in the UI. Grafana refuses to turn an C(api) mute timing editable in place; the
    task then fails and tells you to delete and re-create it. One with another provenance
    (for example C(file)) is never changed or deleted."
  - "Name clash: Grafana answers a create for an existing name with HTTP 400
    C(alerting.notifications.time-intervals.nameExists) (some versions 409). When that
    happens because it appeared since the GET, the module reads it again and updates it,
    with a warning."
  - Grafana refuses to delete a mute timing that a notification policy uses; change the
    policy tree first.
extends_documentation_fragment: [vigil.monitoring.api, vigil.monitoring.api.transport, vigil.monitoring.grafana, vigil.monitoring.resource]
options:
  name:
    description: Name of the mute timing, as referenced by notification policies (C(mute_time_intervals)).
    type: str
    required: true
  state:
    description:
      - V(present) creates the mute timing or updates it to match O(time_intervals).
      - V(absent) deletes it; one that does not exist is no change.
  time_intervals:
    description:
      - When notifications are muted. An alert is muted when the time matches any entry; an
        entry matches when all its fields match (an omitted field matches everything).
      - An empty list is allowed and never matches.
    type: list
    elements: dict
    default: []
    suboptions:
      times:
        description: Time ranges of the day.
        type: list
        elements: dict
        suboptions:
          start_time:
            description: Start, C(HH:MM) (C(00:00) to C(23:59)).
            type: str
            required: true
          end_time:
            description: End, C(HH:MM) after O(time_intervals[].times[].start_time) (up to C(24:00)).
            type: str
            required: true
      weekdays:
        description:
          - Days of the week or ranges, for example C(saturday) or C(monday:friday).
          - A week runs from sunday to saturday, so write the weekend as two values,
            C(saturday) and C(sunday), not C(saturday:sunday).
        type: list
        elements: str
      days_of_month:
        description:
          - Days of the month or ranges, 1 to 31, or -31 to -1 counted from the end (C(-1) is
            the last day), for example C(1:7).
        type: list
        elements: str
      months:
        description: Months by name or number, or ranges, for example C(december) or C(1:3).
        type: list
        elements: str
      years:
        description: Years or ranges, for example C(2025) or C(2025:2026).
        type: list
        elements: str
      location:
        description: IANA time zone of the times, for example C(Europe/Paris). Grafana uses UTC when omitted.
        type: str
seealso:
  - module: vigil.monitoring.grafana_notification_policy
"""

EXAMPLES = r"""
- name: Mute out of office hours
  vigil.monitoring.grafana_mute_timing:
    url: https://grafana.example.org
    api_token: "{{ vault_grafana_token }}"
    name: out-of-office-hours
    time_intervals:
      - weekdays: [saturday, sunday]
      - weekdays: ["monday:friday"]
        times:
          - {start_time: "00:00", end_time: "08:00"}
          - {start_time: "18:00", end_time: "24:00"}
        location: Europe/Paris

- name: Remove it
  vigil.monitoring.grafana_mute_timing:
    url: https://grafana.example.org
    api_token: "{{ vault_grafana_token }}"
    name: out-of-office-hours
    state: absent
"""

RETURN = r"""
mute_timing:
  description:
    - The mute timing after the task in canonical form, with C(provenance). C({}) when absent (after O(state=absent)).
  returned: always
  type: dict
  sample:
    name: out-of-office-hours
    time_intervals:
      - weekdays: [saturday, sunday]
    provenance: api
"""

import re
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.vigil.monitoring.plugins.module_utils.grafana import (
    GrafanaResource,
    grafana_main,
    strip_empty,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.vigil_http import ApiError

WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
NAME_EXISTS = "alerting.notifications.time-intervals.nameExists"


class Invalid(ValueError):
    """An option value that is not a valid time interval field; the text says which and why."""


def canonical_names(value: Any, names: Tuple[str, ...], numbers_allowed: bool, where: str, example: str) -> str:
    """C(Monday:Friday) -> C(monday:friday), C(1:3) -> C(january:march) (months), C(x:x) -> C(x)."""
    def position(text: str) -> int:
        text = text.strip().lower()
        if text in names:
            return names.index(text)
        if numbers_allowed and text.isdigit() and 1 <= int(text) <= len(names):
            return int(text) - 1
        raise Invalid("%s %r is not a valid value or range, for example %s" % (where, value, example))

    begin, _colon, end = str(value).partition(":")
    low, high = position(begin), position(end or begin)
    if low > high:
        raise Invalid("%s %r ends before it starts; write the smaller value first" % (where, value))
    return names[low] if low == high else "%s:%s" % (names[low], names[high])


def canonical_numbers(value: Any, lowest: int, highest: int, where: str, example: str) -> str:
    match = re.match(r"^\s*(-?\d+)\s*(?::\s*(-?\d+)\s*)?$", str(value))
    if not match:
        raise Invalid("%s %r is not a number or a range such as %s" % (where, value, example))
    low = int(match.group(1))
    high = int(match.group(2)) if match.group(2) is not None else low
    for number in (low, high):
        if number == 0 or not lowest <= number <= highest:
            raise Invalid("%s %r is out of range (%d to %d, no 0)" % (where, value, lowest, highest))
    if (low < 0) == (high < 0) and low > high:
        raise Invalid("%s %r ends before it starts; write the smaller value first" % (where, value))
    return str(low) if low == high else "%d:%d" % (low, high)


def minutes(value: Any, where: str) -> int:
    match = re.match(r"^\s*(\d{1,2}):(\d{2})\s*$", str(value))
    if not match or int(match.group(2)) > 59 or int(match.group(1)) * 60 + int(match.group(2)) > 1440:
        raise Invalid("%s must be a time HH:MM between 00:00 and 24:00, got %r" % (where, value))
    return int(match.group(1)) * 60 + int(match.group(2))


def canonical_times(times: List[Dict[str, Any]], where: str) -> List[Dict[str, str]]:
    out = []
    for index, item in enumerate(times):
        here = "%s[%d]" % (where, index)
        start = minutes(item.get("start_time"), here + ".start_time")
        end = minutes(item.get("end_time"), here + ".end_time")
        if start >= end:
            raise Invalid("%s.end_time must be after start_time (a range cannot wrap midnight; split it in two)" % here)
        out.append({"start_time": "%02d:%02d" % divmod(start, 60), "end_time": "%02d:%02d" % divmod(end, 60)})
    return out


def canonical_interval(interval: Dict[str, Any], where: str) -> Dict[str, Any]:
    """One time interval in Alertmanager's canonical form, empty fields dropped."""
    out: Dict[str, Any] = {
        "times": canonical_times(interval.get("times") or [], where + ".times"),
        "weekdays": [canonical_names(v, WEEKDAYS, False, where + ".weekdays", "monday:friday")
                     for v in interval.get("weekdays") or []],
        "days_of_month": [canonical_numbers(v, -31, 31, where + ".days_of_month", "1:7")
                          for v in interval.get("days_of_month") or []],
        "months": [canonical_names(v, MONTHS, True, where + ".months", "december or 1:3")
                   for v in interval.get("months") or []],
        "years": [canonical_numbers(v, 1, 9999, where + ".years", "2025:2026") for v in interval.get("years") or []],
        "location": interval.get("location") or None,
    }
    return strip_empty(out)


def canonical_intervals(
    intervals: Optional[List[Dict[str, Any]]], where: str = "time_intervals"
) -> List[Dict[str, Any]]:
    return [canonical_interval(item or {}, "%s[%d]" % (where, index)) for index, item in enumerate(intervals or [])]


class MuteTiming(GrafanaResource):
    kind = "mute timing"
    result_key = "mute_timing"

    url_segments = ("mute-timings", "{name}")

    def validate(self) -> Optional[str]:
        if not self.params["name"].strip():
            return "name must not be empty"
        try:
            canonical_intervals(self.params["time_intervals"])
        except Invalid as exc:
            return str(exc)
        return None

    def normalise(self, raw: Dict[str, Any]) -> Dict[str, Any]:
        try:
            intervals = canonical_intervals(raw.get("time_intervals"))
        except Invalid:  # a form this module does not know: compare it as Grafana wrote it
            intervals = strip_empty(raw.get("time_intervals") or [])
        return {"name": raw.get("name"), "time_intervals": intervals}

    def desired(self) -> Dict[str, Any]:
        return {"name": self.params["name"], "time_intervals": canonical_intervals(self.params["time_intervals"])}

    def create(self) -> None:
        self.client.write("POST", self.collection_path, self.desired(), expected=(200, 201, 202), expect=dict)

    def update(self, raw: Dict[str, Any]) -> None:
        body = self.desired()
        if raw.get("version"):
            body["version"] = raw["version"]  # optimistic concurrency token of recent Grafana versions
        self.client.write("PUT", self.path, body, expected=(200, 201, 202), expect=dict)

    def is_create_conflict(self, exc: ApiError) -> bool:
        message_id = exc.body.get("messageId") if isinstance(exc.body, dict) else None
        return exc.status == 409 or (exc.status == 400 and message_id == NAME_EXISTS)

    def delete_hint(self) -> str:
        return ("Grafana refuses to delete a mute timing that a notification policy or a rule's notification_settings "
                "still uses; change those first.")


def main() -> None:
    time_range = dict(start_time=dict(type="str", required=True), end_time=dict(type="str", required=True))
    interval = dict(
        times=dict(type="list", elements="dict", options=time_range),
        weekdays=dict(type="list", elements="str"),
        days_of_month=dict(type="list", elements="str"),
        months=dict(type="list", elements="str"),
        years=dict(type="list", elements="str"),
        location=dict(type="str"),
    )
    grafana_main(
        MuteTiming,
        name=dict(type="str", required=True),
        time_intervals=dict(type="list", elements="dict", default=[], options=interval),
    )


if __name__ == "__main__":
    main()
