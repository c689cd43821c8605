# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run Vigil's ECS pipelines on the test engine and compare their output with expected documents.

A case is one file ``tests/engine/cases/<field map>/<case>.yml``::

    description: what the line is and where its format is documented
    message: "<189>date=2024-05-01 time=10:00:00 ..."    # the raw line (or `document:` a whole _source)
    expected:                                            # the WHOLE output _source, dotted names
      "@timestamp": "2024-05-01T08:00:00.000Z"
      source.ip: 198.51.100.7
      ...
    matches:                                             # optional: fields compared by regular expression
      error.message: ["^date processor \\(tag date_timestamp\\) in pipeline vigil-ecs-... failed: .*"]

The output document must have exactly the expected fields: a missing field, an extra
field and a different value (type included: ``"80"`` is not ``80``) are all differences.
Ignored, explicitly: :data:`VOLATILE_FIELDS`, and the ``_ingest`` metadata, which
``_simulate`` returns beside ``_source``. A syslog timestamp without a year gets the year
of the day it is ingested: write it as ``${YEAR}`` (the year of the engine's
``_ingest.timestamp``).

In ``matches`` patterns, ``${PIPELINE}`` stands for the pipeline name that the on_failure
message quotes from ``_ingest.on_failure_pipeline``, or nothing: Elasticsearch 8 fills that
field for every failing pipeline, OpenSearch 2.19 (like Elasticsearch 7) only for a
pipeline called from another one, and leaves it empty here.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import yaml

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "collections") not in sys.path:
    sys.path.insert(0, str(ROOT / "collections"))

from ansible_collections.vigil.monitoring.plugins.filter import ecs_pipeline as ep  # noqa: E402

from engine_control import EngineClient, EngineError  # noqa: E402

CASES_DIR = ROOT / "tests" / "engine" / "cases"
FIELD_MAP_DIR = ROOT / "roles" / "ecs_pipelines" / "files" / "field_maps"
CASE_KEYS = ("description", "message", "document", "expected", "matches")
# Set by Elasticsearch from its clock in some pipelines; none of Vigil's sets it today, and it is
# the only _source field the comparison leaves out. (_ingest.* metadata is not part of _source.)
VOLATILE_FIELDS = ("event.ingested",)
YEAR_TOKEN = "${YEAR}"
PIPELINE_TOKEN = "${PIPELINE}"
MISSING = "<missing>"


# --------------------------------------------------------------------------- translation for OpenSearch


def _drop_meta(body: Dict[str, Any]) -> bool:
    """Pipeline ``_meta`` (Elasticsearch 7.14+): OpenSearch 2.19 refuses the key. Vigil keeps its
    ownership marker and content hash there, which only the upload module reads; no processor does."""
    return body.pop("_meta", None) is not None


# name -> function changing the body in place and saying whether it changed anything.
# Keep this list short: prefer generating bodies both engines accept (see docs/ecs.md).
TRANSLATIONS = (("meta", _drop_meta),)


def translate_for_opensearch(body: Mapping[str, Any]) -> Tuple[Dict[str, Any], List[str]]:
    """A copy of ``body`` that OpenSearch 2.19 accepts, and the names of the translations applied.

    The untranslated body is what Vigil uploads to Elasticsearch; nothing here touches a
    processor, so what the engine executes is the processors Vigil ships.
    """
    translated = copy.deepcopy(dict(body))
    applied = [name for name, function in TRANSLATIONS if function(translated)]
    return translated, applied


# --------------------------------------------------------------------------- cases


@dataclass
class Case:
    vendor: str  # field map file name without .yml
    name: str  # case file name without .yml
    path: Path
    description: str
    source: Dict[str, Any]  # the input _source
    expected: Dict[str, Any]  # dotted name -> value
    matches: Dict[str, Any] = field(default_factory=dict)  # dotted name -> regex or list of regexes

    @property
    def label(self) -> str:
        return "%s/%s" % (self.vendor, self.name)


def load_field_map(vendor: str) -> Dict[str, Any]:
    with (FIELD_MAP_DIR / ("%s.yml" % vendor)).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def shipped_vendors() -> List[str]:
    return sorted(path.stem for path in FIELD_MAP_DIR.glob("*.yml"))


def case_problems(raw: Any, path: Path) -> List[str]:
    """What is wrong with the shape of a case file (empty: nothing)."""
    if not isinstance(raw, dict):
        return ["%s: a case is a mapping with description, message or document, expected" % path]
    problems = ["%s: unknown key `%s` (allowed: %s)" % (path, key, ", ".join(CASE_KEYS))
                for key in raw if key not in CASE_KEYS]
    if ("message" in raw) == ("document" in raw):
        problems.append("%s: give exactly one of `message` (a raw line) or `document` (a whole _source)" % path)
    if not isinstance(raw.get("description"), str) or not raw["description"].strip():
        problems.append("%s: `description` is required: what the line is and where its format is documented" % path)
    if not isinstance(raw.get("expected"), dict) or not raw["expected"]:
        problems.append("%s: `expected` must be the whole output document (dotted field: value)" % path)
    if not isinstance(raw.get("matches", {}), dict):
        problems.append("%s: `matches` must map dotted fields to a regular expression (or a list of them)" % path)
    for name, value in ep.flatten_document(raw.get("expected") or {}).items():
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, (str, int, float, bool)) for item in items):
            problems.append("%s: expected %s is %r, not a JSON string, number or boolean: quote it"
                            % (path, name, value))
    both = set(raw.get("expected") or {}) & set(raw.get("matches") or {})
    if both:
        problems.append("%s: %s given in both `expected` and `matches`" % (path, ", ".join(sorted(both))))
    return problems


def load_case(path: Path, vendor: Optional[str] = None) -> Case:
    with path.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    problems = case_problems(raw, path)
    if problems:
        raise ValueError("\n".join(problems))
    vendor = vendor or path.parent.name
    source_field = str(load_field_map(vendor).get("source_field", ep.DEFAULT_SOURCE_FIELD)) \
        if (FIELD_MAP_DIR / ("%s.yml" % vendor)).is_file() else ep.DEFAULT_SOURCE_FIELD
    if "document" in raw:
        source = raw["document"]
    else:
        source = {}
        ep._put(source, source_field, raw["message"])
    return Case(vendor, path.stem, path, raw["description"].strip(), source,
                ep.flatten_document(raw["expected"]), ep.flatten_document(raw.get("matches") or {}))


def load_cases(vendor: str) -> List[Case]:
    return [load_case(path, vendor) for path in sorted((CASES_DIR / vendor).glob("*.yml"))]


# --------------------------------------------------------------------------- comparison


@dataclass
class Difference:
    """One way an output document differs from its case: names the vendor, the case and the field."""

    case: str  # vendor/case
    field: str
    expected: Any
    actual: Any
    note: str = ""

    def __str__(self) -> str:
        if self.note:
            return "%s: %s" % (self.case, self.note)
        return "%s: field %s: expected %s, got %s" % (self.case, self.field, _show(self.expected), _show(self.actual))


def _show(value: Any) -> str:
    return value if value == MISSING else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _with_year(value: Any, year: str) -> Any:
    if isinstance(value, str):
        return value.replace(YEAR_TOKEN, year)
    if isinstance(value, list):
        return [_with_year(item, year) for item in value]
    return value


def _same(expected: Any, actual: Any) -> bool:
    """Equal, type included (JSON has no int/float distinction for whole numbers, so 1 == 1.0)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return expected == actual
    if type(expected) is not type(actual):
        return False
    if isinstance(expected, list):
        return len(expected) == len(actual) and all(_same(e, a) for e, a in zip(expected, actual))
    return expected == actual


def _pattern(pattern: Any, pipeline: str) -> str:
    return str(pattern).replace(PIPELINE_TOKEN, "(?:%s)?" % re.escape(pipeline))


def _matches(patterns: Any, actual: Any, pipeline: str) -> bool:
    if isinstance(patterns, list):
        return isinstance(actual, list) and len(patterns) == len(actual) and all(
            isinstance(a, str) and re.search(_pattern(p, pipeline), a, re.DOTALL) for p, a in zip(patterns, actual))
    return isinstance(actual, str) and re.search(_pattern(patterns, pipeline), actual, re.DOTALL) is not None


def compare(case: Case, output: Mapping[str, Any], year: str, pipeline: str = "") -> List[Difference]:
    """Every difference between ``output`` (an output _source) and the case's expected document."""
    actual = {k: v for k, v in ep.flatten_document(output).items() if k not in VOLATILE_FIELDS}
    differences = []
    for name in sorted(set(case.expected) | set(case.matches) | set(actual)):
        got = actual.get(name, MISSING)
        if name in case.matches:
            if got is MISSING or not _matches(case.matches[name], got, pipeline):
                differences.append(Difference(case.label, name, case.matches[name], got))
            continue
        want = _with_year(case.expected.get(name, MISSING), year)
        if want is MISSING or got is MISSING or not _same(want, got):
            differences.append(Difference(case.label, name, want, got))
    return differences


# --------------------------------------------------------------------------- running on the engine


@dataclass
class VendorRun:
    vendor: str
    pipeline: str
    translations: List[str]
    outputs: Dict[str, Any]  # case name -> output _source (or None)
    differences: List[Difference]


def engine_body(field_map: Mapping[str, Any]) -> Tuple[str, Dict[str, Any], List[str]]:
    """Name, OpenSearch body and translations of the pipeline Vigil builds from ``field_map``."""
    body = ep.ecs_pipeline(field_map)
    translated, applied = translate_for_opensearch(body)
    return ep.ecs_pipeline_name(field_map), translated, applied


def run_cases(client: EngineClient, field_map: Mapping[str, Any], cases: Sequence[Case],
              vendor: Optional[str] = None) -> VendorRun:
    """PUT the field map's pipeline into the engine, ``_simulate`` every case through it, compare."""
    vendor = vendor or (cases[0].vendor if cases else "?")
    name, body, applied = engine_body(field_map)
    try:
        client.put_pipeline(name, body)
    except EngineError as err:
        note = "the engine refused pipeline %s: %s" % (name, json.dumps(err.body)[:1500])
        return VendorRun(vendor, name, applied, {}, [Difference(vendor, "(pipeline)", None, None, note)])
    try:
        docs = client.simulate_stored(name, [case.source for case in cases])
    finally:
        client.delete_pipeline(name)
    outputs: Dict[str, Any] = {}
    differences: List[Difference] = []
    for case, entry in zip(cases, docs):
        if not isinstance(entry, dict) or "doc" not in entry:
            outputs[case.name] = None
            reason = json.dumps(entry.get("error") if isinstance(entry, dict) else entry)[:1500]
            differences.append(Difference(case.label, "(document)", None, None,
                                          "no output document; the pipeline failed outside on_failure: " + reason))
            continue
        source = entry["doc"].get("_source", {})
        outputs[case.name] = source
        year = str(entry["doc"].get("_ingest", {}).get("timestamp", ""))[:4]
        differences.extend(compare(case, source, year, name))
    return VendorRun(vendor, name, applied, outputs, differences)


def report(run: VendorRun) -> str:
    """A readable list of every difference, one per line, each naming vendor/case and field."""
    head = "pipeline %s of %s (translated for OpenSearch: %s) differs from the expected documents:" % (
        run.pipeline, run.vendor, ", ".join(run.translations) or "nothing")
    return "\n".join([head] + ["  - %s" % difference for difference in run.differences])
