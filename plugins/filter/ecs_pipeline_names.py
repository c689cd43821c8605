# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which ingest pipelines the field maps define (vigil.monitoring.ecs_field_map_files, ecs_pipeline_names).

ecs_field_map_files(paths, enabled=None)
  paths:   field map files (*.yml), e.g. from the fileglob lookup
  enabled: the map names (file names without .yml) to keep; None keeps every map
  returns the kept paths, sorted (case does not count).

ecs_pipeline_names(field_maps, custom=None, extra=None)
  field_maps: the loaded field maps; custom: more maps; extra: more pipeline names
  returns the pipeline names (vigil.monitoring.ecs_pipeline_name of each map, then extra),
  each once, in that order.
"""

from __future__ import annotations

import os
import re
from typing import Any, List, Optional

from ansible.errors import AnsibleFilterError
from ansible_collections.vigil.monitoring.plugins.filter.ecs_pipeline import ecs_pipeline_name
from ansible_collections.vigil.monitoring.plugins.plugin_utils.filter_input import FilterInputError, as_list

_YML = re.compile(r"[.]yml$")


def _list(value: Any, what: str) -> List[Any]:
    try:
        return as_list(value, what)
    except FilterInputError as exc:
        raise AnsibleFilterError(str(exc)) from None


def ecs_field_map_files(paths: Any, enabled: Optional[Any] = None) -> List[str]:
    """The field map files to use: all of them, or those whose name (file name without .yml) is enabled."""
    # Sorted as Jinja's sort filter does: case does not count.
    found = sorted((str(path) for path in _list(paths, "ecs_field_map_files: the field map paths")), key=str.lower)
    if enabled is None:
        return found
    names = _list(enabled, "the enabled field maps (ecs_pipelines_enabled)")
    return [path for path in found if _YML.sub("", os.path.basename(path)) in names]


def ecs_pipeline_names(field_maps: Any, custom: Any = None, extra: Any = None) -> List[Any]:
    """The pipeline names of the maps, the custom maps, then the extra names; each once."""
    names = [ecs_pipeline_name(field_map) for field_map in _list(field_maps, "the field maps")]
    names += [ecs_pipeline_name(field_map) for field_map in _list(custom, "the custom field maps (ecs_pipelines_custom_field_maps)")]
    found: List[Any] = []
    for name in names + _list(extra, "the extra pipelines"):
        if name not in found:
            found.append(name)
    return found


class FilterModule:
    """Field map files and their pipeline names."""

    def filters(self):
        return {"ecs_field_map_files": ecs_field_map_files, "ecs_pipeline_names": ecs_pipeline_names}
