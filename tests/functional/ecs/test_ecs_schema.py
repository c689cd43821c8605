# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ECS schema look-ups and the script that derives their data from Elastic's ecs_flat.yml."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from ansible_collections.vigil.monitoring.plugins.module_utils import ecs_schema
from ecs_support import ROOT

DATA_MODULE = ROOT / "plugins" / "module_utils" / "ecs_schema_data.py"
SCRIPT = ROOT / "scripts" / "derive_ecs_schema.py"


def load_script():
    spec = importlib.util.spec_from_file_location("derive_ecs_schema", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


derive = load_script()
ECS_FLAT = derive.default_source()


def test_lookups_answer_from_ecs_9_4():
    assert ecs_schema.ECS_VERSION == "9.4.0"
    assert ecs_schema.field_type("source.ip") == "ip"
    assert ecs_schema.field_type("source.port") == "long"
    assert ecs_schema.field_exists("@timestamp") and not ecs_schema.field_exists("source.adress")
    assert ecs_schema.field("event.type").array and not ecs_schema.field("event.outcome").array
    assert ecs_schema.field("source.ip").level == "core"
    assert ecs_schema.allowed_values("event.outcome") == ("failure", "success", "unknown")
    assert "pipeline_error" in ecs_schema.allowed_values("event.kind")
    assert ecs_schema.allowed_values("user.name") == ()
    assert "ingress" in ecs_schema.expected_values("network.direction")
    assert set(ecs_schema.expected_event_types("network")) >= {"allowed", "denied", "connection"}
    assert ecs_schema.expected_event_types("authentication") == ("start", "end", "info")


def test_open_objects_type_their_sub_keys():
    assert ecs_schema.field_type("labels.site") == "keyword"
    assert ecs_schema.open_object_parent("labels.site") == "labels"
    assert ecs_schema.field("source.geo.site") is None


def test_nearest_names_suggest_the_intended_field():
    assert ecs_schema.nearest_fields("source.adress")[0] == "source.address"
    assert ecs_schema.nearest_fields("destination.prot")[0] == "destination.port"
    assert ecs_schema.nearest_fields("zzzz.qqqq") == []


def test_data_module_keeps_the_apache_attribution():
    head = DATA_MODULE.read_text(encoding="utf-8")[:1200]
    assert "Elastic Common Schema (ECS) 9.4.0" in head
    assert "Apache License, Version 2.0" in head
    assert ecs_schema.ECS_LICENSE == "Apache-2.0"


def test_derive_renders_types_arrays_allowed_values_and_open_objects():
    flat = {
        "event.type": {"flat_name": "event.type", "type": "keyword", "level": "core", "normalize": ["array"],
                       "allowed_values": [{"name": "info"}, {"name": "start"}]},
        "event.category": {"flat_name": "event.category", "type": "keyword", "level": "core", "normalize": ["array"],
                           "allowed_values": [{"name": "network", "expected_event_types": ["start"]}]},
        "network.direction": {"flat_name": "network.direction", "type": "keyword", "level": "core", "normalize": [],
                              "expected_values": ["ingress"]},
        "labels": {"flat_name": "labels", "type": "object", "object_type": "keyword", "level": "core", "normalize": []},
    }
    text = derive.render(derive.derive(flat), "test.yml")
    namespace: dict = {}
    exec(compile(text, "generated", "exec"), namespace)  # noqa: S102 - our own generated module
    assert namespace["FIELDS"]["event.type"] == ("keyword", "core", True)
    assert namespace["FIELDS"]["network.direction"] == ("keyword", "core", False)
    assert namespace["ALLOWED_VALUES"]["event.type"] == ("info", "start")
    assert namespace["EXPECTED_VALUES"]["network.direction"] == ("ingress",)
    assert namespace["EXPECTED_EVENT_TYPES"] == {"network": ("start",)}
    assert namespace["OPEN_OBJECTS"] == {"labels": "keyword"}
    assert "Apache License" in text
    assert all(len(line) <= 120 for line in text.splitlines())


def test_derive_writes_a_long_value_list_shared_by_several_fields_once():
    long_values = ["value-%02d-of-a-long-list" % index for index in range(8)]
    flat = {
        name: {"flat_name": name, "type": "keyword", "level": "extended", "normalize": [],
               "allowed_values": [{"name": value} for value in long_values]}
        for name in ("threat.indicator.type", "threat.enrichments.indicator.type")
    }
    flat["event.kind"] = {"flat_name": "event.kind", "type": "keyword", "level": "core", "normalize": [],
                          "allowed_values": [{"name": "alert"}]}
    text = derive.render(derive.derive(flat), "test.yml")
    namespace: dict = {}
    exec(compile(text, "generated", "exec"), namespace)  # noqa: S102 - our own generated module
    assert namespace["ALLOWED_VALUES"]["threat.indicator.type"] == tuple(long_values)
    assert namespace["ALLOWED_VALUES"]["threat.enrichments.indicator.type"] == tuple(long_values)
    assert namespace["ALLOWED_VALUES"]["event.kind"] == ("alert",)
    assert text.count('"value-00-of-a-long-list"') == 1
    assert all(len(line) <= 120 for line in text.splitlines())


def test_derive_refuses_an_inconsistent_flat_file():
    with pytest.raises(ValueError, match="flat_name"):
        derive.derive({"a.b": {"flat_name": "a.c", "type": "keyword", "level": "core"}})


@pytest.mark.skipif(ECS_FLAT is None,
                    reason="ecs_flat-9.4.0.yml (shared/ecs) is not on this machine; users do not have it")
def test_derive_reproduces_the_committed_data_module(tmp_path):
    output = tmp_path / "ecs_schema_data.py"
    result = subprocess.run([sys.executable, str(SCRIPT), "--source", str(ECS_FLAT), "--output", str(output)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert output.read_text(encoding="utf-8") == DATA_MODULE.read_text(encoding="utf-8")
    check = subprocess.run([sys.executable, str(SCRIPT), "--source", str(ECS_FLAT), "--check"],
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr
