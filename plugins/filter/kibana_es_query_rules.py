# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kibana Elasticsearch query rules from Vigil's log rules (vigil.monitoring.kibana_es_query_rules).

kibana_es_query_rules(rules)
  rules: kibana_log_rules entries {id, name, index, query, threshold, window, comparator,
         interval, time_field, labels, summary}
  returns the parameters of vigil.monitoring.kibana_rule for each: an .es-query rule
  (searchType esQuery) counting the hits of ``query`` in ``index`` over ``window``, tagged
  vigil, logs and the owning team, with the labels and summary the Alertmanager connector sends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Dict, List

from ansible.errors import AnsibleFilterError
from ansible_collections.vigil.monitoring.plugins.plugin_utils.filter_input import FilterInputError, as_list, whole_number


def _params(rule: Mapping, where: str) -> Dict[str, Any]:
    window = str(rule["window"])
    return {
        "searchType": "esQuery",
        "index": rule["index"],
        "timeField": rule.get("time_field", "@timestamp"),
        "esQuery": json.dumps({"query": rule["query"]}),
        "size": 10,
        "threshold": [whole_number(rule["threshold"], where + ": threshold")],
        "thresholdComparator": rule.get("comparator", ">"),
        "timeWindowSize": whole_number(window[:-1], where + ": window (a number and a unit, e.g. 5m)"),
        "timeWindowUnit": window[-1:],
        "excludeHitsFromPreviousRun": True,
    }


def _rule(rule: Any, index: int) -> Dict[str, Any]:
    if not isinstance(rule, Mapping):
        raise AnsibleFilterError("kibana_log_rules[%d] must be a mapping, got %s" % (index, type(rule).__name__))
    where = "kibana_log_rules entry '%s'" % rule.get("name", rule.get("id", index))
    try:
        labels = rule["labels"]
        team = labels.get("team", "") if isinstance(labels, Mapping) else ""
        return {
            "id": rule["id"],
            "name": rule["name"],
            "interval": rule.get("interval", "1m"),
            "tags": [tag for tag in ("vigil", "logs", team) if tag != ""],
            "params": _params(rule, where),
            "labels": labels,
            "summary": rule.get("summary", rule["name"]),
        }
    except KeyError as exc:
        raise AnsibleFilterError("%s needs %s" % (where, exc.args[0])) from None
    except FilterInputError as exc:
        raise AnsibleFilterError(str(exc)) from None


def kibana_es_query_rules(rules: Any) -> List[Dict[str, Any]]:
    """vigil.monitoring.kibana_rule parameters (.es-query) of every log rule."""
    try:
        items = as_list(rules, "kibana_log_rules")
    except FilterInputError as exc:
        raise AnsibleFilterError(str(exc)) from None
    return [_rule(rule, index) for index, rule in enumerate(items)]


class FilterModule:
    """Kibana log rules."""

    def filters(self):
        return {"kibana_es_query_rules": kibana_es_query_rules}
