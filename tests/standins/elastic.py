"""In-process fakes of Elasticsearch and Kibana, following Elastic's documented behaviour.

``FakeElasticsearch``: ingest pipelines (PUT/GET/DELETE and ``_simulate`` with a small
processor engine: set, rename, remove, lowercase, uppercase, convert, append, fail,
plus per-processor and pipeline ``on_failure``), ILM policies and composable index
templates. Missing objects answer 404; request bodies that Elasticsearch's published
specification rejects answer 400 as Elasticsearch does (``spec_check.py``, checked
before anything else, as Elasticsearch's REST layer parses a body before the action is
authorised); pipelines and templates carry the server-managed
``created_date``/``modified_date`` fields Elasticsearch 9.2+ adds.

``FakeKibana``: alerting rules (``/api/alerting/rule``), detection engine rules
(``/api/detection_engine/rules``), connectors (``/api/actions/connector``), Fleet
agent policies, package policies and enrollment API keys. Every non-GET request
without ``kbn-xsrf`` answers 400 as Kibana does, and so does a body that the facts
recorded from Kibana's OpenAPI document reject (``spec/kibana_requests.json``);
``/s/<space>/`` prefixes select a space; objects are stored per space.

Both fakes can require one ``Authorization`` header value (``expected_auth``) and can
answer the next N requests with an HTTP error (``fail_next``) to exercise retries.

With security on (``FakeElasticsearch(elastic_password=...)``; ``FakeKibana(security=es)``
shares that cluster's users), every request must authenticate as a native user or an
API key, is authorised against the caller's privileges (standins/elastic_security.py), and
records who it was in ``Request.auth``; the Elasticsearch fake then also serves the
``_security`` APIs, ``POST <target>/_doc`` and ``<target>/_search``.
"""

from __future__ import annotations

import base64
import copy
import fnmatch
import io
import itertools
import json
import re
import tarfile
import uuid
import zipfile
from typing import Any, Callable, Dict, List, Optional, Tuple

from standins.base import FakeApi, Request
from standins.elastic_security import Principal, SecurityRealm
from standins.spec_check import Spec, Violation, json_type

Answer = Tuple[int, Any]


def module_failure(run_module: Callable[..., Any], module: Any, args: Dict[str, Any], **kwargs: Any) -> Dict[str, Any]:
    """Run a module that must fail; return its fail_json result.

    The ``run_module`` fixture raises ``ModuleFail`` from tests/unit/conftest.py. That
    class is not imported here: when unit and integration tests run in one pytest
    invocation, ``import conftest`` may resolve to tests/integration/conftest.py.
    """
    try:
        result = run_module(module, args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - ModuleFail, recognised by its result
        outcome = getattr(exc, "result", None)
        if type(exc).__name__ == "ModuleFail" and isinstance(outcome, dict) and outcome.get("failed"):
            return outcome
        raise
    raise AssertionError("the module did not fail; it returned %r" % (result,))


UUID_V1_V4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[14][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.I)


class ElasticFake(FakeApi):
    """Fault injection and authentication shared by both fakes."""

    def __init__(self, expected_auth: Optional[str] = None) -> None:
        super().__init__()
        self.expected_auth = expected_auth
        self._faults: List[Answer] = []
        self._clock = itertools.count(1)
        self.init_state()

    def init_state(self) -> None:  # pragma: no cover - overridden
        """(Re)create the stored objects."""

    def reset(self, expected_auth: Optional[str] = None) -> "ElasticFake":
        """Forget everything (objects, requests, faults): one server can serve many tests."""
        with self.lock:
            self.requests.clear()
            self._faults.clear()
            self.expected_auth = expected_auth
            self.init_state()
        return self

    def fail_next(self, count: int, status: int = 503, body: Any = None) -> None:
        """Answer the next ``count`` requests with ``status``."""
        self._faults.extend([(status, body if body is not None else {"error": "unavailable"})] * count)

    def now(self) -> Tuple[str, int]:
        tick = next(self._clock)
        return "2026-01-01T00:00:%02d.000Z" % (tick % 60), 1767225600000 + tick * 1000

    def realm(self) -> Optional[SecurityRealm]:
        """The users, roles and API keys requests authenticate against; None: security off."""
        return None

    def handle(self, req: Request) -> Answer:
        if self._faults:
            return self._faults.pop(0)
        if self.expected_auth is not None and req.headers.get("authorization") != self.expected_auth:
            return self.unauthorized()
        realm = self.realm()
        if realm is not None:
            principal = realm.authenticate(req.headers.get("authorization"))
            if principal is None:
                return self.unauthorized()
            req.auth = principal.label
            req.principal = principal  # type: ignore[attr-defined]
        return self.route(req)

    def by_identity(self) -> Dict[Optional[str], List[Request]]:
        """Requests grouped by who they authenticated as (``Request.auth``)."""
        out: Dict[Optional[str], List[Request]] = {}
        for req in self.requests:
            out.setdefault(req.auth, []).append(req)
        return out

    def unauthorized(self) -> Answer:  # pragma: no cover - overridden
        return 401, None

    def route(self, req: Request) -> Answer:  # pragma: no cover - abstract
        raise NotImplementedError


# ======================================================================================
# Elasticsearch
# ======================================================================================

ES_SPEC = Spec.load("elasticsearch_requests.json")


def es_operation(method: str, parts: List[str]) -> Optional[str]:
    """The specification's name (``METHOD /path/{param}``) of a call whose body the fake checks."""
    if method == "POST" and parts == ["_ingest", "pipeline", "_simulate"]:
        return "POST /_ingest/pipeline/_simulate"
    shapes = {
        ("PUT", "_ingest", "pipeline", None): "PUT /_ingest/pipeline/{id}",
        ("PUT", "_ilm", "policy", None): "PUT /_ilm/policy/{policy}",
        ("PUT", "_security", "role", None): "PUT /_security/role/{name}",
        ("PUT", "_security", "user", None): "PUT /_security/user/{username}",
        ("POST", "_security", "user", None): "PUT /_security/user/{username}",
        ("PUT", "_security", "api_key", None): "PUT /_security/api_key/{id}",
    }
    if len(parts) == 3 and (method,) + tuple(parts[:2]) + (None,) in shapes:
        return shapes[(method,) + tuple(parts[:2]) + (None,)]
    if method == "PUT" and len(parts) == 2 and parts[0] == "_index_template":
        return "PUT /_index_template/{name}"
    if method in ("PUT", "POST") and len(parts) == 2 and parts[0] == "_component_template":
        return "PUT /_component_template/{name}"
    if method in ("PUT", "POST") and len(parts) == 2 and parts[0] == "_snapshot":
        return "PUT /_snapshot/{repository}"
    if method == "PUT" and len(parts) == 3 and parts[:2] == ["_slm", "policy"]:
        return "PUT /_slm/policy/{policy_id}"
    if method in ("POST", "PUT") and len(parts) == 4 and parts[:2] == ["_security", "user"] and parts[3] == "_password":
        return "POST /_security/user/{username}/_password"
    if method in ("POST", "PUT") and parts == ["_security", "api_key"]:
        return "POST /_security/api_key"
    if method == "DELETE" and parts == ["_security", "api_key"]:
        return "DELETE /_security/api_key"
    if method == "PUT" and parts == ["_cluster", "settings"]:
        return "PUT /_cluster/settings"
    return None


# What Elasticsearch answers for a body its parser rejects: ingest pipeline definitions
# are read by ConfigurationUtils (``parse_exception``); the other request bodies by
# x-content object parsers (``x_content_parse_exception``; an unknown enum constant is an
# ``illegal_argument_exception``).
def es_spec_error(operation: str, violation: Violation) -> Answer:
    where = violation.where or operation.split(" ", 1)[1]
    reason = "[%s] %s" % (where, violation.detail)
    if "/_ingest/pipeline" in operation:
        processor = re.search(r"(?:processors|on_failure)\[\d+\]\.(\w+)$", violation.where)
        if violation.kind == "count" and violation.keys:
            reason = "No processor type exists with name [%s]" % violation.keys[0]
        elif violation.kind == "unknown" and processor:
            reason = "processor [%s] doesn't support one or more provided configuration parameters [%s]" % (
                processor.group(1), violation.detail[len("unknown field ["):-1])
        return es_error(400, "parse_exception", reason)
    if violation.kind == "enum":
        return es_error(400, "illegal_argument_exception", reason)
    return es_error(400, "x_content_parse_exception", reason)


def es_error(status: int, etype: str, reason: str) -> Answer:
    cause = {"type": etype, "reason": reason}
    return status, {"error": {"root_cause": [cause], "type": etype, "reason": reason}, "status": status}


class ProcessorError(Exception):
    def __init__(self, etype: str, reason: str):
        super().__init__(reason)
        self.etype = etype
        self.reason = reason


class ParseError(Exception):
    pass


class Dropped(Exception):
    pass


MISSING = object()


def get_path(doc: Dict[str, Any], path: str) -> Any:
    if path in doc:
        return doc[path]
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def set_path(doc: Dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = doc
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def remove_path(doc: Dict[str, Any], path: str) -> bool:
    if path in doc:
        del doc[path]
        return True
    parts = path.split(".")
    node: Any = doc
    for part in parts[:-1]:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    if isinstance(node, dict) and parts[-1] in node:
        del node[parts[-1]]
        return True
    return False


def render(template: Any, doc: Dict[str, Any], meta: Dict[str, Any]) -> Any:
    if not isinstance(template, str) or "{{" not in template:
        return template

    def sub(match: "re.Match[str]") -> str:
        key = match.group(1).strip()
        if key.startswith("_ingest."):
            value = meta.get(key[len("_ingest.") :], "")
        else:
            value = get_path(doc, key)
        return "" if value is MISSING else str(value)

    return re.sub(r"\{\{\{?([^{}]+?)\}?\}\}", sub, template)


PROCESSOR_FIELDS = {
    "set": ({"field"}, {"value", "copy_from", "override", "ignore_empty_value"}),
    "rename": ({"field", "target_field"}, {"ignore_missing", "override"}),
    "remove": ({"field"}, {"ignore_missing"}),
    "lowercase": ({"field"}, {"ignore_missing", "target_field"}),
    "uppercase": ({"field"}, {"ignore_missing", "target_field"}),
    "convert": ({"field", "type"}, {"ignore_missing", "target_field"}),
    "append": ({"field", "value"}, {"allow_duplicates"}),
    "fail": ({"message"}, set()),
    "drop": (set(), set()),
    # Accepted on PUT with the options Elasticsearch's processor reference documents; not
    # simulated (SIMULATED below): _simulate fails a sample that reaches one.
    "csv": ({"field", "target_fields"}, {"separator", "quote", "ignore_missing", "trim", "empty_value"}),
    "date": ({"field", "formats"}, {"target_field", "timezone", "locale", "output_format"}),
    "grok": ({"field", "patterns"}, {"pattern_definitions", "ecs_compatibility", "trace_match", "ignore_missing"}),
    "json": ({"field"}, {"target_field", "add_to_root", "add_to_root_conflict_strategy", "allow_duplicate_keys",
                         "strict_json_parsing"}),  # fmt: skip
    "kv": ({"field", "field_split", "value_split"}, {"target_field", "include_keys", "exclude_keys", "ignore_missing",
                                                     "prefix", "trim_key", "trim_value", "strip_brackets"}),  # fmt: skip
}
SIMULATED = {"set", "rename", "remove", "lowercase", "uppercase", "convert", "append", "fail", "drop"}
# Every processor accepts these, as in Elasticsearch. ``if`` (a Painless condition) is
# accepted on PUT, but _simulate cannot evaluate it: such a processor fails the sample.
COMMON_PROCESSOR_FIELDS = {"tag", "description", "ignore_failure", "on_failure", "if"}


def parse_processors(processors: Any, where: str = "processors") -> None:
    if not isinstance(processors, list):
        raise ParseError("[%s] property isn't a list, but of type [%s]" % (where, type(processors).__name__))
    for proc in processors:
        if not isinstance(proc, dict) or len(proc) != 1:
            raise ParseError("processor must be an object with exactly one processor type")
        ((ptype, config),) = proc.items()
        if ptype not in PROCESSOR_FIELDS:
            raise ParseError("No processor type exists with name [%s]" % ptype)
        if not isinstance(config, dict):
            raise ParseError("[%s] processor config must be an object" % ptype)
        required, optional = PROCESSOR_FIELDS[ptype]
        for field in sorted(required):
            if field not in config:
                raise ParseError("[%s] required property is missing" % field)
        if ptype == "set" and "value" not in config and "copy_from" not in config:
            raise ParseError("[value] required property is missing")
        unknown = set(config) - required - optional - COMMON_PROCESSOR_FIELDS
        if unknown:
            raise ParseError(
                "processor [%s] doesn't support one or more provided configuration parameters %s"
                % (ptype, sorted(unknown))
            )
        if "on_failure" in config:
            parse_processors(config["on_failure"], "on_failure")


def run_processor(ptype: str, config: Dict[str, Any], doc: Dict[str, Any], meta: Dict[str, Any]) -> None:
    if "if" in config:
        raise ProcessorError("fake_limitation", "the fake cannot evaluate the condition of processor [%s]" % ptype)
    if ptype not in SIMULATED:
        raise ProcessorError("fake_limitation", "the fake cannot run processor [%s]" % ptype)
    field = config.get("field")
    if ptype == "set":
        value = get_path(doc, config["copy_from"]) if "copy_from" in config else render(config["value"], doc, meta)
        if config.get("override", True) or get_path(doc, field) in (MISSING, None):
            set_path(doc, field, copy.deepcopy(value))
    elif ptype == "rename":
        value = get_path(doc, field)
        if value is MISSING:
            if config.get("ignore_missing"):
                return
            raise ProcessorError("illegal_argument_exception", "field [%s] doesn't exist" % field)
        if get_path(doc, config["target_field"]) is not MISSING and not config.get("override"):
            raise ProcessorError("illegal_argument_exception", "field [%s] already exists" % config["target_field"])
        remove_path(doc, field)
        set_path(doc, config["target_field"], value)
    elif ptype == "remove":
        for name in field if isinstance(field, list) else [field]:
            if not remove_path(doc, name) and not config.get("ignore_missing"):
                raise ProcessorError(
                    "illegal_argument_exception", "field [%s] not present as part of path [%s]" % (name, name)
                )
    elif ptype in ("lowercase", "uppercase", "convert"):
        value = get_path(doc, field)
        if value in (MISSING, None):
            if config.get("ignore_missing"):
                return
            raise ProcessorError(
                "illegal_argument_exception", "field [%s] not present as part of path [%s]" % (field, field)
            )
        set_path(doc, config.get("target_field", field), transform(ptype, config, value, field))
    elif ptype == "append":
        current = get_path(doc, field)
        values = config["value"] if isinstance(config["value"], list) else [config["value"]]
        merged = ([] if current is MISSING else (current if isinstance(current, list) else [current])) + [
            render(v, doc, meta) for v in values
        ]
        set_path(doc, field, merged)
    elif ptype == "fail":
        raise ProcessorError("fail_processor_exception", render(config["message"], doc, meta))
    elif ptype == "drop":
        raise Dropped()


def transform(ptype: str, config: Dict[str, Any], value: Any, field: str) -> Any:
    if ptype == "lowercase":
        return value.lower()
    if ptype == "uppercase":
        return value.upper()
    target = config["type"]
    try:
        if target == "integer":
            return int(value)
        if target == "float":
            return float(value)
        if target == "string":
            return str(value)
        if target == "boolean":
            if str(value).lower() not in ("true", "false"):
                raise ValueError(value)
            return str(value).lower() == "true"
    except ValueError as err:
        raise ProcessorError("illegal_argument_exception", "unable to convert [%s] to %s" % (value, target)) from err
    raise ProcessorError("illegal_argument_exception", "type [%s] not supported" % target)


def run_processors(processors: List[Dict[str, Any]], doc: Dict[str, Any], meta: Dict[str, Any]) -> None:
    for proc in processors:
        ((ptype, config),) = proc.items()
        try:
            run_processor(ptype, config, doc, meta)
        except ProcessorError as err:
            if config.get("on_failure"):
                meta.update(on_failure_message=err.reason, on_failure_processor_type=ptype)
                run_processors(config["on_failure"], doc, meta)
            elif not config.get("ignore_failure"):
                raise


PIPELINE_KEYS = {"description", "processors", "on_failure", "version", "_meta", "deprecated"}
ES_DATE_FIELDS = ("created_date", "created_date_millis", "modified_date", "modified_date_millis")
ILM_PHASES = ("hot", "warm", "cold", "frozen", "delete")
TEMPLATE_KEYS = {
    "index_patterns",
    "composed_of",
    "template",
    "priority",
    "version",
    "_meta",
    "data_stream",
    "allow_auto_create",
    "ignore_missing_component_templates",
    "deprecated",
}


# Component templates an Elasticsearch 8.17 node installs itself (the stack templates of
# x-pack-core's StackTemplateRegistry and the ECS mappings): index templates may compose
# them without listing them under ignore_missing_component_templates.
BUILTIN_COMPONENT_TEMPLATES = frozenset({
    "logs@mappings", "logs@settings", "metrics@mappings", "metrics@settings", "metrics@tsdb-settings",
    "ecs@mappings", "data-streams@mappings", "synthetics@mappings", "synthetics@settings",
})
# Repository types an 8.17 node knows (fs and url built in; s3, azure and gcs are modules
# of the default distribution; source wraps another type).
REPOSITORY_TYPES = ("fs", "url", "s3", "azure", "gcs", "source")
# SLM cron schedules: Elasticsearch's Cron takes 6 or 7 fields (seconds first, optional year).
CRON_FIELDS = (6, 7)


def flat_settings(settings: Dict[str, Any], prefix: str = "") -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for key, value in settings.items():
        full = "%s.%s" % (prefix, key) if prefix else key
        if isinstance(value, dict):
            out.update(flat_settings(value, full))
        else:
            out[full] = value
    return out


def as_setting(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [as_setting(v) for v in value]
    return str(value)


def nest_settings(flat: Dict[str, Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for key, value in flat.items():
        set_path(out, key, value)
    return out


# ======================================================================================
# Elasticsearch: the read-only monitoring endpoints
# ======================================================================================
# What a monitoring client such as prometheus-elasticsearch-exporter reads (GET only):
# ``/``, ``/_cluster/health``, ``/_cluster/settings`` (``include_defaults``,
# ``flat_settings``), ``/_nodes[/<node>]/stats``, ``[/<target>]/_stats``,
# ``/_data_stream[/<name>]/_stats``, ``/_cat/shards?format=json`` and ``/_alias``, with
# the fields and types of Elasticsearch 8's documented responses. The cluster they
# describe is ``self.monitoring`` (see ``default_monitoring``): tests change it in
# place. The newest backing index of each data stream receives ``docs_per_minute``
# documents a minute of ``self.clock`` (0: the stream's ingestion has stopped).

MONITORING_SETTING_DEFAULTS = {
    # Elasticsearch 8's defaults for the settings a monitoring client reads.
    "cluster.max_shards_per_node": "1000",
    "cluster.routing.allocation.enable": "all",
    "cluster.routing.allocation.disk.threshold_enabled": "true",
    "cluster.routing.allocation.disk.watermark.enable_for_single_data_node": "true",
    "cluster.routing.allocation.disk.watermark.low": "85%",
    "cluster.routing.allocation.disk.watermark.low.max_headroom": "200GB",
    "cluster.routing.allocation.disk.watermark.high": "90%",
    "cluster.routing.allocation.disk.watermark.high.max_headroom": "150GB",
    "cluster.routing.allocation.disk.watermark.flood_stage": "95%",
    "cluster.routing.allocation.disk.watermark.flood_stage.max_headroom": "100GB",
    "cluster.routing.allocation.disk.watermark.flood_stage.frozen": "95%",
    "cluster.routing.allocation.disk.watermark.flood_stage.frozen.max_headroom": "20GB",
}
WATERMARK_PREFIX = "cluster.routing.allocation.disk.watermark."
DATA_ROLES = ("data", "data_content", "data_hot", "data_warm", "data_cold", "data_frozen")
GIB = 1024**3


def default_monitoring() -> Dict[str, Any]:
    """A small healthy cluster: one node, two log data streams receiving documents."""
    return {
        "cluster_name": "vigil",
        "cluster_uuid": "VgL0sTnDQ3ymJ2yq2rY4Ew",
        "version": "8.17.0",
        "lucene_version": "9.12.0",
        "status": "green",
        "relocating_shards": 0,
        "initializing_shards": 0,
        "unassigned_shards": 0,
        "delayed_unassigned_shards": 0,
        "number_of_pending_tasks": 0,
        "nodes": [
            {
                "id": "Xh3oDq5LR2W7l9b0mZkP1g",
                "name": "es-1",
                "ip": "127.0.0.1",
                "roles": ["data_content", "data_hot", "ingest", "master"],
                "path": "/var/lib/elasticsearch",
                "mount": "/ (overlay)",
                "total_bytes": 100 * GIB,
                "available_bytes": 60 * GIB,
            }
        ],
        # Data streams: name, backing index date and count (generation), documents in
        # each older backing index and in the write index at the start, growth rate.
        "data_streams": [
            {"name": "logs-system.syslog-default", "date": "2026.01.01", "generation": 2,
             "docs": 1000, "docs_per_minute": 60},
            {"name": "logs-vigil.linux_auth-default", "date": "2026.01.01", "generation": 1,
             "docs": 250, "docs_per_minute": 12},
        ],
        "indices": [],  # plain indices: [{"name": ..., "docs": ...}]
        "bytes_per_doc": 512,
        "replicas": 0,
        # Explicit cluster settings, flat: {"cluster.routing.allocation.disk.watermark.high": "92%"}.
        "persistent": {},
        "transient": {},
    }


def structured_settings(flat: Dict[str, Any]) -> Dict[str, Any]:
    """Flat settings as Elasticsearch nests them without ``flat_settings``.

    Keys are taken in sorted order; a key that is both a value and the prefix of
    others keeps its value and the others stay dotted at that level
    (``"high": "90%", "high.max_headroom": "150GB"``), and a prefix without a value of its
    own becomes an object (``"high": {"max_headroom": "-1"}``), as Elasticsearch does.
    """
    out: Dict[str, Any] = {}
    for key in sorted(flat):
        _place_setting(out, "", key, flat[key])
    return out


def _place_setting(level: Dict[str, Any], prefix: str, key: str, value: Any) -> None:
    head, dot, rest = key.partition(".")
    if not dot:
        inner = level.get(prefix + key)
        if isinstance(inner, dict):
            # It was a prefix and now holds a value: its keys go back to dotted notation.
            for sub, sub_value in inner.items():
                level["%s%s.%s" % (prefix, key, sub)] = sub_value
        level[prefix + key] = value
        return
    existing = level.get(prefix + head)
    if existing is None:
        nested: Dict[str, Any] = {}
        _place_setting(nested, "", rest, value)
        level[prefix + head] = nested
    elif isinstance(existing, dict):
        _place_setting(existing, "", rest, value)
    else:
        # The prefix holds a value: the rest stays dotted at this level.
        _place_setting(level, prefix + head + ".", rest, value)


class ClusterMonitoring:
    """The monitoring endpoints of FakeElasticsearch (mixed into it)."""

    monitoring: Dict[str, Any]
    clock: Callable[[], float]

    def init_monitoring(self) -> None:
        # kept out of the shared import block
        import time  # pylint: disable=import-outside-toplevel

        self.monitoring = default_monitoring()
        self.clock = time.time
        self.monitoring_started = self.clock()

    # -- routing ------------------------------------------------------------------------
    def monitoring_route(self, req: Request) -> Optional[Answer]:
        """Answer a monitoring read; None for any other request."""
        if req.method not in ("GET", "HEAD"):
            return None
        parts = [p for p in req.path.split("/") if p]
        if not parts:
            return 200, self.info()
        if parts == ["_cluster", "health"]:
            return 200, self.cluster_health()
        if parts == ["_cluster", "settings"]:
            return 200, self.cluster_settings(self._flag(req, "include_defaults"), self._flag(req, "flat_settings"))
        if parts[0] == "_nodes" and parts[-1] == "stats" and len(parts) in (2, 3):
            return self.nodes_stats(parts[1] if len(parts) == 3 else "_all")
        if parts[-1] == "_stats" and len(parts) <= 2 and parts[0] != "_data_stream" and not parts[0].startswith("_nodes"):
            return self.index_stats(parts[0] if len(parts) == 2 else "_all", self._param(req, "level") == "shards")
        if parts[0] == "_data_stream" and parts[-1] == "_stats" and len(parts) in (2, 3):
            return self.data_stream_stats(parts[1] if len(parts) == 3 else "*")
        if parts == ["_cat", "shards"]:
            if self._param(req, "format") != "json":
                return es_error(400, "illegal_argument_exception", "this fake answers _cat/shards with format=json only")
            return 200, self.cat_shards()
        if parts == ["_alias"]:
            return 200, {index["name"]: {"aliases": {}} for index in self.backing_indices() + self.plain_indices()}
        return None

    @staticmethod
    def _param(req: Request, name: str) -> Optional[str]:
        values = req.query.get(name)
        return values[-1] if values else None

    def _flag(self, req: Request, name: str) -> bool:
        value = self._param(req, name)
        return value is not None and value.lower() in ("", "true")

    # -- the cluster's state --------------------------------------------------------------
    def millis(self) -> int:
        return int(self.clock() * 1000)

    def backing_indices(self) -> List[Dict[str, Any]]:
        """Every data stream's backing indices, oldest first, with their document counts now."""
        state = self.monitoring
        elapsed = max(0.0, self.clock() - self.monitoring_started) / 60.0
        out = []
        for stream in state["data_streams"]:
            generation = int(stream.get("generation", 1))
            for number in range(1, generation + 1):
                docs = int(stream.get("docs", 0))
                if number == generation:
                    docs += int(float(stream.get("docs_per_minute", 0)) * elapsed)
                name = ".ds-%s-%s-%06d" % (stream["name"], stream.get("date", "2026.01.01"), number)
                out.append({"name": name, "docs": docs, "data_stream": stream["name"], "write": number == generation})
        return out

    def plain_indices(self) -> List[Dict[str, Any]]:
        return [{"name": i["name"], "docs": int(i.get("docs", 0)), "data_stream": None, "write": True}
                for i in self.monitoring["indices"]]

    def nodes(self) -> List[Dict[str, Any]]:
        return self.monitoring["nodes"]

    def data_nodes(self) -> List[Dict[str, Any]]:
        return [n for n in self.nodes() if set(n.get("roles", [])) & set(DATA_ROLES)]

    def copies(self) -> int:
        """Shard copies per primary that can be assigned (replicas need another data node)."""
        return 1 + min(int(self.monitoring.get("replicas", 0)), max(0, len(self.data_nodes()) - 1))

    # -- responses ------------------------------------------------------------------------
    def info(self) -> Dict[str, Any]:
        state = self.monitoring
        return {
            "name": self.nodes()[0]["name"],
            "cluster_name": state["cluster_name"],
            "cluster_uuid": state["cluster_uuid"],
            "version": {
                "number": state["version"],
                "build_flavor": "default",
                "build_type": "deb",
                "build_hash": "0000000000000000000000000000000000000000",
                "build_date": "2025-01-01T00:00:00.000000000Z",
                "build_snapshot": False,
                "lucene_version": state["lucene_version"],
                "minimum_wire_compatibility_version": "7.17.0",
                "minimum_index_compatibility_version": "7.0.0",
            },
            "tagline": "You Know, for Search",
        }

    def cluster_health(self) -> Dict[str, Any]:
        state = self.monitoring
        indices = self.backing_indices() + self.plain_indices()
        active = len(indices) * self.copies() - int(state["unassigned_shards"]) - int(state["initializing_shards"])
        total = active + int(state["unassigned_shards"]) + int(state["initializing_shards"])
        return {
            "cluster_name": state["cluster_name"],
            "status": state["status"],
            "timed_out": False,
            "number_of_nodes": len(self.nodes()),
            "number_of_data_nodes": len(self.data_nodes()),
            "active_primary_shards": len(indices),
            "active_shards": max(active, 0),
            "relocating_shards": int(state["relocating_shards"]),
            "initializing_shards": int(state["initializing_shards"]),
            "unassigned_shards": int(state["unassigned_shards"]),
            "unassigned_primary_shards": 0 if state["status"] != "red" else int(state["unassigned_shards"]),
            "delayed_unassigned_shards": int(state["delayed_unassigned_shards"]),
            "number_of_pending_tasks": int(state["number_of_pending_tasks"]),
            "number_of_in_flight_fetch": 0,
            "task_max_waiting_in_queue_millis": 0,
            "active_shards_percent_as_number": 100.0 * max(active, 0) / total if total else 100.0,
        }

    def cluster_settings(self, include_defaults: bool, flat: bool) -> Dict[str, Any]:
        state = self.monitoring
        explicit = dict(state["persistent"])
        explicit.update(state["transient"])
        render = dict if flat else structured_settings
        answer = {"persistent": render(state["persistent"]), "transient": render(state["transient"])}
        if include_defaults:
            defaults = {k: v for k, v in MONITORING_SETTING_DEFAULTS.items() if k not in explicit}
            # A watermark set as a percentage or ratio turns its default headroom off.
            for key, value in explicit.items():
                if key.startswith(WATERMARK_PREFIX) and not str(value).lower().endswith("b"):
                    headroom = key + ".max_headroom"
                    if headroom in MONITORING_SETTING_DEFAULTS and headroom not in explicit:
                        defaults[headroom] = "-1"
            answer["defaults"] = render(defaults)
        return answer

    def node_view(self, node: Dict[str, Any], now: int) -> Dict[str, Any]:
        data = node in self.data_nodes()
        indices = self.backing_indices() + self.plain_indices() if data else []
        count = sum(i["docs"] for i in indices) // max(1, len(self.data_nodes())) if data else 0
        size = count * int(self.monitoring["bytes_per_doc"])
        total, available = int(node["total_bytes"]), int(node["available_bytes"])
        address = "%s:9300" % node["ip"]
        return {
            "timestamp": now,
            "name": node["name"],
            "transport_address": address,
            "host": node["ip"],
            "ip": address,
            "roles": list(node.get("roles", [])),
            "attributes": {},
            "indices": {
                "docs": {"count": count, "deleted": 0},
                "store": {"size_in_bytes": size, "total_data_set_size_in_bytes": size, "reserved_in_bytes": 0},
                "indexing": {"index_total": count, "index_time_in_millis": count // 10, "index_current": 0,
                             "index_failed": 0, "delete_total": 0, "delete_time_in_millis": 0, "delete_current": 0,
                             "noop_update_total": 0, "is_throttled": False, "throttle_time_in_millis": 0},
            },
            "jvm": {
                "timestamp": now,
                "uptime_in_millis": max(0, now - int(self.monitoring_started * 1000)),
                "mem": {"heap_used_in_bytes": 256 * 1024**2, "heap_used_percent": 25,
                        "heap_committed_in_bytes": GIB, "heap_max_in_bytes": GIB,
                        "non_heap_used_in_bytes": 128 * 1024**2, "non_heap_committed_in_bytes": 160 * 1024**2},
            },
            "fs": {
                "timestamp": now,
                "total": {"total_in_bytes": total, "free_in_bytes": available, "available_in_bytes": available},
                "data": [{"path": node["path"], "mount": node["mount"], "type": "overlay",
                          "total_in_bytes": total, "free_in_bytes": available, "available_in_bytes": available}],
            },
            "http": {"current_open": 1, "total_opened": 1},
        }

    def nodes_stats(self, selector: str) -> Answer:
        nodes = self.nodes()
        if selector == "_local":
            chosen = nodes[:1]
        elif selector == "_all":
            chosen = list(nodes)
        else:
            wanted = set(selector.split(","))
            chosen = [n for n in nodes if n["id"] in wanted or n["name"] in wanted]
        now = self.millis()
        return 200, {
            "_nodes": {"total": len(chosen), "successful": len(chosen), "failed": 0},
            "cluster_name": self.monitoring["cluster_name"],
            "nodes": {n["id"]: self.node_view(n, now) for n in chosen},
        }

    def resolve_indices(self, target: str) -> Optional[List[Dict[str, Any]]]:
        """Indices named by a target: names, data streams (their backing indices), patterns."""
        indices = self.backing_indices() + self.plain_indices()
        if target in ("_all", "*"):
            # A wildcard matches data streams and visible indices; backing indices are
            # hidden, and come through their data streams.
            return indices
        chosen: List[Dict[str, Any]] = []
        for expression in target.split(","):
            matched = [i for i in indices if fnmatch.fnmatchcase(i["name"], expression)
                       or (i["data_stream"] and fnmatch.fnmatchcase(i["data_stream"], expression))]
            if not matched and "*" not in expression:
                return None
            chosen.extend(m for m in matched if m not in chosen)
        return chosen

    def index_stats(self, target: str, shards: bool) -> Answer:
        indices = self.resolve_indices(target)
        if indices is None:
            return es_error(404, "index_not_found_exception", "no such index [%s]" % target)
        copies = self.copies()
        per_index = {}
        primaries_sum = {"docs": 0, "size": 0}
        for index in indices:
            size = index["docs"] * int(self.monitoring["bytes_per_doc"])
            primaries = self.index_detail(index["docs"], size)
            entry = {
                "uuid": uuid.uuid5(uuid.NAMESPACE_URL, index["name"]).hex[:22],
                "health": self.monitoring["status"],
                "status": "open",
                "primaries": primaries,
                "total": self.index_detail(index["docs"] * copies, size * copies),
            }
            if shards:
                routing = {"state": "STARTED", "primary": True, "node": self.data_nodes()[0]["id"]}
                entry["shards"] = {"0": [dict(primaries, routing=routing)]}
            per_index[index["name"]] = entry
            primaries_sum["docs"] += index["docs"]
            primaries_sum["size"] += size
        count = len(indices)
        return 200, {
            "_shards": {"total": count * copies, "successful": count * copies, "failed": 0},
            "_all": {
                "primaries": self.index_detail(primaries_sum["docs"], primaries_sum["size"]),
                "total": self.index_detail(primaries_sum["docs"] * copies, primaries_sum["size"] * copies),
            },
            "indices": per_index,
        }

    @staticmethod
    def index_detail(docs: int, size: int) -> Dict[str, Any]:
        return {
            "docs": {"count": docs, "deleted": 0},
            "store": {"size_in_bytes": size, "total_data_set_size_in_bytes": size, "reserved_in_bytes": 0},
            "indexing": {"index_total": docs, "index_time_in_millis": docs // 10, "index_current": 0,
                         "index_failed": 0, "delete_total": 0, "delete_time_in_millis": 0, "delete_current": 0,
                         "noop_update_total": 0, "is_throttled": False, "throttle_time_in_millis": 0},
        }

    def data_stream_stats(self, target: str) -> Answer:
        streams = [s for s in self.monitoring["data_streams"]
                   if any(fnmatch.fnmatchcase(s["name"], t) for t in target.split(","))]
        if not streams and "*" not in target:
            return es_error(404, "index_not_found_exception", "no such index [%s]" % target)
        backing = self.backing_indices()
        stats = []
        for stream in streams:
            mine = [i for i in backing if i["data_stream"] == stream["name"]]
            size = sum(i["docs"] for i in mine) * int(self.monitoring["bytes_per_doc"])
            stats.append({"data_stream": stream["name"], "backing_indices": len(mine),
                          "store_size_bytes": size, "maximum_timestamp": self.millis()})
        copies = self.copies()
        count = sum(s["backing_indices"] for s in stats)
        return 200, {
            "_shards": {"total": count * copies, "successful": count * copies, "failed": 0},
            "data_stream_count": len(stats),
            "backing_indices": count,
            "total_store_size_bytes": sum(s["store_size_bytes"] for s in stats),
            "data_streams": stats,
        }

    def cat_shards(self) -> List[Dict[str, str]]:
        node = self.data_nodes()[0] if self.data_nodes() else None
        rows = []
        for index in self.backing_indices() + self.plain_indices():
            rows.append({
                "index": index["name"], "shard": "0", "prirep": "p",
                "state": "STARTED" if node else "UNASSIGNED",
                "docs": str(index["docs"]) if node else None,
                "store": "%db" % (index["docs"] * int(self.monitoring["bytes_per_doc"])) if node else None,
                "ip": node["ip"] if node else None,
                "node": node["name"] if node else None,
            })
        return rows


class FakeElasticsearch(ClusterMonitoring, ElasticFake):
    def __init__(
        self, expected_auth: Optional[str] = None, track_dates: bool = True, elastic_password: Optional[str] = None
    ) -> None:
        self.track_dates = track_dates
        self.elastic_password = elastic_password
        super().__init__(expected_auth)

    def init_state(self) -> None:
        self.pipelines: Dict[str, Dict[str, Any]] = {}
        self.policies: Dict[str, Dict[str, Any]] = {}
        self.templates: Dict[str, Dict[str, Any]] = {}
        self.component_templates: Dict[str, Dict[str, Any]] = {}
        self.repositories: Dict[str, Dict[str, Any]] = {}
        self.slm_policies: Dict[str, Dict[str, Any]] = {}
        # path.repo of every node: where a shared file system repository may live.
        self.path_repo: List[str] = []
        self.init_monitoring()
        self.documents: Dict[str, List[Dict[str, Any]]] = {}
        self.rejected: List[Tuple[str, Violation]] = []
        self.security = SecurityRealm(self.elastic_password) if self.elastic_password else None

    def realm(self) -> Optional[SecurityRealm]:
        return self.security

    def unauthorized(self) -> Answer:
        return es_error(401, "security_exception", "missing authentication credentials for REST request")

    def mutations(self) -> List[Request]:
        """Writes that change state (``_simulate`` is a read-only POST)."""
        return [r for r in self.writes() if not r.path.endswith("/_simulate")]

    # -- routing ------------------------------------------------------------------------
    def route(self, req: Request) -> Answer:
        parts = [p for p in req.path.split("/") if p]
        principal: Optional[Principal] = getattr(req, "principal", None)
        # The REST layer parses the body before the transport action is authorised.
        operation = es_operation(req.method, parts)
        if operation is not None:
            violation = ES_SPEC.check(operation, req.body)
            if violation is not None:
                self.rejected.append((operation, violation))
                return es_spec_error(operation, violation)
        if principal is not None and self.security is not None:
            if parts[:1] == ["_security"]:
                return self.security.route(req.method, parts[1:], req.query, req.body, principal)
            denied = self.authorize(req, parts, principal)
            if denied is not None:
                return denied
        monitoring = self.monitoring_route(req)
        if monitoring is not None:
            return self.only_authorized(monitoring, parts, principal)
        if parts[-1:] == ["_doc"] and len(parts) == 2 and req.method == "POST":
            return self.add_document(parts[0], req.body)
        if parts[-1:] == ["_search"] and len(parts) == 2 and req.method in ("GET", "POST"):
            return self.search(parts[0])
        if parts == ["_cluster", "health"] and req.method == "GET":
            return 200, {"cluster_name": "vigil-fake", "status": "green", "timed_out": False}
        if (
            parts[:2] == ["_ingest", "pipeline"]
            and len(parts) == 3
            and parts[2] == "_simulate"
            and req.method == "POST"
        ):
            return self.simulate(req.body)
        if parts[:2] == ["_ingest", "pipeline"] and len(parts) == 3:
            return self.pipeline(req, parts[2])
        if parts[:2] == ["_ilm", "policy"] and len(parts) == 3:
            return self.ilm(req, parts[2])
        if parts[:1] == ["_index_template"] and len(parts) == 2:
            return self.template(req, parts[1])
        if parts[:1] == ["_component_template"] and len(parts) == 2:
            return self.component_template(req, parts[1])
        if parts[:1] == ["_snapshot"] and len(parts) == 2:
            return self.repository(req, parts[1])
        if parts[:2] == ["_slm", "policy"] and len(parts) == 3:
            return self.slm_policy(req, parts[2])
        return es_error(
            400, "illegal_argument_exception", "no handler found for uri [%s] and method [%s]" % (req.path, req.method)
        )

    # -- authorisation (security on) -----------------------------------------------------
    def action_of(self, method: str, parts: List[str]) -> Tuple[str, Optional[str]]:
        """The transport action Elasticsearch authorises for a REST call, and its index (if any)."""
        verb = {"GET": "get", "PUT": "put", "POST": "put", "DELETE": "delete"}.get(method, method.lower())
        if parts[:2] == ["_ingest", "pipeline"]:
            return ("cluster:admin/ingest/pipeline/simulate" if parts[2:] == ["_simulate"]
                    else "cluster:admin/ingest/pipeline/%s" % verb), None  # fmt: skip
        if parts[:2] == ["_ilm", "policy"]:
            return "cluster:admin/ilm/%s" % verb, None
        if parts[:1] == ["_index_template"]:
            return "indices:admin/index_template/%s" % verb, None
        if parts[:1] == ["_component_template"]:
            return "cluster:admin/component_template/%s" % verb, None
        if parts[:1] == ["_snapshot"] and len(parts) == 2:
            return "cluster:admin/repository/%s" % verb, None
        if parts[:2] == ["_slm", "policy"]:
            return "cluster:admin/slm/%s" % verb, None
        if not parts and method in ("GET", "HEAD"):
            return "cluster:monitor/main", None
        if parts == ["_cluster", "health"]:
            return "cluster:monitor/health", None
        if method == "GET":
            monitoring = self.monitoring_action(parts)
            if monitoring is not None:
                return monitoring
        if len(parts) == 2 and parts[1] == "_doc":
            return "indices:data/write/index:op_type/create", parts[0]
        if len(parts) == 2 and parts[1] == "_search":
            return "indices:data/read/search", parts[0]
        return "cluster:admin/unknown", None

    @staticmethod
    def monitoring_action(parts: List[str]) -> Optional[Tuple[str, Optional[str]]]:
        """The actions of the monitoring reads (what the ``monitor`` privileges cover)."""
        if parts == ["_cluster", "settings"]:
            return "cluster:monitor/settings", None
        if parts[:1] == ["_nodes"] and parts[-1:] == ["stats"]:
            return "cluster:monitor/nodes/stats", None
        if parts == ["_cat", "shards"]:
            return "cluster:monitor/state", None
        if parts[:1] == ["_data_stream"] and parts[-1:] == ["_stats"]:
            return "indices:monitor/data_stream/stats", parts[1] if len(parts) == 3 else "*"
        if parts[-1:] == ["_stats"] and len(parts) <= 2:
            return "indices:monitor/stats", parts[0] if len(parts) == 2 else "*"
        if parts == ["_alias"]:
            return "indices:admin/aliases/get", "*"
        return None

    def only_authorized(self, answer: Answer, parts: List[str], principal: Optional[Principal]) -> Answer:
        """``GET _alias`` (every index): Elasticsearch expands the wildcard to the indices the
        caller may see and answers for those only (``{}`` for none), never 403."""
        if principal is None or self.security is None or parts != ["_alias"] or answer[0] != 200:
            return answer
        action = "indices:admin/aliases/get"
        return 200, {name: entry for name, entry in answer[1].items() if self.security.index_allowed(principal, action, name)}

    def authorize(self, req: Request, parts: List[str], principal: Principal) -> Optional[Answer]:
        assert self.security is not None
        action, index = self.action_of(req.method, parts)
        if parts == ["_alias"]:
            return None  # filtered in only_authorized
        if index is None:
            allowed = self.security.cluster_allowed(principal, action)
        else:
            targets = [n for n in self.documents if fnmatch.fnmatchcase(n, index)] or [index]
            allowed = all(self.security.index_allowed(principal, action, t) for t in targets)
            if allowed and action.startswith("indices:data/write") and index not in self.documents:
                # A data stream that does not exist yet is created on the first write: auto_configure.
                allowed = self.security.index_allowed(principal, "indices:admin/auto_create", index)
                action = action if allowed else "indices:admin/auto_create"
        return None if allowed else self.security.unauthorized(principal, action, index)

    def add_document(self, target: str, body: Any) -> Answer:
        if not isinstance(body, dict):
            return es_error(400, "parse_exception", "request body is required")
        docs = self.documents.setdefault(target, [])
        docs.append(copy.deepcopy(body))
        return 201, {"_index": ".ds-%s-000001" % target, "_id": str(len(docs)), "_version": 1, "result": "created"}

    def search(self, target: str) -> Answer:
        hits = [
            {"_index": name, "_id": str(i + 1), "_source": doc}
            for name in sorted(self.documents)
            if fnmatch.fnmatchcase(name, target)
            for i, doc in enumerate(self.documents[name])
        ]
        total = {"value": len(hits), "relation": "eq"}
        return 200, {"took": 1, "timed_out": False, "hits": {"total": total, "hits": hits}}

    def stamp(self, stored: Dict[str, Any], created: Optional[Dict[str, Any]]) -> None:
        if not self.track_dates:
            return
        iso, millis = self.now()
        if created and "created_date" in created:
            for key in ("created_date", "created_date_millis"):
                stored[key] = created[key]
        else:
            stored.update(created_date=iso, created_date_millis=millis)
        stored.update(modified_date=iso, modified_date_millis=millis)

    # -- ingest pipelines ---------------------------------------------------------------
    def pipeline(self, req: Request, name: str) -> Answer:
        if req.method == "GET":
            if name not in self.pipelines:
                return 404, {}
            return 200, {name: copy.deepcopy(self.pipelines[name])}
        if req.method == "DELETE":
            if self.pipelines.pop(name, None) is None:
                return es_error(404, "resource_not_found_exception", "pipeline [%s] is missing" % name)
            return 200, {"acknowledged": True}
        if req.method == "PUT":
            error = self.check_pipeline(req.body, name)
            if error:
                return error
            stored = copy.deepcopy(req.body)
            self.stamp(stored, self.pipelines.get(name))
            self.pipelines[name] = stored
            return 200, {"acknowledged": True}
        return es_error(405, "method_not_allowed", "Incorrect HTTP method")

    @staticmethod
    def check_pipeline(body: Any, name: str) -> Optional[Answer]:
        if not isinstance(body, dict):
            return es_error(400, "parse_exception", "request body is required")
        unknown = sorted(set(body) - PIPELINE_KEYS)
        if unknown:
            return es_error(
                400,
                "parse_exception",
                "pipeline [%s] doesn't support one or more provided configuration parameters %s" % (name, unknown),
            )
        try:
            parse_processors(body.get("processors", []))
            if "on_failure" in body:
                parse_processors(body["on_failure"], "on_failure")
        except ParseError as err:
            return es_error(400, "parse_exception", str(err))
        return None

    def simulate(self, body: Any) -> Answer:
        if not isinstance(body, dict) or not isinstance(body.get("pipeline"), dict):
            return es_error(400, "parse_exception", "[pipeline] required property is missing")
        error = self.check_pipeline(body["pipeline"], "_simulate_pipeline")
        if error:
            return error
        iso, _millis = self.now()
        return 200, {"docs": [self.simulate_one(body["pipeline"], d, iso) for d in body.get("docs") or []]}

    @staticmethod
    def simulate_one(pipeline: Dict[str, Any], given: Dict[str, Any], iso: str) -> Any:
        doc = copy.deepcopy(given.get("_source") or {})
        meta: Dict[str, Any] = {"timestamp": iso}
        try:
            try:
                run_processors(pipeline.get("processors", []), doc, meta)
            except ProcessorError as err:
                if not pipeline.get("on_failure"):
                    raise
                meta.update(on_failure_message=err.reason)
                run_processors(pipeline["on_failure"], doc, meta)
        except ProcessorError as err:
            cause = {"type": err.etype, "reason": err.reason}
            return {"error": {"root_cause": [cause], "type": err.etype, "reason": err.reason}}
        except Dropped:
            return None
        out = {
            "_index": given.get("_index", "_index"),
            "_id": given.get("_id", "_id"),
            "_version": "-3",
            "_source": doc,
        }
        out["_ingest"] = {"timestamp": iso}
        return {"doc": out}

    # -- ILM ----------------------------------------------------------------------------
    def ilm(self, req: Request, name: str) -> Answer:
        if req.method == "GET":
            if name not in self.policies:
                return es_error(404, "resource_not_found_exception", "Lifecycle policy not found: %s" % name)
            entry = copy.deepcopy(self.policies[name])
            entry["in_use_by"] = {"indices": [], "data_streams": [], "composable_templates": self.templates_using(name)}
            return 200, {name: entry}
        if req.method == "DELETE":
            if self.policies.pop(name, None) is None:
                return es_error(404, "resource_not_found_exception", "Lifecycle policy not found: %s" % name)
            return 200, {"acknowledged": True}
        if req.method == "PUT":
            body = req.body
            if not isinstance(body, dict) or set(body) - {"policy"} or not isinstance(body.get("policy"), dict):
                extra = sorted(set(body or {}) - {"policy"})
                return es_error(
                    400,
                    "x_content_parse_exception",
                    "[put_lifecycle_request] unknown field %s or missing [policy]" % extra,
                )
            error = self.check_policy(body["policy"])
            if error:
                return error
            iso, _millis = self.now()
            previous = self.policies.get(name, {}).get("version", 0)
            self.policies[name] = {
                "version": previous + 1,
                "modified_date": iso,
                "policy": self.policy_defaults(body["policy"]),
            }
            return 200, {"acknowledged": True}
        return es_error(405, "method_not_allowed", "Incorrect HTTP method")

    @staticmethod
    def check_policy(policy: Dict[str, Any]) -> Optional[Answer]:
        unknown = sorted(set(policy) - {"phases", "_meta", "deprecated"})
        if unknown:
            return es_error(400, "x_content_parse_exception", "[lifecycle_policy] unknown field %s" % unknown)
        phases = policy.get("phases")
        if not isinstance(phases, dict):
            return es_error(400, "x_content_parse_exception", "[lifecycle_policy] phases is required")
        for phase in phases:
            if phase not in ILM_PHASES:
                return es_error(400, "illegal_argument_exception", "Lifecycle does not support phase [%s]" % phase)
        return None

    @staticmethod
    def policy_defaults(policy: Dict[str, Any]) -> Dict[str, Any]:
        out = copy.deepcopy(policy)
        for phase in out["phases"].values():
            phase.setdefault("min_age", "0ms")
            actions = phase.setdefault("actions", {})
            if "delete" in actions:
                actions["delete"] = dict({"delete_searchable_snapshot": True}, **(actions["delete"] or {}))
            if "searchable_snapshot" in actions:
                actions["searchable_snapshot"] = dict({"force_merge_index": True}, **actions["searchable_snapshot"])
        return out

    def templates_using(self, policy: str) -> List[str]:
        return sorted(
            name
            for name, t in self.templates.items()
            if t.get("template", {}).get("settings", {}).get("index.lifecycle.name") == policy
        )

    # -- composable index templates -----------------------------------------------------
    def template(self, req: Request, name: str) -> Answer:
        if req.method == "GET":
            if name not in self.templates:
                return es_error(404, "resource_not_found_exception", "index template matching [%s] not found" % name)
            flat = req.query.get("flat_settings", ["false"])[0] == "true"
            return 200, {"index_templates": [{"name": name, "index_template": self.render_template(name, flat)}]}
        if req.method == "DELETE":
            if self.templates.pop(name, None) is None:
                return es_error(404, "index_template_missing_exception", "index_template [%s] missing" % name)
            return 200, {"acknowledged": True}
        if req.method == "PUT":
            body = req.body
            if not isinstance(body, dict):
                return es_error(400, "parse_exception", "request body is required")
            unknown = sorted(set(body) - TEMPLATE_KEYS)
            if unknown:
                return es_error(400, "x_content_parse_exception", "[index_template] unknown field %s" % unknown)
            if not body.get("index_patterns"):
                return es_error(
                    400, "action_request_validation_exception", "Validation Failed: 1: index patterns are missing;"
                )
            missing = self.missing_components(body)
            if missing:
                return es_error(400, "invalid_index_template_exception",
                                "index_template [%s] invalid, cause [index template [%s] specifies component templates %s "
                                "that do not exist]" % (name, name, missing))
            stored = self.template_defaults(body)
            self.stamp(stored, self.templates.get(name))
            self.templates[name] = stored
            return 200, {"acknowledged": True}
        return es_error(405, "method_not_allowed", "Incorrect HTTP method")

    @staticmethod
    def template_defaults(body: Dict[str, Any]) -> Dict[str, Any]:
        out = copy.deepcopy(body)
        if isinstance(out["index_patterns"], str):
            out["index_patterns"] = [out["index_patterns"]]
        out.setdefault("composed_of", [])
        if "data_stream" in out:
            out["data_stream"] = dict({"hidden": False, "allow_custom_routing": False}, **(out["data_stream"] or {}))
        template = out.get("template")
        if isinstance(template, dict):
            if "settings" in template:
                flat = flat_settings(template["settings"])
                template["settings"] = {
                    (k if k.startswith("index.") else "index." + k): as_setting(v) for k, v in flat.items()
                }
            if isinstance(template.get("mappings"), dict) and list(template["mappings"]) == ["_doc"]:
                template["mappings"] = template["mappings"]["_doc"]
            if isinstance(template.get("lifecycle"), dict):
                template["lifecycle"] = dict({"enabled": True}, **template["lifecycle"])
        return out

    def render_template(self, name: str, flat: bool) -> Dict[str, Any]:
        out = copy.deepcopy(self.templates[name])
        settings = out.get("template", {}).get("settings")
        if settings is not None and not flat:
            out["template"]["settings"] = nest_settings(settings)
        return out

    def missing_components(self, body: Dict[str, Any]) -> List[str]:
        """Component templates an index template composes that exist nowhere and are not allowed to be missing."""
        allowed = set(body.get("ignore_missing_component_templates") or [])
        return [name for name in body.get("composed_of") or []
                if name not in self.component_templates and name not in BUILTIN_COMPONENT_TEMPLATES
                and name not in allowed]

    # -- component templates -------------------------------------------------------------
    def component_template(self, req: Request, name: str) -> Answer:
        if req.method == "GET":
            if name not in self.component_templates:
                return es_error(404, "resource_not_found_exception", "component template matching [%s] not found" % name)
            flat = req.query.get("flat_settings", ["false"])[0] == "true"
            out = copy.deepcopy(self.component_templates[name])
            settings = out.get("template", {}).get("settings")
            if settings is not None and not flat:
                out["template"]["settings"] = nest_settings(settings)
            return 200, {"component_templates": [{"name": name, "component_template": out}]}
        if req.method == "DELETE":
            if name not in self.component_templates:
                return es_error(404, "resource_not_found_exception", "component template matching [%s] not found" % name)
            users = sorted(n for n, t in self.templates.items() if name in (t.get("composed_of") or []))
            if users:
                return es_error(400, "illegal_argument_exception",
                                "component templates [%s] cannot be removed as they are still in use by index templates [%s]"
                                % (name, ", ".join(users)))
            del self.component_templates[name]
            return 200, {"acknowledged": True}
        if req.method in ("PUT", "POST"):
            stored = copy.deepcopy(req.body)
            template = stored.get("template")
            if isinstance(template, dict):
                if isinstance(template.get("settings"), dict):
                    flat = flat_settings(template["settings"])
                    template["settings"] = {
                        (k if k.startswith("index.") else "index." + k): as_setting(v) for k, v in flat.items()
                    }
                if isinstance(template.get("mappings"), dict) and list(template["mappings"]) == ["_doc"]:
                    template["mappings"] = template["mappings"]["_doc"]
            self.stamp(stored, self.component_templates.get(name))
            self.component_templates[name] = stored
            return 200, {"acknowledged": True}
        return es_error(405, "method_not_allowed", "Incorrect HTTP method")

    # -- snapshot repositories -----------------------------------------------------------
    def repository(self, req: Request, name: str) -> Answer:
        if req.method == "GET":
            if name not in self.repositories:
                return es_error(404, "repository_missing_exception", "[%s] missing" % name)
            return 200, {name: copy.deepcopy(self.repositories[name])}
        if req.method == "DELETE":
            if self.repositories.pop(name, None) is None:
                return es_error(404, "repository_missing_exception", "[%s] missing" % name)
            return 200, {"acknowledged": True}
        if req.method in ("PUT", "POST"):
            body = req.body
            rtype = body.get("type")
            if rtype not in REPOSITORY_TYPES:
                return es_error(500, "repository_exception", "[%s] repository type [%s] does not exist" % (name, rtype))
            settings = {k: as_setting(v) for k, v in flat_settings(body.get("settings") or {}).items()}
            problem = self.repository_problem(name, rtype, settings)
            if problem:
                return problem
            self.repositories[name] = {"type": rtype, "uuid": "_na_", "settings": settings}
            return 200, {"acknowledged": True}
        return es_error(405, "method_not_allowed", "Incorrect HTTP method")

    def repository_problem(self, name: str, rtype: str, settings: Dict[str, Any]) -> Optional[Answer]:
        """Elasticsearch verifies a new repository on every node (``verify=true``, the default)."""
        if rtype != "fs":
            return None
        location = settings.get("location", "")
        # A test sets path_repo; the lab's stand-in reads it from its state file.
        roots = list(self.path_repo) or [str(r) for r in self.monitoring.get("path_repo") or []]
        if not roots:
            return es_error(500, "repository_exception",
                            "[%s] location [%s] doesn't match any of the locations specified by path.repo because this "
                            "setting is empty" % (name, location))
        resolved = location if location.startswith("/") else roots[0].rstrip("/") + "/" + location
        if not any(resolved == root or resolved.startswith(root.rstrip("/") + "/") for root in roots):
            return es_error(500, "repository_exception",
                            "[%s] location [%s] doesn't match any of the locations specified by path.repo" % (name, location))
        return None

    # -- snapshot lifecycle (SLM) policies -------------------------------------------------
    def slm_policy(self, req: Request, name: str) -> Answer:
        if req.method == "GET":
            if name not in self.slm_policies:
                return es_error(404, "resource_not_found_exception",
                                "snapshot lifecycle policy or policies [%s] not found" % name)
            return 200, {name: copy.deepcopy(self.slm_policies[name])}
        if req.method == "DELETE":
            if self.slm_policies.pop(name, None) is None:
                return es_error(404, "resource_not_found_exception",
                                "snapshot lifecycle policy or policies [%s] not found" % name)
            return 200, {"acknowledged": True}
        if req.method == "PUT":
            body = req.body or {}
            problem = self.slm_problem(name, body)
            if problem:
                return problem
            iso, millis = self.now()
            previous = self.slm_policies.get(name, {}).get("version", 0)
            policy = copy.deepcopy(body)
            self.slm_policies[name] = {
                "version": previous + 1,
                "modified_date": iso,
                "modified_date_millis": millis,
                "policy": policy,
                "next_execution": iso,
                "next_execution_millis": millis + 86400000,
                "stats": {"policy": name, "snapshots_taken": 0, "snapshots_failed": 0, "snapshots_deleted": 0,
                          "snapshot_deletion_failures": 0},
            }
            return 200, {"acknowledged": True}
        return es_error(405, "method_not_allowed", "Incorrect HTTP method")

    def slm_problem(self, name: str, body: Dict[str, Any]) -> Optional[Answer]:
        """What SnapshotLifecyclePolicy's parser and validation refuse (beyond the specification's schema)."""
        for key in ("name", "schedule", "repository"):
            if key not in body:
                return es_error(400, "x_content_parse_exception",
                                "[snapshot_lifecycle] failed to parse: required [%s] is missing" % key)
        if len(str(body["schedule"]).split()) not in CRON_FIELDS:
            return es_error(400, "action_request_validation_exception",
                            "Validation Failed: 1: invalid schedule [%s]: must be a valid cron expression;" % body["schedule"])
        if body["repository"] not in self.repositories:
            return es_error(400, "illegal_argument_exception", "no such repository [%s]" % body["repository"])
        return None


# ======================================================================================
# Kibana
# ======================================================================================


KIBANA_SPEC = Spec.load("kibana_requests.json")


def kibana_operation(method: str, parts: List[str]) -> Optional[str]:
    """The OpenAPI name of a Kibana call whose body the fake checks (see spec/kibana_requests.json)."""
    if parts[:3] == ["api", "actions", "connector"] and len(parts) == 4 and method in ("POST", "PUT"):
        return "%s /api/actions/connector/{id}" % method
    if parts[:3] == ["api", "alerting", "rule"] and len(parts) == 4 and method in ("POST", "PUT"):
        return "%s /api/alerting/rule/{id}" % method
    if parts == ["api", "fleet", "agent_policies"] and method == "POST":
        return "POST /api/fleet/agent_policies"
    if parts == ["api", "fleet", "agent_policies", "delete"] and method == "POST":
        return "POST /api/fleet/agent_policies/delete"
    if parts[:3] == ["api", "fleet", "agent_policies"] and len(parts) == 4 and method == "PUT":
        return "PUT /api/fleet/agent_policies/{agentPolicyId}"
    if parts == ["api", "fleet", "package_policies"] and method == "POST":
        return "POST /api/fleet/package_policies"
    if parts[:3] == ["api", "fleet", "package_policies"] and len(parts) == 4 and method == "PUT":
        return "PUT /api/fleet/package_policies/{packagePolicyId}"
    if parts == ["api", "fleet", "enrollment_api_keys"] and method == "POST":
        return "POST /api/fleet/enrollment_api_keys"
    if parts == ["api", "detection_engine", "rules"] and method in ("POST", "PUT"):
        return "%s /api/detection_engine/rules" % method
    if parts == ["api", "fleet", "outputs"] and method == "POST":
        return "POST /api/fleet/outputs"
    if parts[:3] == ["api", "fleet", "outputs"] and len(parts) == 4 and method == "PUT":
        return "PUT /api/fleet/outputs/{outputId}"
    if parts[:4] == ["api", "fleet", "epm", "packages"] and len(parts) == 6 and method == "POST":
        return "POST /api/fleet/epm/packages/{pkgName}/{pkgVersion}"
    return None


def kibana_spec_error(violation: Violation) -> Answer:
    """Kibana's route validation answer (@kbn/config-schema wording)."""
    where = "request body" + ("." + violation.where if violation.where else "")
    if violation.kind == "unknown":
        key = violation.detail[len("unknown field ["):-1]
        return kbn_error(400, "[%s.%s]: definition for this key is missing" % (where, key))
    if violation.kind == "required":
        key = violation.detail.split("[", 1)[1].split("]", 1)[0] if "[" in violation.detail else ""
        field = where + ("." + key if key else "")
        return kbn_error(400, "[%s]: expected value to be defined but got [undefined]" % field)
    return kbn_error(400, "[%s]: %s" % (where, violation.detail))


def zod_spec_error(violation: Violation) -> Answer:
    """The detection engine routes' answer: @kbn/zod-helpers' stringifyZodError of the first issue,
    ``[request body]: <path>: <message>`` (path dotted, array indices as numbers; zod's wording)."""
    path = re.sub(r"\[(\d+)\]", r".\1", violation.where)
    if violation.kind == "required":
        key = violation.detail.split("[", 1)[1].split("]", 1)[0]
        path = "%s.%s" % (path, key) if path else key
    elif violation.kind == "tag":
        path = "%s.%s" % (path, violation.info["key"]) if path else violation.info["key"]
    message = zod_message(violation)
    return kbn_error(400, "[request body]: %s" % ("%s: %s" % (path, message) if path else message))


def zod_message(violation: Violation) -> str:
    info = violation.info
    if violation.kind == "required":
        return "Required"
    if violation.kind == "tag":
        return "Invalid discriminator value. Expected %s" % " | ".join("'%s'" % t for t in info["allowed"])
    if violation.kind == "enum":
        if len(info["allowed"]) == 1:
            return "Invalid literal value, expected %s" % json.dumps(info["allowed"][0])
        return "Invalid enum value. Expected %s, received '%s'" % (
            " | ".join("'%s'" % a for a in info["allowed"]), info["value"])
    if violation.kind == "type":
        value = info["value"]
        got = "float" if info["expected"] == "integer" and isinstance(value, float) else json_type(value)
        return "Expected %s, received %s" % (info["expected"], got)
    if violation.kind == "range":
        relation = "greater than" if info["bound"] == "minimum" else "less than"
        return "Number must be %s or equal to %s" % (relation, info["limit"])
    if violation.kind == "length":
        return {
            "minLength": "String must contain at least %s character(s)",
            "minItems": "Array must contain at least %s element(s)",
            "maxItems": "Array must contain at most %s element(s)",
        }[info["bound"]] % info["limit"]
    if violation.kind == "format":
        return "Invalid uuid" if info["format"] == "uuid" else "No empty strings allowed"
    if violation.kind == "pattern":
        return "Invalid"
    return violation.detail


def kbn_error(status: int, message: str) -> Answer:
    names = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 409: "Conflict"}
    return status, {"statusCode": status, "error": names.get(status, "Error"), "message": message}


def det_error(status: int, message: Any) -> Answer:
    return status, {"message": message, "status_code": status}


ES_QUERY_REQUIRED = (
    "index",
    "timeField",
    "esQuery",
    "size",
    "threshold",
    "thresholdComparator",
    "timeWindowSize",
    "timeWindowUnit",
)
ES_QUERY_DEFAULTS = {"aggType": "count", "groupBy": "all", "excludeHitsFromPreviousRun": True, "searchType": "esQuery"}
RULE_TYPES = {".es-query": ("query matched", "recovered"), ".index-threshold": ("threshold met", "recovered")}
RULE_UPDATE_KEYS = {
    "name",
    "tags",
    "schedule",
    "throttle",
    "params",
    "actions",
    "notify_when",
    "alert_delay",
    "flapping",
}
RULE_CREATE_KEYS = RULE_UPDATE_KEYS | {"rule_type_id", "consumer", "enabled"}
DETECTION_DEFAULTS = {
    "enabled": True,
    "interval": "5m",
    "from": "now-6m",
    "to": "now",
    "max_signals": 100,
    "author": [],
    "false_positives": [],
    "references": [],
    "threat": [],
    "exceptions_list": [],
    "risk_score_mapping": [],
    "severity_mapping": [],
    "related_integrations": [],
    "required_fields": [],
    "setup": "",
    "tags": [],
    "language": "kuery",
    "output_index": "",
    "actions": [],
}
NOTIFY_WHEN = ("onActionGroupChange", "onActiveAlert", "onThrottleInterval")
CONNECTOR_TYPES = (".webhook", ".index", ".server-log")


def frequency_error(frequency: Any, notify_key: str) -> Optional[str]:
    """Kibana's schema for an action's frequency: {summary: bool, <notify_key>: enum, throttle: duration|null}."""
    if not isinstance(frequency, dict):
        return "frequency: expected an object"
    if not isinstance(frequency.get("summary"), bool):
        return "frequency.summary: expected value of type [boolean]"
    if frequency.get(notify_key) not in NOTIFY_WHEN:
        return "frequency.%s: expected one of %s" % (notify_key, ", ".join(NOTIFY_WHEN))
    throttle = frequency.get("throttle", "missing")
    if throttle == "missing" or (throttle is not None and not re.match(r"^[1-9][0-9]*[smhd]$", str(throttle))):
        return "frequency.throttle: expected a duration or null"
    if frequency[notify_key] == "onThrottleInterval" and throttle is None:
        return "frequency.throttle: required with onThrottleInterval"
    return None


WEBHOOK_DEFAULTS = {
    "method": "post",
    "hasAuth": True,
    "headers": None,
    "authType": None,
    "certType": None,
    "ca": None,
    "verificationMode": None,
}


# Fleet's own default output (Fleet creates it on setup: Elasticsearch on localhost).
DEFAULT_OUTPUT = {
    "id": "fleet-default-output",
    "name": "default",
    "type": "elasticsearch",
    "hosts": ["http://localhost:9200"],
    "is_default": True,
    "is_default_monitoring": True,
    "is_preconfigured": False,
}
# Packages the fake's registry offers (name -> versions); tests may add to fake.registry.
REGISTRY = {
    "fortinet_fortigate": ["1.25.6"],
    "pfsense": ["1.18.0"],
    "cisco_ios": ["1.16.1"],
    "system": ["1.56.1", "1.64.0"],
    "windows": ["2.3.6"],
    "udp": ["1.19.1", "2.3.0"],
    "tcp": ["1.18.1"],
    "filestream": ["1.1.2"],
    "winlog": ["1.5.1"],
    "fleet_server": ["1.6.0"],
}
SECRET_OUTPUT_FIELDS = {"remote_elasticsearch": ("service_token",), "logstash": ("ssl.key",)}


# Kibana feature privileges an API route needs: (read, write); a write needs "all".
KIBANA_ROUTE_FEATURES = {
    "alerting": "stackAlerts",
    "actions": "actions",
    "detection_engine": "siem",
    "fleet": "fleetv2",
}


class FakeKibana(ElasticFake):
    def __init__(
        self,
        expected_auth: Optional[str] = None,
        rule_ids_must_be_uuid: bool = True,
        security: Optional[FakeElasticsearch] = None,
    ) -> None:
        self.rule_ids_must_be_uuid = rule_ids_must_be_uuid
        # With security: users and API keys are those of this Elasticsearch fake, as
        # Kibana authenticates against its cluster.
        self.security_source = security
        self.current_user = "elastic"
        super().__init__(expected_auth)

    def realm(self) -> Optional[SecurityRealm]:
        return self.security_source.security if self.security_source is not None else None

    def authorize(self, req: Request, space: str, parts: List[str], principal: Principal) -> Optional[Answer]:
        """Kibana's feature privileges for the route (application kibana-.kibana, resource space:<id>)."""
        realm = self.realm()
        assert realm is not None
        if parts[:2] == ["api", "status"]:
            return None
        feature = KIBANA_ROUTE_FEATURES.get(parts[1] if len(parts) > 1 else "")
        if parts[1:3] == ["fleet", "epm"]:
            feature = "fleet"  # Integrations (the package manager); the rest of Fleet is fleetv2
        if feature is None:
            return kbn_error(404, "Not Found")
        write = req.method != "GET"
        wanted = ["feature_%s.all" % feature] + ([] if write else ["feature_%s.read" % feature])
        if not realm.kibana_allowed(principal, space, wanted):
            return kbn_error(403, "Unauthorized to %s %s in space %s: needs %s" % (
                "change" if write else "read", "/".join(parts[1:3]), space, " or ".join(wanted)))  # fmt: skip
        if write and feature == "stackAlerts" and (req.body or {}).get("actions"):
            # Attaching actions needs at least read on Actions and Connectors.
            if not realm.kibana_allowed(principal, space, ["feature_actions.all", "feature_actions.read"]):
                return kbn_error(403, "Unauthorized to execute actions: needs feature_actions.read")
        if write and feature == "siem":
            alerts = ".alerts-security.alerts-%s" % space
            if not realm.index_allowed(principal, "indices:data/read/search", alerts):
                return kbn_error(403, "Missing [read] privileges for the [%s] index" % alerts)
        return None

    def init_state(self) -> None:
        self.rules: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self.detection: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self.connectors: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self.connector_secrets: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self.agent_policies: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self.package_policies: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self.enrollment_keys: Dict[Tuple[str, str], Dict[str, Any]] = {}
        # Fleet outputs are global (not per space); Fleet creates its default output itself.
        self.outputs: Dict[str, Dict[str, Any]] = {DEFAULT_OUTPUT["id"]: copy.deepcopy(DEFAULT_OUTPUT)}
        self.output_secrets: Dict[str, Any] = {}
        # Installed packages: name -> {"version", "install_source"}; the registry's packages (name -> versions).
        self.packages: Dict[str, Dict[str, Any]] = {}
        self.registry: Dict[str, List[str]] = {name: list(versions) for name, versions in REGISTRY.items()}
        self.rejected: List[Tuple[str, Violation]] = []

    def unauthorized(self) -> Answer:
        return kbn_error(401, "[security_exception]: missing authentication credentials for REST request")

    # -- routing ------------------------------------------------------------------------
    def route(self, req: Request) -> Answer:
        if req.method != "GET" and "kbn-xsrf" not in req.headers:
            return kbn_error(400, "Request must contain a kbn-xsrf header.")
        space, path = self.split_space(req.path)
        parts = [p for p in path.split("/") if p]
        principal: Optional[Principal] = getattr(req, "principal", None)
        self.current_user = principal.username if principal is not None else "elastic"
        if principal is not None:
            denied = self.authorize(req, space, parts, principal)
            if denied is not None:
                return denied
        operation = kibana_operation(req.method, parts)
        if operation is not None:
            violation = KIBANA_SPEC.check(operation, req.body)
            if violation is not None:
                self.rejected.append((operation, violation))
                if KIBANA_SPEC.operations[operation].get("validator") == "@kbn/zod":
                    return zod_spec_error(violation)
                return kibana_spec_error(violation)
        if parts == ["api", "status"] and req.method == "GET":
            return 200, {"name": "kibana-fake", "version": {"number": "8.17.4"},
                         "status": {"overall": {"level": "available", "summary": "All services are available"}}}
        routes: List[Tuple[List[str], Callable[..., Answer]]] = [
            (["api", "alerting", "rule"], self.alerting),
            (["api", "detection_engine", "rules"], self.detection_rules),
            (["api", "actions", "connector"], self.connector),
            (["api", "fleet", "agent_policies"], self.fleet_agent_policies),
            (["api", "fleet", "package_policies"], self.fleet_package_policies),
            (["api", "fleet", "enrollment_api_keys"], self.fleet_enrollment_keys),
            (["api", "fleet", "outputs"], self.fleet_outputs),
            (["api", "fleet", "epm", "packages"], self.fleet_packages),
        ]
        for prefix, handler in routes:
            if parts[: len(prefix)] == prefix:
                return handler(req, space, parts[len(prefix) :])
        return kbn_error(404, "Not Found")

    @staticmethod
    def split_space(path: str) -> Tuple[str, str]:
        match = re.match(r"^/s/([^/]+)(/.*)$", path)
        return (match.group(1), match.group(2)) if match else ("default", path)

    def stamp(self, item: Dict[str, Any], created: bool) -> None:
        iso, _millis = self.now()
        if created:
            item.update(created_at=iso, created_by=self.current_user)
        item.update(updated_at=iso, updated_by=self.current_user)

    # -- connectors ---------------------------------------------------------------------
    def connector(self, req: Request, space: str, rest: List[str]) -> Answer:
        if len(rest) != 1:
            return kbn_error(404, "Not Found")
        key = (space, rest[0])
        if req.method == "GET":
            if key not in self.connectors:
                return kbn_error(404, "Saved object [action/%s] not found" % rest[0])
            return 200, copy.deepcopy(self.connectors[key])
        if req.method == "DELETE":
            if self.connectors.pop(key, None) is None:
                return kbn_error(404, "Saved object [action/%s] not found" % rest[0])
            self.connector_secrets.pop(key, None)
            return 204, None
        if req.method == "POST":
            return self.create_connector(key, req.body or {})
        if req.method == "PUT":
            return self.update_connector(key, req.body or {})
        return kbn_error(404, "Not Found")

    def create_connector(self, key: Tuple[str, str], body: Dict[str, Any]) -> Answer:
        if not UUID_V1_V4.match(key[1]):
            return kbn_error(
                400,
                "Predefined IDs are not allowed for saved objects with encrypted attributes unless the ID is a UUID.",
            )
        if key in self.connectors:
            return kbn_error(409, "Saved object [action/%s] conflict" % key[1])
        unknown = sorted(set(body) - {"name", "connector_type_id", "config", "secrets"})
        if unknown:
            return kbn_error(400, "[request body.%s]: definition for this key is missing" % unknown[0])
        if not body.get("name") or not body.get("connector_type_id"):
            return kbn_error(400, "[request body.name]: expected value of type [string] but got [undefined]")
        if body["connector_type_id"] not in CONNECTOR_TYPES:
            return kbn_error(400, 'Action type "%s" is not registered.' % body["connector_type_id"])
        return self.store_connector(key, body["connector_type_id"], body)

    def update_connector(self, key: Tuple[str, str], body: Dict[str, Any]) -> Answer:
        if key not in self.connectors:
            return kbn_error(404, "Saved object [action/%s] not found" % key[1])
        unknown = sorted(set(body) - {"name", "config", "secrets"})
        if unknown:
            return kbn_error(400, "[request body.%s]: definition for this key is missing" % unknown[0])
        if not body.get("name"):
            return kbn_error(400, "[request body.name]: expected value of type [string] but got [undefined]")
        return self.store_connector(key, self.connectors[key]["connector_type_id"], body)

    def store_connector(self, key: Tuple[str, str], type_id: str, body: Dict[str, Any]) -> Answer:
        config = copy.deepcopy(body.get("config") or {})
        secrets = copy.deepcopy(body.get("secrets") or {})
        if type_id == ".webhook":
            if not config.get("url"):
                return kbn_error(
                    400,
                    "error validating action type config: [url]: expected value of type [string] but got [undefined]",
                )
            if config.get("method", "post") not in ("post", "put"):
                return kbn_error(400, "error validating action type config: [method]: types that failed validation")
            if ("user" in secrets) != ("password" in secrets):
                return kbn_error(400, "error validating action type secrets: both user and password must be specified")
            config = dict(WEBHOOK_DEFAULTS, **config)
        self.connectors[key] = {
            "id": key[1],
            "name": body["name"],
            "connector_type_id": type_id,
            "config": config,
            "is_preconfigured": False,
            "is_deprecated": False,
            "is_missing_secrets": False,
            "is_system_action": False,
        }
        self.connector_secrets[key] = secrets
        return 200, copy.deepcopy(self.connectors[key])

    # -- alerting rules -----------------------------------------------------------------
    def alerting(self, req: Request, space: str, rest: List[str]) -> Answer:
        if not rest:
            return kbn_error(404, "Not Found")
        key = (space, rest[0])
        if len(rest) == 2 and rest[1] in ("_enable", "_disable") and req.method == "POST":
            if key not in self.rules:
                return kbn_error(404, "Saved object [alert/%s] not found" % rest[0])
            self.rules[key]["enabled"] = rest[1] == "_enable"
            return 204, None
        if len(rest) != 1:
            return kbn_error(404, "Not Found")
        if req.method == "GET":
            if key not in self.rules:
                return kbn_error(404, "Saved object [alert/%s] not found" % rest[0])
            return 200, copy.deepcopy(self.rules[key])
        if req.method == "DELETE":
            if self.rules.pop(key, None) is None:
                return kbn_error(404, "Saved object [alert/%s] not found" % rest[0])
            return 204, None
        if req.method == "POST":
            return self.create_rule(key, req.body or {})
        if req.method == "PUT":
            return self.update_rule(key, req.body or {})
        return kbn_error(404, "Not Found")

    def create_rule(self, key: Tuple[str, str], body: Dict[str, Any]) -> Answer:
        if self.rule_ids_must_be_uuid and not UUID_V1_V4.match(key[1]):
            return kbn_error(
                400,
                "Predefined IDs are not allowed for saved objects with encrypted attributes unless the ID is a UUID.",
            )
        if key in self.rules:
            return kbn_error(409, "Saved object [alert/%s] conflict" % key[1])
        unknown = sorted(set(body) - RULE_CREATE_KEYS)
        if unknown:
            return kbn_error(400, "[request body.%s]: definition for this key is missing" % unknown[0])
        for field in ("name", "rule_type_id", "consumer", "schedule", "params"):
            if field not in body:
                return kbn_error(400, "[request body.%s]: expected value but got [undefined]" % field)
        if body["rule_type_id"] not in RULE_TYPES:
            return kbn_error(400, "Rule type [%s] is not registered." % body["rule_type_id"])
        rule = {
            "id": key[1],
            "rule_type_id": body["rule_type_id"],
            "consumer": body["consumer"],
            "enabled": body.get("enabled", True),
        }
        error = self.apply_rule_fields(key, rule, body)
        if error:
            return error
        self.stamp(rule, created=True)
        rule.update(
            api_key_owner=self.current_user,
            api_key_created_by_user=False,
            mute_all=False,
            muted_alert_ids=[],
            revision=0,
            scheduled_task_id=key[1],
            running=False,
            snooze_schedule=[],
            execution_status={"status": "pending", "last_execution_date": rule["created_at"]},
        )
        self.rules[key] = rule
        return 200, copy.deepcopy(rule)

    def update_rule(self, key: Tuple[str, str], body: Dict[str, Any]) -> Answer:
        if key not in self.rules:
            return kbn_error(404, "Saved object [alert/%s] not found" % key[1])
        unknown = sorted(set(body) - RULE_UPDATE_KEYS)
        if unknown:
            return kbn_error(400, "[request body.%s]: definition for this key is missing" % unknown[0])
        for field in ("name", "schedule"):
            if field not in body:
                return kbn_error(400, "[request body.%s]: expected value but got [undefined]" % field)
        rule = copy.deepcopy(self.rules[key])
        error = self.apply_rule_fields(key, rule, dict({"params": {}, "actions": [], "tags": []}, **body))
        if error:
            return error
        rule["revision"] += 1
        self.stamp(rule, created=False)
        # Kibana makes a new API key for the rule, owned by whoever updated it: the rule
        # runs with that user's privileges from now on.
        rule["api_key_owner"] = self.current_user
        self.rules[key] = rule
        return 200, copy.deepcopy(rule)

    def apply_rule_fields(self, key: Tuple[str, str], rule: Dict[str, Any], body: Dict[str, Any]) -> Optional[Answer]:
        params = copy.deepcopy(body.get("params") or {})
        if rule["rule_type_id"] == ".es-query":
            missing = [p for p in ES_QUERY_REQUIRED if p not in params]
            if missing:
                return kbn_error(400, "params invalid: [%s]: expected value but got [undefined]" % missing[0])
            params = dict(ES_QUERY_DEFAULTS, **params)
        actions = []
        for action in body.get("actions") or []:
            connector = self.connectors.get((key[0], action.get("id")))
            if connector is None:
                return kbn_error(
                    400,
                    "Failed to validate actions due to the following error: Invalid connectorId: %s" % action.get("id"),
                )
            if action.get("group") not in RULE_TYPES[rule["rule_type_id"]]:
                return kbn_error(400, "Invalid action groups: %s" % action.get("group"))
            if "frequency" not in action and not body.get("notify_when"):
                return kbn_error(
                    400,
                    "Failed to validate actions due to the following error: Actions missing frequency parameters: %s"
                    % action["group"],
                )
            if "frequency" in action and frequency_error(action["frequency"], "notify_when"):
                return kbn_error(400, "[request body.actions]: %s" % frequency_error(action["frequency"], "notify_when"))
            stored = {
                k: copy.deepcopy(v)
                for k, v in action.items()
                if k in ("group", "id", "params", "frequency", "alerts_filter")
            }
            stored.update(
                connector_type_id=connector["connector_type_id"], uuid=action.get("uuid") or str(uuid.uuid4())
            )
            actions.append(stored)
        rule.update(
            name=body["name"],
            tags=list(body.get("tags") or []),
            schedule=copy.deepcopy(body["schedule"]),
            params=params,
            actions=actions,
            throttle=body.get("throttle"),
            notify_when=body.get("notify_when"),
        )
        return None

    # -- detection engine rules ---------------------------------------------------------
    def detection_rules(self, req: Request, space: str, rest: List[str]) -> Answer:
        if rest:
            return det_error(404, "Not Found")
        if req.method in ("GET", "DELETE"):
            rule_id = (req.query.get("rule_id") or [None])[0]
            key = (space, rule_id)
            if key not in self.detection:
                return det_error(404, 'rule_id: "%s" not found' % rule_id)
            rule = self.detection.pop(key) if req.method == "DELETE" else self.detection[key]
            return 200, copy.deepcopy(rule)
        body = req.body or {}
        key = (space, body.get("rule_id"))
        if req.method == "POST":
            if body.get("rule_id") and key in self.detection:
                return det_error(409, 'rule_id: "%s" already exists' % body["rule_id"])
            return self.store_detection(space, body, None)
        if req.method == "PUT":
            problem = self.update_ids_problem(body)
            if problem:
                return det_error(400, [problem])
            if body.get("id") is not None:
                found = [k for k, r in self.detection.items() if k[0] == space and r["id"] == body["id"]]
                if not found:
                    return det_error(404, 'id: "%s" not found' % body["id"])
                key = found[0]
            if key not in self.detection:
                return det_error(404, 'rule_id: "%s" not found' % body.get("rule_id"))
            return self.store_detection(space, dict(body, rule_id=key[1]), self.detection[key])
        return det_error(404, "Not Found")

    def update_ids_problem(self, body: Dict[str, Any]) -> Optional[str]:
        """The update route's own check after validation (spec/kibana_requests.json, "handler")."""
        keys = KIBANA_SPEC.operations["PUT /api/detection_engine/rules"]["handler"]["exactly_one_of"]
        present = [k for k in keys if body.get(k) is not None]
        if len(present) == 1:
            return None
        problem = (
            'both "id" and "rule_id" cannot exist, choose one or the other'
            if present
            else 'either "id" or "rule_id" must be set'
        )
        self.rejected.append(("PUT /api/detection_engine/rules", Violation("required", "", problem)))
        return problem

    def store_detection(self, space: str, body: Dict[str, Any], previous: Optional[Dict[str, Any]]) -> Answer:
        # Required fields, types and enumerations were checked against the contract
        # (spec/kibana_requests.json) before the route ran, as Kibana's route validation does.
        for index, action in enumerate(body.get("actions") or []):
            if "frequency" in action and frequency_error(action["frequency"], "notifyWhen"):
                return det_error(400, "actions.%d.%s" % (index, frequency_error(action["frequency"], "notifyWhen")))
        rule = dict(copy.deepcopy(DETECTION_DEFAULTS), **copy.deepcopy(body))
        rule.setdefault("rule_id", str(uuid.uuid4()))
        if rule["type"] == "threat_match":
            rule.setdefault("threat_indicator_path", "threat.indicator")
        rule["actions"] = [
            dict(
                {
                    "frequency": {"summary": True, "notifyWhen": "onActiveAlert", "throttle": None},
                    "uuid": str(uuid.uuid4()),
                },
                **a,
            )
            for a in rule["actions"]
        ]
        if previous is None:
            rule.update(id=str(uuid.uuid4()), revision=0, version=1, immutable=False, rule_source={"type": "internal"})
            self.stamp(rule, created=True)
        else:
            rule.update(
                id=previous["id"],
                revision=previous["revision"] + 1,
                version=previous["version"] + 1,
                immutable=False,
                rule_source={"type": "internal"},
                created_at=previous["created_at"],
                created_by=previous["created_by"],
            )
            self.stamp(rule, created=False)
        self.detection[(space, rule["rule_id"])] = rule
        return 200, copy.deepcopy(rule)

    # -- Fleet: agent policies ----------------------------------------------------------
    def fleet_agent_policies(self, req: Request, space: str, rest: List[str]) -> Answer:
        if not rest and req.method == "GET":
            return self.fleet_list(
                req,
                [self.policy_view(p, full=False) for (s, _key), p in sorted(self.agent_policies.items()) if s == space],
            )
        if not rest and req.method == "POST":
            return self.create_agent_policy(req, space, req.body or {})
        if rest == ["delete"] and req.method == "POST":
            return self.delete_agent_policy(space, (req.body or {}).get("agentPolicyId"))
        if len(rest) == 1:
            key = (space, rest[0])
            if key not in self.agent_policies:
                return kbn_error(404, "Agent policy %s not found" % rest[0])
            if req.method == "GET":
                return 200, {"item": self.policy_view(self.agent_policies[key], full=True)}
            if req.method == "PUT":
                return self.update_agent_policy(space, key, req.body or {})
        return kbn_error(404, "Not Found")

    @staticmethod
    def fleet_list(req: Request, items: List[Dict[str, Any]], extra: Optional[Dict[str, Any]] = None) -> Answer:
        page = int((req.query.get("page") or ["1"])[0])
        per_page = int((req.query.get("perPage") or ["20"])[0])
        window = items[(page - 1) * per_page : page * per_page]
        answer = {"items": window, "total": len(items), "page": page, "perPage": per_page}
        answer.update(extra or {})
        return 200, answer

    def policy_view(self, policy: Dict[str, Any], full: bool) -> Dict[str, Any]:
        out = copy.deepcopy(policy)
        if full:
            out["package_policies"] = [
                {
                    "id": pp["id"],
                    "name": pp["name"],
                    "package": pp["package"],
                    "policy_id": pp["policy_id"],
                    "inputs": [],
                }
                for (_s, _i), pp in sorted(self.package_policies.items())
                if pp["policy_id"] == policy["id"]
            ]
        return out

    def name_taken(self, space: str, name: str, other_than: Optional[str] = None) -> bool:
        return any(
            s == space and p["name"] == name and p["id"] != other_than for (s, _key), p in self.agent_policies.items()
        )

    def create_agent_policy(self, req: Request, space: str, body: Dict[str, Any]) -> Answer:
        for field in ("name", "namespace"):
            if not body.get(field):
                return kbn_error(400, "[request body.%s]: expected value of type [string] but got [undefined]" % field)
        policy_id = body.get("id") or str(uuid.uuid4())
        if (space, policy_id) in self.agent_policies:
            return kbn_error(409, "Agent policy %s already exists" % policy_id)
        if self.name_taken(space, body["name"]):
            return kbn_error(409, "Agent Policy '%s' already exists" % body["name"])
        policy = dict(
            {
                "monitoring_enabled": ["logs", "metrics"],
                "inactivity_timeout": 1209600,
                "is_protected": False,
                "description": "",
            },
            **copy.deepcopy(body),
        )
        policy.update(id=policy_id, status="active", is_managed=False, revision=1, agents=0, schema_version="1.1.1")
        self.stamp(policy, created=False)
        self.agent_policies[(space, policy_id)] = policy
        self.add_enrollment_key(space, policy_id, None, prefix="Default")
        if (req.query.get("sys_monitoring") or ["false"])[0] == "true":
            self.store_package_policy(
                space,
                None,
                {"name": "system-1", "package": {"name": "system", "version": "1.0.0"}, "policy_id": policy_id},
            )
        return 200, {"item": self.policy_view(policy, full=False)}

    def update_agent_policy(self, space: str, key: Tuple[str, str], body: Dict[str, Any]) -> Answer:
        for field in ("name", "namespace"):
            if not body.get(field):
                return kbn_error(400, "[request body.%s]: expected value of type [string] but got [undefined]" % field)
        if self.name_taken(space, body["name"], other_than=key[1]):
            return kbn_error(409, "Agent Policy '%s' already exists" % body["name"])
        policy = self.agent_policies[key]
        policy.update(copy.deepcopy({k: v for k, v in body.items() if k != "id"}))
        policy["revision"] += 1
        self.stamp(policy, created=False)
        return 200, {"item": self.policy_view(policy, full=False)}

    def delete_agent_policy(self, space: str, policy_id: Optional[str]) -> Answer:
        policy = self.agent_policies.pop((space, policy_id), None)
        if policy is None:
            return kbn_error(404, "Agent policy %s not found" % policy_id)
        for key in [k for k, pp in self.package_policies.items() if pp["policy_id"] == policy_id]:
            del self.package_policies[key]
        for key in self.enrollment_keys.values():
            if key["policy_id"] == policy_id:
                key["active"] = False
        return 200, {"id": policy_id, "name": policy["name"]}

    # -- Fleet: package policies --------------------------------------------------------
    def fleet_package_policies(self, req: Request, space: str, rest: List[str]) -> Answer:
        if not rest and req.method == "POST":
            body = req.body or {}
            for field in ("name", "package"):
                if not body.get(field):
                    return kbn_error(400, "[request body.%s]: expected value but got [undefined]" % field)
            policy_id = body.get("policy_id") or (body.get("policy_ids") or [None])[0]
            if (space, policy_id) not in self.agent_policies:
                return kbn_error(404, "Agent policy %s not found" % policy_id)
            if any(pp["name"] == body["name"] for (s, _key), pp in self.package_policies.items() if s == space):
                return kbn_error(
                    409,
                    "An integration policy with the name %s already exists. "
                    "Please rename it or choose a different name." % body["name"],
                )
            package = body["package"]
            if self.packages.get(package["name"], {}).get("version") != package.get("version"):
                # Fleet installs the package a new package policy names when it is not installed.
                error = self.install_package(package["name"], package.get("version"), "registry")
                if error is not None:
                    return error
            return 200, {"item": self.store_package_policy(space, None, dict(body, policy_id=policy_id))}
        if len(rest) == 1:
            key = (space, rest[0])
            if key not in self.package_policies:
                return kbn_error(404, "Package policy %s not found" % rest[0])
            if req.method == "GET":
                return 200, {"item": copy.deepcopy(self.package_policies[key])}
            if req.method == "PUT":
                body = req.body or {}
                return 200, {
                    "item": self.store_package_policy(
                        space,
                        self.package_policies[key],
                        dict(body, policy_id=body.get("policy_id") or self.package_policies[key]["policy_id"]),
                    )
                }
            if req.method == "DELETE":
                removed = self.package_policies.pop(key)
                return 200, {"id": removed["id"], "name": removed["name"]}
        return kbn_error(404, "Not Found")

    def store_package_policy(
        self, space: str, previous: Optional[Dict[str, Any]], body: Dict[str, Any]
    ) -> Dict[str, Any]:
        item = {k: copy.deepcopy(v) for k, v in body.items() if k not in ("policy_ids", "force")}
        item.setdefault("namespace", "")
        item.setdefault("description", "")
        item.setdefault("vars", {})
        item.setdefault("inputs", {})
        item["policy_ids"] = [item["policy_id"]]
        if previous is None:
            item["id"] = body.get("id") or str(uuid.uuid4())
            item["revision"] = 1
            self.stamp(item, created=True)
        else:
            item.update(
                id=previous["id"],
                revision=previous["revision"] + 1,
                created_at=previous["created_at"],
                created_by=previous["created_by"],
            )
            self.stamp(item, created=False)
        self.package_policies[(space, item["id"])] = item
        return copy.deepcopy(item)

    # -- Fleet: outputs ----------------------------------------------------------------
    def fleet_outputs(self, req: Request, space: str, rest: List[str]) -> Answer:
        if not rest and req.method == "GET":
            return self.fleet_list(req, [self.output_view(o) for _key, o in sorted(self.outputs.items())])
        if not rest and req.method == "POST":
            body = dict(req.body or {})
            output_id = body.get("id") or str(uuid.uuid4())
            if output_id in self.outputs:
                return kbn_error(409, "Output %s already exists" % output_id)
            return self.store_output(output_id, None, body)
        if len(rest) != 1:
            return kbn_error(404, "Not Found")
        output = self.outputs.get(rest[0])
        if output is None:
            return kbn_error(404, "Output %s not found" % rest[0])
        if req.method == "GET":
            return 200, {"item": self.output_view(output)}
        if output.get("is_preconfigured"):
            return kbn_error(400, "Preconfigured output %s cannot be updated or deleted outside of kibana config file."
                             % rest[0])
        if req.method == "PUT":
            return self.store_output(rest[0], output, dict(req.body or {}))
        if req.method == "DELETE":
            if output.get("is_default") or output.get("is_default_monitoring"):
                return kbn_error(400, "Default output %s cannot be deleted." % rest[0])
            del self.outputs[rest[0]]
            self.output_secrets.pop(rest[0], None)
            return 200, {"id": rest[0]}
        return kbn_error(404, "Not Found")

    def store_output(self, output_id: str, previous: Optional[Dict[str, Any]], body: Dict[str, Any]) -> Answer:
        merged = dict(copy.deepcopy(previous or {}), **copy.deepcopy(body))
        merged["id"] = output_id
        kind = merged.get("type")
        if previous is None and kind == "remote_elasticsearch" and not (
                body.get("service_token") or (body.get("secrets") or {}).get("service_token")):
            return kbn_error(400, "Service token is required for remote_elasticsearch output")
        if kind == "elasticsearch" and "secrets" in merged:
            return kbn_error(400, "[request body.secrets]: definition for this key is missing")
        secrets = self.output_secrets.setdefault(output_id, {})
        plain = merged.pop("service_token", None)
        if plain:
            secrets["service_token"] = plain
        for key, value in (merged.pop("secrets", None) or {}).items():
            flat = value if key != "ssl" else (value or {}).get("key")
            if isinstance(flat, str):
                secrets["ssl.key" if key == "ssl" else key] = flat
        refs = {name: {"id": "secret-%s-%s" % (output_id, name.replace(".", "-"))} for name in sorted(secrets)}
        if refs:
            merged["secrets"] = {"ssl": {"key": refs["ssl.key"]}} if "ssl.key" in refs else {}
            if "service_token" in refs:
                merged["secrets"]["service_token"] = refs["service_token"]
        merged.setdefault("is_default", False)
        merged.setdefault("is_default_monitoring", False)
        merged.setdefault("is_preconfigured", False)
        for flag in ("is_default", "is_default_monitoring"):
            if merged[flag]:  # one default (and one monitoring default) at a time, as Fleet keeps it
                for other_id, other in self.outputs.items():
                    if other_id != output_id:
                        other[flag] = False
        self.outputs[output_id] = merged
        return 200, {"item": self.output_view(merged)}

    @staticmethod
    def output_view(output: Dict[str, Any]) -> Dict[str, Any]:
        return copy.deepcopy(output)

    # -- Fleet: packages (EPM) ----------------------------------------------------------
    def fleet_packages(self, req: Request, space: str, rest: List[str]) -> Answer:
        if not rest and req.method == "POST":
            return self.upload_package(req)
        if len(rest) == 1 and req.method in ("GET", "DELETE"):
            # The version may be left out: the installed one, else the registry's latest.
            known = self.registry.get(rest[0]) or []
            latest = max(known, key=_version_key) if known else None
            rest = [rest[0], self.packages.get(rest[0], {}).get("version") or latest or ""]
        if len(rest) != 2:
            return kbn_error(404, "Not Found")
        name, version = rest
        if version not in self.registry.get(name, []) and self.packages.get(name, {}).get("version") != version:
            return kbn_error(404, "[%s-%s] package not found in registry" % (name, version))
        installed = self.packages.get(name)
        if req.method == "GET":
            item: Dict[str, Any] = {"name": name, "version": version, "title": name, "assets": {},
                                    "status": "installed" if installed else "not_installed"}
            if installed:
                item["installationInfo"] = {"name": name, "version": installed["version"],
                                            "install_status": "installed",
                                            "install_source": installed["install_source"]}
            return 200, {"item": item, "metadata": {"has_policies": self.package_in_use(name)}}
        if req.method == "POST":
            error = self.install_package(name, version, "registry", force=bool((req.body or {}).get("force")))
            if error is not None:
                return error
            return 200, {"items": [{"id": "logs-%s" % name, "type": "index_template"}],
                         "_meta": {"install_source": "registry"}}
        if req.method == "DELETE":
            if not installed:
                return kbn_error(400, "%s is not installed" % name)
            if self.package_in_use(name):
                return kbn_error(400, "Unable to remove package with existing package policy(s) in use by agent(s)")
            del self.packages[name]
            return 200, {"items": []}
        return kbn_error(404, "Not Found")

    def upload_package(self, req: Request) -> Answer:
        """Install by upload: a zip or gzip tar holding <name>-<version>/manifest.yml (Fleet reads name and version there)."""
        kind = req.headers.get("content-type", "")
        if kind not in ("application/zip", "application/gzip"):
            return kbn_error(400, "Unsupported content type %s: use application/zip or application/gzip" % kind)
        try:
            if kind == "application/zip":
                with zipfile.ZipFile(io.BytesIO(req.raw)) as archive:
                    names = archive.namelist()
            else:
                with tarfile.open(fileobj=io.BytesIO(req.raw), mode="r:gz") as archive:
                    names = archive.getnames()
        except (zipfile.BadZipFile, tarfile.TarError, OSError):
            return kbn_error(400, "Error during extraction of package: the archive cannot be read")
        manifests = [n for n in names if re.fullmatch(r"[^/]+-[0-9][^/]*/manifest\.yml", n)]
        if len(manifests) != 1:
            return kbn_error(400, "Package must contain a top-level manifest.yml file.")
        name, version = manifests[0].split("/")[0].rsplit("-", 1)
        self.registry.setdefault(name, [])
        if version not in self.registry[name]:
            self.registry[name].append(version)
        self.install_package(name, version, "upload", force=True)
        return 200, {"items": [{"id": "logs-%s" % name, "type": "index_template"}], "_meta": {"install_source": "upload"}}

    def install_package(self, name: str, version: Optional[str], source: str, force: bool = False) -> Optional[Answer]:
        if version not in self.registry.get(name, []):
            return kbn_error(404, "[%s-%s] package not found in registry" % (name, version))
        installed = self.packages.get(name)
        if installed and not force and _version_key(installed["version"]) > _version_key(str(version)):
            # Fleet refuses a downgrade unless forced.
            return kbn_error(400, "Package %s-%s is out-of-date and cannot be installed or updated" % (name, version))
        self.packages[name] = {"version": version, "install_source": source}
        return None

    def package_in_use(self, name: str) -> bool:
        return any(pp["package"]["name"] == name for pp in self.package_policies.values())

    # -- Fleet: enrollment API keys -----------------------------------------------------
    def fleet_enrollment_keys(self, req: Request, space: str, rest: List[str]) -> Answer:
        if not rest and req.method == "GET":
            kuery = (req.query.get("kuery") or [""])[0]
            match = re.fullmatch(r'policy_id:\s*"?([^"]+)"?', kuery) if kuery else None
            if kuery and not match:
                return kbn_error(400, "Invalid kuery: %s" % kuery)
            keys = [
                copy.deepcopy(k)
                for (s, _key), k in sorted(self.enrollment_keys.items(), key=lambda kv: kv[1]["created_at"])
                if s == space and (match is None or k["policy_id"] == match.group(1))
            ]
            status, answer = self.fleet_list(req, keys)
            answer["list"] = answer["items"]
            return status, answer
        if not rest and req.method == "POST":
            body = req.body or {}
            policy_id = body.get("policy_id")
            if (space, policy_id) not in self.agent_policies:
                return kbn_error(404, 'Agent policy "%s" not found' % policy_id)
            name = body.get("name")
            if name and any(
                k["policy_id"] == policy_id and k["active"] and k["name"].startswith(name + " (")
                for (s, _key), k in self.enrollment_keys.items()
                if s == space
            ):
                return kbn_error(
                    400, "An enrollment key named %s already exists for agent policy %s" % (name, policy_id)
                )
            return 200, {"item": copy.deepcopy(self.add_enrollment_key(space, policy_id, name)), "action": "created"}
        if len(rest) == 1 and req.method == "DELETE":
            key = self.enrollment_keys.get((space, rest[0]))
            if key is None:
                return kbn_error(404, "EnrollmentAPIKey %s not found" % rest[0])
            key["active"] = False
            return 200, {"action": "deleted"}
        return kbn_error(404, "Not Found")

    def add_enrollment_key(
        self, space: str, policy_id: str, name: Optional[str], prefix: Optional[str] = None
    ) -> Dict[str, Any]:
        key_id = str(uuid.uuid4())
        label = name or prefix
        api_key_id = uuid.uuid4().hex[:20]
        secret = base64.b64encode(("%s:%s" % (api_key_id, uuid.uuid4().hex)).encode()).decode()
        iso, _millis = self.now()
        key = {
            "id": key_id,
            "api_key_id": api_key_id,
            "api_key": secret,
            "name": "%s (%s)" % (label, key_id) if label else key_id,
            "policy_id": policy_id,
            "active": True,
            "created_at": iso,
        }
        self.enrollment_keys[(space, key_id)] = key
        return key


def _version_key(version: str) -> Tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in re.split(r"[.-]", version))
