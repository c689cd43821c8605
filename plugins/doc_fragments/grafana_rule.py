# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of one Grafana alert rule, written once for both modules that take them.

``vigil.monitoring.grafana_rule`` documents them as top-level options (grafana_alert_rule, where
title, condition and data are needed only with state=present); ``vigil.monitoring.grafana_rule.group``
documents them as the suboptions of ``rules`` (grafana_rule_group, where every listed rule needs
them). Both follow ``module_utils.grafana.rule_options_spec``.
"""

from __future__ import annotations

import json
from typing import Any, Dict

# Needed to create or update a rule; grafana_rule_group requires them in every entry of rules.
_PRESENT_REQUIRED = ("title", "condition", "data")
_WITH_PRESENT = "Required with O(state=present)."

_RULE_OPTIONS: Dict[str, Dict[str, Any]] = {
    "uid": {
        "description": ["UID of the rule, 1 to 40 characters from C(a-z A-Z 0-9 - _). You choose it; keep it stable, it "
                        "is how the rule is found again."],
        "type": "str",
        "required": True,
    },
    "title": {
        "description": ["Title of the rule (at most 190 characters). Grafana refuses two rules with the same title in "
                        "one folder."],
        "type": "str",
    },
    "condition": {
        "description": ["The C(refId) of the entry of the rule's C(data) that decides whether the rule fires."],
        "type": "str",
    },
    "data": {
        "description": ["Queries and expressions of the rule, in Grafana's API format. Each entry needs C(refId), "
                        "C(datasourceUid) (C(__expr__) for server-side expressions) and C(model); C(relativeTimeRange) "
                        "with C(from) and C(to) in seconds (from greater than to) is required for data-source queries. "
                        "C(queryType) is optional."],
        "type": "list",
        "elements": "dict",
    },
    "pending_period": {
        "description": ["How long the condition must hold before the rule fires (Grafana's C(for)), as a duration such "
                        "as C(5m)."],
        "type": "str",
        "default": "0s",
        "aliases": ["for"],
    },
    "keep_firing_for": {
        "description": ["How long the rule keeps firing after the condition stops holding (Grafana 11.6 and later). "
                        "When omitted it is neither compared nor changed."],
        "type": "str",
    },
    "no_data_state": {
        "description": ["State when the query returns no data."],
        "type": "str",
        "choices": ["NoData", "Alerting", "OK", "KeepLast"],
        "default": "NoData",
    },
    "exec_err_state": {
        "description": ["State when the evaluation fails."],
        "type": "str",
        "choices": ["Error", "Alerting", "OK", "KeepLast"],
        "default": "Error",
    },
    "labels": {
        "description": ["Labels of the alerts, used by notification policies.",
                        "Values are strings; numbers and booleans are converted."],
        "type": "dict",
        "default": {},
    },
    "annotations": {
        "description": ["Annotations such as C(summary), C(description) or C(runbook_url). Values are strings."],
        "type": "dict",
        "default": {},
    },
    "is_paused": {
        "description": ["Pause the evaluation of the rule."],
        "type": "bool",
        "default": False,
    },
    "notification_settings": {
        "description": ["Simplified routing (C(receiver), C(group_by), ...) in Grafana's API format. When omitted it "
                        "is neither compared nor changed."],
        "type": "dict",
    },
}


def _single_rule() -> Dict[str, Any]:
    """Top-level options: title, condition and data are required with state=present only."""
    options = {}
    for name, doc in _RULE_OPTIONS.items():
        if name in _PRESENT_REQUIRED:
            doc = dict(doc, description=doc["description"] + [_WITH_PRESENT])
        options[name] = doc
    return {"options": options}


def _group_rules() -> Dict[str, Any]:
    """Suboptions of grafana_rule_group's rules: every listed rule needs title, condition and data."""
    suboptions = {name: dict(doc, required=True) if name in _PRESENT_REQUIRED else doc
                  for name, doc in _RULE_OPTIONS.items()}
    return {"options": {"rules": {"suboptions": suboptions}}}


# JSON is YAML: both fragments are built from the one table above, so the class is made from
# them rather than written with string literals. ansible-test's yamllint test reads only string
# literals in a class body and has nothing to lint here; the rendered documentation is checked
# where it is used: validate-modules compares grafana_alert_rule's and grafana_rule_group's
# documentation (fragments merged) with their argument specs.
ModuleDocFragment = type("ModuleDocFragment", (), {
    "DOCUMENTATION": json.dumps(_single_rule(), indent=1),
    "GROUP": json.dumps(_group_rules(), indent=1),
})
