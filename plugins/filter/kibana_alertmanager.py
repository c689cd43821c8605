# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters building the Alertmanager v2 alert payload Kibana sends through a webhook connector.

Both filters use the same builder (``module_utils/elastic.py``), so the body template
a Kibana rule action posts and the payload a lab posts to a real Alertmanager have
exactly the same shape:

``alertmanager_alerts``
    ``{'alertname': 'X', 'severity': 'critical', 'team': 'security'}
    | vigil.monitoring.alertmanager_alerts(annotations={...}, generator_url=..., starts_at=...)``
    returns the list ``POST /api/v2/alerts`` takes (``source: kibana`` is added to the labels).

``kibana_alertmanager_body``
    ``{...labels...} | vigil.monitoring.kibana_alertmanager_body(rule_kind='stack'|'detection', ends_at=...)``
    returns the JSON string to put in a webhook action's ``params.body``; annotations,
    ``generatorURL`` and ``startsAt`` default to Kibana mustache
    variables (``{{context.title}}``, ``{{rule.url}}``, ``{{date}}``, ...).

``kibana_alertmanager_actions``
    ``{...labels...} | vigil.monitoring.kibana_alertmanager_actions(connector_id, interval='5m',
    rule_kind='stack'|'detection', group='query matched', hold_intervals=3, window=None)``
    returns the ``kibana_rule`` actions that give the alert its lifecycle (posted on every
    run while active with endsAt = run date + hold, resolved by the recovered action; for
    detection rules, endsAt = run date + window). ``kibana_rule``'s ``alertmanager`` option
    builds the same actions.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from ansible.errors import AnsibleFilterError
from ansible.utils.unsafe_proxy import wrap_var
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import (
    alertmanager_alerts as _alerts,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import (
    kibana_alertmanager_actions as _actions,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import (
    kibana_alertmanager_body as _body,
)


def alertmanager_alerts(
    labels: Dict[str, Any],
    annotations: Optional[Dict[str, Any]] = None,
    generator_url: Optional[str] = None,
    starts_at: Optional[str] = None,
    ends_at: Optional[str] = None,
) -> List[Dict[str, Any]]:
    try:
        return _alerts(
            labels, annotations=annotations, generator_url=generator_url, starts_at=starts_at, ends_at=ends_at
        )
    except ValueError as exc:
        raise AnsibleFilterError("alertmanager_alerts: %s" % exc) from exc


def kibana_alertmanager_body(
    labels: Dict[str, Any],
    annotations: Optional[Dict[str, Any]] = None,
    generator_url: Optional[str] = None,
    starts_at: Optional[str] = None,
    rule_kind: str = "stack",
    ends_at: Optional[str] = None,
) -> str:
    try:
        body = _body(
            labels,
            annotations=annotations,
            generator_url=generator_url,
            starts_at=starts_at,
            rule_kind=rule_kind,
            ends_at=ends_at,
        )
    except ValueError as exc:
        raise AnsibleFilterError("kibana_alertmanager_body: %s" % exc) from exc
    # The mustache placeholders are for Kibana, never for Ansible's templating.
    return wrap_var(body)


def kibana_alertmanager_actions(
    labels: Dict[str, Any], connector_id: str, interval: str = "1m", **options: Any
) -> List[Dict[str, Any]]:
    """Options: rule_kind, group (default 'query matched' for stack rules), annotations,
    hold_intervals, window; see module_utils.elastic.kibana_alertmanager_actions."""
    if options.get("rule_kind", "stack") == "stack" and not options.get("group"):
        options["group"] = "query matched"
    try:
        actions = _actions(connector_id, labels, interval, **options)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("kibana_alertmanager_actions: %s" % exc) from exc
    return wrap_var(actions)


class FilterModule:
    def filters(self):
        return {
            "alertmanager_alerts": alertmanager_alerts,
            "kibana_alertmanager_body": kibana_alertmanager_body,
            "kibana_alertmanager_actions": kibana_alertmanager_actions,
        }
