# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Grafana alerting provisioning helpers shared by the grafana_* modules.

Every module describes its resource with a ``GrafanaResource`` (an ``ApiResource`` of
``api_resource``, whose ``reconcile`` runs GET -> normalise -> compare -> write once for
every API module): how to fetch it, how to normalise Grafana's answer (drop server-only
fields, fill in the defaults Grafana adds), the desired state, and the write calls.

Provenance: Grafana records who owns a provisioned resource. Without the
``X-Disable-Provenance`` header a write through this API marks the resource ``api``
(read-only in the UI); with the header it stays ``""`` (editable). ``file`` means file
provisioning owns it. ``GrafanaResource`` makes the provenance a field of the state (compared,
shown in the result and the diff) and never touches a resource that another provisioning
source owns.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vigil.monitoring.plugins.module_utils.api_resource import (
    ApiResource,
    api_module,
    reconcile,
    state_option,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.durations import (
    canonical_duration,
    check_duration,
    duration_ms,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.vigil_http import (
    ApiClient,
    api_argument_spec,
    quote_segment,
)

PROVISIONING = "/api/v1/provisioning"
ORG_HEADER = "X-Grafana-Org-Id"
PROVENANCE_HEADER = "X-Disable-Provenance"
PROVENANCE_API = "api"
PROVENANCE_NONE = ""
REDACTED = "[REDACTED]"
UID_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")
EXPRESSION_DATASOURCES = frozenset(("__expr__", "-100"))

# What Grafana fills into an alert query model when it is missing (AlertQuery.PreSave).
QUERY_MODEL_DEFAULTS = {"intervalMs": 1000, "maxDataPoints": 43200}
# Fields of a ProvisionedAlertRule the server owns; never compared, never sent back.
RULE_READ_ONLY = frozenset(("id", "updated", "provenance"))


# --------------------------------------------------------------------------- module set-up
def grafana_argument_spec(**extra: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """Connection options, org, provenance and state options, plus the module's own options."""
    spec = api_argument_spec()
    spec.update(
        org_id=dict(type="int"),
        disable_provenance=dict(type="bool", default=False),
        state=state_option(),
    )
    spec.update(extra)
    return spec


def grafana_module(argument_spec: Dict[str, Any], **kwargs: Any) -> AnsibleModule:
    """Build the AnsibleModule with the shared constraints; fail early on a bad url or org."""
    module = api_module(
        argument_spec,
        required_one_of=[("api_token", "url_username")] + list(kwargs.pop("required_one_of", [])),
        **kwargs,
    )
    url = module.params["url"]
    if not re.match(r"^https?://[^/]", url or ""):
        module.fail_json(msg="url must start with https:// (or http://) followed by the Grafana host, got %r" % url)
    org_id = module.params.get("org_id")
    if org_id is not None and org_id < 1:
        module.fail_json(msg="org_id must be a positive organisation ID (1 is Grafana's main org), got %d" % org_id)
    return module


def grafana_main(resource_class: Any, **options: Dict[str, Any]) -> None:
    """A grafana_* module's main: the family's options plus ``options``, then reconcile one ``resource_class``."""
    module = grafana_module(grafana_argument_spec(**options))
    reconcile(resource_class(module, GrafanaClient(module)))


class GrafanaClient(ApiClient):
    """ApiClient with Grafana's organisation and provenance headers."""

    def __init__(self, module: AnsibleModule):
        headers = {}
        if module.params.get("org_id") is not None:
            headers[ORG_HEADER] = str(module.params["org_id"])
        super().__init__(module, extra_headers=headers)
        self.disable_provenance = bool(module.params.get("disable_provenance"))

    @property
    def wanted_provenance(self) -> str:
        return PROVENANCE_NONE if self.disable_provenance else PROVENANCE_API

    def get(self, path: str, expect: Any = dict) -> Any:
        """GET a resource that always exists; the answer must be JSON of the ``expect`` type."""
        return self.request("GET", path, expected=(200,), expect=expect)[1]

    def write(self, method: str, path: str, body: Any, expected: Iterable[int], expect: Any = dict) -> Any:
        """POST or PUT; sends X-Disable-Provenance only when disable_provenance is true.

        ``expect=None`` when the answer is not used (it may then be empty or any JSON).
        """
        headers = {PROVENANCE_HEADER: "true"} if self.disable_provenance else None
        return self.request(method, path, body=body, expected=expected, headers=headers, expect=expect)[1]

    def delete(self, path: str, expected: Iterable[int] = (200, 202, 204)) -> None:
        """DELETE without X-Disable-Provenance.

        Grafana checks the header against the stored provenance on DELETE and refuses
        to delete an ``api`` resource when the header asks for ``none``; without the
        header the DELETE works for both ``api`` and ``""`` resources.
        """
        self.request("DELETE", path, expected=expected, expect=None)


def provisioning_path(*segments: str) -> str:
    """/api/v1/provisioning/<segment>/... with every variable segment quoted."""
    return PROVISIONING + "".join("/" + quote_segment(s) for s in segments)


AUTH_HINTS = {
    401: "Grafana rejected the credentials: check api_token, or url_username and url_password",
    403: ("Either the account may not do this (alerting provisioning needs an Admin role or a service account "
          "with the alerting provisioning permissions in this org_id), or the resource's provenance forbids the "
          "change (see Grafana's message)"),
}


# --------------------------------------------------------------------------- provenance
def current_provenance(raw: Optional[Dict[str, Any]]) -> str:
    return str((raw or {}).get("provenance") or "")


def provenance_problem(kind: str, name: str, current: str, wanted: str, api_to_none_allowed: bool) -> Optional[str]:
    """Why Grafana (or this module) will not move ``current`` provenance to ``wanted``; None if it may."""
    if current == wanted or current == PROVENANCE_NONE:
        return None
    if current == PROVENANCE_API and wanted == PROVENANCE_NONE:
        if api_to_none_allowed:
            return None
        return ("%s %r was provisioned through the API without X-Disable-Provenance (provenance 'api') and Grafana "
                "refuses to make it editable in place. Either keep disable_provenance=false, or remove it first "
                "(state=absent) and apply it again with disable_provenance=true" % (kind, name))
    return foreign_owner_message(kind, name, current)


def foreign_owner_message(kind: str, name: str, provenance: str) -> str:
    return ("%s %r has provenance %r: another provisioning source (file provisioning or another tool) owns it, so "
            "this module does not change or delete it. Manage it where it is provisioned, or remove it there first"
            % (kind, name, provenance))


# --------------------------------------------------------------------------- generic values
def strip_empty(value: Any) -> Any:
    """Drop None, empty strings, lists and dicts from mappings, recursively (Grafana omits them)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            item = strip_empty(item)
            if item is None or item == "" or item == [] or item == {}:
                continue
            out[key] = item
        return out
    if isinstance(value, list):
        return [strip_empty(item) for item in value]
    return value


def string_map(value: Optional[Dict[str, Any]], argname: str) -> Tuple[Dict[str, str], Optional[str]]:
    """Labels and annotations are map[string]string in Grafana: stringify scalars, refuse the rest."""
    out: Dict[str, str] = {}
    for key, item in (value or {}).items():
        if isinstance(item, (dict, list)) or item is None:
            return {}, "%s.%s must be a string, got %s; quote it or remove it" % (argname, key, type(item).__name__)
        if isinstance(item, bool):
            item = "true" if item else "false"
        out[str(key)] = str(item)
    return out, None


def check_uid(value: Any, argname: str = "uid") -> Optional[str]:
    if not isinstance(value, str) or not UID_PATTERN.match(value):
        return ("%s must be 1 to 40 characters from a-z, A-Z, 0-9, '-' and '_' (Grafana's UID rule), got %r"
                % (argname, value))
    return None


# --------------------------------------------------------------------------- alert rules
def normalise_query(query: Dict[str, Any]) -> Dict[str, Any]:
    """An AlertQuery as Grafana stores it: model defaults filled in, queryType taken from the model."""
    model = dict(query.get("model") or {})
    for key, default in QUERY_MODEL_DEFAULTS.items():
        if model.get(key) in (None, 0, ""):
            model[key] = default
    query_type = model.get("queryType") or query.get("queryType") or ""
    rng = query.get("relativeTimeRange") or {}
    datasource = query.get("datasourceUid")
    return {
        "refId": query.get("refId"),
        "queryType": query_type,
        "relativeTimeRange": {
            "from": (duration_ms(rng.get("from", 0)) or 0) // 1000,
            "to": (duration_ms(rng.get("to", 0)) or 0) // 1000,
        },
        # "-100" is the legacy UID of the expression data source; compare it as "__expr__".
        "datasourceUid": "__expr__" if datasource in EXPRESSION_DATASOURCES else datasource,
        "model": model,
    }


# Managed fields of a rule, in API (ProvisionedAlertRule) spelling.
RULE_FIELDS = ("uid", "title", "folderUID", "ruleGroup", "condition", "data", "noDataState", "execErrState",
               "for", "labels", "annotations", "isPaused")
RULE_OPTIONAL_FIELDS = ("keep_firing_for", "notification_settings")


def normalise_rule(raw: Dict[str, Any], optional_fields: Sequence[str] = ()) -> Dict[str, Any]:
    """A ProvisionedAlertRule reduced to the fields the modules manage, in canonical form."""
    rule = {
        "uid": raw.get("uid"),
        "title": raw.get("title"),
        "folderUID": raw.get("folderUID"),
        "ruleGroup": raw.get("ruleGroup"),
        "condition": raw.get("condition"),
        "data": [normalise_query(q) for q in raw.get("data") or []],
        "noDataState": raw.get("noDataState"),
        "execErrState": raw.get("execErrState"),
        "for": canonical_duration(raw.get("for") or "0s"),
        "labels": dict(raw.get("labels") or {}),
        "annotations": dict(raw.get("annotations") or {}),
        "isPaused": bool(raw.get("isPaused")),
    }
    if "keep_firing_for" in optional_fields:
        rule["keep_firing_for"] = canonical_duration(raw.get("keep_firing_for") or "0s")
    if "notification_settings" in optional_fields:
        rule["notification_settings"] = normalise_notification_settings(raw.get("notification_settings"))
    return rule


def normalise_notification_settings(value: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    if not value:
        return None
    out = strip_empty(dict(value))
    for key in ("group_wait", "group_interval", "repeat_interval"):
        if key in out:
            out[key] = canonical_duration(out[key])
    return out


def rule_options_spec() -> Dict[str, Dict[str, Any]]:
    """Options describing one rule; used by grafana_alert_rule and as grafana_rule_group's rules suboptions."""
    return dict(
        uid=dict(type="str", required=True),
        title=dict(type="str"),
        condition=dict(type="str"),
        data=dict(type="list", elements="dict"),
        pending_period=dict(type="str", default="0s", aliases=["for"]),
        keep_firing_for=dict(type="str"),
        no_data_state=dict(type="str", default="NoData", choices=["NoData", "Alerting", "OK", "KeepLast"]),
        exec_err_state=dict(type="str", default="Error", choices=["Error", "Alerting", "OK", "KeepLast"]),
        labels=dict(type="dict", default={}),
        annotations=dict(type="dict", default={}),
        is_paused=dict(type="bool", default=False),
        notification_settings=dict(type="dict"),
    )


def rule_group_rules_spec() -> Dict[str, Dict[str, Any]]:
    """grafana_rule_group's ``rules`` suboptions: a listed rule needs its title, condition and data."""
    spec = rule_options_spec()
    for name in ("title", "condition", "data"):
        spec[name] = dict(spec[name], required=True)
    return spec


def rule_state(raw: Dict[str, Any], opts: Dict[str, Any]) -> Dict[str, Any]:
    """A fetched rule normalised for comparison with the rule ``opts`` ask for (optional fields only if set)."""
    return normalise_rule(raw, managed_optional_fields(opts))


def validate_rule_options(opts: Dict[str, Any], prefix: str = "") -> Optional[str]:
    """First problem with one rule's options, named the way the user wrote them; None when valid."""
    problem = check_uid(opts.get("uid"), prefix + "uid")
    if problem:
        return problem
    for name in ("title", "condition", "data"):
        if not opts.get(name):
            return "%s%s is required to create or update alert rule %r" % (prefix, name, opts.get("uid"))
    if len(opts["title"]) > 190:
        return "%stitle must be at most 190 characters (Grafana's limit)" % prefix
    for name in ("pending_period", "keep_firing_for"):
        if opts.get(name) is not None:
            problem = check_duration(opts[name], prefix + name)
            if problem:
                return problem
    for name in ("labels", "annotations"):
        problem = string_map(opts.get(name), prefix + name)[1]
        if problem:
            return problem
    return validate_rule_data(opts["data"], opts["condition"], prefix)


def validate_rule_data(data: List[Any], condition: str, prefix: str) -> Optional[str]:
    ref_ids = []
    for index, query in enumerate(data):
        where = "%sdata[%d]" % (prefix, index)
        if not isinstance(query, dict):
            return "%s must be a mapping with refId, datasourceUid and model" % where
        for key in ("refId", "datasourceUid"):
            if not isinstance(query.get(key), str) or not query.get(key):
                return "%s.%s is required (a non-empty string)" % (where, key)
        if not isinstance(query.get("model"), dict):
            return "%s.model is required: the query or expression as a mapping (Grafana's API format)" % where
        if query["refId"] in ref_ids:
            return "%s.refId %r is used twice; every query needs its own refId" % (where, query["refId"])
        ref_ids.append(query["refId"])
        problem = validate_time_range(query, where)
        if problem:
            return problem
    if condition not in ref_ids:
        return "%scondition %r names no entry of %sdata; use one of the refIds %s" % (
            prefix, condition, prefix, ", ".join(ref_ids))
    return None


def validate_time_range(query: Dict[str, Any], where: str) -> Optional[str]:
    rng = query.get("relativeTimeRange")
    if rng is not None and not isinstance(rng, dict):
        return "%s.relativeTimeRange must be a mapping {from: SECONDS, to: SECONDS}" % where
    rng = rng or {}
    for key in ("from", "to"):
        if key in rng and duration_ms(rng[key]) is None:
            return "%s.relativeTimeRange.%s must be a number of seconds or a duration, got %r" % (where, key, rng[key])
    if query["datasourceUid"] in EXPRESSION_DATASOURCES:
        return None
    start = duration_ms(rng.get("from", 0)) or 0
    end = duration_ms(rng.get("to", 0)) or 0
    if start <= end:
        return ("%s queries data source %r and needs relativeTimeRange with from > to, for example "
                "{from: 600, to: 0} for the last 10 minutes" % (where, query["datasourceUid"]))
    return None


def desired_rule(opts: Dict[str, Any], folder_uid: str, rule_group: str) -> Dict[str, Any]:
    """Normalised wished rule from validated options (comparable with normalise_rule)."""
    labels = string_map(opts.get("labels"), "labels")[0]
    annotations = string_map(opts.get("annotations"), "annotations")[0]
    raw = {
        "uid": opts["uid"],
        "title": opts["title"],
        "folderUID": folder_uid,
        "ruleGroup": rule_group,
        "condition": opts["condition"],
        "data": opts["data"],
        "noDataState": opts["no_data_state"],
        "execErrState": opts["exec_err_state"],
        "for": opts["pending_period"],
        "labels": labels,
        "annotations": annotations,
        "isPaused": opts["is_paused"],
    }
    optional = managed_optional_fields(opts)
    if "keep_firing_for" in optional:
        raw["keep_firing_for"] = opts["keep_firing_for"]
    if "notification_settings" in optional:
        raw["notification_settings"] = opts["notification_settings"]
    return normalise_rule(raw, optional)


def managed_optional_fields(opts: Dict[str, Any]) -> Tuple[str, ...]:
    """Optional rule fields the user set; the others are neither compared nor overwritten."""
    return tuple(name for name in RULE_OPTIONAL_FIELDS if opts.get(name) is not None)


def rule_payload(
    desired: Dict[str, Any], current_raw: Optional[Dict[str, Any]], org_id: Optional[int]
) -> Dict[str, Any]:
    """Body for POST/PUT: the wished rule over the current one, so fields the module does not manage survive."""
    body = {k: v for k, v in (current_raw or {}).items() if k not in RULE_READ_ONLY}
    body.update(desired)
    body["orgID"] = org_id or (current_raw or {}).get("orgID") or 1
    return body


# --------------------------------------------------------------------------- resources
class GrafanaResource(ApiResource):
    """A provisioning resource: its provenance is part of its state, compared and shown like any field.

    ``url_segments`` places the resource under ``/api/v1/provisioning``: fixed segments, and
    ``{option}`` for the value of an option (quoted). Those options identify the resource: messages
    name it by their values (joined with ``/``). A resource with such a URL is read with a GET
    (404: absent) and deleted with a DELETE there; a module overrides what differs.
    """

    status_hints = AUTH_HINTS
    # Grafana lets a PUT move this resource from provenance 'api' to '' (rules and rule groups allow it).
    api_to_none_allowed = False
    # For example ("alert-rules", "{uid}").
    url_segments: Tuple[str, ...] = ()

    def _segment_values(self) -> List[Tuple[bool, str]]:
        """(is an option value, text) for every URL segment."""
        return [(True, str(self.params[seg[1:-1]])) if seg.startswith("{") else (False, seg)
                for seg in self.url_segments]

    @property
    def name(self) -> str:
        return "/".join(text for is_option, text in self._segment_values() if is_option)

    @property
    def path(self) -> str:
        return provisioning_path(*(text for _is_option, text in self._segment_values()))

    @property
    def collection_path(self) -> str:
        """Where a new resource is POSTed: the URL up to the first option."""
        fixed = []
        for is_option, text in self._segment_values():
            if is_option:
                break
            fixed.append(text)
        return provisioning_path(*fixed)

    def fetch(self) -> Optional[Dict[str, Any]]:
        return self.client.get_optional(self.path, expect=dict)

    def delete(self, raw: Any) -> None:
        self.client.delete(self.path)

    def provenance_of(self, raw: Dict[str, Any]) -> str:
        return current_provenance(raw)

    @property
    def wanted_provenance(self) -> str:
        return self.client.wanted_provenance

    def state_of(self, raw: Any) -> Dict[str, Any]:
        return dict(self.normalise(raw), provenance=self.provenance_of(raw))

    def wanted_state(self) -> Dict[str, Any]:
        return dict(self.desired(), provenance=self.wanted_provenance)

    def update_problem(self, raw: Any, current: Dict[str, Any], desired: Dict[str, Any]) -> Optional[str]:
        return provenance_problem(self.kind, self.name, current["provenance"], desired["provenance"],
                                  self.api_to_none_allowed)

    def delete_problem(self, raw: Any) -> Optional[str]:
        provenance = self.provenance_of(raw)
        if provenance not in (PROVENANCE_NONE, PROVENANCE_API):
            return foreign_owner_message(self.kind, self.name, provenance)
        return None

    def is_create_conflict(self, exc: Any) -> bool:
        """Grafana answers a create of an existing UID with the documented 409."""
        return exc.status == 409
