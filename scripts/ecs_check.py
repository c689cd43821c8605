#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check Vigil ECS field maps offline, without Ansible or Elasticsearch running.

Usage::

    scripts/ecs_check.py roles/ecs_pipelines/files/field_maps/*.yml

Prints every problem of every map (the same check as the ``ecs_conformance`` filter)
and exits 1 if any map has one, 2 if a file cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Iterable, List, Optional

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "collections"))

from ansible_collections.vigil.monitoring.plugins.filter.ecs_pipeline import field_map_problems  # noqa: E402


def check_file(path: Path) -> List[str]:
    """Problems of the field map in ``path`` (a YAML file holding one map)."""
    with path.open(encoding="utf-8") as handle:
        field_map = yaml.safe_load(handle)
    return field_map_problems(field_map)


def main(argv: Optional[Iterable[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Check Vigil ECS field maps against ECS.")
    parser.add_argument("field_maps", nargs="+", type=Path, metavar="FIELD_MAP.yml")
    args = parser.parse_args(list(argv) if argv is not None else None)
    status = 0
    for path in args.field_maps:
        try:
            problems = check_file(path)
        except (OSError, yaml.YAMLError) as exc:
            print("%s: cannot read: %s" % (path, exc), file=sys.stderr)
            status = 2
            continue
        if problems:
            status = max(status, 1)
            print("%s: %d problem%s" % (path, len(problems), "" if len(problems) == 1 else "s"))
            for problem in problems:
                print("  - %s" % problem)
        else:
            print("%s: ok" % path)
    return status


if __name__ == "__main__":
    sys.exit(main())
