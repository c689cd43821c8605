#!/usr/bin/env python
"""Compare ansible-test sanity findings with the list of findings still to be fixed.

    scripts/sanity_pending.py SANITY_LOG [PENDING_FILE]

SANITY_LOG is the output of ``ansible-test sanity``; PENDING_FILE (default
tests/pending-findings.txt) lists findings that are known and scheduled, one per line:

    <path> <test>[:<code>]  # why it is not fixed yet, and who fixes it

A finding is ``<path> <test>`` plus ``:<code>`` when the test reports one (pylint's
message name, pep8's E-number, validate-modules' error, shellcheck's SC-number); line
numbers are left out so that an edit elsewhere in the file does not break the list.
The exit status is 1 when a finding is not listed (a new problem) or a listed finding
no longer occurs (fixed: remove its line), so the list can only shrink. This is not an
ansible-test ignore file: nothing here is hidden from ansible-test, which still reports
every finding. scripts/check_docs.py compares its findings with the same file.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Iterable, Set

RUNNING = re.compile(r'^Running sanity test "([^"]+)"')
FINDING = re.compile(r"^ERROR: ([^:\s]+):\d+:\d+: (.*)$")
CODE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*): ")
PENDING_FILE = Path(__file__).resolve().parents[1] / "tests" / "pending-findings.txt"


def findings(log_lines: Iterable[str]) -> Set[str]:
    """The findings of a sanity log as ``<path> <test>[:<code>]`` strings."""
    found = set()
    test = None
    for line in log_lines:
        running = RUNNING.match(line)
        if running:
            test = running.group(1)
            continue
        finding = FINDING.match(line.rstrip("\n"))
        if not finding or test is None:
            continue
        path, message = finding.groups()
        code = CODE.match(message)
        found.add("%s %s%s" % (path, test, ":" + code.group(1) if code else ""))
    return found


def pending(lines: Iterable[str]) -> Set[str]:
    """The entries of a pending file (comments and blank lines left out)."""
    entries = set()
    for line in lines:
        entry = line.split("#", 1)[0].strip()
        if entry:
            entries.add(" ".join(entry.split()))
    return entries


def compare(found: Set[str], tool: str, pending_path: Path = PENDING_FILE) -> int:
    """Print new and fixed findings of one tool (entries ``<path> <test>`` whose test is
    one of that tool's); 0 when the findings are exactly the pending ones."""
    every = pending(pending_path.read_text(encoding="utf-8").splitlines()) if pending_path.exists() else set()
    listed = {entry for entry in every if _tool(entry) == tool}
    new, fixed = sorted(found - listed), sorted(listed - found)
    for entry in new:
        print("%s: NEW finding (fix it; it is not in %s): %s" % (tool, pending_path.name, entry))
    for entry in fixed:
        print("%s: no longer found, remove from %s: %s" % (tool, pending_path.name, entry))
    if not new and not fixed:
        print("%s: %d finding(s), each listed in %s as scheduled" % (tool, len(found), pending_path.name))
    return 1 if new or fixed else 0


def _tool(entry: str) -> str:
    """check-docs for scripts/check_docs.py's entries, sanity for ansible-test's."""
    test = entry.split(" ", 1)[1] if " " in entry else ""
    return "check-docs" if test.startswith("check-docs") else "sanity"


def main(argv: list) -> int:
    """Compare a sanity log with the pending list."""
    if len(argv) not in (1, 2):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    log = Path(argv[0]).read_text(encoding="utf-8", errors="replace").splitlines()
    return compare(findings(log), "sanity", Path(argv[1]) if len(argv) == 2 else PENDING_FILE)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
