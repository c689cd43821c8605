"""The @custom pipelines Vigil attaches to Elastic's integrations (roles/ecs_pipelines/files/integration_custom).

Each file is named for an integration of the catalogue (module_utils/elastic_integrations.py), names the
pipeline that integration calls for its data stream, says per part of the Vigil field map it is derived from
whether it is kept and why, and is a body Elasticsearch's specification accepts. Every integration an agent
input names by default has its file or is listed as needing none, with the reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic_integrations import INTEGRATIONS, custom_pipeline
from standins.elastic import ES_SPEC

ROOT = Path(__file__).resolve().parents[3]
CUSTOM_DIR = ROOT / "roles" / "ecs_pipelines" / "files" / "integration_custom"
FILES = sorted(CUSTOM_DIR.glob("*.yml"))
# Integrations whose pipeline already does everything Vigil's map did (docs/logs.md says why, per vendor).
NO_CUSTOM_NEEDED = {"system_auth", "system_syslog", "system_security", "system_system", "windows_sysmon"}


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_each_file_names_its_integration_pipeline_and_its_reasons(path):
    custom = load(path)
    entry = INTEGRATIONS[custom["integration"]]
    assert custom["name"] == custom_pipeline(entry) == "logs-%s@custom" % entry["dataset"]
    assert (ROOT / "roles" / "ecs_pipelines" / "files" / "field_maps" / ("%s.yml" % custom["field_map"])).is_file()
    assert custom["derived"] and all({"part", "kept", "why"} <= set(d) for d in custom["derived"])
    assert any(d["kept"] for d in custom["derived"]) and any(not d["kept"] for d in custom["derived"])
    assert custom["samples"], "a @custom pipeline without samples is not checked on the engine"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_each_body_is_one_the_elasticsearch_specification_accepts(path):
    custom = load(path)
    body = {"description": custom["description"], "processors": custom["processors"], "_meta": {"managed_by": "vigil"}}
    assert ES_SPEC.check("PUT /_ingest/pipeline/{id}", body) is None


def test_every_integration_has_its_corrections_or_a_reason_for_none():
    with_files = {load(p)["integration"] for p in FILES}
    assert with_files | NO_CUSTOM_NEEDED == set(INTEGRATIONS)
    assert not with_files & NO_CUSTOM_NEEDED


def test_the_role_uploads_every_file_by_default():
    defaults = yaml.safe_load((ROOT / "roles" / "ecs_pipelines" / "defaults" / "main.yml").read_text(encoding="utf-8"))
    assert sorted(defaults["ecs_pipelines_integration_custom"]) == sorted(p.stem for p in FILES)
