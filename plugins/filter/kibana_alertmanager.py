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

from typing import Any, Callable, Tuple, Type

from ansible.errors import AnsibleFilterError
from ansible.utils.unsafe_proxy import wrap_var
from ansible_collections.vigil.monitoring.plugins.module_utils import elastic


def _filter(build: Callable[..., Any], unsafe: bool = False,
            errors: Tuple[Type[Exception], ...] = (ValueError,)) -> Callable[..., Any]:
    """The filter of a builder of ``module_utils/elastic.py``: the same arguments, its ValueError as the filter's
    error (named after the builder), and with ``unsafe`` the result marked so that Ansible's templating leaves
    the Kibana mustache placeholders alone."""

    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            value = build(*args, **kwargs)
        except errors as exc:
            raise AnsibleFilterError("%s: %s" % (build.__name__, exc)) from exc
        return wrap_var(value) if unsafe else value

    run.__name__ = build.__name__
    run.__doc__ = build.__doc__
    return run


alertmanager_alerts = _filter(elastic.alertmanager_alerts)
kibana_alertmanager_body = _filter(elastic.kibana_alertmanager_body, unsafe=True)


def kibana_alertmanager_actions(labels: Any, connector_id: str, interval: str = "1m", **options: Any) -> Any:
    """Options: rule_kind, group (default 'query matched' for stack rules), annotations,
    hold_intervals, window; see module_utils.elastic.kibana_alertmanager_actions."""
    if options.get("rule_kind", "stack") == "stack" and not options.get("group"):
        options["group"] = "query matched"
    return _filter(elastic.kibana_alertmanager_actions, True, (TypeError, ValueError))(connector_id, labels, interval, **options)


class FilterModule:
    def filters(self):
        return {
            "alertmanager_alerts": alertmanager_alerts,
            "kibana_alertmanager_body": kibana_alertmanager_body,
            "kibana_alertmanager_actions": kibana_alertmanager_actions,
        }
