#!/usr/bin/env python
"""Find blocks of role files copied from one role into another (run by `make lint`).

    scripts/role_copies.py [--roles DIR] [--allow FILE] [--min-lines N]

Reads the task, handler, vars, defaults and argument-spec files of every role
(``roles/*/{tasks,handlers,vars,defaults}/**/*.yml`` and ``meta/argument_specs.yml``) and
reports every block of at least N (default 6) consecutive lines that two roles share,
once each line is normalised:

- the role's own prefixes ``<role>_``, ``_<role>_`` and ``__<role>_`` become
  ``<role>_``, ``_<role>_`` and ``__<role>_`` with the literal word ``<role>`` (a copy
  that only renamed its variables is still a copy), and so does the role's name as a word
  (``notify: [kibana restart]``);
- leading and trailing blanks, blank lines, comment lines and the ``---`` document start
  are left out (indentation inside a block does not hide a copy, prose does not make one);
- a call of an internal role (``include_role``/``import_role`` of ``vigil.monitoring._*``)
  counts by its task name and its arguments only: the lines ``ansible.builtin.include_role:``,
  ``name: vigil.monitoring._...``, ``tasks_from: ...`` and the ``vars:`` key are how every
  caller reaches the shared step, not a copy of it (arguments that repeat still count).

A block shared by two roles is a finding, unless the allowlist (default
``tests/role-copies-allow.yml``) has an entry for that pair of files with the reason the
copy must stay::

    - files: [roles/a/tasks/x.yml, roles/b/tasks/y.yml]
      reason: why these two cannot share one file

The two names may be shell patterns (``roles/*/tasks/main.yml``) for a kind of file that
repeats by design; a pattern entry matches a pair when each pattern matches one file.

An allowlist entry that matches nothing is a finding too (the list only shrinks).
Prints one line per finding; exit status 1 if there is any. Needs PyYAML (the
allowlist) and the standard library.
"""

from __future__ import annotations

import argparse
import fnmatch
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ALLOW = ROOT / "tests" / "role-copies-allow.yml"
PLACEHOLDER = "<role>"
FILE_GLOBS = ("tasks/**/*.yml", "handlers/**/*.yml", "vars/**/*.yml", "defaults/**/*.yml",
              "meta/argument_specs.yml")


@dataclass(frozen=True)
class Line:
    """A significant line of a role file: its normalised text and its number in the file."""

    text: str
    number: int


@dataclass(frozen=True)
class RoleFile:
    """One role file, as the lines that count."""

    role: str
    path: str
    lines: Tuple[Line, ...]


@dataclass(frozen=True)
class Copy:
    """A block of ``length`` lines that two files of different roles share."""

    first: RoleFile
    first_start: int
    second: RoleFile
    second_start: int
    length: int

    def span(self, which: RoleFile, start: int) -> str:
        lines = which.lines[start:start + self.length]
        return "%s:%d-%d" % (which.path, lines[0].number, lines[-1].number)

    def describe(self) -> str:
        return "%s ~ %s (%d lines): %s" % (
            self.span(self.first, self.first_start), self.span(self.second, self.second_start), self.length,
            self.first.lines[self.first_start].text)

    @property
    def pair(self) -> Tuple[str, str]:
        return tuple(sorted((self.first.path, self.second.path)))  # type: ignore[return-value]


def normaliser(role: str):
    """A function that puts the placeholder in place of the role's prefixes and name."""
    name = re.escape(role)
    prefix = re.compile(r"(?<![A-Za-z0-9_])(_{0,2})%s_" % name)
    word = re.compile(r"(?<![A-Za-z0-9_.])%s(?![A-Za-z0-9_])" % name)

    def normalise(text: str) -> str:
        text = prefix.sub(lambda match: match.group(1) + PLACEHOLDER + "_", text)
        return word.sub(PLACEHOLDER, text)

    return normalise


CALL = re.compile(r"^(- )?(ansible\.builtin\.)?(include|import)_role:\s*$")
CALL_KEYS = re.compile(r"^(name: vigil\.monitoring\._\w+|tasks_from: \S+|vars:)\s*$")


def _indent(raw: str) -> int:
    return len(raw) - len(raw.lstrip(" "))


def internal_call_lines(lines: Sequence[str]) -> Set[int]:
    """0-based numbers of the lines that only say "call the internal role X" (see the module doc)."""
    skipped: Set[int] = set()
    for number, raw in enumerate(lines):
        if not CALL.match(raw.strip()):
            continue
        indent = _indent(raw) + (2 if raw.strip().startswith("- ") else 0)
        children = []
        end = number + 1
        while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > indent):
            children.append(end)
            end += 1
        if not any(lines[i].strip().startswith("name: vigil.monitoring._") for i in children):
            continue
        skipped.add(number)
        skipped.update(i for i in children if CALL_KEYS.match(lines[i].strip()))
        # the task's own vars: key, a sibling of the call (before or after it)
        for i in range(number - 1, -1, -1):
            if _indent(lines[i]) < indent or lines[i].lstrip().startswith("- "):
                break
            if _indent(lines[i]) == indent and lines[i].strip() == "vars:":
                skipped.add(i)
        for i in range(end, len(lines)):
            if lines[i].strip() and (_indent(lines[i]) < indent or lines[i].lstrip().startswith("- ")):
                break
            if _indent(lines[i]) == indent and lines[i].strip() == "vars:":
                skipped.add(i)
    return skipped


def significant_lines(text: str, role: str) -> Tuple[Line, ...]:
    """The lines that count, normalised, with their 1-based numbers."""
    normalise = normaliser(role)
    raw_lines = text.splitlines()
    calls = internal_call_lines(raw_lines)
    kept: List[Line] = []
    for number, raw in enumerate(raw_lines, start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#") or stripped == "---" or number - 1 in calls:
            continue
        kept.append(Line(normalise(stripped), number))
    return tuple(kept)


def role_files(roles_dir: Path, root: Path) -> List[RoleFile]:
    """Every task, handler, vars, defaults and spec file of every role under roles_dir."""
    files: List[RoleFile] = []
    for role_dir in sorted(p for p in roles_dir.iterdir() if p.is_dir()):
        seen: Set[Path] = set()
        for pattern in FILE_GLOBS:
            for path in sorted(role_dir.glob(pattern)):
                if path in seen or not path.is_file():
                    continue
                seen.add(path)
                relative = path.relative_to(root) if path.is_relative_to(root) else path
                files.append(RoleFile(role_dir.name, str(relative),
                                      significant_lines(path.read_text(encoding="utf-8"), role_dir.name)))
    return files


def _diagonals(files: Sequence[RoleFile], size: int) -> Dict[Tuple[int, int, int], List[int]]:
    """Positions of shared runs of `size` lines, by (file a, file b, offset) for files of two roles."""
    index: Dict[Tuple[str, ...], List[Tuple[int, int]]] = {}
    for number, role_file in enumerate(files):
        texts = [line.text for line in role_file.lines]
        for start in range(len(texts) - size + 1):
            index.setdefault(tuple(texts[start:start + size]), []).append((number, start))
    diagonals: Dict[Tuple[int, int, int], List[int]] = {}
    for places in index.values():
        for i, (file_a, start_a) in enumerate(places):
            for file_b, start_b in places[i + 1:]:
                if files[file_a].role == files[file_b].role:
                    continue
                diagonals.setdefault((file_a, file_b, start_b - start_a), []).append(start_a)
    return diagonals


def find_copies(files: Sequence[RoleFile], min_lines: int = 6) -> List[Copy]:
    """Maximal blocks of at least min_lines lines shared by files of different roles."""
    copies: List[Copy] = []
    for (file_a, file_b, offset), starts in _diagonals(files, min_lines).items():
        starts.sort()
        run_start = previous = starts[0]
        for start in starts[1:] + [None]:  # type: ignore[list-item]
            if start is not None and start == previous + 1:
                previous = start
                continue
            copies.append(Copy(files[file_a], run_start, files[file_b], run_start + offset,
                               previous - run_start + min_lines))
            if start is not None:
                run_start = previous = start
    copies.sort(key=lambda c: (c.first.path, c.first_start, c.second.path, c.second_start))
    return copies


def load_allowlist(path: Optional[Path]) -> List[Dict[str, object]]:
    """The allowlist entries; each needs two files and a reason."""
    if path is None or not path.exists():
        return []
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(entries, list):
        raise SystemExit("%s: must be a list of {files: [a, b], reason: ...}" % path)
    for number, entry in enumerate(entries, start=1):
        if not (isinstance(entry, dict) and isinstance(entry.get("files"), list) and len(entry["files"]) == 2
                and isinstance(entry.get("reason"), str) and entry["reason"].strip()):
            raise SystemExit("%s: entry %d needs files: [two role files] and a reason" % (path, number))
    return entries


def _allows(patterns: Sequence[str], pair: Tuple[str, str]) -> bool:
    first, second = patterns
    return ((fnmatch.fnmatchcase(pair[0], first) and fnmatch.fnmatchcase(pair[1], second))
            or (fnmatch.fnmatchcase(pair[0], second) and fnmatch.fnmatchcase(pair[1], first)))


def check(files: Sequence[RoleFile], allowlist: Iterable[Dict[str, object]], min_lines: int = 6) -> List[str]:
    """Findings as printable lines: copies not allowed, and allowlist entries that match nothing."""
    entries = [tuple(entry["files"]) for entry in allowlist]  # type: ignore[arg-type]
    used: Set[int] = set()
    findings: List[str] = []
    for copy in find_copies(files, min_lines):
        matching = [number for number, patterns in enumerate(entries) if _allows(patterns, copy.pair)]
        if matching:
            used.update(matching)
            continue
        findings.append(copy.describe())
    for number, patterns in enumerate(entries):
        if number not in used:
            findings.append("allowlist entry %s ~ %s matches no copy any more: remove it" % patterns)
    return findings


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--roles", type=Path, default=ROOT / "roles", help="directory holding the roles")
    parser.add_argument("--allow", type=Path, default=DEFAULT_ALLOW, help="allowlist of justified copies")
    parser.add_argument("--min-lines", type=int, default=6, help="shared lines that make a copy (default 6)")
    args = parser.parse_args(argv)
    root = args.roles.resolve().parent
    files = role_files(args.roles.resolve(), root)
    findings = check(files, load_allowlist(args.allow), args.min_lines)
    for finding in findings:
        print(finding)
    if findings:
        print("%d copies between roles: move the block into the family's internal role (_prometheus_common, "
              "_elastic_common, _vigil_common) or justify it in %s" % (len(findings), args.allow))
        return 1
    print("role_copies: no block of %d lines is shared by two roles (%d files)" % (args.min_lines, len(files)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
