#!/usr/bin/env python
"""Fail when a planted secret shows up in the logs a test run wrote (the end of `make test`).

The lab inventory (inventories/lab) and the Molecule scenarios carry marker secrets: values
that contain ``VIGIL-MARKER`` (passwords, tokens, keys; where a format leaves no room for a
word, as for a UUID token, the value itself is the marker). A secret must never reach a
log, so this script reads every log of the run and fails on:

* any ``VIGIL-MARKER...`` string (``VIGILMARKER`` too, for base64-only formats);
* the base64 forms of ``VIGIL-MARKER-`` at the three byte alignments, standard and
  URL-safe, so a secret leaked inside a Basic auth header or a token is found as well;
* the value of every secret variable set in the lab inventory (the role options marked
  ``no_log: true`` in roles/*/meta/argument_specs.yml), at least 12 characters long.

Logs: every *.log, *.txt and *.out file under the given paths (default: the .cache
directories `make test` writes: test/ (lint and unit output), molecule/, lab-check/,
lab-images.log). Hits are printed as file:line and the marker's name; an inventory secret
is shown by its variable name, never by its value.

    scripts/check-no-secrets.py                 # after make test
    scripts/check-no-secrets.py some/dir a.log  # other logs

Exit status: 0 clean, 1 marker found, 2 nothing to check.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import sys
from typing import Dict, Iterator, List, Tuple

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML is in requirements.txt
    yaml = None

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DEFAULT_PATHS = (".cache/test", ".cache/molecule", ".cache/lab-check", ".cache/lab-images.log")
LOG_SUFFIXES = (".log", ".txt", ".out")
MARKER = b"VIGIL-MARKER-"
MARKER_RE = re.compile(rb"VIGIL-?MARKER[A-Za-z0-9_$.:/+=-]*")
MIN_INVENTORY_SECRET = 12


def base64_fragments(marker: bytes = MARKER) -> Dict[bytes, str]:
    """Substrings that appear in any base64 text that encodes ``marker`` (standard and URL-safe)."""
    found: Dict[bytes, str] = {}
    for skip in range(3):
        body = marker[skip:]
        body = body[: len(body) - len(body) % 3]
        if len(body) < 9:
            continue
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            found[encode(body)] = "base64 of %s" % marker.decode()
    return found


def no_log_options(root: str) -> List[str]:
    """Top-level role options marked no_log in roles/*/meta/argument_specs.yml."""
    names = set()
    roles = os.path.join(root, "roles")
    for role in sorted(os.listdir(roles)) if os.path.isdir(roles) else []:
        path = os.path.join(roles, role, "meta", "argument_specs.yml")
        if not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as handle:
            specs = (yaml.safe_load(handle) or {}).get("argument_specs") or {}
        for spec in specs.values():
            for name, option in (spec.get("options") or {}).items():
                if isinstance(option, dict) and option.get("no_log"):
                    names.add(name)
    return sorted(names)


def _strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def inventory_secrets(root: str, inventory: str) -> Dict[bytes, str]:
    """{secret value: 'the value of <names> (<files>)'} for the no_log options set in the inventory."""
    if yaml is None:
        return {}
    wanted = set(no_log_options(root))
    names: Dict[bytes, List[str]] = {}
    base = os.path.join(root, inventory)
    for directory, _dirs, files in os.walk(base):
        for filename in sorted(files):
            if not filename.endswith((".yml", ".yaml")):
                continue
            with open(os.path.join(directory, filename), encoding="utf-8") as handle:
                try:
                    data = yaml.safe_load(handle)
                except yaml.YAMLError:
                    continue
            for name, value in _walk_vars(data):
                if name in wanted:
                    for text in _strings(value):
                        if len(text) >= MIN_INVENTORY_SECRET and "{{" not in text:
                            where = "%s (%s)" % (name, os.path.relpath(os.path.join(directory, filename), root))
                            names.setdefault(text.encode(), []).append(where)
    return {value: "the value of " + ", ".join(where) for value, where in names.items()}


def _walk_vars(data) -> Iterator[Tuple[str, object]]:
    """(name, value) of every variable in a group_vars file or a YAML inventory (hosts/vars/children)."""
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        if key in ("hosts", "children") and isinstance(value, dict):
            for sub in value.values():
                yield from _walk_vars(sub)
        elif key == "vars" and isinstance(value, dict):
            yield from _walk_vars(value)
        elif isinstance(value, dict) and key not in ("vars",) and ("hosts" in value or "children" in value):
            yield from _walk_vars(value)
        else:
            yield str(key), value


def log_files(paths: List[str]) -> Iterator[str]:
    for path in paths:
        if os.path.isfile(path):
            yield path
        elif os.path.isdir(path):
            for directory, _dirs, files in os.walk(path):
                for filename in sorted(files):
                    if filename.endswith(LOG_SUFFIXES):
                        yield os.path.join(directory, filename)


def scan(path: str, literals: Dict[bytes, str]) -> Iterator[Tuple[int, str]]:
    """(line number, what) for every marker in one file."""
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            for match in MARKER_RE.finditer(line):
                yield number, "marker %s" % match.group(0)[:60].decode("ascii", "replace")
            for literal, what in literals.items():
                if literal in line:
                    yield number, what


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("paths", nargs="*", help="log files or directories (default: %s)" % ", ".join(DEFAULT_PATHS))
    parser.add_argument("--inventory", default="inventories/lab",
                        help="inventory whose secret variables are markers too (default: inventories/lab)")
    args = parser.parse_args(argv)
    paths = [os.path.abspath(p) for p in args.paths] or [os.path.join(ROOT, p) for p in DEFAULT_PATHS]
    literals = base64_fragments()
    literals.update(inventory_secrets(ROOT, args.inventory))
    files = list(log_files(paths))
    if not files:
        print("check-no-secrets: no log file under %s: nothing to check" % ", ".join(paths), file=sys.stderr)
        return 2
    hits = [(path, number, what) for path in files for number, what in scan(path, literals)]
    for path, number, what in hits[:200]:
        shown = os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path
        print("check-no-secrets: %s:%d: %s" % (shown, number, what))
    if hits:
        print("check-no-secrets: FAIL: %d planted secret(s) in %d log file(s) (of %d read); a secret reached "
              "the output: find the task or test that printed it (no_log, a masked message)"
              % (len(hits), len({h[0] for h in hits}), len(files)))
        return 1
    print("check-no-secrets: no planted secret in %d log file(s) (%d inventory secrets and the VIGIL-MARKER "
          "patterns checked)" % (len(files), len(literals) - len(base64_fragments())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
