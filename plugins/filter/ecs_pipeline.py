# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Field maps to Elasticsearch ingest pipelines that normalise vendor logs to ECS.

A field map (YAML data, format in docs/ecs.md) says how one vendor's log lines are
parsed and which vendor field becomes which ECS field. ``ecs_conformance`` checks it
offline against the ECS field list Vigil ships; ``ecs_pipeline`` turns it into an
ingest pipeline body. Both are pure: no network, no Elasticsearch needed.

``field_map_problems`` is the plain-Python check (used by scripts/ecs_check.py).
"""

from __future__ import annotations

import datetime
import difflib
import ipaddress
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.module_utils import ecs_schema
from ansible_collections.vigil.monitoring.plugins.module_utils.canonical import pipeline_hash, plain

MANAGED_BY = "vigil"
DEFAULT_SOURCE_FIELD = "message"

TOP_LEVEL_KEYS = (
    "name", "vendor", "product", "description", "version", "namespace", "source_field", "keep_original",
    "parse", "compose", "remove", "fields", "constants", "categorisation",
    "related_ip", "related_user", "related_hosts", "related_hash", "samples",
)
PARSE_OPTIONS: Dict[str, Tuple[Tuple[str, ...], Tuple[str, ...]]] = {
    # kind: (required options, optional options); every step also takes field, when, ignore_missing,
    # ignore_failure and description
    "grok": (("patterns",), ("pattern_definitions",)),
    "dissect": (("pattern",), ("append_separator",)),
    "kv": (("field_split", "value_split"), (
        "target_field", "include_keys", "exclude_keys", "trim_key", "trim_value", "strip_brackets", "prefix"
    )),
    "json": ((), ("target_field",)),
    "csv": (("target_fields",), ("separator", "quote", "trim", "empty_value")),
}
COMMON_STEP_OPTIONS = ("field", "when", "ignore_missing", "ignore_failure", "description")
FIELD_ENTRY_KEYS = ("from", "to", "type", "formats", "timezone", "locale", "when", "override", "description")
COMPOSE_KEYS = ("to", "join", "separator", "when")
CATEGORISATION_KEYS = ("event.kind", "event.category", "event.type", "event.outcome")
RULE_KEYS = ("when", "set", "description")
SAMPLE_KEYS = ("name", "message", "document", "expected")
RELATED = {"related_ip": "related.ip", "related_user": "related.user", "related_hosts": "related.hosts",
           "related_hash": "related.hash"}
# fields the pipeline itself manages: a field map may not write them
RESERVED_TARGETS = ("ecs.version", "event.original", "error.message")
# fields an output document may hold as a list although ECS keeps one value: on_failure handlers append
DOCUMENT_LIST_FIELDS = ("error.message",)

# declared conversion type -> convert processor type (None: no convert processor)
CONVERT_TYPES: Dict[str, Optional[str]] = {
    "keyword": None, "string": "string", "long": "long", "integer": "integer", "float": "float",
    "double": "double", "boolean": "boolean", "ip": "ip",
}
DECLARABLE_TYPES = tuple(sorted(CONVERT_TYPES)) + ("date",)
# ECS type -> declared types that fit it; the first one is used when the map gives none
ECS_TYPE_FITS: Dict[str, Tuple[str, ...]] = {
    "keyword": ("keyword", "string"), "constant_keyword": ("keyword", "string"), "wildcard": ("keyword", "string"),
    "match_only_text": ("keyword", "string"), "text": ("keyword", "string"),
    "long": ("long", "integer"), "integer": ("integer", "long"),
    "float": ("float", "double"), "double": ("double", "float"), "scaled_float": ("double", "float"),
    "half_float": ("float", "double"),
    "boolean": ("boolean",), "ip": ("ip",), "date": ("date",),
}
# grok ":type" suffixes that fit a declared/ECS type family
GROK_SUFFIX_FITS = {"string": ("keyword", "constant_keyword", "wildcard", "match_only_text", "text"),
                    "int": ("long", "integer"), "long": ("long", "integer"), "float": ("float", "double"),
                    "double": ("float", "double"), "boolean": ("boolean",)}
RELATED_SOURCE_TYPES = {"related.ip": ("ip",), "related.user": None, "related.hosts": None, "related.hash": None}

NAMESPACE_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
PAINLESS_PATH_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
GROK_CAPTURE_RE = re.compile(r"%\{(\w+)(?::([^:}]+))?(?::(\w+))?\}")
GROK_NAMED_GROUP_RE = re.compile(r"\(\?<([^>]+)>")
DISSECT_KEY_RE = re.compile(r"%\{([^}]*)\}")
FAILURE_MESSAGE = (
    "{{{_ingest.on_failure_processor_type}}} processor (tag {{{_ingest.on_failure_processor_tag}}}) "
    "in pipeline {{{_ingest.on_failure_pipeline}}} failed: {{{_ingest.on_failure_message}}}"
)


# --------------------------------------------------------------------------- helpers


def pipeline_name(field_map: Mapping[str, Any]) -> str:
    """The map's ``name``, else ``vigil-ecs-<vendor>-<product>`` in lower case."""
    if field_map.get("name"):
        return str(field_map["name"])
    slug = "-".join((str(field_map.get("vendor", "")), str(field_map.get("product", ""))))
    return "vigil-ecs-" + re.sub(r"[^a-z0-9]+", "-", slug.lower()).strip("-")


def painless_path(field: str) -> str:
    """Null-safe Painless access to a dotted field: ``a.b.c`` -> ``ctx.a?.b?.c``."""
    parts = field.split(".")
    return "ctx." + parts[0] + "".join("?." + part for part in parts[1:])


def painless_literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _one_condition(field: str, expected: Any) -> str:
    path = painless_path(field)
    negate = isinstance(expected, Mapping)
    if negate:
        expected = expected["not"]
    if isinstance(expected, list):
        test = "[%s].contains(%s)" % (", ".join(painless_literal(v) for v in expected), path)
        return "!" + test if negate else test
    return "%s %s %s" % (path, "!=" if negate else "==", painless_literal(expected))


def painless_condition(when: Optional[Mapping[str, Any]], required: Sequence[str] = ()) -> Optional[str]:
    """``if`` script: every ``required`` field is present and every ``when`` entry matches."""
    parts = ["%s != null" % painless_path(name) for name in required]
    parts.extend(_one_condition(name, value) for name, value in (when or {}).items())
    return " && ".join(parts) if parts else None


def mustache(field: str) -> str:
    """Ingest template reading ``field`` unescaped (triple braces: no HTML escaping)."""
    return "{{{" + field + "}}}"


def _suggest(name: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.6)
    return "; did you mean %s?" % ", ".join(close) if close else ""


def _as_list(value: Any) -> List[Any]:
    return list(value) if isinstance(value, list) else [value]


def parse_steps(field_map: Mapping[str, Any]) -> List[Tuple[str, Dict[str, Any]]]:
    """``parse`` as a list of (kind, options); a single mapping means one step."""
    raw = field_map.get("parse") or []
    steps = raw if isinstance(raw, list) else [raw]
    result = []
    for step in steps:
        if isinstance(step, Mapping) and len(step) == 1:
            kind, options = next(iter(step.items()))
            result.append((str(kind), dict(options) if isinstance(options, Mapping) else {}))
        else:
            result.append(("", {}))
    return result


def grok_captures(pattern: str) -> List[Tuple[str, Optional[str]]]:
    """(field, ":type" suffix) written by a grok pattern: ``%{IP:source.ip}``, ``%{INT:x:long}``, ``(?<x>..)``."""
    found = [(m.group(2), m.group(3)) for m in GROK_CAPTURE_RE.finditer(pattern) if m.group(2)]
    found.extend((name, None) for name in GROK_NAMED_GROUP_RE.findall(pattern))
    return found


def dissect_keys(pattern: str) -> List[str]:
    """Fields a dissect pattern writes (skip keys and reference keys left out)."""
    keys = []
    for raw in DISSECT_KEY_RE.findall(pattern):
        key = raw.split("->")[0]
        key = re.sub(r"/\d+$", "", key)
        if not key or key[0] in "?*&":
            continue
        keys.append(key.lstrip("+"))
    return keys


# --------------------------------------------------------------------------- conformance


class _Checker:
    """Collects every problem of one field map (never stops at the first)."""

    def __init__(self, field_map: Mapping[str, Any]):
        self.fm = field_map
        self.problems: List[str] = []
        namespace = field_map.get("namespace")
        self.namespace: Optional[str] = namespace if isinstance(namespace, str) else None
        self.targets: Dict[str, str] = {}  # field -> declared type written by the map (for related_*)

    def add(self, where: str, message: str) -> None:
        self.problems.append("%s: %s" % (where, message))

    # -- names

    def in_namespace(self, name: str) -> bool:
        return bool(self.namespace) and (name == self.namespace or name.startswith(self.namespace + "."))

    def check_target(self, where: str, name: Any) -> Optional[ecs_schema.EcsField]:
        """``name`` must be an ECS field or sit under the namespace; returns its ECS spec if any."""
        if not isinstance(name, str) or not name:
            self.add(where, "field name must be a non-empty string, got %r" % (name,))
            return None
        spec = ecs_schema.field(name)
        if spec is not None:
            if spec.type in ("object", "nested"):
                self.add(where, "`%s` is an ECS object, not a field; name one of its fields" % name)
            return spec
        if self.in_namespace(name):
            return None
        if ecs_schema.is_prefix_of_field(name):
            self.add(where, "`%s` is an ECS object, not a field; name one of its fields" % name)
            return None
        suggestions = ecs_schema.nearest_fields(name)
        hint = "; did you mean %s?" % ", ".join(suggestions) if suggestions else ""
        if self.namespace:
            self.add(where, "`%s` is not an ECS %s field and not under the declared namespace `%s`%s"
                     % (name, ecs_schema.ECS_VERSION, self.namespace, hint))
        else:
            self.add(where, "`%s` is not an ECS %s field (and the map declares no namespace)%s"
                     % (name, ecs_schema.ECS_VERSION, hint))
        return None

    def check_painless_path(self, where: str, name: Any) -> bool:
        if isinstance(name, str) and PAINLESS_PATH_RE.match(name):
            return True
        self.add(where, "`%s` cannot be used in a condition or template: use dotted letters, digits and _" % (name,))
        return False

    def check_reserved(self, where: str, name: Any) -> None:
        if name in RESERVED_TARGETS:
            self.add(where, "`%s` is managed by the pipeline itself; do not write it" % name)

    # -- values

    def check_values(self, where: str, name: str, value: Any, document: bool = False) -> None:
        """Constant/categorisation value (or, with ``document``, a value of an output document):
        array shape and allowed/expected values."""
        spec = ecs_schema.field(name)
        if spec is None:
            return
        values = _as_list(value)
        if isinstance(value, list) and not spec.array and not (document and name in DOCUMENT_LIST_FIELDS):
            self.add(where, "`%s` holds one value in ECS, not a list (%s)" % (name, value))
        if not values:
            self.add(where, "`%s` has an empty list" % name)
        if name == "event.kind" and "pipeline_error" in values and not document:
            self.add(where, "event.kind `pipeline_error` is reserved for the pipeline's on_failure handler")
        for item in values:
            if isinstance(item, (Mapping, list)):
                self.add(where, "`%s` value must be a scalar, got %r" % (name, item))
                continue
            if spec.allowed_values and str(item) not in spec.allowed_values:
                self.add(where, "%s value `%s` is not allowed; ECS %s allows %s%s" % (
                    name, item, ecs_schema.ECS_VERSION, ", ".join(spec.allowed_values),
                    _suggest(str(item), spec.allowed_values)))
            elif spec.expected_values and str(item) not in spec.expected_values:
                self.add(where, "%s value `%s` is not one ECS %s expects (%s)%s" % (
                    name, item, ecs_schema.ECS_VERSION, ", ".join(spec.expected_values),
                    _suggest(str(item), spec.expected_values)))
            elif spec.type in ("long", "integer") and (isinstance(item, bool) or not isinstance(item, int)):
                self.add(where, "`%s` is a %s field; `%s` is not an integer" % (name, spec.type, item))
            elif spec.type == "boolean" and not isinstance(item, bool):
                self.add(where, "`%s` is a boolean field; `%s` is not true/false" % (name, item))

    def check_document(self, flat: Mapping[str, Any]) -> None:
        """An output document (dotted leaf names): ECS or namespace names, ECS types and values."""
        for name in sorted(flat):
            where = "field %s" % name
            spec = self.check_target(where, name)
            if spec is None or spec.type in ("object", "nested", "flattened"):
                continue
            self.check_values(where, name, flat[name], document=True)
            for item in _as_list(flat[name]):
                problem = _document_type_problem(spec, item)
                if problem:
                    self.add(where, problem)
        if "event.type" in flat:
            self.check_event_types("event.type", _as_list(flat.get("event.category", [])), _as_list(flat["event.type"]))

    def check_event_types(self, where: str, categories: Sequence[Any], types: Sequence[Any]) -> None:
        if not types:
            return
        cats = [str(c) for c in categories if str(c) in ecs_schema.allowed_values("event.category")]
        if not categories:
            self.add(where, "event.type is set but no event.category is (in the base categorisation or this rule)")
            return
        for event_type in types:
            if not cats or any(str(event_type) in ecs_schema.expected_event_types(c) for c in cats):
                continue
            expected = sorted({t for c in cats for t in ecs_schema.expected_event_types(c)})
            self.add(where, "event.type `%s` is not expected with event.category %s (ECS expects %s)"
                     % (event_type, ", ".join(cats), ", ".join(expected)))

    def check_when(self, where: str, when: Any) -> None:
        if when is None:
            return
        if not isinstance(when, Mapping) or not when:
            self.add(where, "`when` must be a mapping of field: value (or list of values, or {not: ...})")
            return
        for name, value in when.items():
            self.check_painless_path(where + " when", name)
            inner = value
            if isinstance(value, Mapping):
                if set(value) != {"not"}:
                    self.add(where, "`when.%s` mapping may only hold `not`" % name)
                    continue
                inner = value["not"]
            for item in _as_list(inner):
                if isinstance(item, (Mapping, list)):
                    self.add(where, "`when.%s` values must be scalars" % name)

    def check_keys(self, where: str, entry: Mapping[str, Any], allowed: Sequence[str]) -> None:
        for key in entry:
            if key not in allowed:
                self.add(where, "unknown key `%s`%s (allowed: %s)"
                         % (key, _suggest(str(key), allowed), ", ".join(allowed)))

    # -- sections

    def run(self) -> List[str]:
        fm = self.fm
        self.check_keys("field map", fm, TOP_LEVEL_KEYS)
        for key in ("vendor", "product"):
            if not isinstance(fm.get(key), str) or not fm.get(key):
                self.add(key, "required, a non-empty string")
        version = fm.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            self.add("version", "required, an integer >= 1 (bump it when the map changes), got %r" % (version,))
        for key in ("name", "description"):
            if key in fm and not isinstance(fm[key], str):
                self.add(key, "must be a string")
        if "keep_original" in fm and not isinstance(fm["keep_original"], bool):
            self.add("keep_original", "must be true or false")
        self.check_namespace()
        self.check_painless_path("source_field", fm.get("source_field", DEFAULT_SOURCE_FIELD))
        self.check_parse()
        self.check_compose()
        self.check_remove()
        self.check_fields()
        self.check_constants()
        self.check_categorisation()
        self.check_related()
        self.check_samples()
        return self.problems

    def check_namespace(self) -> None:
        if "namespace" not in self.fm:
            return
        namespace = self.fm["namespace"]
        if not isinstance(namespace, str) or not NAMESPACE_RE.match(namespace):
            self.add("namespace", "`%s` must be lower-case dotted words such as fortinet.firewall" % (namespace,))
            self.namespace = None
            return
        if namespace.split(".")[0] in ecs_schema.top_level_names():
            self.add("namespace", "`%s` starts with the ECS field set `%s`; pick a vendor name"
                     % (namespace, namespace.split(".")[0]))
            self.namespace = None

    def check_parse(self) -> None:
        raw = self.fm.get("parse")
        if raw is None:
            return
        if not isinstance(raw, (Mapping, list)):
            self.add("parse", "must be one step ({grok: {...}}) or a list of steps")
            return
        for index, (kind, options) in enumerate(parse_steps(self.fm)):
            where = "parse[%d]" % index
            if kind not in PARSE_OPTIONS:
                self.add(where, "each step is a one-key mapping, the key one of %s%s" % (
                    ", ".join(PARSE_OPTIONS), _suggest(kind, tuple(PARSE_OPTIONS))))
                continue
            where = "parse[%d] (%s)" % (index, kind)
            required, optional = PARSE_OPTIONS[kind]
            self.check_keys(where, options, required + optional + COMMON_STEP_OPTIONS)
            for key in required:
                if not options.get(key):
                    self.add(where, "`%s` is required" % key)
            if "field" in options:
                self.check_painless_path(where + " field", options["field"])
            self.check_when(where, options.get("when"))
            getattr(self, "_check_%s" % kind)(where, options)

    def _check_grok(self, where: str, options: Mapping[str, Any]) -> None:
        patterns = options.get("patterns")
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            self.add(where, "`patterns` must be a list of strings")
            return
        definitions = options.get("pattern_definitions") or {}
        if not isinstance(definitions, Mapping):
            self.add(where, "`pattern_definitions` must be a mapping NAME: regex")
        for pattern in patterns:
            for name, suffix in grok_captures(pattern):
                spec = self.check_target("%s capture %s" % (where, name), name)
                if suffix and suffix not in GROK_SUFFIX_FITS:
                    self.add(where, "capture `%s` has type `%s`; grok knows string, int, long, float, double, boolean"
                             % (name, suffix))
                elif suffix and spec is not None and spec.type not in GROK_SUFFIX_FITS[suffix]:
                    self.add(where, "capture `%s:%s` does not fit ECS type %s of %s" % (name, suffix, spec.type, name))

    def _check_dissect(self, where: str, options: Mapping[str, Any]) -> None:
        pattern = options.get("pattern")
        if not isinstance(pattern, str):
            self.add(where, "`pattern` must be a string")
            return
        for key in dissect_keys(pattern):
            self.check_target("%s key %s" % (where, key), key)

    def _check_target_field(self, where: str, options: Mapping[str, Any]) -> None:
        target = options.get("target_field", self.namespace)
        if target is None:
            self.add(where, "`target_field` is required when the map declares no namespace")
        elif not (isinstance(target, str) and self.in_namespace(target)):
            self.add(where, "`target_field` `%s` must be the namespace `%s` or under it: the parsed keys are "
                     "vendor fields" % (target, self.namespace))

    def _check_kv(self, where: str, options: Mapping[str, Any]) -> None:
        self._check_target_field(where, options)

    def _check_json(self, where: str, options: Mapping[str, Any]) -> None:
        self._check_target_field(where, options)

    def _check_csv(self, where: str, options: Mapping[str, Any]) -> None:
        targets = options.get("target_fields")
        if not isinstance(targets, list):
            self.add(where, "`target_fields` must be a list of field names")
            return
        for name in targets:
            self.check_target("%s target %s" % (where, name), name)

    def check_compose(self) -> None:
        entries = self.fm.get("compose") or []
        if not isinstance(entries, list):
            self.add("compose", "must be a list of {to, join, separator}")
            return
        for index, entry in enumerate(entries):
            where = "compose[%d]" % index
            if not isinstance(entry, Mapping):
                self.add(where, "must be a mapping {to, join, separator}")
                continue
            where = "compose[%d] (to: %s)" % (index, entry.get("to"))
            self.check_keys(where, entry, COMPOSE_KEYS)
            self.check_target(where, entry.get("to"))
            self.check_reserved(where, entry.get("to"))
            join = entry.get("join")
            if not isinstance(join, list) or len(join) < 2:
                self.add(where, "`join` must list at least two fields")
            else:
                for name in join:
                    self.check_painless_path(where + " join", name)
            separator = entry.get("separator", " ")
            if not isinstance(separator, str) or "{" in separator or "}" in separator:
                self.add(where, "`separator` must be a string without braces")
            self.check_when(where, entry.get("when"))

    def check_remove(self) -> None:
        entries = self.fm.get("remove") or []
        if not isinstance(entries, list):
            self.add("remove", "must be a list of field names")
            return
        for index, name in enumerate(entries):
            self.check_target("remove[%d]" % index, name)
            self.check_reserved("remove[%d]" % index, name)

    def check_fields(self) -> None:
        entries = self.fm.get("fields") or []
        if not isinstance(entries, list):
            self.add("fields", "must be a list of {from, to, type}")
            return
        unconditional: Set[str] = set()
        for index, entry in enumerate(entries):
            if not isinstance(entry, Mapping):
                self.add("fields[%d]" % index, "must be a mapping {from, to, type}")
                continue
            where = "fields[%d] (from: %s, to: %s)" % (index, entry.get("from"), entry.get("to"))
            self.check_keys(where, entry, FIELD_ENTRY_KEYS)
            source, target = entry.get("from"), entry.get("to")
            if not isinstance(source, str) or not source:
                self.add(where, "`from` is required: the vendor field to read")
            spec = self.check_target(where, target)
            self.check_reserved(where, target)
            self.check_when(where, entry.get("when"))
            if isinstance(target, str):
                if target in unconditional and "when" not in entry:
                    self.add(where, "`%s` is already the target of an unconditional entry" % target)
                if "when" not in entry:
                    unconditional.add(target)
            declared = self.check_field_type(where, entry, spec)
            if source == target and CONVERT_TYPES.get(declared or "keyword") is None and declared != "date":
                self.add(where, "`from` and `to` are the same field and no conversion is asked: drop the entry")
            if isinstance(target, str):
                self.targets[target] = declared or (spec.type if spec else "keyword")
            if declared == "date" and isinstance(source, str):
                self.check_painless_path(where + " from", source)
            if "override" in entry and not isinstance(entry["override"], bool):
                self.add(where, "`override` must be true or false")

    def check_field_type(
        self, where: str, entry: Mapping[str, Any], spec: Optional[ecs_schema.EcsField]
    ) -> Optional[str]:
        """Validate ``type`` (and date options); return the effective conversion type."""
        declared = entry.get("type")
        target = entry.get("to")
        if declared is not None and declared not in DECLARABLE_TYPES:
            self.add(where, "type `%s` is not one of %s%s" % (declared, ", ".join(DECLARABLE_TYPES),
                                                             _suggest(str(declared), DECLARABLE_TYPES)))
            return None
        if spec is not None:
            fits = ECS_TYPE_FITS.get(spec.type, ())
            if declared is not None and declared not in fits:
                if fits:
                    self.add(where, "type `%s` does not match ECS type `%s` of %s (use %s)"
                             % (declared, spec.type, target, " or ".join(fits)))
                else:
                    self.add(where, "ECS field %s is of type `%s`: it cannot take a converted value"
                             % (target, spec.type))
                return None
            declared = declared or (fits[0] if fits else None)
        effective = declared
        date_keys = [k for k in ("formats", "timezone", "locale") if k in entry]
        if effective == "date":
            formats = entry.get("formats", ["ISO8601"])
            if not isinstance(formats, list) or not formats or not all(isinstance(f, str) for f in formats):
                self.add(where, "`formats` must be a non-empty list of date formats")
        elif date_keys:
            self.add(where, "%s only apply to type date" % ", ".join(date_keys))
        return effective

    def check_constants(self) -> None:
        constants = self.fm.get("constants") or {}
        if not isinstance(constants, Mapping):
            self.add("constants", "must be a mapping field: value")
            return
        for name, value in constants.items():
            where = "constants.%s" % name
            self.check_target(where, name)
            self.check_reserved(where, name)
            self.check_values(where, name, value)

    def check_categorisation(self) -> None:
        cat = self.fm.get("categorisation") or {}
        if not isinstance(cat, Mapping):
            self.add("categorisation", "must be a mapping")
            return
        self.check_keys("categorisation", cat, CATEGORISATION_KEYS + ("rules",))
        for name in CATEGORISATION_KEYS:
            if name in cat:
                self.check_values("categorisation.%s" % name, name, cat[name])
        base_categories = _as_list(cat.get("event.category", []))
        self.check_event_types("categorisation", base_categories, _as_list(cat.get("event.type", [])))
        rules = cat.get("rules") or []
        if not isinstance(rules, list):
            self.add("categorisation.rules", "must be a list of {when, set}")
            return
        for index, rule in enumerate(rules):
            where = "categorisation.rules[%d]" % index
            if not isinstance(rule, Mapping):
                self.add(where, "must be a mapping {when, set}")
                continue
            self.check_keys(where, rule, RULE_KEYS)
            if not rule.get("when"):
                self.add(where, "`when` is required (unconditional values go in the base categorisation)")
            self.check_when(where, rule.get("when"))
            assignments = rule.get("set")
            if not isinstance(assignments, Mapping) or not assignments:
                self.add(where, "`set` must be a non-empty mapping field: value")
                continue
            for name, value in assignments.items():
                self.check_target("%s.set.%s" % (where, name), name)
                self.check_reserved("%s.set.%s" % (where, name), name)
                self.check_values("%s.set.%s" % (where, name), name, value)
            categories = base_categories + _as_list(assignments.get("event.category", []))
            self.check_event_types(where, categories, _as_list(assignments.get("event.type", [])))

    def check_related(self) -> None:
        for key, related in RELATED.items():
            sources = self.fm.get(key)
            if sources is None:
                continue
            if not isinstance(sources, list):
                self.add(key, "must be a list of fields")
                continue
            for name in sources:
                where = "%s (%s)" % (key, name)
                if not self.check_painless_path(where, name):
                    continue
                spec = self.check_target(where, name)
                if spec is not None and spec.array:
                    self.add(where, "`%s` is an array field; a template would turn the list into one string" % name)
                wanted = RELATED_SOURCE_TYPES[related]
                field_type = spec.type if spec else self.targets.get(name)
                if wanted and field_type and field_type not in wanted:
                    self.add(where, "`%s` is of type %s; %s takes %s fields"
                             % (name, field_type, related, "/".join(wanted)))

    def check_samples(self) -> None:
        samples = self.fm.get("samples")
        if samples is None:
            return
        if not isinstance(samples, list):
            self.add("samples", "must be a list of {name, message|document, expected}")
            return
        for index, sample in enumerate(samples):
            where = "samples[%d]" % index
            if not isinstance(sample, Mapping):
                self.add(where, "must be a mapping")
                continue
            where = "samples[%d] (%s)" % (index, sample.get("name"))
            self.check_keys(where, sample, SAMPLE_KEYS)
            if not isinstance(sample.get("name"), str):
                self.add(where, "`name` is required")
            if ("message" in sample) == ("document" in sample):
                self.add(where, "give exactly one of `message` (a raw line) or `document` (a source document)")
            if "document" in sample and not isinstance(sample["document"], Mapping):
                self.add(where, "`document` must be a mapping")
            expected = sample.get("expected")
            if not isinstance(expected, Mapping) or not expected:
                self.add(where, "`expected` must be a non-empty mapping of dotted field: value")
                continue
            for name, value in expected.items():
                if name in RESERVED_TARGETS:
                    continue
                self.check_target("%s expected %s" % (where, name), name)
                self.check_values("%s expected %s" % (where, name), name, value)


def field_map_problems(field_map: Any, ecs: str = ecs_schema.ECS_VERSION) -> List[str]:
    """Every conformance problem of ``field_map`` (empty list: conformant)."""
    if str(ecs) != ecs_schema.ECS_VERSION:
        return ["ecs: only ECS %s data is bundled, cannot check against %s" % (ecs_schema.ECS_VERSION, ecs)]
    if not isinstance(field_map, Mapping):
        return ["field map must be a mapping, got %s" % type(field_map).__name__]
    return _Checker(plain(field_map)).run()


def flatten_document(document: Mapping[str, Any], prefix: str = "") -> Dict[str, Any]:
    """Leaf values of a document by dotted name (``{"source": {"ip": x}}`` -> ``{"source.ip": x}``).

    Lists stay values. An empty object holds no field (a ``remove`` can leave ``source: {}``
    behind; Elasticsearch indexes nothing for it), so it has no entry.
    """
    flat: Dict[str, Any] = {}
    for key, value in document.items():
        name = prefix + str(key)
        if isinstance(value, Mapping):
            flat.update(flatten_document(value, name + "."))
        else:
            flat[name] = value
    return flat


def _is_iso_date(value: str) -> bool:
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _document_type_problem(spec: ecs_schema.EcsField, item: Any) -> Optional[str]:
    """Why ``item`` cannot be a value of the ECS field ``spec`` as Elasticsearch would store it (None: it can)."""
    kind = spec.type
    if isinstance(item, (Mapping, list)) or item is None:
        return None  # reported by check_values (scalars only) or absent
    if kind in ECS_TYPE_FITS and ECS_TYPE_FITS[kind][0] == "keyword" and not isinstance(item, str):
        return "`%s` is a %s field; %r is not a string" % (spec.name, kind, item)
    if kind in ("float", "double", "scaled_float", "half_float") and (
            isinstance(item, bool) or not isinstance(item, (int, float))):
        return "`%s` is a %s field; %r is not a number" % (spec.name, kind, item)
    if kind == "ip":
        try:
            ipaddress.ip_address(item if isinstance(item, str) else "")
        except ValueError:
            return "`%s` is an ip field; %r is not an IPv4 or IPv6 address" % (spec.name, item)
    if kind == "date" and not (isinstance(item, str) and _is_iso_date(item)):
        return "`%s` is a date field; %r is not an ISO 8601 date" % (spec.name, item)
    return None


def ecs_document_problems(document: Mapping[str, Any], namespace: Optional[str] = None) -> List[str]:
    """Every ECS problem of one document as a pipeline outputs it (nested or dotted names).

    Each field must be an ECS field (or under ``namespace``), hold a value of its ECS type
    (strings for keyword fields, integers for long, a valid address for ip, ISO 8601 for
    date), respect ``allowed_values``/``expected_values`` and the event.type expected with
    its event.category, and be a list only where ECS keeps an array (``error.message``
    excepted: on_failure handlers append to it, as Elastic's own pipelines do).
    """
    checker = _Checker({"namespace": namespace} if namespace else {})
    if namespace and not NAMESPACE_RE.match(namespace):
        return ["namespace `%s` must be lower-case dotted words" % namespace]
    checker.check_document(flatten_document(plain(document)))
    return checker.problems


def describe(field_map: Any) -> str:
    if isinstance(field_map, Mapping):
        return "field map %s %s" % (field_map.get("vendor", "?"), field_map.get("product", "?"))
    return "field map"


def ecs_conformance(field_map: Mapping[str, Any], ecs: str = ecs_schema.ECS_VERSION) -> Mapping[str, Any]:
    """Return ``field_map`` unchanged if it conforms to ECS ``ecs``; else fail listing every problem."""
    problems = field_map_problems(field_map, ecs)
    if problems:
        raise AnsibleFilterError("%s does not conform to ECS %s (%d problem%s):\n- %s" % (
            describe(field_map), ecs, len(problems), "" if len(problems) == 1 else "s", "\n- ".join(problems)))
    return field_map


# --------------------------------------------------------------------------- pipeline


class _Builder:
    """Emits processors in a fixed order; tags are unique and say what each processor does."""

    def __init__(self, field_map: Dict[str, Any]):
        self.fm = field_map
        self.namespace: Optional[str] = field_map.get("namespace")
        self.processors: List[Dict[str, Any]] = []
        self.tags: Set[str] = set()

    def tag(self, *parts: str) -> str:
        base = re.sub(r"[^a-z0-9]+", "_", "_".join(parts).lower()).strip("_")
        tag, counter = base, 2
        while tag in self.tags:
            tag, counter = "%s_%d" % (base, counter), counter + 1
        self.tags.add(tag)
        return tag

    def emit(self, kind: str, options: Dict[str, Any], tag: str, condition: Optional[str] = None) -> None:
        body = dict(options)
        body["tag"] = tag
        if condition:
            body["if"] = condition
        self.processors.append({kind: body})

    def assign(self, field: str, value: Any, tag: str, condition: Optional[str] = None) -> None:
        """``set`` one value, or ``append`` without duplicates for fields ECS keeps as arrays."""
        if ecs_schema.is_array(field):
            self.emit("append", {"field": field, "value": _as_list(value), "allow_duplicates": False}, tag, condition)
        else:
            self.emit("set", {"field": field, "value": value}, tag, condition)

    def failure_note(self) -> List[Dict[str, Any]]:
        return [{"append": {"field": "error.message", "value": FAILURE_MESSAGE}}]

    def build(self) -> Dict[str, Any]:
        fm = self.fm
        source = fm.get("source_field", DEFAULT_SOURCE_FIELD)
        self.emit("set", {"field": "ecs.version", "value": ecs_schema.ECS_VERSION}, self.tag("set_ecs_version"))
        # a template rather than `copy_from` (Elasticsearch 7.11+, not in OpenSearch): the raw line is a
        # string, and a string renders to itself, so both engines keep it unchanged
        self.emit("set", {"field": "event.original", "value": mustache(source)},
                  self.tag("keep_event_original"),
                  "ctx.event?.original == null && %s != null" % painless_path(source))
        for kind, options in parse_steps(fm):
            self.parse_step(kind, options, source)
        for entry in fm.get("compose") or []:
            self.compose(entry)
        if fm.get("remove"):
            self.emit("remove", {"field": list(fm["remove"]), "ignore_missing": True}, self.tag("remove_parsed"))
        for entry in fm.get("fields") or []:
            self.field(entry)
        for name, value in (fm.get("constants") or {}).items():
            self.assign(name, value, self.tag("set", name))
        self.categorise(fm.get("categorisation") or {})
        for key, related in RELATED.items():
            for name in fm.get(key) or []:
                self.emit("append", {"field": related, "value": [mustache(name)], "allow_duplicates": False},
                          self.tag(related, "from", name), painless_condition(None, [name]))
        if not fm.get("keep_original", True):
            self.emit("remove", {"field": "event.original", "ignore_missing": True}, self.tag("drop_event_original"))
        body: Dict[str, Any] = {
            "description": fm.get("description") or "%s %s logs to ECS %s" % (
                fm["vendor"], fm["product"], ecs_schema.ECS_VERSION),
            "version": fm["version"],
            "processors": self.processors,
            "on_failure": [
                {"set": {"field": "event.kind", "value": "pipeline_error", "tag": "on_failure_event_kind"}},
                {"append": {"field": "error.message", "value": FAILURE_MESSAGE, "tag": "on_failure_error_message"}},
            ],
            "_meta": {
                "managed_by": MANAGED_BY,
                "vendor": fm["vendor"],
                "product": fm["product"],
                "ecs_version": ecs_schema.ECS_VERSION,
            },
        }
        body["_meta"]["vigil_hash"] = pipeline_hash(body)
        return body

    def parse_step(self, kind: str, options: Dict[str, Any], source: str) -> None:
        body: Dict[str, Any] = {"field": options.pop("field", source)}
        condition = painless_condition(options.pop("when", None))
        if kind in ("kv", "json") and "target_field" not in options:
            body["target_field"] = self.namespace
        body.update(options)
        self.emit(kind, body, self.tag("parse", kind, body["field"]), condition)

    def compose(self, entry: Mapping[str, Any]) -> None:
        separator = entry.get("separator", " ")
        value = separator.join(mustache(name) for name in entry["join"])
        self.emit("set", {"field": entry["to"], "value": value}, self.tag("compose", entry["to"]),
                  painless_condition(entry.get("when"), entry["join"]))

    def conversion(self, entry: Mapping[str, Any]) -> Optional[str]:
        declared = entry.get("type")
        spec = ecs_schema.field(entry["to"])
        if declared is None and spec is not None:
            fits = ECS_TYPE_FITS.get(spec.type, ())
            declared = fits[0] if fits else None
        return declared

    def field(self, entry: Mapping[str, Any]) -> None:
        source, target = entry["from"], entry["to"]
        conversion = self.conversion(entry)
        if conversion == "date":
            options: Dict[str, Any] = {"field": source, "target_field": target,
                                       "formats": list(entry.get("formats", ["ISO8601"]))}
            for key in ("timezone", "locale"):
                if key in entry:
                    options[key] = entry[key]
            options["on_failure"] = self.failure_note()
            self.emit("date", options, self.tag("date", target), painless_condition(entry.get("when"), [source]))
            return
        condition = painless_condition(entry.get("when"))
        if source != target:
            if entry.get("override"):
                # what rename's `override` (Elasticsearch 8.13+ only) does, in a form every version accepts:
                # drop the value already there, but only when there is a new one to put in its place
                self.emit("remove", {"field": target, "ignore_missing": True}, self.tag("clear", target),
                          painless_condition(entry.get("when"), [source]))
            options = {"field": source, "target_field": target, "ignore_missing": True}
            self.emit("rename", options, self.tag("rename", source), condition)
            # the rename may have moved a field the condition reads: convert whatever landed in target
            condition = None
        convert = CONVERT_TYPES.get(conversion or "keyword")
        if convert:
            on_failure = self.failure_note() + [{"remove": {"field": target, "ignore_missing": True}}]
            self.emit("convert", {"field": target, "type": convert, "ignore_missing": True,
                                  "on_failure": on_failure}, self.tag("convert", target), condition)

    def categorise(self, cat: Mapping[str, Any]) -> None:
        for name in CATEGORISATION_KEYS:
            if name in cat:
                self.assign(name, cat[name], self.tag("set", name))
        for index, rule in enumerate(cat.get("rules") or []):
            condition = painless_condition(rule["when"])
            for name, value in rule["set"].items():
                self.assign(name, value, self.tag("rule", str(index), name), condition)


def ecs_pipeline(field_map: Mapping[str, Any]) -> Dict[str, Any]:
    """Ingest pipeline body (description, version, processors, on_failure, _meta) for ``field_map``."""
    ecs_conformance(field_map)
    return _Builder(plain(field_map)).build()


def ecs_pipeline_name(field_map: Mapping[str, Any]) -> str:
    """Name to store the pipeline under: the map's ``name`` or ``vigil-ecs-<vendor>-<product>``."""
    if not isinstance(field_map, Mapping):
        raise AnsibleFilterError("ecs_pipeline_name expects a field map (a mapping), got %s" % type(field_map).__name__)
    return pipeline_name(plain(field_map))


def simulate_samples(field_map: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """The map's ``samples`` as the upload module's ``simulate_samples``: ``{document, expected}`` items.

    A ``message`` sample becomes the document ``{"message": <line>}``.
    """
    source = str(field_map.get("source_field", DEFAULT_SOURCE_FIELD))
    result = []
    for sample in plain(field_map).get("samples") or []:
        if "document" in sample:
            document = sample["document"]
        else:
            document = {}
            _put(document, source, sample["message"])
        result.append({"document": document, "expected": dict(sample["expected"])})
    return result


def _put(document: Dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for part in parts[:-1]:
        document = document.setdefault(part, {})
    document[parts[-1]] = value


def ecs_simulate_samples(field_map: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """Filter form of :func:`simulate_samples` (fails on a map whose samples are malformed)."""
    if not isinstance(field_map, Mapping):
        raise AnsibleFilterError("ecs_simulate_samples expects a field map (a mapping), got %s"
                                 % type(field_map).__name__)
    problems = [p for p in field_map_problems(field_map) if p.startswith("samples")]
    if problems:
        raise AnsibleFilterError("%s has malformed samples:\n- %s" % (describe(field_map), "\n- ".join(problems)))
    return simulate_samples(field_map)


def _unsafe(function: Callable[..., Any]) -> Callable[..., Any]:
    """Mark results as not-a-template so ``{{{_ingest...}}}`` survives later templating on every core."""
    from ansible.utils.unsafe_proxy import wrap_var

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return wrap_var(function(*args, **kwargs))

    wrapper.__name__ = function.__name__
    wrapper.__doc__ = function.__doc__
    return wrapper


class FilterModule:
    """ECS field maps: conformance check and ingest pipeline rendering."""

    def filters(self) -> Dict[str, Callable[..., Any]]:
        return {
            "ecs_pipeline": _unsafe(ecs_pipeline),
            "ecs_conformance": ecs_conformance,
            "ecs_pipeline_name": ecs_pipeline_name,
            "ecs_simulate_samples": _unsafe(ecs_simulate_samples),
        }
