# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Vigil's @custom pipelines for Elastic's integrations, executed on the test engine.

Each file of roles/ecs_pipelines/files/integration_custom/ is the body the ecs_pipelines role
uploads as ``logs-<dataset>@custom`` (less ``_meta``, the harness's one translation for
OpenSearch). Its samples are documents shaped like what the integration's own pipeline leaves
(the fields its pipeline sets, as read in elastic/integrations); they are run through Vigil's
@custom pipeline alone and the result is checked as the upload module checks samples. **The
integration's own pipeline is not executed here** (it is not in this repository): what this
shows is that Vigil's corrections do what they say on documents of that shape.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.vigil.monitoring.plugins.module_utils import elastic

from pipeline_harness import ROOT, translate_for_opensearch

CUSTOM_DIR = ROOT / "roles" / "ecs_pipelines" / "files" / "integration_custom"
FILES = sorted(CUSTOM_DIR.glob("*.yml"))


def body_of(custom: dict) -> dict:
    """What the role uploads (roles/ecs_pipelines/tasks/main.yml)."""
    return {"description": custom["description"], "processors": custom["processors"],
            "_meta": {"managed_by": "vigil", "integration": custom["integration"], "field_map": custom["field_map"]}}


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_custom_pipeline_corrects_documents_shaped_like_the_integrations_output(engine, path: Path):
    custom = yaml.safe_load(path.read_text(encoding="utf-8"))
    translated, applied = translate_for_opensearch(body_of(custom))
    assert applied == ["meta"]
    name = custom["name"]
    engine.put_pipeline(name, translated)
    try:
        samples = custom["samples"]
        docs = engine.simulate_stored(name, [s["document"] for s in samples])
        results = elastic.evaluate_simulation({"docs": docs}, samples)
    finally:
        engine.delete_pipeline(name)
    assert all(r["ok"] for r in results), elastic.describe_simulation_failures(results)
