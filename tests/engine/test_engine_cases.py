# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The expected documents themselves (no engine): ECS 9.4 conformant, and covering what they must.

Each expected document is checked by the same offline ECS check as the field maps
(``ecs_document_problems`` in plugins/filter/ecs_pipeline.py, on plugins/module_utils/ecs_schema.py):
known fields or the vendor's namespace, ECS types (strings for keyword, integers for long,
valid addresses for ip, ISO 8601 dates), allowed values and event.type per event.category.
So an expected document cannot simply copy whatever the engine printed if that is not ECS.
"""

from __future__ import annotations

import ipaddress
import json
import re

import pytest

from ansible_collections.vigil.monitoring.plugins.filter import ecs_pipeline as ep

from pipeline_harness import CASES_DIR, YEAR_TOKEN, load_cases, load_field_map, shipped_vendors

MIN_CASES = 5
IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{1,4}:){1,7}:?[0-9a-fA-F]{0,4}(?![\w:])")
ALL_CASES = [pytest.param(case, id=case.label) for vendor in shipped_vendors() for case in load_cases(vendor)]


def test_every_shipped_field_map_has_cases_and_no_case_is_for_an_unknown_map():
    assert sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir()) == shipped_vendors()
    for vendor in shipped_vendors():
        assert len(load_cases(vendor)) >= MIN_CASES, "%s needs at least %d cases" % (vendor, MIN_CASES)


@pytest.mark.parametrize("case", ALL_CASES)
def test_expected_document_conforms_to_ecs(case):
    namespace = load_field_map(case.vendor).get("namespace")
    document = {name: (value.replace(YEAR_TOKEN, "2024") if isinstance(value, str) else value)
                for name, value in case.expected.items()}
    assert ep.ecs_document_problems(document, namespace) == []
    # fields compared by pattern must be ECS fields too (their values are the engine's words)
    assert ep.ecs_document_problems({name: "x" for name in case.matches}, namespace) == []


@pytest.mark.parametrize("case", ALL_CASES)
def test_expected_document_keeps_what_every_event_keeps(case):
    field_map = load_field_map(case.vendor)
    assert case.expected.get("ecs.version") == "9.4.0"
    assert "event.kind" in case.expected
    original = case.source.get(field_map.get("source_field", "message"))
    if field_map.get("keep_original", True) and isinstance(original, str):
        assert case.expected.get("event.original") == original, "event.original must be the raw line, unchanged"
    if case.expected["event.kind"] == "pipeline_error":
        assert "error.message" in case.matches, "a pipeline_error case says which processor failed"


@pytest.mark.parametrize("vendor", shipped_vendors())
def test_each_vendor_has_failure_ipv6_and_missing_field_cases(vendor):
    cases = load_cases(vendor)
    field_map = load_field_map(vendor)
    with_error = [c.name for c in cases if "error.message" in c.matches or "error.message" in c.expected]
    assert with_error, "%s: no case shows a malformed line or value (error.message)" % vendor
    if field_map.get("parse"):
        failed = [c.name for c in cases if c.expected.get("event.kind") == "pipeline_error"]
        assert failed, "%s parses lines: one case must land in on_failure (event.kind pipeline_error)" % vendor
    inputs = [json.dumps(c.source) for c in cases]
    assert any(_has_ipv6(text) for text in inputs), "%s: no case has an IPv6 address" % vendor
    mapped = {entry["to"] for entry in field_map.get("fields") or []}
    counts = [len(mapped & set(c.expected)) for c in cases]
    assert min(counts) < max(counts), "%s: no case whose line lacks fields that others have" % vendor


def _has_ipv6(text):
    for candidate in IPV6.findall(text):
        try:
            if ipaddress.ip_address(candidate).version == 6:
                return True
        except ValueError:
            continue
    return False
