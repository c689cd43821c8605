#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Derive Vigil's compact ECS schema module from Elastic's ``ecs_flat.yml``.

Input: ``generated/ecs/ecs_flat.yml`` of the Elastic Common Schema repository
(elastic/ecs, Apache License 2.0), one entry per field. Output: the Python module
``plugins/module_utils/ecs_schema_data.py`` holding only what Vigil's conformance
check needs: each field's type, level and whether ECS normalises it to an array, the
``allowed_values`` (and ``expected_values``) of the fields that have them, and the
event types ECS expects for each ``event.category``.

The output is deterministic (sorted, one field a line), so re-running this script on
the same input reproduces the committed file byte for byte; ``--check`` verifies that.

Usage::

    scripts/derive_ecs_schema.py [--source ecs_flat-9.4.0.yml] [--output FILE] [--check]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "plugins" / "module_utils" / "ecs_schema_data.py"
ECS_VERSION = "9.4.0"
SOURCE_NAME = "ecs_flat-%s.yml" % ECS_VERSION
MAX_LINE = 120


def default_source() -> Optional[Path]:
    """Where the ECS flat file usually is: $VIGIL_ECS_FLAT, ../shared/ecs, /work/shared/ecs."""
    candidates: List[Path] = []
    env = os.environ.get("VIGIL_ECS_FLAT")
    if env:
        candidates.append(Path(env))
    candidates.append(ROOT.parent / "shared" / "ecs" / SOURCE_NAME)
    candidates.append(Path("/work/shared/ecs") / SOURCE_NAME)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def _pylit(value: Any) -> str:
    """A Python literal using double quotes (repr() would pick single quotes)."""
    if isinstance(value, str):
        return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')
    if isinstance(value, bool) or value is None:
        return repr(value)
    raise TypeError("unexpected value %r" % (value,))


def _tuple_lines(values: Sequence[str], indent: str, head: str, tail: str) -> List[str]:
    """``head(v1, v2, ...)tail`` on one line when it fits, else one value a line."""
    joined = ", ".join(_pylit(v) for v in values) + ("," if len(values) == 1 else "")
    inline = "%s%s(%s)%s" % (indent, head, joined, tail)
    if len(inline) <= MAX_LINE:
        return [inline]
    return ["%s%s(" % (indent, head)] + ["%s    %s," % (indent, _pylit(v)) for v in values] + ["%s)%s" % (indent, tail)]


def _shared_name(key: str) -> str:
    """The constant for a value list several fields share, named after the first of them."""
    return "_" + "".join(ch if ch.isalnum() else "_" for ch in key.upper())


def _tuple_block(name: str, mapping: Mapping[str, Sequence[str]]) -> List[str]:
    """Render ``NAME = {key: (v1, v2, ...), ...}``, wrapping long tuples one value a line.

    A long tuple that several keys share (ECS reuses a field set in several places, for example
    ``threat.indicator.*`` in ``threat.enrichments.indicator.*``) is written once, as a constant
    before the mapping, and the keys refer to it.
    """
    lines: List[str] = []
    shared: Dict[Tuple[str, ...], str] = {}
    keys_by_values: Dict[Tuple[str, ...], List[str]] = {}
    for key in sorted(mapping):
        keys_by_values.setdefault(tuple(mapping[key]), []).append(key)
    for values, keys in keys_by_values.items():
        block = _tuple_lines(values, "", "", "")
        if len(keys) > 1 and len(block) > 1:
            shared[values] = _shared_name(keys[0])
            lines.extend(_tuple_lines(values, "", shared[values] + " = ", ""))
    lines.append("%s = {" % name)
    for key in sorted(mapping):
        values = tuple(mapping[key])
        if values in shared:
            lines.append("    %s: %s," % (_pylit(key), shared[values]))
        else:
            lines.extend(_tuple_lines(values, "    ", "%s: " % _pylit(key), ","))
    lines.append("}")
    return lines


def derive(flat: Mapping[str, Mapping[str, Any]]) -> Dict[str, Any]:
    """Pick what Vigil needs out of the parsed ecs_flat.yml."""
    fields: Dict[str, Tuple[str, str, bool]] = {}
    allowed: Dict[str, Tuple[str, ...]] = {}
    expected: Dict[str, Tuple[str, ...]] = {}
    event_types: Dict[str, Tuple[str, ...]] = {}
    open_objects: Dict[str, str] = {}
    for name, spec in flat.items():
        if spec.get("flat_name", name) != name:
            raise ValueError("%s: flat_name %r differs from its key" % (name, spec.get("flat_name")))
        field_type = str(spec["type"])
        fields[name] = (field_type, str(spec["level"]), "array" in (spec.get("normalize") or []))
        if spec.get("allowed_values"):
            allowed[name] = tuple(str(entry["name"]) for entry in spec["allowed_values"])
            if name == "event.category":
                for entry in spec["allowed_values"]:
                    event_types[str(entry["name"])] = tuple(str(t) for t in entry.get("expected_event_types") or ())
        if spec.get("expected_values"):
            expected[name] = tuple(str(v) for v in spec["expected_values"])
        if field_type == "flattened" or (field_type == "object" and spec.get("object_type")):
            open_objects[name] = str(spec.get("object_type") or "flattened")
    return dict(fields=fields, allowed=allowed, expected=expected, event_types=event_types, open_objects=open_objects)


def render(data: Mapping[str, Any], source_name: str = SOURCE_NAME) -> str:
    """Render the derived data as the ecs_schema_data module text."""
    out: List[str] = [
        "# -*- coding: utf-8 -*-",
        "# Generated by scripts/derive_ecs_schema.py from %s: do not edit by hand." % source_name,
        "#",
        "# Field data derived from the Elastic Common Schema (ECS) %s, generated/ecs/ecs_flat.yml" % ECS_VERSION,
        "# of https://github.com/elastic/ecs (tag v%s)." % ECS_VERSION,
        "# Copyright Elasticsearch B.V.; licensed under the Apache License, Version 2.0",
        "# (https://www.apache.org/licenses/LICENSE-2.0). Vigil keeps only names, types,",
        "# levels, array normalisation and allowed/expected values; see docs/ecs.md.",
        '"""ECS %s field data for Vigil\'s conformance check (generated; see the header)."""' % ECS_VERSION,
        "",
        "from __future__ import annotations",
        "",
        "ECS_VERSION = %s" % _pylit(ECS_VERSION),
        'ECS_SOURCE = "https://github.com/elastic/ecs/blob/v%s/generated/ecs/ecs_flat.yml"' % ECS_VERSION,
        'ECS_LICENSE = "Apache-2.0"',
        "",
        "# flat field name: (ECS type, level, normalised to an array)",
        "FIELDS = {",
    ]
    for name in sorted(data["fields"]):
        field_type, level, array = data["fields"][name]
        out.append("    %s: (%s, %s, %s)," % (_pylit(name), _pylit(field_type), _pylit(level), _pylit(array)))
    out.append("}")
    out.append("")
    out.append("# allowed_values of the fields that have them: anything else is not ECS")
    out.extend(_tuple_block("ALLOWED_VALUES", data["allowed"]))
    out.append("")
    out.append("# expected_values: the values ECS documents for these fields")
    out.extend(_tuple_block("EXPECTED_VALUES", data["expected"]))
    out.append("")
    out.append("# event.category value: the event.type values ECS expects with it")
    out.extend(_tuple_block("EXPECTED_EVENT_TYPES", data["event_types"]))
    out.append("")
    out.append("# object fields whose sub-keys are free (labels.*): name: type of the sub-keys")
    out.append("OPEN_OBJECTS = {")
    for name in sorted(data["open_objects"]):
        out.append("    %s: %s," % (_pylit(name), _pylit(data["open_objects"][name])))
    out.append("}")
    return "\n".join(out) + "\n"


def generate(source: Path) -> str:
    with source.open(encoding="utf-8") as handle:
        flat = yaml.safe_load(handle)
    if not isinstance(flat, dict) or not flat:
        raise ValueError("%s does not look like ecs_flat.yml (expected a mapping of fields)" % source)
    return render(derive(flat), source.name)


def main(argv: Optional[Iterable[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--source", type=Path,
                        help="ecs_flat.yml of ECS %s (default: found automatically)" % ECS_VERSION)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="module to write (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if the output is not up to date")
    args = parser.parse_args(list(argv) if argv is not None else None)
    source = args.source or default_source()
    if source is None or not source.is_file():
        parser.error("no ECS flat file found; pass --source PATH/%s" % SOURCE_NAME)
    text = generate(source)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.is_file() else ""
        if current != text:
            print("%s is not up to date with %s; run %s" % (args.output, source, Path(__file__).name), file=sys.stderr)
            return 1
        print("%s is up to date" % args.output)
        return 0
    args.output.write_text(text, encoding="utf-8")
    print("wrote %s from %s" % (args.output, source))
    return 0


if __name__ == "__main__":
    sys.exit(main())
