# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Paths and loaders shared by the ECS tests."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List

import yaml

ROOT = Path(__file__).resolve().parents[2]
FIELD_MAP_DIR = ROOT / "roles" / "ecs_pipelines" / "files" / "field_maps"
GOLDEN_DIR = ROOT / "tests" / "golden" / "ecs"
BAD_FIELD_MAP = Path(__file__).resolve().parent / "ecs" / "bad_fieldmap.yml"
UPDATE_GOLDEN = os.environ.get("VIGIL_UPDATE_GOLDEN") == "1"


def field_map_names() -> List[str]:
    return sorted(path.stem for path in FIELD_MAP_DIR.glob("*.yml"))


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_field_map(name: str) -> Dict[str, Any]:
    return load_yaml(FIELD_MAP_DIR / ("%s.yml" % name))


def golden_text(value: Any) -> str:
    """How golden pipeline files are written: sorted keys, 2-space indent, final newline."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
