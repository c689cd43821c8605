#!/usr/bin/env python
"""ansible-doc must render every module, filter and role of vigil.monitoring (`make lint`).

    scripts/check_docs.py [COLLECTIONS_PATH]

Lists the collection's modules (plugins/modules/*.py), filters (the names every
plugins/filter/*.py FilterModule returns) and roles (roles/*/meta/argument_specs.yml) from
the collection found on COLLECTIONS_PATH (default: the checkout's collections/), then runs
``ansible-doc -t <type>`` on each, as a user would, and fails on an error, a warning, or a
plugin documented under another name (a multi-filter file whose documentation covers only
one of its filters: give each filter its own plugins/filter/<name>.yml).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "vigil.monitoring."


def collection_root(collections_path: Path) -> Path:
    """The collection's directory under a collections path."""
    return collections_path / "ansible_collections" / "vigil" / "monitoring"


def names(collections_path: Path) -> Dict[str, List[str]]:
    """Short names of the collection's modules, filters and roles."""
    root = collection_root(collections_path)
    sys.path.insert(0, str(collections_path))
    filters: List[str] = []
    for path in sorted((root / "plugins" / "filter").glob("*.py")):
        if path.name == "__init__.py":
            continue
        module = importlib.import_module("ansible_collections.vigil.monitoring.plugins.filter." + path.stem)
        filters.extend(module.FilterModule().filters())
    return {
        "module": sorted(p.stem for p in (root / "plugins" / "modules").glob("*.py") if p.name != "__init__.py"),
        "filter": sorted(filters),
        "role": sorted(p.parents[1].name for p in (root / "roles").glob("*/meta/argument_specs.yml")),
    }


def ansible_doc(kind: str, short_names: List[str], env: Dict[str, str]) -> List[str]:
    """Problems ansible-doc reports for these plugins or roles (empty when all render)."""
    problems = []
    fqcns = [PREFIX + name for name in short_names]
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
            problems.append("%s %s: ansible-doc failed (exit %d): %s"
                            % (kind, " ".join(batch), text.returncode, " ".join(noise) or text.stderr.strip()[-500:]))
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
                problems.append("filter %s: documented with the text of %s (it needs plugins/filter/%s.yml)"
                                % (fqcn, seen[short], fqcn.rsplit(".", 1)[1]))
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
    for kind, short_names in found.items():
        problems.extend(ansible_doc(kind, short_names, env))
    for line in problems:
        print(line)
    print("ansible-doc: %s; %d problem(s)" % (", ".join("%d %ss" % (len(v), k) for k, v in found.items()), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
