#!/usr/bin/env python
"""ansible-doc must render every module, filter and role of vigil.monitoring (`make lint`).

    scripts/check_docs.py [COLLECTIONS_PATH]

Lists the collection's modules (plugins/modules/*.py), filters (the names every
plugins/filter/*.py FilterModule returns) and roles (roles/*/meta/argument_specs.yml) from
the collection found on COLLECTIONS_PATH (default: the checkout's collections/), then runs
``ansible-doc -t <type>`` on each, as a user would, and fails on an error, a warning, or a
plugin documented under another name (a multi-filter file whose documentation covers only
one of its filters: give each filter its own plugins/filter/<name>.yml).

Each problem is also a finding ``<file> check-docs:<problem>``; findings listed in
tests/pending-findings.txt (known and scheduled) pass, as for ansible-test sanity
(scripts/sanity_pending.py).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "vigil.monitoring."


def collection_root(collections_path: Path) -> Path:
    """The collection's directory under a collections path."""
    return collections_path / "ansible_collections" / "vigil" / "monitoring"


def names(collections_path: Path) -> Dict[str, Dict[str, str]]:
    """Short names of the collection's modules, filters and roles, each with its file."""
    root = collection_root(collections_path)
    sys.path.insert(0, str(collections_path))
    filters: Dict[str, str] = {}
    for path in sorted((root / "plugins" / "filter").glob("*.py")):
        if path.name == "__init__.py":
            continue
        module = importlib.import_module("ansible_collections.vigil.monitoring.plugins.filter." + path.stem)
        filters.update((name, "plugins/filter/" + path.name) for name in module.FilterModule().filters())
    return {
        "module": {p.stem: "plugins/modules/" + p.name for p in (root / "plugins" / "modules").glob("*.py")
                   if p.name != "__init__.py"},
        "filter": filters,
        "role": {p.parents[1].name: "roles/%s/meta/argument_specs.yml" % p.parents[1].name
                 for p in (root / "roles").glob("*/meta/argument_specs.yml")},
    }


def ansible_doc(kind: str, files: Dict[str, str], env: Dict[str, str]) -> List[Tuple[str, str]]:
    """(finding, message) for each problem ansible-doc has with these plugins or roles."""
    problems = []
    fqcns = [PREFIX + name for name in sorted(files)]
    # The text form is what a user runs: it renders the markup, not only parses it. One
    # call for all; when it fails (it stops at the first bad one), one call per name.
    for batch in [fqcns] + ([[fqcn] for fqcn in fqcns] if len(fqcns) > 1 else []):
        text = subprocess.run(["ansible-doc", "-t", kind] + batch, env=env,
                              capture_output=True, text=True, timeout=600, check=False)
        noise = [line for line in text.stderr.splitlines() if "[ERROR]" in line or "[WARNING]" in line]
        if text.returncode == 0 and not noise:
            if batch is fqcns:
                break
            continue
        if batch is not fqcns or len(fqcns) == 1:
            problems.append(("%s check-docs:%s-not-rendered" % (files[batch[0][len(PREFIX):]], kind),
                             "%s %s: ansible-doc failed (exit %d): %s"
                             % (kind, " ".join(batch), text.returncode, " ".join(noise) or text.stderr.strip()[-500:])))
    if kind == "filter" and not problems:
        # A file's DOCUMENTATION is shown for each of its filters that has no sidecar:
        # two filters with one description means one of them is documented as the other.
        listing = subprocess.run(["ansible-doc", "-t", kind, "--json"] + fqcns, env=env,
                                 capture_output=True, text=True, timeout=600, check=False)
        docs = json.loads(listing.stdout or "{}")
        seen: Dict[str, str] = {}
        for fqcn in fqcns:
            short = ((docs.get(fqcn) or {}).get("doc") or {}).get("short_description", "")
            if short in seen:
                problems.append(("%s check-docs:shared-documentation" % files[fqcn[len(PREFIX):]],
                                 "filter %s: documented with the text of %s (its file's DOCUMENTATION wins over "
                                 "plugins/filter/%s.yml)" % (fqcn, seen[short], fqcn.rsplit(".", 1)[1])))
            seen.setdefault(short, fqcn)
    return problems


def main(argv: List[str]) -> int:
    """Render every module, filter and role; print problems; exit 1 if any."""
    collections_path = Path(argv[0]).resolve() if argv else ROOT / "collections"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections_path), ANSIBLE_NOCOLOR="1",
               PYTHONWARNINGS="ignore")
    env.pop("ANSIBLE_CONFIG", None)
    found = names(collections_path)
    problems = []
    for kind, files in found.items():
        problems.extend(ansible_doc(kind, files, env))
    for _finding, message in problems:
        print(message)
    print("ansible-doc: %s; %d problem(s)" % (", ".join("%d %ss" % (len(v), k) for k, v in found.items()), len(problems)))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from sanity_pending import compare  # pylint: disable=import-outside-toplevel
    return compare({finding for finding, _message in problems}, "check-docs")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
