# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Elasticsearch and Kibana helpers for Vigil's modules.

* ``ElasticsearchClient`` / ``KibanaClient``: ``ApiClient`` subclasses that know how
  Elastic authenticates (``Authorization: ApiKey <key>`` for API keys, ``Bearer`` for
  service-account tokens, basic auth for users), that Kibana wants ``kbn-xsrf`` on
  writes, and how Kibana spaces prefix paths (``/s/<space>/api/...``).
* ``elastic_module`` / ``kibana_module``: the AnsibleModule with the family's options
  and constraints (doc fragments ``vigil.monitoring.elasticsearch`` and ``kibana``).
  The modules describe their resource with ``api_resource.ApiResource``.
* Index settings as Elasticsearch stores them; Fleet's paged lists.
* Ingest pipeline ``_simulate`` evaluation against expected documents.
* The Alertmanager v2 alert payload, built once and used both as a Kibana webhook
  body template and as the literal payload a lab posts to a real Alertmanager.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import uuid
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ansible_collections.vigil.monitoring.plugins.module_utils.alert_labels import ALERT_LABELS
from ansible_collections.vigil.monitoring.plugins.module_utils.api_resource import (
    ApiResource,
    api_module,
    error_reason,
    reconcile,
    state_option,
    without_keys,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.canonical import same
from ansible_collections.vigil.monitoring.plugins.module_utils.vigil_http import (
    API_MUTUALLY_EXCLUSIVE,
    API_REQUIRED_TOGETHER,
    ApiClient,
    ApiModule,
    api_argument_spec,
    quote_segment,
)

# --------------------------------------------------------------------------------------
# Arguments and clients
# --------------------------------------------------------------------------------------

ELASTIC_MUTUALLY_EXCLUSIVE = list(API_MUTUALLY_EXCLUSIVE) + [("api_key", "api_token"), ("api_key", "url_username")]
ELASTIC_REQUIRED_TOGETHER = list(API_REQUIRED_TOGETHER)

# Fields Elasticsearch (9.2+) adds to pipelines and templates and refuses on PUT.
ES_SERVER_DATE_FIELDS = ("created_date", "created_date_millis", "modified_date", "modified_date_millis")


def elastic_argument_spec(**extra: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """The shared API options plus ``api_key`` (Elasticsearch API key), plus the module's own options."""
    spec = api_argument_spec()
    spec["api_key"] = dict(type="str", no_log=True)
    spec.update(extra)
    return spec


def kibana_argument_spec(**extra: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """Elastic options plus ``space_id`` (Kibana space; default space when unset), plus the module's own."""
    return elastic_argument_spec(space_id=dict(type="str"), **extra)


def elastic_module(argument_spec: Dict[str, Any], **kwargs: Any) -> ApiModule:
    """The AnsibleModule of an Elasticsearch or Kibana module: check mode, the family's constraints, the module's."""
    return api_module(argument_spec, ELASTIC_MUTUALLY_EXCLUSIVE, ELASTIC_REQUIRED_TOGETHER, **kwargs)


class ElasticResource(ApiResource):
    """An Elasticsearch resource at ``<prefix>/<name>``: GET answers ``{name: resource}``, one PUT creates or
    replaces it, one DELETE removes it.

    A resource given as one document option (templates, ILM and SLM policies) declares it instead of writing
    the hooks: ``body_option`` (the option), ``stored_key`` (the key of the fetched entry holding the
    document), ``wrap_key`` (the PUT body carries the document under this key), ``listed_key`` (GET answers a
    list under this key, read with ``flat_settings=true``), ``document_problem`` (the option's checks),
    ``document_form`` (the comparable form of the option) and ``stored_form`` (of the stored document; by
    default ``document_form``).
    """

    prefix = ""
    delete_expected: Tuple[int, ...] = (200, 404)
    delete_expect: Any = None
    client_class: Any = None  # None: ElasticsearchClient
    body_option = ""
    stored_key = ""
    wrap_key = ""
    listed_key = ""

    @property
    def path(self) -> str:
        return "%s/%s" % (self.prefix, quote_segment(self.name))

    def document_problem(self, document: Dict[str, Any]) -> Optional[str]:
        """What is wrong with the document option (given: state=present requires it)."""
        return None

    def document_form(self, document: Dict[str, Any]) -> Dict[str, Any]:
        return dict(document)

    def stored_form(self, document: Dict[str, Any]) -> Dict[str, Any]:
        return self.document_form(document)

    def validate(self) -> Optional[str]:
        document = self.params[self.body_option] if self.body_option else None
        return None if document is None else self.document_problem(document)

    def normalise(self, raw: Dict[str, Any]) -> Dict[str, Any]:
        return self.stored_form(raw.get(self.stored_key) or {})

    def desired(self) -> Dict[str, Any]:
        return self.document_form(self.params[self.body_option])

    def body(self) -> Dict[str, Any]:
        """The PUT body."""
        document = self.params[self.body_option]
        return {self.wrap_key: document} if self.wrap_key else document

    def fetch_named(self, suffix: str = "") -> Optional[Dict[str, Any]]:
        entry = (self.client.get_optional(self.path + suffix) or {}).get(self.name)
        return entry if isinstance(entry, dict) else None

    def fetch_listed(self, key: str) -> Optional[Dict[str, Any]]:
        """This resource's entry of ``GET <path>?flat_settings=true`` answering ``{<key>: [{name, ...}]}`` (templates)."""
        found = self.client.get_optional(self.path + "?flat_settings=true")
        return next((item for item in (found or {}).get(key, []) if item.get("name") == self.name), None)

    def fetch(self) -> Optional[Dict[str, Any]]:
        return self.fetch_listed(self.listed_key) if self.listed_key else self.fetch_named()

    def create(self) -> Any:
        return self.client.request("PUT", self.path, body=self.body(), expect=dict)[1]

    def update(self, raw: Dict[str, Any]) -> Any:
        return self.create()

    def delete(self, raw: Dict[str, Any]) -> None:
        self.client.request("DELETE", self.path, expected=self.delete_expected, expect=self.delete_expect)

    def extra_result(self) -> Dict[str, Any]:
        return {"name": self.name}


class TemplateResource(ElasticResource):
    """An index or component template (``kind`` ``<type> template``): ``/_<type>_template/<name>``, listed under
    ``<type>_templates``, given as the ``body`` option; the server's dates are not compared."""

    body_option = "body"

    @property
    def stored_key(self) -> str:  # type: ignore[override]
        return self.kind.replace(" ", "_")

    @property
    def listed_key(self) -> str:  # type: ignore[override]
        return self.stored_key + "s"

    @property
    def prefix(self) -> str:  # type: ignore[override]
        return "/_" + self.stored_key

    def template_form(self, document: Dict[str, Any]) -> Dict[str, Any]:
        """The template's own normalisation of ``document`` (a copy without the server's dates)."""
        return document

    def document_form(self, document: Dict[str, Any]) -> Dict[str, Any]:
        return self.template_form(without_keys(copy.deepcopy(document), ES_SERVER_DATE_FIELDS))


class VersionedResource(ElasticResource):
    """A resource whose GET reports a ``version`` Elasticsearch raises on every write (ILM and SLM
    policies), given as the ``policy`` option: the version seen before the task is returned as ``version``."""

    version: Optional[int] = None
    body_option = stored_key = "policy"

    def fetch(self) -> Optional[Dict[str, Any]]:
        entry = self.fetch_named()
        self.version = (entry or {}).get("version")
        return entry

    def extra_result(self) -> Dict[str, Any]:
        extra = super().extra_result()
        if self.version is not None:
            extra["version"] = self.version
        return extra


def named_resource_spec(**extra: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """The options of an Elasticsearch resource named by ``name``: ``name``, ``state`` and the module's own."""
    return elastic_argument_spec(name=dict(type="str", required=True), state=state_option(), **extra)


def run_resource(resource: Any, argument_spec: Dict[str, Any], **kwargs: Any) -> None:
    """main() of an Elasticsearch or Kibana module: the module (with ``kwargs`` such as ``required_if``), the
    family's client (the resource's ``client_class``), ``reconcile``."""
    module = elastic_module(argument_spec, **kwargs)
    reconcile(resource(module, (resource.client_class or ElasticsearchClient)(module)))


def run_body_resource(resource: Any) -> None:
    """main() of a resource given as one document: ``name``, ``state`` and the document option (a dict), which
    state=present requires."""
    option = resource.body_option
    run_resource(resource, named_resource_spec(**{option: dict(type="dict")}), required_if=[("state", "present", (option,))])


def encode_api_key(value: str) -> str:
    """Return the ``ApiKey`` credential: ``id:key`` is base64-encoded, an encoded key is kept."""
    value = value.strip()
    if ":" in value:
        return base64.b64encode(value.encode("utf-8")).decode("ascii")
    return value


class ElasticsearchClient(ApiClient):
    """ApiClient for Elasticsearch: ``api_key`` -> ``ApiKey``, ``api_token`` -> ``Bearer``."""

    auth_scheme = "Bearer"

    def __init__(self, module, extra_headers: Optional[Dict[str, str]] = None):
        super().__init__(module, extra_headers)
        api_key = module.params.get("api_key")
        if api_key:
            self.headers["Authorization"] = "ApiKey %s" % encode_api_key(api_key)


class KibanaClient(ElasticsearchClient):
    """ApiClient for Kibana: ``kbn-xsrf`` on every request, paths prefixed by the space."""

    def __init__(self, module, extra_headers: Optional[Dict[str, str]] = None):
        headers = {"kbn-xsrf": "vigil"}
        headers.update(extra_headers or {})
        super().__init__(module, headers)
        self.space_prefix = space_prefix(module.params.get("space_id"))

    def request(self, method: str, path: str, *args: Any, **kwargs: Any) -> Tuple[int, Any]:
        """ApiClient.request on the space's path."""
        return super().request(method, self.space_prefix + path, *args, **kwargs)


def kibana_returned(after: Optional[Dict[str, Any]], raw: Any, answer: Any, changed: bool, **ids: Any) -> Any:
    """What a Kibana module returns as its resource: the object Kibana answered to the write, the fetched
    one when nothing changed, in check mode the request that would be sent (with ``ids``), {} when absent."""
    if after is None:
        return {}
    if answer is not None:
        return answer
    if not changed:
        return raw
    return dict(after, **ids)


class KibanaObject(ApiResource):
    """A Kibana object whose ID the user chooses (the ``id`` option), at ``<prefix>/<id>``; the object fetched
    (the answer, or its ``item_key`` entry) is kept in ``raw``.

    Its secrets are write-only (Kibana never returns them): ``secrets_given`` says whether the task has any
    (by default: an option of ``secret_options`` is set), ``secrets_missing`` why the stored object lacks
    them; ``with_secrets_reason`` adds to the changed fields why they alone force a write (also with the
    ``force_secret_update`` option), and the result says ``secrets_sent``.
    """

    client_class = KibanaClient
    prefix = ""
    item_key = ""
    secret_options: Tuple[str, ...] = ()
    raw: Dict[str, Any] = {}

    @property
    def name(self) -> str:
        return self.params["id"]

    @property
    def path(self) -> str:
        return "%s/%s" % (self.prefix, quote_segment(self.params["id"]))

    def fetch(self) -> Optional[Dict[str, Any]]:
        found = self.client.get_optional(self.path) or {}
        self.raw = (found.get(self.item_key) if self.item_key else found) or {}
        return self.raw or None

    def secrets_given(self) -> bool:
        return any(self.params[option] is not None for option in self.secret_options)

    def secrets_missing(self) -> Optional[str]:
        """Why the stored object lacks the secrets; None when it shows them stored."""
        return None

    def secrets_reason(self) -> Optional[str]:
        """Why the secrets alone force a write (None when they do not)."""
        if not self.secrets_given():
            return None
        if self.params["force_secret_update"]:
            return "secrets"
        return self.secrets_missing()

    def with_secrets_reason(self, fields: List[str]) -> List[str]:
        reason = self.secrets_reason()
        return fields + ([reason] if reason else [])

    def same(self, current: Dict[str, Any], desired: Dict[str, Any]) -> bool:
        return not self.changed_fields(current, desired)

    def returned(self, after: Optional[Dict[str, Any]], raw: Any, answer: Any, changed: bool) -> Any:
        return kibana_returned(after, raw, answer, changed, id=self.params["id"])

    def extra_result(self) -> Dict[str, Any]:
        sent = self.outcome in ("created", "updated") and self.secrets_given()
        return {"id": self.params["id"], "secrets_sent": sent}


def space_prefix(space_id: Optional[str]) -> str:
    """``/s/<space>`` for a named space; empty for the default space."""
    if not space_id or space_id == "default":
        return ""
    return "/s/%s" % quote_segment(space_id)


def looks_like_uuid(value: str) -> bool:
    """True for a UUID in its canonical 8-4-4-4-12 form (Kibana's saved-object IDs)."""
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


# --------------------------------------------------------------------------------------
# Fleet lists and index settings
# --------------------------------------------------------------------------------------

FLEET_PER_PAGE = 100


def fleet_items(client: "KibanaClient", path: str) -> List[Dict[str, Any]]:
    """Every item of a Fleet list endpoint (``items``, formerly ``list``), page by page."""
    items: List[Dict[str, Any]] = []
    page = 1
    while True:
        sep = "&" if "?" in path else "?"
        answer = client.request("GET", "%s%spage=%d&perPage=%d" % (path, sep, page, FLEET_PER_PAGE), expect=dict)[1]
        batch = answer.get("items")
        if batch is None:
            batch = answer.get("list") or []  # deprecated name of the same list
        items.extend(batch)
        if not batch or len(items) >= int(answer.get("total") or 0):
            return items
        page += 1


def flatten_settings(settings: Dict[str, Any], prefix: str = "") -> Dict[str, Any]:
    """Flatten nested index settings to dotted keys, the way ``flat_settings=true`` shows them."""
    flat: Dict[str, Any] = {}
    for key, value in settings.items():
        full = "%s.%s" % (prefix, key) if prefix else str(key)
        if isinstance(value, dict):
            flat.update(flatten_settings(value, full))
        else:
            flat[full] = value
    return flat


def settings_value(value: Any) -> Any:
    """Elasticsearch stores setting values as strings (lists as lists of strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [settings_value(v) for v in value]
    if value is None:
        return None
    return str(value)


def normalize_index_settings(settings: Dict[str, Any]) -> Dict[str, Any]:
    """Flatten, add the ``index.`` prefix Elasticsearch adds, and stringify values."""
    out: Dict[str, Any] = {}
    for key, value in flatten_settings(settings).items():
        if not key.startswith("index."):
            key = "index." + key
        out[key] = settings_value(value)
    return out


TEMPLATE_SECTIONS = ("settings", "mappings", "aliases")


def normalize_template_section(template: Dict[str, Any]) -> Dict[str, Any]:
    """The ``template`` of an index or component template the way Elasticsearch stores it: flat string
    settings with the ``index.`` prefix, no ``_doc`` mapping type, the data stream lifecycle's ``enabled``
    default, empty sections dropped."""
    out = copy.deepcopy(template)
    if isinstance(out.get("settings"), dict):
        out["settings"] = normalize_index_settings(out["settings"])
    mappings = out.get("mappings")
    if isinstance(mappings, dict) and list(mappings) == ["_doc"]:
        out["mappings"] = mappings["_doc"]
    if isinstance(out.get("lifecycle"), dict):
        out["lifecycle"] = dict({"enabled": True}, **out["lifecycle"])
    for section in TEMPLATE_SECTIONS:
        if section in out and not out[section]:
            del out[section]
    return out


# --------------------------------------------------------------------------------------
# Ingest pipeline simulation
# --------------------------------------------------------------------------------------

MISSING = "(missing)"


def simulate_request(pipeline: Dict[str, Any], samples: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    docs = []
    for index, sample in enumerate(samples):
        doc: Dict[str, Any] = {"_id": str(sample.get("id") or index + 1), "_source": sample["document"]}
        if sample.get("index"):
            doc["_index"] = sample["index"]
        docs.append(doc)
    return {"pipeline": pipeline, "docs": docs}


def lookup_field(document: Any, key: str) -> Tuple[bool, Any]:
    """Find ``key`` in a document: literally first, then as a dotted path."""
    if not isinstance(document, dict):
        return False, None
    if key in document:
        return True, document[key]
    if "." in key:
        node: Any = document
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return False, None
            node = node[part]
        return True, node
    return False, None


def compare_expected(expected: Dict[str, Any], actual: Any, prefix: str = "") -> List[Dict[str, Any]]:
    """Mismatches between the fields listed in ``expected`` and the output document.

    Nested dicts are compared field by field; lists and scalars exactly. ``null``
    in ``expected`` means the field must be absent (or null).
    """
    mismatches: List[Dict[str, Any]] = []
    for key, want in expected.items():
        path = "%s.%s" % (prefix, key) if prefix else str(key)
        found, got = lookup_field(actual, str(key))
        if want is None:
            if found and got is not None:
                mismatches.append({"field": path, "expected": None, "actual": got})
        elif isinstance(want, dict) and found and isinstance(got, dict):
            mismatches.extend(compare_expected(want, got, path))
        elif not found:
            mismatches.append({"field": path, "expected": want, "actual": MISSING})
        elif not same(want, got):
            mismatches.append({"field": path, "expected": want, "actual": got})
    return mismatches


def evaluate_simulation(response: Any, samples: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One result per sample: ``{sample, ok, error, mismatches, output}``."""
    docs = response.get("docs") if isinstance(response, dict) else None
    docs = docs if isinstance(docs, list) else []
    results = []
    for index, sample in enumerate(samples):
        entry = docs[index] if index < len(docs) else None
        result: Dict[str, Any] = {"sample": index + 1, "ok": False, "error": None, "mismatches": [], "output": None}
        if isinstance(entry, dict) and entry.get("error") is not None:
            result["error"] = error_reason({"error": entry["error"]})
        elif not isinstance(entry, dict) or not isinstance(entry.get("doc"), dict):
            result["error"] = "no output document (dropped by the pipeline or missing from the answer)"
        else:
            source = entry["doc"].get("_source", {})
            result["output"] = source
            result["mismatches"] = compare_expected(sample.get("expected") or {}, source)
            result["ok"] = not result["mismatches"]
        results.append(result)
    return results


def describe_simulation_failures(results: Sequence[Dict[str, Any]]) -> str:
    """A readable per-sample report of what differed."""
    lines = []
    for result in results:
        if result["ok"]:
            continue
        if result["error"]:
            lines.append("sample %d: the pipeline failed: %s" % (result["sample"], result["error"]))
            continue
        for m in result["mismatches"]:
            lines.append(
                "sample %d: field %s: expected %s, got %s"
                % (result["sample"], m["field"], _show(m["expected"]), _show(m["actual"]))
            )
    return "; ".join(lines)


def _show(value: Any) -> str:
    return value if value == MISSING else json.dumps(value, sort_keys=True)


def validate_samples(samples: Any) -> List[str]:
    """Argument errors for ``simulate_samples``, each naming the item and the fix."""
    errors = []
    for index, sample in enumerate(samples or []):
        where = "simulate_samples[%d]" % index
        if not isinstance(sample, dict):
            errors.append("%s must be a dict with keys 'document' and 'expected'" % where)
            continue
        if not isinstance(sample.get("document"), dict):
            errors.append(
                "%s.document must be a dict: the input document (_source) to run through the pipeline" % where
            )
        if not isinstance(sample.get("expected"), dict):
            errors.append("%s.expected must be a dict of the fields the output document must contain" % where)
        unknown = set(sample) - {"document", "expected", "index", "id"}
        if unknown:
            errors.append("%s has unknown key(s) %s; allowed: document, expected, index, id" % (where, sorted(unknown)))
    return errors


# --------------------------------------------------------------------------------------
# Alertmanager v2 payload
# --------------------------------------------------------------------------------------

REQUIRED_ALERT_LABELS = ALERT_LABELS

# Kibana mustache variables for a webhook action body. Kibana renders the webhook
# body with JSON escaping, so these are safe inside JSON strings.
KIBANA_TEMPLATE_DEFAULTS = {
    "stack": {
        "annotations": {"summary": "{{context.title}}", "description": "{{context.message}}"},
        "generator_url": "{{rule.url}}",
        "starts_at": "{{date}}",
    },
    "detection": {
        "annotations": {"summary": "{{context.rule.name}}", "description": "{{context.rule.description}}"},
        "generator_url": "{{context.results_link}}",
        "starts_at": "{{date}}",
    },
}


def alertmanager_alert(
    labels: Dict[str, Any],
    annotations: Optional[Dict[str, Any]] = None,
    generator_url: Optional[str] = None,
    starts_at: Optional[str] = None,
    ends_at: Optional[str] = None,
    source: str = "kibana",
) -> Dict[str, Any]:
    """One Alertmanager v2 alert (``POST /api/v2/alerts`` takes a list of these).

    Labels must include alertname, severity and team; ``source`` is added unless
    the labels set it. Label and annotation values are strings, as Alertmanager
    requires. Raises ValueError naming what is wrong.
    """
    if not isinstance(labels, dict):
        raise ValueError("labels must be a dict with at least %s" % ", ".join(REQUIRED_ALERT_LABELS))
    missing = [name for name in REQUIRED_ALERT_LABELS if not labels.get(name)]
    if missing:
        raise ValueError("labels must set %s (missing: %s)" % (", ".join(REQUIRED_ALERT_LABELS), ", ".join(missing)))
    if annotations is not None and not isinstance(annotations, dict):
        raise ValueError("annotations must be a dict of strings")
    alert: Dict[str, Any] = {
        "labels": _string_map(dict({"source": source}, **labels)),
        "annotations": _string_map(annotations or {}),
    }
    if generator_url:
        alert["generatorURL"] = str(generator_url)
    if starts_at:
        alert["startsAt"] = str(starts_at)
    if ends_at:
        alert["endsAt"] = str(ends_at)
    return alert


def alertmanager_alerts(labels: Dict[str, Any], *args: Any, **kwargs: Any) -> List[Dict[str, Any]]:
    """The Alertmanager v2 request body: a list with one alert (the arguments of ``alertmanager_alert``)."""
    return [alertmanager_alert(labels, *args, **kwargs)]


def kibana_alertmanager_body(
    labels: Dict[str, Any],
    annotations: Optional[Dict[str, Any]] = None,
    generator_url: Optional[str] = None,
    starts_at: Optional[str] = None,
    rule_kind: str = "stack",
    ends_at: Optional[str] = None,
) -> str:
    """The webhook action ``body`` (a mustache template) producing the same payload in Kibana.

    The labels are exactly those of ``alertmanager_alerts`` for the same arguments.
    ``rule_kind`` is ``stack`` (alerting rules such as ``.es-query``) or
    ``detection`` (security detection rules); it picks which Kibana variables fill
    the annotations, generatorURL and startsAt when those are not given. ``ends_at``
    is put as given (a literal, or a template such as ``kibana_ends_at_template``'s).
    """
    if rule_kind not in KIBANA_TEMPLATE_DEFAULTS:
        raise ValueError("rule_kind must be one of %s" % ", ".join(sorted(KIBANA_TEMPLATE_DEFAULTS)))
    defaults = KIBANA_TEMPLATE_DEFAULTS[rule_kind]
    body = alertmanager_alerts(
        labels,
        annotations=annotations if annotations is not None else dict(defaults["annotations"]),
        generator_url=generator_url or defaults["generator_url"],
        starts_at=starts_at or defaults["starts_at"],
        ends_at=ends_at,
    )
    return json.dumps(body, sort_keys=True)


# --------------------------------------------------------------------------------------
# Alert lifecycle: Kibana actions that keep an Alertmanager alert open exactly as long
# as the rule's condition holds
# --------------------------------------------------------------------------------------
#
# Alertmanager resolves an alert at its endsAt, or resolve_timeout after the last post
# when endsAt is absent. A Kibana rule therefore posts on every run while its alert is
# active, with endsAt = run date + hold (a few rule intervals, so one or two missed runs
# do not close it), and posts the same labels with endsAt = run date when Kibana reports
# the alert recovered. Kibana's mustache has no date arithmetic, but its documented
# FormatDate lambda (Kibana >= 8.8) formats a date with any moment.js format: the run
# date is written in UTC with a negative RFC 3339 offset of `hold` (for example
# 10:00:00.000-00:15), which is the instant 10:15:00Z. RFC 3339 offsets are whole minutes
# below 24 hours, hence the bounds of the hold.

KIBANA_MIN_VERSION_FOR_LIFECYCLE = "8.8.0"
HOLD_INTERVALS_DEFAULT = 3
MAX_HOLD_MINUTES = 23 * 60 + 59
INTERVAL_RE = re.compile(r"^([1-9][0-9]*)([smhd])$")
INTERVAL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Kibana's documented action frequencies (alerting API, per action).
FREQUENCY_EVERY_RUN = {"summary": False, "notify_when": "onActiveAlert", "throttle": None}
FREQUENCY_ON_CHANGE = {"summary": False, "notify_when": "onActionGroupChange", "throttle": None}
# Detection engine: one summary per rule run that found new matches.
DETECTION_FREQUENCY = {"summary": True, "notifyWhen": "onActiveAlert", "throttle": None}
RECOVERED_GROUP = "recovered"


def interval_seconds(value: Any, what: str = "interval") -> int:
    """Seconds of a Kibana interval such as ``30s``, ``1m``, ``5m``, ``1h``, ``1d``."""
    match = INTERVAL_RE.match(str(value).strip()) if value is not None else None
    if not match:
        raise ValueError("%s %r is not a Kibana interval; write it like 30s, 1m, 5m, 1h or 1d" % (what, value))
    return int(match.group(1)) * INTERVAL_UNITS[match.group(2)]


def hold_minutes(seconds: int, what: str = "hold") -> int:
    """Whole minutes (rounded up, at least 1) an RFC 3339 offset can carry; ValueError above 23h59m."""
    minutes = max(1, -(-int(seconds) // 60))
    if minutes > MAX_HOLD_MINUTES:
        raise ValueError(
            "%s of %d minutes is longer than 23h59m, the largest offset an RFC 3339 date can carry; "
            "use a shorter interval or window" % (what, minutes)
        )
    return minutes


def kibana_ends_at_template(seconds: int, date_variable: str = "date") -> str:
    """Mustache for ``<date_variable> + seconds`` (rounded up to the minute) as an RFC 3339 date."""
    hours, minutes = divmod(hold_minutes(seconds), 60)
    return "{{#FormatDate}}{{{%s}}};UTC;YYYY-MM-DD[T]HH:mm:ss.SSS[-%02d:%02d]{{/FormatDate}}" % (
        date_variable,
        hours,
        minutes,
    )


def kibana_alertmanager_actions(
    connector_id: str,
    labels: Dict[str, Any],
    interval: str,
    rule_kind: str = "stack",
    group: Optional[str] = None,
    annotations: Optional[Dict[str, Any]] = None,
    hold_intervals: Optional[int] = None,
    window: Optional[str] = None,
) -> List[Dict[str, Any]]:
    """The actions (``kibana_rule`` ``actions`` option format) giving an alert its lifecycle.

    stack: ``group`` (the rule type's active action group, e.g. ``query matched``) posts on
    every run with endsAt = run date + ``hold_intervals`` x ``interval``; ``recovered``
    posts the same labels with endsAt = run date.
    detection: no recovery exists; every run with new matches posts with endsAt = run
    date + ``window`` (default ``hold_intervals`` x ``interval``), so the alert resolves
    ``window`` after the last match.
    Raises ValueError naming what is wrong.
    """
    if not connector_id:
        raise ValueError("connector_id is required: the Alertmanager webhook connector's id")
    every = interval_seconds(interval)
    holds = HOLD_INTERVALS_DEFAULT if hold_intervals is None else hold_intervals
    if isinstance(holds, bool) or not isinstance(holds, int) or holds < 2:
        raise ValueError(
            "hold_intervals must be an integer of at least 2 (the alert must survive one missed run), not %r"
            % (hold_intervals,)
        )
    if rule_kind == "detection":
        span = interval_seconds(window, "window") if window else holds * every
        if span < every:
            raise ValueError("window %s is shorter than the rule interval %s" % (window, interval))
        body = kibana_alertmanager_body(
            labels, annotations=annotations, rule_kind="detection", ends_at=kibana_ends_at_template(span)
        )
        return [
            {
                "connector_id": connector_id,
                "group": group or "default",
                "action_type_id": ".webhook",
                "frequency": dict(DETECTION_FREQUENCY),
                "params": {"body": body},
            }
        ]
    if rule_kind != "stack":
        raise ValueError("rule_kind must be one of detection, stack")
    if window:
        raise ValueError("window applies to detection rules; stack rules resolve through their recovered action")
    if not group:
        raise ValueError("group is required: the rule type's active action group (e.g. 'query matched')")
    firing = kibana_alertmanager_body(
        labels, annotations=annotations, rule_kind="stack", ends_at=kibana_ends_at_template(holds * every)
    )
    recovered = kibana_alertmanager_body(labels, annotations=annotations, rule_kind="stack", ends_at="{{date}}")
    return [
        {
            "connector_id": connector_id,
            "group": group,
            "frequency": dict(FREQUENCY_EVERY_RUN),
            "params": {"body": firing},
        },
        {
            "connector_id": connector_id,
            "group": RECOVERED_GROUP,
            "frequency": dict(FREQUENCY_ON_CHANGE),
            "params": {"body": recovered},
        },
    ]


def _string_map(values: Dict[str, Any]) -> Dict[str, str]:
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in values.items() if v is not None}
