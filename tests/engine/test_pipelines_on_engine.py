# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every shipped ECS pipeline executed on a real engine (OpenSearch 2.19, Elasticsearch-compatible ingest).

For each field map: the pipeline body Vigil uploads (the same filter the role calls, equal to
its golden file) is translated where OpenSearch lacks a key (the test id says which:
``<vendor>_translated_meta``), PUT into the engine, and every case in
``tests/engine/cases/<vendor>/`` is run through it with ``_simulate``; each output must be
the case's whole expected document. The field map's own ``samples`` must also pass the
check the upload module makes before uploading (``simulate_request`` +
``evaluate_simulation`` of ``module_utils/elastic.py``), on the same engine.
"""

from __future__ import annotations

import json
import time

import pytest

from ansible_collections.vigil.monitoring.plugins.filter import ecs_pipeline as ep
from ansible_collections.vigil.monitoring.plugins.module_utils import elastic

from engine_control import SESSION_NOTES
from pipeline_harness import (
    ROOT,
    engine_body,
    load_cases,
    load_field_map,
    report,
    run_cases,
    shipped_vendors,
    translate_for_opensearch,
)

GOLDEN_DIR = ROOT / "tests" / "golden" / "ecs"


def _vendor_params():
    params = []
    for vendor in shipped_vendors():
        _name, _body, applied = engine_body(load_field_map(vendor))
        suffix = "_translated_" + "_".join(applied) if applied else "_untranslated"
        params.append(pytest.param(vendor, id=vendor + suffix))
    return params


VENDORS = _vendor_params()


@pytest.fixture(scope="module", autouse=True)
def pipeline_suite_timer():
    started = time.monotonic()
    yield
    cases = sum(len(load_cases(vendor)) for vendor in shipped_vendors())
    SESSION_NOTES.append(
        "engine: pipeline suite (%d field maps, %d cases, plus the maps' samples) ran in %.1f s"
        % (len(shipped_vendors()), cases, time.monotonic() - started))


@pytest.mark.parametrize("vendor", VENDORS)
def test_pipeline_on_opensearch(engine, vendor):
    field_map = load_field_map(vendor)
    # what runs is what Vigil uploads: the golden body, less only the translated keys
    golden = json.loads((GOLDEN_DIR / ("%s.json" % vendor)).read_text(encoding="utf-8"))
    assert ep.ecs_pipeline(field_map) == golden
    cases = load_cases(vendor)
    run = run_cases(engine, field_map, cases, vendor)
    assert not run.differences, report(run)
    assert len(run.outputs) == len(cases)


@pytest.mark.parametrize("vendor", VENDORS)
def test_field_map_samples_pass_the_upload_check_on_opensearch(engine, vendor):
    field_map = load_field_map(vendor)
    body, _applied = translate_for_opensearch(ep.ecs_pipeline(field_map))
    samples = ep.simulate_samples(field_map)
    assert samples, "%s has no samples for the upload module to simulate" % vendor
    answer = engine.request("POST", "/_ingest/pipeline/_simulate", elastic.simulate_request(body, samples))
    results = elastic.evaluate_simulation(answer, samples)
    assert all(result["ok"] for result in results), (
        "the upload module would refuse %s: %s" % (vendor, elastic.describe_simulation_failures(results)))


def test_the_stored_pipeline_is_the_body_that_was_sent(engine):
    """The engine keeps every processor option Vigil sends (nothing silently dropped)."""
    name, body, _applied = engine_body(load_field_map("fortinet_fortigate"))
    engine.put_pipeline(name, body)
    try:
        assert engine.get_pipeline(name) == body
    finally:
        engine.delete_pipeline(name)
