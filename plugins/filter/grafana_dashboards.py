# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn a dashboard downloaded from grafana.com into a file Grafana can provision.

A dashboard exported "for sharing externally" (what grafana.com serves at
``/api/dashboards/<id>/revisions/<rev>/download``) names its datasources through inputs:
``__inputs`` lists them (``{"name": "DS_PROMETHEUS", "type": "datasource", "pluginId":
"prometheus"}``, or ``"type": "constant"`` with a ``value``) and the panels say
``"datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}`` (or, in older schemas,
``"datasource": "${DS_PROMETHEUS}"``). Grafana's import screen asks which datasource each
input is; file provisioning does not ask, so the placeholders must be replaced before the
file is written:

``grafana_datasource_types``
    ``_grafana_datasources | vigil.monitoring.grafana_datasource_types(overrides)``: the
    datasource each type maps to (the default one of its type, else the first), as
    ``{type: {"uid": ..., "name": ...}}``; ``overrides`` maps a type to a datasource uid.

``grafana_community_dashboard``
    ``dashboard_json | vigil.monitoring.grafana_community_dashboard(types, name=..., uid=...)``:
    the dashboard with every input replaced (datasource inputs by Vigil's datasource of the
    input's type, constants by their value), datasource objects pinned to another Grafana's
    uid moved to Vigil's datasource of their type, ``__inputs``/``__requires``/``__elements``
    and ``id`` removed, and ``uid`` set. A dashboard that cannot be mapped is refused with a
    message naming it and the input (or the JSON path).
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.utils.unsafe_proxy import wrap_var

UID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
# Datasources every Grafana has: the annotations' built-in one, mixed, dashboard, expressions.
BUILTIN_TYPES = {"grafana", "datasource", "__expr__", "dashboard"}
BUILTIN_UIDS = {"-- Grafana --", "-- Mixed --", "-- Dashboard --", "grafana", "__expr__"}
REMOVED_KEYS = ("__inputs", "__requires", "__elements", "id")


def grafana_datasource_types(datasources: Any, overrides: Optional[Mapping[str, Any]] = None) -> Dict[str, Dict[str, Any]]:
    """{type: {"uid", "name", "uids"}}: for each type, its default datasource (else the first of the list)
    and the uids of every datasource of that type (what a hand mapping may name)."""
    if not isinstance(datasources, list):
        raise AnsibleFilterError("grafana_datasource_types: expected the list of datasources, got %s"
                                 % type(datasources).__name__)
    types: Dict[str, Dict[str, Any]] = {}
    defaults: Dict[str, bool] = {}
    for entry in datasources:
        if not isinstance(entry, Mapping) or not entry.get("type") or not entry.get("uid"):
            raise AnsibleFilterError("grafana_datasource_types: every datasource needs a type and a uid, got %r" % (entry,))
        kind, uid = str(entry["type"]), str(entry["uid"])
        is_default = bool(entry.get("isDefault"))
        uids = types.get(kind, {}).get("uids", []) + [uid]
        if kind not in types or (is_default and not defaults[kind]):
            types[kind] = {"uid": uid, "name": str(entry.get("name") or uid)}
            defaults[kind] = is_default
        types[kind]["uids"] = uids
    for kind, uid in (overrides or {}).items():
        if not isinstance(uid, str) or not UID.match(uid):
            raise AnsibleFilterError("grafana_datasource_types: the datasource uid for type %s must be 1-40 letters, "
                                     "digits, - or _, got %r" % (kind, uid))
        known = [entry for entry in datasources if entry.get("uid") == uid]
        uids = types.get(str(kind), {}).get("uids", [])
        types[str(kind)] = {"uid": uid, "name": str(known[0].get("name") or uid) if known else uid,
                            "uids": uids + ([uid] if uid not in uids else [])}
    return types


def _load(dashboard: Any, name: str) -> Dict[str, Any]:
    if isinstance(dashboard, (bytes, str)):
        try:
            dashboard = json.loads(to_text(dashboard))
        except ValueError as exc:
            raise AnsibleFilterError("%s is not JSON: %s" % (name, exc)) from None
    if not isinstance(dashboard, Mapping):
        raise AnsibleFilterError("%s is not a dashboard (a JSON object), got %s" % (name, type(dashboard).__name__))
    if not dashboard.get("title") or not isinstance(dashboard.get("panels", dashboard.get("rows")), list):
        raise AnsibleFilterError("%s is not a Grafana dashboard: it has no title or no panels" % name)
    return json.loads(json.dumps(dashboard))  # a deep copy, plain types


def _input_values(dashboard: Dict[str, Any], types: Mapping[str, Mapping[str, str]],
                  given: Mapping[str, Any]) -> Tuple[Dict[str, Tuple[str, Any]], List[str]]:
    """{input name: ("datasource", {"type", "uid"}) or ("constant", value)}, and the problems found."""
    values: Dict[str, Tuple[str, Any]] = {}
    problems: List[str] = []
    inputs = dashboard.get("__inputs") or []
    if not isinstance(inputs, list):
        return values, ["__inputs is not a list"]
    uids = {uid: kind for kind, entry in types.items() for uid in entry.get("uids") or [entry["uid"]]}
    for item in inputs:
        if not isinstance(item, Mapping) or not item.get("name"):
            problems.append("an entry of __inputs has no name: %r" % (item,))
            continue
        input_name, kind = str(item["name"]), item.get("type")
        if kind == "datasource":
            plugin = str(item.get("pluginId") or "")
            if input_name in given:
                uid = str(given[input_name])
                if uid in uids:
                    values[input_name] = ("datasource", {"type": uids[uid], "uid": uid})
                elif uid in types:  # a type was given
                    values[input_name] = ("datasource", {"type": uid, "uid": types[uid]["uid"]})
                else:
                    problems.append("input %s is mapped to %r, which is neither a datasource uid nor a datasource type "
                                    "Vigil provisions (%s)" % (input_name, uid, ", ".join(sorted(uids)) or "none"))
            elif plugin in types:
                values[input_name] = ("datasource", {"type": plugin, "uid": types[plugin]["uid"]})
            else:
                problems.append("input %s (%s, a %s datasource) cannot be mapped: Vigil provisions datasources of type "
                                "%s; add a datasource of that type (grafana_datasources_extra) or map the input in the "
                                "entry's inputs" % (input_name, item.get("label") or input_name, plugin or "?",
                                                    ", ".join(sorted(types)) or "none"))
        elif kind == "constant":
            value = given.get(input_name, item.get("value"))
            if value is None:
                problems.append("input %s (a constant) has no value; give it in the entry's inputs" % input_name)
            else:
                values[input_name] = ("constant", str(value))
        else:
            problems.append("input %s has type %r; only datasource and constant inputs can be provisioned"
                            % (input_name, kind))
    for extra in sorted(set(given) - {str(i.get("name")) for i in inputs if isinstance(i, Mapping)}):
        problems.append("inputs names %s, which the dashboard does not declare in __inputs" % extra)
    return values, problems


class _Mapper:
    """Walks the dashboard, replacing input placeholders and re-pinning datasource references."""

    def __init__(self, values: Dict[str, Tuple[str, Any]], types: Mapping[str, Mapping[str, str]]):
        self.values = values
        self.types = types
        self.vigil_uids = {uid for entry in types.values() for uid in entry.get("uids") or [entry["uid"]]}
        self.vigil_names = {entry["name"]: kind for kind, entry in types.items()}
        self.problems: List[str] = []

    def text(self, value: str) -> str:
        def replace(match: "re.Match[str]") -> str:
            found = self.values.get(match.group(1))
            if found is None:
                return match.group(0)  # a dashboard variable such as ${datasource} or ${job}
            return found[1]["uid"] if found[0] == "datasource" else found[1]

        return PLACEHOLDER.sub(replace, value)

    def datasource(self, value: Any, path: str) -> Any:
        """A panel's, target's or variable's ``datasource``: string (old schemas) or {type, uid}."""
        if isinstance(value, str):
            match = PLACEHOLDER.fullmatch(value)
            if match and match.group(1) in self.values and self.values[match.group(1)][0] == "datasource":
                return dict(self.values[match.group(1)][1])
            value = self.text(value)
            if value.startswith("$") or value in BUILTIN_UIDS or value in self.vigil_uids:
                return value
            if value in self.vigil_names:
                return {"type": self.vigil_names[value], "uid": self.types[self.vigil_names[value]]["uid"]}
            self.problems.append("%s names the datasource %r, which is not one of Vigil's (%s)"
                                 % (path, value, ", ".join(sorted(self.vigil_names))))
            return value
        if isinstance(value, dict):
            ref = {key: self.walk(item, "%s.%s" % (path, key)) for key, item in value.items()}
            uid, kind = ref.get("uid"), ref.get("type")
            if uid is None or not isinstance(uid, str) or uid.startswith("$") or uid in self.vigil_uids:
                return ref
            if kind in BUILTIN_TYPES or uid in BUILTIN_UIDS:
                return ref
            if kind in self.types:
                ref["uid"] = self.types[kind]["uid"]
                return ref
            self.problems.append("%s pins a %s datasource (uid %s) and Vigil provisions none of that type (%s)"
                                 % (path, kind or "untyped", uid, ", ".join(sorted(self.types)) or "none"))
            return ref
        return value

    def walk(self, node: Any, path: str) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                here = "%s.%s" % (path, key) if path else key
                out[key] = self.datasource(value, here) if key == "datasource" else self.walk(value, here)
            return out
        if isinstance(node, list):
            return [self.walk(item, "%s[%d]" % (path, index)) for index, item in enumerate(node)]
        if isinstance(node, str):
            return self.text(node)
        return node


def grafana_community_dashboard(dashboard: Any, datasources: Mapping[str, Mapping[str, str]], name: str,
                                uid: str, title: Optional[str] = None,
                                inputs: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """The dashboard as a provisioning file: inputs mapped to Vigil's datasources, stable uid, no __inputs."""
    if not isinstance(uid, str) or not UID.match(uid):
        raise AnsibleFilterError("%s: uid %r must be 1-40 letters, digits, - or _" % (name, uid))
    if not isinstance(datasources, Mapping):
        raise AnsibleFilterError("%s: the datasource map must be {type: {uid, name}} (grafana_datasource_types)" % name)
    document = _load(dashboard, name)
    values, problems = _input_values(document, datasources, dict(inputs or {}))
    elements = document.get("__elements") or {}
    if elements:
        problems.append("it uses library panels (%s), which file provisioning cannot create"
                        % ", ".join(sorted(str(e.get("name", key)) if isinstance(e, Mapping) else str(key)
                                           for key, e in elements.items())))
    if problems:
        raise AnsibleFilterError("%s cannot be provisioned: %s" % (name, "; ".join(problems)))
    for key in REMOVED_KEYS:
        document.pop(key, None)
    mapper = _Mapper(values, datasources)
    document = mapper.walk(document, "")
    left = sorted({m.group(1) for m in PLACEHOLDER.finditer(json.dumps(document)) if m.group(1) in values})
    if mapper.problems or left:
        raise AnsibleFilterError("%s cannot be provisioned: %s" % (name, "; ".join(
            mapper.problems + ["placeholders left: %s" % ", ".join(left)] if left else mapper.problems)))
    document["uid"] = uid
    if title:
        document["title"] = title
    return wrap_var(document)


class FilterModule:
    """Grafana dashboard filters."""

    def filters(self):
        return {
            "grafana_datasource_types": grafana_datasource_types,
            "grafana_community_dashboard": grafana_community_dashboard,
        }
