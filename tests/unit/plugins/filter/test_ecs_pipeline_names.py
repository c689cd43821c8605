# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which field map files are used and which pipeline names they define."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.filter.ecs_pipeline_names import (
    FilterModule,
    ecs_field_map_files,
    ecs_pipeline_names,
)

SHIPPED = Path(__file__).resolve().parents[4] / "roles" / "ecs_pipelines" / "files" / "field_maps"


def test_the_filters_are_exposed():
    assert FilterModule().filters() == {"ecs_field_map_files": ecs_field_map_files, "ecs_pipeline_names": ecs_pipeline_names}


def test_every_map_unless_some_are_enabled_sorted_without_case():
    paths = ["/maps/fortinet_fortigate.yml", "/maps/Cisco_IOS.yml", "/maps/linux_auth.yml"]
    assert ecs_field_map_files(paths) == ["/maps/Cisco_IOS.yml", "/maps/fortinet_fortigate.yml", "/maps/linux_auth.yml"]
    assert ecs_field_map_files(paths, ["linux_auth", "Cisco_IOS"]) == ["/maps/Cisco_IOS.yml", "/maps/linux_auth.yml"]
    assert ecs_field_map_files(paths, []) == []
    assert ecs_field_map_files([], None) == []


def test_pipeline_names_of_the_shipped_maps_custom_maps_and_extra_names_each_once():
    maps = [yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(SHIPPED.glob("*.yml"))]
    names = ecs_pipeline_names(maps, custom=[{"vendor": "Acme", "product": "Edge FW"}, {"name": "site-named"}],
                               extra=["vigil-ecs-cisco-ios", "site-app"])
    assert names[:2] == ["vigil-ecs-cisco-ios", "vigil-ecs-fortinet-fortigate"]
    assert names[-3:] == ["vigil-ecs-acme-edge-fw", "site-named", "site-app"]
    assert len(names) == len(set(names)) == len(maps) + 3


@pytest.mark.parametrize("call, message", [
    (lambda: ecs_field_map_files("/maps/a.yml"), "ecs_field_map_files: the field map paths must be a list, got str"),
    (lambda: ecs_field_map_files(["/a.yml"], "a"), r"the enabled field maps \(ecs_pipelines_enabled\) must be a list, got str"),
    (lambda: ecs_pipeline_names([], custom={"vendor": "x"}),
     r"the custom field maps \(ecs_pipelines_custom_field_maps\) must be a list, got dict"),
    (lambda: ecs_pipeline_names(["not a map"]), "ecs_pipeline_name expects a field map"),
])
def test_wrong_arguments_are_named(call, message):
    with pytest.raises(AnsibleFilterError, match=message):
        call()
