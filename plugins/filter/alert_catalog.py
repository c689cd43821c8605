# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Alerting as code: Vigil's alert catalog and everything generated from it.

The catalog is a list of alert entries (data, not rule files). These filters merge the
shipped catalog with the user's list, validate it, and render it for Prometheus (rule
file), Grafana (alerting file provisioning) and Alertmanager (routing tree, receivers,
inhibition, and the ``amtool config routes test`` cases that prove the routing).

alert_catalog_merge(builtin, user=None, default_owner=None, runbook_base_url=None, parameters=None)
  builtin: the shipped catalog (alert_catalog_builtin)
  user:    the user's list (alert_catalog). A new name adds an alert; an existing name
           overrides only the fields given (labels are merged key by key);
           ``enabled: false`` removes the alert.
  default_owner:    owner given to entries that have none (empty: owner is required)
  runbook_base_url: prefix for runbook_url values that are not absolute URLs
  parameters: {name: value} for the ``${name}`` placeholders in expr, for,
           keep_firing_for, summary and description (values the inventory knows, such
           as the number of Alertmanagers); a placeholder without a value is an error
  returns  the effective, validated list (disabled entries dropped, defaults filled in,
           placeholders replaced).

alert_catalog_rules(catalog)
  returns  a Prometheus rule file: {groups: [{name, rules: [{alert, expr, for, labels,
           annotations}]}]}; the owner becomes the label ``team``.

alert_catalog_grafana(catalog, datasource_uid, folder='Vigil', interval='1m', org_id=1,
                      no_data_state='OK', exec_err_state='Error')
  returns  a Grafana alerting file-provisioning document (apiVersion 1).

alertmanager_routing(catalog, teams, triage_receiver='triage', triage_channels=None, ...)
  teams:   {team: {pager: [channel, ...], digest: [channel, ...]}}
  responder: webhook channels of the active-response service; alerts whose entry declares
           a ``response`` (label vigil_response) go there too, before their team routes
  returns  {route, receivers, inhibit_rules} for alertmanager.yml.

alertmanager_route_tests(catalog, routing)
  returns  [{labels: {...}, receivers: [...]}], one case per catalog alert.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Dict, List, Optional, Tuple

from ansible.errors import AnsibleFilterError
from ansible_collections.vigil.monitoring.plugins.module_utils.alert_labels import ALERT_LABELS as RESERVED_LABELS
from ansible_collections.vigil.monitoring.plugins.module_utils.alert_labels import LABEL_NAME_RE as LABEL_RE
from ansible_collections.vigil.monitoring.plugins.module_utils.alert_labels import SEVERITIES
from ansible_collections.vigil.monitoring.plugins.module_utils.durations import DURATION_RE

ENTRY_KEYS = (
    "name",
    "expr",
    "for",
    "severity",
    "owner",
    "summary",
    "description",
    "runbook_url",
    "incident",
    "labels",
    "group",
    "enabled",
    "keep_firing_for",
    "inhibits",
    "response",
)
REQUIRED_KEYS = ("name", "expr", "for", "severity", "owner", "summary", "description", "runbook_url")

NAME_RE = re.compile(r"^[A-Z][A-Za-z0-9]*$")
OWNER_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
GROUP_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
JOB_RE = re.compile(r"""\bjob\s*=\s*"([^"]+)\"""")
# Catalog parameters: ${name} in these fields is replaced by the parameter's value.
PARAMETER_RE = re.compile(r"\$\{([^{}]*)\}")
PARAMETER_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
PARAMETER_FIELDS = ("expr", "for", "keep_firing_for", "summary", "description")

# Rule group derived from the scrape job an expression selects, then from metric prefixes.
GROUP_BY_JOB = {"node": "host", "blackbox": "probe", "windows": "windows"}
GROUP_BY_METRIC = (
    ("node_", "host"),
    ("probe_", "probe"),
    ("prometheus_", "prometheus"),
    ("alertmanager_", "alertmanager"),
    ("vigil_custom_", "custom"),
    ("windows_", "windows"),
)
DEFAULT_GROUP = "general"

# Alertmanager 0.25 receiver integrations, per Vigil channel type:
# (config list key, required keys (any one of), optional keys passed through as given).
CHANNEL_TYPES = {
    "webhook": ("webhook_configs", ("url",), ("send_resolved", "max_alerts", "http_config")),
    # msteams_configs exists only from Alertmanager 0.26: send to a Teams bridge's webhook URL.
    "msteams": ("webhook_configs", ("url",), ("send_resolved", "max_alerts", "http_config")),
    "slack": (
        "slack_configs",
        ("api_url", "api_url_file"),
        (
            "channel",
            "username",
            "title",
            "text",
            "title_link",
            "icon_emoji",
            "icon_url",
            "send_resolved",
            "http_config",
            "color",
            "fallback",
            "pretext",
            "footer",
            "short_fields",
            "link_names",
            "mrkdwn_in",
        ),
    ),
    "email": (
        "email_configs",
        ("to",),
        (
            "from",
            "smarthost",
            "hello",
            "auth_username",
            "auth_password",
            "auth_password_file",
            "auth_secret",
            "auth_identity",
            "require_tls",
            "tls_config",
            "headers",
            "html",
            "text",
            "send_resolved",
        ),
    ),
    "pagerduty": (
        "pagerduty_configs",
        ("routing_key",),
        (
            "url",
            "client",
            "client_url",
            "description",
            "severity",
            "class",
            "component",
            "group",
            "details",
            "images",
            "links",
            "send_resolved",
            "http_config",
        ),
    ),
    "opsgenie": (
        "opsgenie_configs",
        ("api_key", "api_key_file"),
        (
            "api_url",
            "message",
            "description",
            "source",
            "details",
            "entity",
            "responders",
            "actions",
            "tags",
            "note",
            "priority",
            "update_alerts",
            "send_resolved",
            "http_config",
        ),
    ),
}
CONFIG_LIST_KEYS = tuple(sorted({spec[0] for spec in CHANNEL_TYPES.values()}))

DEFAULT_GROUP_BY = ["alertname", "team"]
DEFAULT_TIMING = {"group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}
PAGER_TIMING = {"group_wait": "10s", "group_interval": "5m", "repeat_interval": "1h"}
DIGEST_TIMING = {"group_wait": "5m", "group_interval": "30m", "repeat_interval": "12h"}
TEAM_KEYS = ("pager", "digest")
# The dead man's switch: an always-firing alert sent to an outside heartbeat service,
# which pages when the heartbeats stop. Its own route, first, grouped alone.
HEARTBEAT_ALERT = "Watchdog"
HEARTBEAT_RECEIVER = "heartbeat"
HEARTBEAT_TIMING = {"group_wait": "0s", "group_interval": "1m", "repeat_interval": "50s"}
HEARTBEAT_TYPES = ("webhook",)
# Active response (docs/active-response.md): an entry's ``response`` becomes the label
# vigil_response=<action>; a route that continues sends those alerts to the responder too.
RESPONSE_LABEL = "vigil_response"
RESPONSE_ACTIONS = ("block_ip",)
RESPONSE_KEYS = ("action", "label", "ttl")
RESPONDER_RECEIVER = "vigil-responder"
RESPONDER_TIMING = {"group_wait": "5s", "group_interval": "1m", "repeat_interval": "1h"}


# --------------------------------------------------------------------------- helpers


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _describe(entry: Any, index: int, source: str) -> str:
    name = entry.get("name") if isinstance(entry, Mapping) else None
    if _is_str(name) and name:
        return "%s entry '%s' (item %d)" % (source, name, index + 1)
    return "%s item %d (no name)" % (source, index + 1)


def _fail(where: str, problem: str, fix: str) -> AnsibleFilterError:
    return AnsibleFilterError("%s: %s; %s" % (where, problem, fix))


def _as_list(value: Any, what: str) -> List[Any]:
    if value is None:
        return []
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise AnsibleFilterError("%s must be a list of alert entries, got %s" % (what, type(value).__name__))
    return list(value)


def _check_keys(entry: Mapping, where: str) -> None:
    unknown = sorted(str(k) for k in entry if k not in ENTRY_KEYS)
    if unknown:
        raise _fail(
            where,
            "unknown key(s) %s" % ", ".join(unknown),
            "allowed keys are %s (extra Prometheus labels go under 'labels')" % ", ".join(ENTRY_KEYS),
        )


def _check_name(entry: Mapping, where: str) -> str:
    name = entry.get("name")
    if name is None or (_is_str(name) and not name.strip()):
        raise _fail(where, "missing name", "give every alert a unique CamelCase name, e.g. DiskAlmostFull")
    if not _is_str(name) or not NAME_RE.match(name):
        raise _fail(
            where,
            "name %r is not CamelCase" % (name,),
            "use letters and digits starting upper-case, e.g. DiskAlmostFull",
        )
    return name


def _index_names(entries: List[Any], source: str) -> Dict[str, int]:
    seen: Dict[str, int] = {}
    folded: Dict[str, str] = {}
    for index, entry in enumerate(entries):
        where = _describe(entry, index, source)
        if not isinstance(entry, Mapping):
            raise _fail(
                where,
                "is a %s, not a mapping" % type(entry).__name__,
                "write each alert as a dict with name, expr, ...",
            )
        _check_keys(entry, where)
        name = _check_name(entry, where)
        if name in seen:
            raise _fail(
                where,
                "name '%s' appears twice in %s (items %d and %d)" % (name, source, seen[name] + 1, index + 1),
                "merge the two entries into one",
            )
        if name.lower() in folded:
            raise _fail(
                where,
                "name '%s' differs from '%s' (also in %s) only in case" % (name, folded[name.lower()], source),
                "alert names are case-sensitive labels: use one spelling",
            )
        folded[name.lower()] = name
        seen[name] = index
    return seen


def _closest(name: str, known: Iterable[str]) -> str:
    """' Did you mean A or B?' for the known names closest to name (difflib), else ''."""
    known = list(known)
    by_lower = {k.lower(): k for k in known}
    close = [by_lower[m] for m in difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.6)]
    return " Did you mean %s?" % " or ".join(close) if close else ""


def _check_user_names(base_names: Mapping[str, int], overrides: List[Any]) -> None:
    """Refuse user entries that match no built-in alert but look like overrides or disables,
    and names that differ from a built-in one only in case."""
    by_lower = {name.lower(): name for name in base_names}
    for index, entry in enumerate(overrides):
        name = entry["name"]
        if name in base_names:
            continue
        where = _describe(entry, index, "alert_catalog")
        if name.lower() in by_lower:
            raise _fail(
                where,
                "name '%s' differs from the built-in alert '%s' only in case" % (name, by_lower[name.lower()]),
                "write '%s' to override or disable it; a second alert may not differ only in case"
                % by_lower[name.lower()],
            )
        missing = [k for k in REQUIRED_KEYS if k != "owner" and entry.get(k) in (None, "")]
        if not missing:
            continue  # a complete new alert (possibly a disabled draft)
        if entry.get("enabled") is False:
            raise _fail(
                where,
                "disables '%s', which is not an alert of the catalog (nothing would be disabled)" % name,
                "give the exact name of a built-in alert.%s" % _closest(name, base_names),
            )
        suggestion = _closest(name, base_names)
        if suggestion:
            raise _fail(
                where,
                "'%s' matches no built-in alert, so it would be a new alert, and it lacks %s"
                % (name, ", ".join(missing)),
                "to override a built-in alert give its exact name.%s A new alert needs %s"
                % (suggestion, ", ".join(REQUIRED_KEYS)),
            )


def _check_duration(value: Any, key: str, where: str) -> str:
    if not _is_str(value) or not DURATION_RE.match(value.strip()) or not value.strip():
        raise _fail(
            where,
            "%s %r is not a Prometheus duration" % (key, value),
            "write it like 30s, 5m, 1h or 1h30m (quoted string)",
        )
    return value.strip()


def _derive_group(expr: str) -> str:
    jobs = JOB_RE.findall(expr)
    if jobs:
        job = jobs[0]
        return GROUP_BY_JOB.get(job, job)
    for prefix, group in GROUP_BY_METRIC:
        if re.search(r"\b%s" % re.escape(prefix), expr):
            return group
    return DEFAULT_GROUP


def _text(entry: Mapping, key: str, where: str, required: bool) -> Optional[str]:
    value = entry.get(key)
    if value is None or (_is_str(value) and not value.strip()):
        if required:
            raise _fail(where, "missing %s" % key, _REQUIRED_FIX[key])
        return None
    if not _is_str(value):
        raise _fail(where, "%s must be a string, got %s" % (key, type(value).__name__), "quote the value")
    return value.strip()


_REQUIRED_FIX = {
    "expr": "set expr to the PromQL expression that returns the failing series",
    "for": "set for to how long the condition must hold, e.g. 5m",
    "severity": "set severity to critical, warning or info",
    "owner": "set owner to the team that gets the alert (e.g. infra), or set alert_catalog_default_owner",
    "summary": "set summary to a one-line text (Prometheus templating allowed)",
    "description": "set description to what is wrong and what it affects (Prometheus templating allowed)",
    "runbook_url": "set runbook_url to the page that tells the on-call what to do",
}


def _normalize(
    entry: Mapping, where: str, default_owner: Optional[str], runbook_base_url: Optional[str]
) -> Dict[str, Any]:
    """Validate one enabled entry; return it with defaults filled in, in a stable key order."""
    _check_keys(entry, where)
    name = _check_name(entry, where)
    entry = dict(entry)
    if (entry.get("owner") is None or entry.get("owner") == "") and default_owner:
        entry["owner"] = default_owner
    missing = [k for k in REQUIRED_KEYS if entry.get(k) is None or (_is_str(entry.get(k)) and not entry.get(k).strip())]
    if missing:
        key = missing[0]
        raise _fail(where, "missing %s" % ", ".join(missing), _REQUIRED_FIX[key])

    expr = _text(entry, "expr", where, True)
    severity = entry.get("severity")
    if severity not in SEVERITIES:
        raise _fail(where, "unknown severity %r" % (severity,), "use one of %s" % ", ".join(SEVERITIES))
    owner = entry.get("owner")
    if not _is_str(owner) or not OWNER_RE.match(owner):
        raise _fail(
            where,
            "owner %r is not a team name" % (owner,),
            "use a lower-case team name (letters, digits, - or _), e.g. infra",
        )
    result: Dict[str, Any] = {"name": name}
    group = entry.get("group")
    if group is None or group == "":
        group = _derive_group(expr)
    elif not _is_str(group) or not GROUP_RE.match(group):
        raise _fail(
            where,
            "group %r is not a valid rule group name" % (group,),
            "use letters, digits, '.', '-' or '_', e.g. host",
        )
    result["group"] = group
    result["severity"] = severity
    result["owner"] = owner
    result["expr"] = expr
    result["for"] = _check_duration(entry.get("for"), "for", where)
    if entry.get("keep_firing_for") not in (None, ""):
        result["keep_firing_for"] = _check_duration(entry["keep_firing_for"], "keep_firing_for", where)
    result["summary"] = _text(entry, "summary", where, True)
    result["description"] = _text(entry, "description", where, True)

    runbook = _text(entry, "runbook_url", where, True)
    if not re.match(r"^https?://", runbook):
        if runbook_base_url:
            runbook = str(runbook_base_url) + runbook
        else:
            raise _fail(
                where,
                "runbook_url %r is not an absolute http(s) URL" % runbook,
                "give a full URL or set alert_catalog_runbook_base_url",
            )
    result["runbook_url"] = runbook
    incident = entry.get("incident")
    if incident not in (None, ""):
        if not isinstance(incident, (str, int)) or isinstance(incident, bool):
            raise _fail(
                where,
                "incident must be a reference string, got %s" % type(incident).__name__,
                "e.g. incident: INC-2024-031",
            )
        result["incident"] = str(incident).strip()

    labels = entry.get("labels") or {}
    if not isinstance(labels, Mapping):
        raise _fail(
            where, "labels must be a mapping, got %s" % type(labels).__name__, "write labels as key: value pairs"
        )
    clean_labels: Dict[str, str] = {}
    for key in sorted(labels, key=str):
        value = labels[key]
        if not _is_str(key) or not LABEL_RE.match(key) or key.startswith("__"):
            raise _fail(
                where,
                "label name %r is not a valid Prometheus label name" % (key,),
                "use letters, digits and _, not starting with __",
            )
        if key in RESERVED_LABELS:
            raise _fail(
                where,
                "label '%s' is set by the catalog" % key,
                "use the entry's name/severity/owner field instead of labels.%s" % key,
            )
        if key == RESPONSE_LABEL:
            raise _fail(where, "label '%s' is set by the catalog" % key, "declare the response in the entry's response field")
        if isinstance(value, bool) or value is None or isinstance(value, (Mapping, list)):
            raise _fail(where, "label '%s' has value %r" % (key, value), "label values are strings: quote it")
        clean_labels[key] = str(value)
    result["labels"] = clean_labels

    inhibits = entry.get("inhibits") or []
    if _is_str(inhibits) or not isinstance(inhibits, Sequence):
        raise _fail(where, "inhibits must be a list of alert names", "e.g. inhibits: [DiskAlmostFull]")
    for target in inhibits:
        if not _is_str(target) or not NAME_RE.match(target):
            raise _fail(
                where, "inhibits names %r, which is not an alert name" % (target,), "list CamelCase alert names"
            )
        if target == name:
            raise _fail(where, "inhibits itself", "remove %s from its own inhibits list" % name)
    result["inhibits"] = list(inhibits)
    if entry.get("response") not in (None, {}):
        result["response"] = _check_response(entry["response"], where, clean_labels)
    return result


def _check_response(response: Any, where: str, labels: Mapping[str, str]) -> Dict[str, str]:
    """An entry's active response: {action: block_ip, label: <label holding the address>, ttl: <duration>}."""
    if not isinstance(response, Mapping):
        raise _fail(where, "response must be a mapping", "e.g. response: {action: block_ip, label: src_ip, ttl: 1h}")
    unknown = sorted(str(k) for k in response if k not in RESPONSE_KEYS)
    if unknown:
        raise _fail(where, "response has unknown key(s) %s" % ", ".join(unknown), "use %s" % ", ".join(RESPONSE_KEYS))
    action = response.get("action")
    if action not in RESPONSE_ACTIONS:
        raise _fail(where, "response action %r is not known" % (action,), "use one of %s" % ", ".join(RESPONSE_ACTIONS))
    label = response.get("label")
    if not _is_str(label) or not LABEL_RE.match(label) or label in RESERVED_LABELS + (RESPONSE_LABEL,):
        raise _fail(
            where,
            "response label %r is not the name of a label the alert carries" % (label,),
            "name the label of the expression's result that holds the address, e.g. src_ip",
        )
    if label in labels:
        raise _fail(
            where,
            "response label '%s' is a static label of the entry (every alert would carry the same address)" % label,
            "take the address from the expression's result, not from labels",
        )
    checked = {"action": action, "label": label}
    if response.get("ttl") not in (None, ""):
        checked["ttl"] = _check_duration(response["ttl"], "response ttl", where)
    return checked


def _check_parameters(parameters: Any) -> Dict[str, str]:
    """Validate the catalog parameters; return them as {name: text}."""
    if parameters is None:
        return {}
    if not isinstance(parameters, Mapping):
        raise AnsibleFilterError(
            "alert_catalog_parameters must be a mapping of name to value, got %s" % type(parameters).__name__
        )
    checked: Dict[str, str] = {}
    for name in sorted(parameters, key=str):
        value = parameters[name]
        if not _is_str(name) or not PARAMETER_NAME_RE.match(name):
            raise AnsibleFilterError(
                "alert_catalog_parameters: %r is not a parameter name; use lower-case letters, digits and _" % (name,)
            )
        if isinstance(value, bool) or not isinstance(value, (str, int, float)) or str(value).strip() == "":
            raise AnsibleFilterError(
                "alert_catalog_parameters['%s'] is %r; a parameter is a number or a non-empty string" % (name, value)
            )
        checked[name] = str(value).strip()
    return checked


def _resolve_parameters(entry: Mapping, where: str, parameters: Mapping[str, str]) -> Mapping:
    """Replace ${name} placeholders with the parameters' values; an unknown name is an error."""
    resolved = None
    for key in PARAMETER_FIELDS:
        value = entry.get(key)
        if not _is_str(value) or "${" not in value:
            continue
        for name in PARAMETER_RE.findall(value):
            if name not in parameters:
                known = ", ".join(sorted(parameters)) or "none"
                raise _fail(
                    where,
                    "%s uses ${%s}, which is not a catalog parameter (known: %s)" % (key, name, known),
                    "correct the name, or give it a value in alert_catalog_parameters",
                )
        resolved = dict(resolved if resolved is not None else entry)
        resolved[key] = PARAMETER_RE.sub(lambda match: parameters[match.group(1)], value)
    return entry if resolved is None else resolved


def _check_enabled(entry: Mapping, where: str) -> bool:
    enabled = entry.get("enabled", True)
    if enabled is None:
        return True
    if not isinstance(enabled, bool):
        raise _fail(where, "enabled %r is not a boolean" % (enabled,), "write enabled: true or enabled: false")
    return enabled


def _check_inhibits(entries: List[Dict[str, Any]], disabled: Iterable[str], known_source: str) -> None:
    enabled_names = {e["name"] for e in entries}
    disabled = set(disabled)
    for entry in entries:
        kept = []
        for target in entry["inhibits"]:
            if target in enabled_names:
                kept.append(target)
            elif target not in disabled:
                raise _fail(
                    "%s entry '%s'" % (known_source, entry["name"]),
                    "inhibits unknown alert '%s'" % target,
                    "list only alert names from the catalog",
                )
        entry["inhibits"] = kept


def _validated(catalog: Any, what: str = "catalog") -> List[Dict[str, Any]]:
    """Re-validate an effective catalog (the output of alert_catalog_merge); idempotent."""
    entries = _as_list(catalog, what)
    _index_names(entries, what)
    result = []
    for index, entry in enumerate(entries):
        where = _describe(entry, index, what)
        if not _check_enabled(entry, where):
            continue
        result.append(_normalize(_resolve_parameters(entry, where, {}), where, None, None))
    _check_inhibits(result, [], what)
    return result


# --------------------------------------------------------------------------- merge


def alert_catalog_merge(
    builtin: Any,
    user: Any = None,
    default_owner: Optional[str] = None,
    runbook_base_url: Optional[str] = None,
    parameters: Optional[Mapping[str, Any]] = None,
) -> List[Dict[str, Any]]:
    """Merge the user's alert list into the shipped catalog; return the validated effective list."""
    values = _check_parameters(parameters)
    base = _as_list(builtin, "alert_catalog_builtin")
    overrides = _as_list(user, "alert_catalog")
    base_names = _index_names(base, "alert_catalog_builtin")
    user_names = _index_names(overrides, "alert_catalog")
    _check_user_names(base_names, overrides)
    if (
        default_owner is not None
        and default_owner != ""
        and (not _is_str(default_owner) or not OWNER_RE.match(default_owner))
    ):
        raise AnsibleFilterError(
            "alert_catalog_default_owner %r is not a team name; use a lower-case team name such as infra"
            % (default_owner,)
        )

    merged: List[Tuple[Dict[str, Any], str]] = []
    for index, entry in enumerate(base):
        name = entry["name"]
        where = _describe(entry, index, "alert_catalog_builtin")
        combined = copy.deepcopy(dict(entry))
        if name in user_names:
            uindex = user_names[name]
            override = overrides[uindex]
            where = "alert_catalog entry '%s' (item %d, overriding the built-in alert)" % (name, uindex + 1)
            for key, value in override.items():
                if key == "labels" and isinstance(value, Mapping) and isinstance(combined.get("labels"), Mapping):
                    labels = dict(combined["labels"])
                    labels.update(value)
                    combined["labels"] = labels
                else:
                    combined[key] = copy.deepcopy(value)
        merged.append((combined, where))
    for index, entry in enumerate(overrides):
        if entry["name"] not in base_names:
            merged.append((copy.deepcopy(dict(entry)), _describe(entry, index, "alert_catalog")))

    result: List[Dict[str, Any]] = []
    disabled: List[str] = []
    for entry, where in merged:
        if not _check_enabled(entry, where):
            disabled.append(entry["name"])
            continue
        result.append(_normalize(_resolve_parameters(entry, where, values), where, default_owner, runbook_base_url))
    _check_inhibits(result, disabled, "alert_catalog")
    return result


# --------------------------------------------------------------------------- Prometheus


def _annotations(entry: Mapping) -> Dict[str, str]:
    annotations = {
        "summary": entry["summary"],
        "description": entry["description"],
        "runbook_url": entry["runbook_url"],
    }
    if entry.get("incident"):
        annotations["incident"] = entry["incident"]
    return annotations


def _labels(entry: Mapping) -> Dict[str, str]:
    labels = {"severity": entry["severity"], "team": entry["owner"]}
    labels.update(entry.get("labels") or {})
    if entry.get("response"):
        labels[RESPONSE_LABEL] = entry["response"]["action"]
    return labels


def _grouped(entries: List[Dict[str, Any]]) -> List[Tuple[str, List[Dict[str, Any]]]]:
    order: List[str] = []
    groups: Dict[str, List[Dict[str, Any]]] = {}
    for entry in entries:
        if entry["group"] not in groups:
            order.append(entry["group"])
            groups[entry["group"]] = []
        groups[entry["group"]].append(entry)
    return [(name, groups[name]) for name in order]


def alert_catalog_rules(catalog: Any) -> Dict[str, Any]:
    """Render the effective catalog as a Prometheus rule file."""
    entries = _validated(catalog)
    groups = []
    for group, members in _grouped(entries):
        rules = []
        for entry in members:
            rule: Dict[str, Any] = {"alert": entry["name"], "expr": entry["expr"], "for": entry["for"]}
            if entry.get("keep_firing_for"):
                rule["keep_firing_for"] = entry["keep_firing_for"]
            rule["labels"] = _labels(entry)
            rule["annotations"] = _annotations(entry)
            rules.append(rule)
        groups.append({"name": group, "rules": rules})
    return {"groups": groups}


# --------------------------------------------------------------------------- Grafana


def grafana_rule_uid(name: str) -> str:
    """Stable Grafana rule uid for an alert name: vigil-<kebab-case>, at most 40 characters."""
    kebab = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", name).lower()
    uid = "vigil-" + kebab
    if len(uid) > 40:
        digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
        uid = uid[:31].rstrip("-") + "-" + digest
    return uid


GRAFANA_NO_DATA = ("OK", "NoData", "Alerting", "KeepLast")
GRAFANA_EXEC_ERR = ("OK", "Error", "Alerting", "KeepLast")


def alert_catalog_grafana(
    catalog: Any,
    datasource_uid: Any,
    folder: str = "Vigil",
    interval: str = "1m",
    org_id: int = 1,
    no_data_state: str = "OK",
    exec_err_state: str = "Error",
    heartbeat_alert: str = HEARTBEAT_ALERT,
) -> Dict[str, Any]:
    """Render the effective catalog as a Grafana alerting file-provisioning document.

    Each rule has three steps: A queries the Prometheus datasource with the catalog's
    expression (instant, so its value stays available as $values.A), B turns every
    returned series into 1 (``is_number($A)``), C is the threshold B > 0 and the
    rule's condition. A catalog expression returns series only while something is
    wrong, so "no data" means healthy: noDataState defaults to OK.
    """
    if not _is_str(datasource_uid) or not datasource_uid.strip():
        raise AnsibleFilterError(
            "alert_catalog_grafana: datasource_uid is empty; pass the uid of Grafana's Prometheus datasource"
        )
    if no_data_state not in GRAFANA_NO_DATA:
        raise AnsibleFilterError(
            "alert_catalog_grafana: no_data_state %r is not one of %s" % (no_data_state, ", ".join(GRAFANA_NO_DATA))
        )
    if exec_err_state not in GRAFANA_EXEC_ERR:
        raise AnsibleFilterError(
            "alert_catalog_grafana: exec_err_state %r is not one of %s" % (exec_err_state, ", ".join(GRAFANA_EXEC_ERR))
        )
    _check_duration(interval, "interval", "alert_catalog_grafana")
    # The heartbeat must prove that Prometheus evaluates and delivers: a Grafana copy
    # would keep it alive when Prometheus' rule evaluation has stopped.
    entries = [e for e in _validated(catalog) if e["name"] != heartbeat_alert]
    uids: Dict[str, str] = {}
    groups = []
    for group, members in _grouped(entries):
        rules = []
        for entry in members:
            uid = grafana_rule_uid(entry["name"])
            if uid in uids:
                raise AnsibleFilterError(
                    "alert_catalog_grafana: alerts '%s' and '%s' map to the same Grafana uid %s; rename one of them"
                    % (uids[uid], entry["name"], uid)
                )
            uids[uid] = entry["name"]
            annotations = {k: re.sub(r"\$value\b", "$values.A.Value", v) for k, v in _annotations(entry).items()}
            rules.append(
                {
                    "uid": uid,
                    "title": entry["name"],
                    "condition": "C",
                    "data": [
                        {
                            "refId": "A",
                            "relativeTimeRange": {"from": 600, "to": 0},
                            "datasourceUid": datasource_uid,
                            "model": {
                                "refId": "A",
                                "expr": entry["expr"],
                                "instant": True,
                                "range": False,
                                "intervalMs": 1000,
                                "maxDataPoints": 43200,
                            },
                        },
                        {
                            "refId": "B",
                            "datasourceUid": "__expr__",
                            "model": {"refId": "B", "type": "math", "expression": "is_number($A)"},
                        },
                        {
                            "refId": "C",
                            "datasourceUid": "__expr__",
                            "model": {
                                "refId": "C",
                                "type": "threshold",
                                "expression": "B",
                                "conditions": [{"evaluator": {"type": "gt", "params": [0]}}],
                            },
                        },
                    ],
                    "for": entry["for"],
                    "labels": _labels(entry),
                    "annotations": annotations,
                    "noDataState": no_data_state,
                    "execErrState": exec_err_state,
                    "isPaused": False,
                }
            )
        groups.append({"orgId": org_id, "name": group, "folder": folder, "interval": interval, "rules": rules})
    return {"apiVersion": 1, "groups": groups}


# --------------------------------------------------------------------------- Alertmanager


def _plain(value: Any) -> Any:
    """Plain YAML-able data; vaulted values (ansible-core 2.19's EncryptedString) become their text.

    Without this, to_nice_yaml would write a vaulted secret as a ``!vault`` block into
    alertmanager.yml. The role that writes the file must use no_log.
    """
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


def _channel_config(channel: Any, where: str) -> Tuple[str, Dict[str, Any]]:
    if not isinstance(channel, Mapping):
        raise _fail(where, "is a %s, not a mapping" % type(channel).__name__, "write each channel as {type: ..., ...}")
    ctype = channel.get("type")
    if ctype not in CHANNEL_TYPES:
        raise _fail(where, "unknown channel type %r" % (ctype,), "use one of %s" % ", ".join(sorted(CHANNEL_TYPES)))
    list_key, required, optional = CHANNEL_TYPES[ctype]
    unknown = sorted(str(k) for k in channel if k != "type" and k not in required and k not in optional)
    if unknown:
        raise _fail(
            where,
            "unknown key(s) %s for a %s channel" % (", ".join(unknown), ctype),
            "allowed: %s" % ", ".join(required + optional),
        )
    channel = _plain(channel)
    given = [k for k in required if channel.get(k) not in (None, "")]
    if not given:
        raise _fail(
            where,
            "%s channel has no %s" % (ctype, " or ".join(required)),
            "set %s (keep the secret in Ansible Vault and reference the vaulted variable)" % required[0],
        )
    config = {k: channel[k] for k in channel if k != "type" and channel[k] is not None}
    return list_key, config


def _receiver(name: str, channels: Any, where: str) -> Dict[str, Any]:
    if _is_str(channels) or isinstance(channels, Mapping) or not isinstance(channels, Sequence):
        raise _fail(where, "channels must be a list", "write e.g. [{type: slack, api_url: ...}]")
    receiver: Dict[str, Any] = {"name": name}
    for index, channel in enumerate(channels):
        list_key, config = _channel_config(channel, "%s channel %d" % (where, index + 1))
        receiver.setdefault(list_key, []).append(config)
    return receiver


def _timing(defaults: Mapping[str, str], override: Any, what: str) -> Dict[str, str]:
    timing = dict(defaults)
    if override:
        if not isinstance(override, Mapping):
            raise AnsibleFilterError(
                "alertmanager_routing: %s must be a mapping of group_wait/group_interval/repeat_interval" % what
            )
        for key, value in override.items():
            if key not in DEFAULT_TIMING:
                raise AnsibleFilterError(
                    "alertmanager_routing: %s has unknown key '%s'; use group_wait, group_interval or repeat_interval"
                    % (what, key)
                )
            timing[key] = _check_duration(value, key, "alertmanager_routing %s" % what)
    return timing


def _matcher(label: str, value: str, op: str = "=") -> str:
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return '%s%s"%s"' % (label, op, escaped)


def alertmanager_routing(
    catalog: Any,
    teams: Any,
    triage_receiver: str = "triage",
    triage_channels: Any = None,
    null_receiver: str = "blackhole",
    group_by: Optional[Sequence[str]] = None,
    default_timing: Optional[Mapping[str, str]] = None,
    pager_timing: Optional[Mapping[str, str]] = None,
    digest_timing: Optional[Mapping[str, str]] = None,
    host_down_alert: str = "HostDown",
    inhibit_equal: Optional[Sequence[str]] = None,
    critical_inhibits_warning: bool = True,
    heartbeat: Any = None,
    heartbeat_alert: str = HEARTBEAT_ALERT,
    heartbeat_receiver: str = HEARTBEAT_RECEIVER,
    heartbeat_timing: Optional[Mapping[str, str]] = None,
    responder: Any = None,
    responder_receiver: str = RESPONDER_RECEIVER,
    responder_timing: Optional[Mapping[str, str]] = None,
) -> Dict[str, Any]:
    """Derive Alertmanager's route tree, receivers and inhibit rules from the catalog and teams.

    teams: {team: {pager: [channel], digest: [channel]}}; a channel is {type: webhook|slack|
    msteams|email|pagerduty|opsgenie, ...the integration's keys...}. Critical alerts go to
    <team>-pager (or <team>-digest when the team has no pager channels), warnings to
    <team>-digest, info to the null receiver; anything else falls to the triage receiver.

    Inhibition: HostDown silences every other alert with the same inhibit_equal labels
    (default instance); any critical alert silences the warnings with the same labels
    (critical_inhibits_warning); each entry's ``inhibits`` list silences those alerts.

    Heartbeat: when the catalog has ``heartbeat_alert`` (Watchdog, always firing), its own
    route comes first (grouped by alertname only, never continuing): to the receiver
    ``heartbeat_receiver`` built from ``heartbeat`` (one webhook channel, sent without
    resolved notifications) with ``heartbeat_timing``, or to the null receiver when
    ``heartbeat`` is empty. It is never the source or target of an inhibition.

    Active response: with ``responder`` (webhook channels of the responder service), alerts
    carrying the label vigil_response (entries that declare a ``response``) go to the
    receiver ``responder_receiver`` through a route that continues, placed before the route
    that stops info alerts, so they still reach their team as any other alert.
    """
    entries = _validated(catalog)
    if not _is_str(triage_receiver) or not triage_receiver.strip():
        raise AnsibleFilterError(
            "alertmanager_routing: triage_receiver is empty; name the catch-all receiver, e.g. triage"
        )
    if not triage_channels:
        raise AnsibleFilterError(
            "alertmanager_routing: the triage receiver '%s' has no channels; set alertmanager_triage_channels to where "
            "alerts nobody owns must go (a chat or webhook channel watched by people)" % triage_receiver
        )
    if teams is None:
        teams = {}
    if not isinstance(teams, Mapping):
        raise AnsibleFilterError(
            "alertmanager_routing: teams must be a mapping of team name to {pager: [...], digest: [...]}"
        )

    triage = _receiver(triage_receiver, triage_channels, "alertmanager_triage_channels")
    if all(key == "email_configs" for key in triage if key != "name"):
        raise AnsibleFilterError(
            "alertmanager_routing: the triage receiver '%s' only sends email; an email-only catch-all is where alerts get "
            "lost: add a chat, webhook or pager channel to alertmanager_triage_channels" % triage_receiver
        )

    owners: Dict[str, Dict[str, List[str]]] = {}
    for entry in entries:
        owners.setdefault(entry["owner"], {}).setdefault(entry["severity"], []).append(entry["name"])

    team_receivers: Dict[str, Dict[str, str]] = {}
    receivers: List[Dict[str, Any]] = [triage, {"name": null_receiver}]
    reserved = {triage_receiver, null_receiver}
    for team in sorted(set(teams) | set(owners), key=str):
        where = "alertmanager_teams['%s']" % team
        if not _is_str(team) or not OWNER_RE.match(team):
            raise _fail(
                where, "team name %r is not valid" % (team,), "use a lower-case team name (letters, digits, - or _)"
            )
        spec = teams.get(team)
        owned = owners.get(team, {})
        if spec is None:
            names = sorted(n for names in owned.values() for n in names)
            raise _fail(
                where,
                "team '%s' owns alerts (%s) but has no receiver" % (team, ", ".join(names)),
                "add %s to alertmanager_teams with pager and/or digest channels" % team,
            )
        if not isinstance(spec, Mapping):
            raise _fail(
                where, "must be a mapping with pager and/or digest channel lists", "write {pager: [...], digest: [...]}"
            )
        unknown = sorted(str(k) for k in spec if k not in TEAM_KEYS)
        if unknown:
            raise _fail(
                where, "unknown key(s) %s" % ", ".join(unknown), "a team has only pager and digest channel lists"
            )
        team_receivers[team] = {}
        for kind in TEAM_KEYS:
            channels = spec.get(kind)
            if not channels:
                continue
            name = "%s-%s" % (team, kind)
            if name in reserved:
                raise _fail(
                    where, "receiver name %s clashes with the triage or null receiver" % name, "rename the team"
                )
            receivers.append(_receiver(name, channels, "%s.%s" % (where, kind)))
            team_receivers[team][kind] = name
        if not team_receivers[team]:
            names = sorted(n for names in owned.values() for n in names)
            raise _fail(
                where,
                "team '%s' has no pager or digest channels%s"
                % (team, " but owns alerts (%s)" % ", ".join(names) if names else ""),
                "add channels under pager (critical) and digest (warning)",
            )
        if owned.get("warning") and "digest" not in team_receivers[team]:
            raise _fail(
                where,
                "team '%s' owns warning alerts (%s) but has no digest channels" % (team, ", ".join(owned["warning"])),
                "add digest channels (warnings are batched, not paged)",
            )

    pager = _timing(PAGER_TIMING, pager_timing, "pager_timing")
    digest = _timing(DIGEST_TIMING, digest_timing, "digest_timing")
    top = _timing(DEFAULT_TIMING, default_timing, "default_timing")

    names = {e["name"] for e in entries}
    routes: List[Dict[str, Any]] = []
    if heartbeat_alert and heartbeat_alert in names:
        hb_receiver = null_receiver
        if heartbeat:
            _check_receiver_free(receivers, heartbeat_receiver, "heartbeat")
            receivers.append(_heartbeat_receiver(heartbeat_receiver, heartbeat))
            hb_receiver = heartbeat_receiver
        routes.append(
            dict(
                {
                    "receiver": hb_receiver,
                    "matchers": [_matcher("alertname", heartbeat_alert)],
                    "group_by": ["alertname"],
                },
                **_timing(HEARTBEAT_TIMING, heartbeat_timing, "heartbeat_timing"),
                **{"continue": False},
            )
        )
    elif heartbeat:
        raise AnsibleFilterError(
            "alertmanager_routing: a heartbeat channel is set (alertmanager_heartbeat) but the catalog has no '%s' "
            "alert (disabled?): nothing would ever reach it and the outside service would page; enable %s or "
            "empty alertmanager_heartbeat" % (heartbeat_alert, heartbeat_alert)
        )
    routes.append({"receiver": null_receiver, "matchers": [_matcher("severity", "info")], "continue": False})
    for team in sorted(team_receivers):
        kinds = team_receivers[team]
        children = [
            dict(
                {"receiver": kinds.get("pager") or kinds["digest"], "matchers": [_matcher("severity", "critical")]},
                **pager,
                **{"continue": False},
            )
        ]
        if "digest" in kinds:
            children.append(
                dict(
                    {"receiver": kinds["digest"], "matchers": [_matcher("severity", "warning")]},
                    **digest,
                    **{"continue": False},
                )
            )
        routes.append({"matchers": [_matcher("team", team)], "routes": children})

    if responder:
        _check_receiver_free(receivers, responder_receiver, "responder")
        receivers.append(_responder_receiver(responder_receiver, responder))
        timing = _timing(RESPONDER_TIMING, responder_timing, "responder_timing")
        _insert_response_route(routes, responder_receiver, timing, triage_receiver)

    route = {
        "receiver": triage_receiver,
        "group_by": list(group_by) if group_by else list(DEFAULT_GROUP_BY),
    }
    route.update(top)
    route["routes"] = routes

    equal = list(inhibit_equal) if inhibit_equal else ["instance"]
    inhibit_rules: List[Dict[str, Any]] = []
    if host_down_alert and host_down_alert in names:
        inhibit_rules.append(
            {
                "source_matchers": [_matcher("alertname", host_down_alert)],
                "target_matchers": [_matcher("alertname", host_down_alert, "!=")],
                "equal": list(equal),
            }
        )
    if critical_inhibits_warning:
        # Alertmanager treats a label missing on both sides as equal: without the
        # regex matchers, a critical alert with no instance (a log-side rule) would
        # silence every warning that has none either, whoever owns it.
        inhibit_rules.append(
            {
                "source_matchers": ['severity="critical"'] + [_matcher(label, ".+", "=~") for label in equal],
                "target_matchers": ['severity="warning"'],
                "equal": list(equal),
            }
        )
    for entry in entries:
        targets = entry["inhibits"]
        if targets:
            if len(targets) == 1:
                target = _matcher("alertname", targets[0])
            else:
                target = _matcher("alertname", "|".join(targets), "=~")
            inhibit_rules.append(
                {
                    "source_matchers": [_matcher("alertname", entry["name"])],
                    "target_matchers": [target],
                    "equal": list(equal),
                }
            )
    if heartbeat_alert and heartbeat_alert in names:
        _check_heartbeat_not_inhibiting(entries, heartbeat_alert)
        spared = _matcher("alertname", heartbeat_alert, "!=")
        for rule in inhibit_rules:
            rule["source_matchers"].append(spared)
            rule["target_matchers"].append(spared)
    return {"route": route, "receivers": receivers, "inhibit_rules": inhibit_rules}


def _check_receiver_free(receivers: List[Dict[str, Any]], name: str, what: str) -> None:
    if name in {r["name"] for r in receivers}:
        raise AnsibleFilterError(
            "alertmanager_routing: %s receiver name '%s' is taken by a team or the triage receiver" % (what, name)
        )


def _heartbeat_receiver(name: str, channel: Any) -> Dict[str, Any]:
    where = "alertmanager_heartbeat"
    if not isinstance(channel, Mapping):
        raise _fail(where, "must be one channel, {type: webhook, url: ...}", "e.g. {type: webhook, url: <ping URL>}")
    if channel.get("type") not in HEARTBEAT_TYPES:
        raise _fail(
            where,
            "channel type %r cannot be a heartbeat" % (channel.get("type"),),
            "use type webhook (healthchecks.io, Dead Man's Snitch, an Opsgenie or PagerDuty heartbeat URL)",
        )
    if channel.get("send_resolved") is True:
        raise _fail(
            where,
            "send_resolved: true would ping the heartbeat service when the Watchdog stops",
            "remove send_resolved (heartbeats are sent without resolved notifications)",
        )
    channel = dict(channel)
    channel["send_resolved"] = False
    return _receiver(name, [channel], where)


def _check_heartbeat_not_inhibiting(entries: List[Dict[str, Any]], heartbeat_alert: str) -> None:
    for entry in entries:
        if entry["name"] == heartbeat_alert and entry.get("response"):
            raise _fail(
                "alert_catalog entry '%s'" % heartbeat_alert,
                "the heartbeat alert declares a response",
                "remove its response: it fires all the time and its route stops before the responder's",
            )
        if entry["name"] == heartbeat_alert and entry["inhibits"]:
            raise _fail(
                "alert_catalog entry '%s'" % heartbeat_alert,
                "the heartbeat alert inhibits %s" % ", ".join(entry["inhibits"]),
                "remove its inhibits: it fires all the time and would silence them for good",
            )
        if heartbeat_alert in entry["inhibits"]:
            raise _fail(
                "alert_catalog entry '%s'" % entry["name"],
                "inhibits the heartbeat alert %s" % heartbeat_alert,
                "remove %s from its inhibits: a silenced heartbeat makes the outside service page" % heartbeat_alert,
            )


def _responder_receiver(name: str, channels: Any) -> Dict[str, Any]:
    """The responder's receiver: webhook channels only, each authenticating (the responder refuses anonymous posts)."""
    where = "alertmanager_responder_channels"
    if _is_str(channels) or isinstance(channels, Mapping) or not isinstance(channels, Sequence):
        raise _fail(where, "must be a list of webhook channels", "e.g. [{type: webhook, url: ..., http_config: ...}]")
    for index, channel in enumerate(channels):
        if not isinstance(channel, Mapping) or channel.get("type") != "webhook":
            raise _fail("%s item %d" % (where, index + 1), "the responder is reached by a webhook channel",
                        "write {type: webhook, url: https://<firewall>:9095/webhook, http_config: {basic_auth: ...}}")
        http_config = channel.get("http_config")
        if not isinstance(http_config, Mapping) or not (http_config.get("basic_auth") or http_config.get("authorization")):
            raise _fail("%s item %d" % (where, index + 1), "has no credentials (http_config.basic_auth)",
                        "the responder refuses unauthenticated webhooks: give http_config.basic_auth "
                        "{username, password} with the password from the vault")
    return _receiver(name, channels, where)


def _insert_response_route(
    routes: List[Dict[str, Any]], receiver: str, timing: Mapping[str, str], triage_receiver: str
) -> None:
    """The responder's route, which continues, goes before the first route that stops every info alert
    (after the heartbeat's route, which only takes the always-firing Watchdog).

    A matching child route means the root's receiver is not used: a response alert that no
    team route takes would reach the responder alone. A last route sends it to triage.
    """
    info = [_matcher("severity", "info")]
    position = next((i for i, r in enumerate(routes) if r.get("matchers") == info), 0)
    matchers = [_matcher(RESPONSE_LABEL, ".+", "=~")]
    route = {"receiver": receiver, "matchers": matchers, "group_by": ["..."]}
    route.update(timing)
    route["continue"] = True
    routes.insert(position, route)
    routes.append({"receiver": triage_receiver, "matchers": list(matchers), "continue": False})


def _receiver_names(routing: Any) -> Tuple[str, str, set]:
    if (
        not isinstance(routing, Mapping)
        or not isinstance(routing.get("route"), Mapping)
        or not routing.get("receivers")
    ):
        raise AnsibleFilterError(
            "alertmanager_route_tests: routing must be the output of alertmanager_routing (route and receivers)"
        )
    triage = routing["route"].get("receiver")
    names = set()
    null = None
    for receiver in routing["receivers"]:
        names.add(receiver["name"])
        if not any(key in receiver for key in CONFIG_LIST_KEYS) and null is None:
            null = receiver["name"]
    if null is None:
        raise AnsibleFilterError(
            "alertmanager_route_tests: routing has no null receiver (one without integrations) for info alerts"
        )
    return triage, null, names


def alertmanager_route_tests(
    catalog: Any,
    routing: Any,
    heartbeat_alert: str = HEARTBEAT_ALERT,
    heartbeat_receiver: str = HEARTBEAT_RECEIVER,
    responder_receiver: str = RESPONDER_RECEIVER,
) -> List[Dict[str, Any]]:
    """Expected routing for every catalog alert, as cases for ``amtool config routes test``.

    The expectation follows the policy (critical -> team pager, else team digest; warning ->
    team digest; info -> null receiver; unknown team -> triage), not the route tree, so
    running the cases against the rendered config checks the tree. The heartbeat alert is
    expected at the heartbeat receiver when the routing has one, else at the null receiver.
    An alert that declares a response is expected at the responder first, then at its team,
    when the routing has one.
    """
    entries = _validated(catalog)
    triage, null, names = _receiver_names(routing)
    cases = []
    for entry in entries:
        team = entry["owner"]
        if entry["name"] == heartbeat_alert:
            expected = heartbeat_receiver if heartbeat_receiver in names else null
        elif entry["severity"] == "info":
            expected = null
        elif entry["severity"] == "critical":
            expected = next((n for n in ("%s-pager" % team, "%s-digest" % team) if n in names), triage)
        else:
            expected = "%s-digest" % team if "%s-digest" % team in names else triage
        labels = {"alertname": entry["name"]}
        labels.update(_labels(entry))
        receivers = [expected]
        if entry.get("response") and responder_receiver in names:
            receivers = [responder_receiver, expected]
        cases.append({"labels": labels, "receivers": receivers})
    return cases


class FilterModule:
    """Alert catalog filters."""

    def filters(self):
        return {
            "alert_catalog_merge": alert_catalog_merge,
            "alert_catalog_rules": alert_catalog_rules,
            "alert_catalog_grafana": alert_catalog_grafana,
            "alertmanager_routing": alertmanager_routing,
            "alertmanager_route_tests": alertmanager_route_tests,
        }
