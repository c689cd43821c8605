#!/usr/bin/env python
"""Check the collection's execution-environment metadata with ansible-builder (`make lint`).

    scripts/ee_check.py COLLECTIONS_PATH WORKDIR

COLLECTIONS_PATH holds vigil.monitoring installed from the built tarball. Two steps, as
an image build for AWX or Automation Platform does them, without building the image:

1. ``ansible-builder introspect`` reads meta/execution-environment.yml of the installed
   collection: every runtime requirement of requirements.txt (but ansible, ansible-core
   and what ansible-builder always leaves out) and bindep.txt must come out of it.
2. ``ansible-builder create`` writes the build context of an image with these
   requirements and the collections Vigil depends on (requirements.yml) into
   WORKDIR/context; it checks the definition and its files, and pulls nothing.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import List, Set

import yaml

# What ansible-builder's introspection drops from collection requirements (it is in the
# base image, or test tooling); see ansible_builder/_target_scripts/introspect.py.
BUILDER_EXCLUDES = {"ansible", "ansible-core", "ansible-base", "pyyaml", "yaml", "json", "python"}
DEFINITION = """---
# Written by scripts/ee_check.py: an image with vigil.monitoring's requirements.
version: 3
images:
  base_image:
    name: ghcr.io/ansible-community/community-ee-base:latest
dependencies:
  python: {python}
  system: {system}
  galaxy: {galaxy}
"""


def requirement_names(path: Path) -> Set[str]:
    """Lower-case package names of a pip requirements file."""
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[\s\[<>=!~;]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def main(argv: List[str]) -> int:
    """Introspect, compare, create; print what is wrong."""
    collections, work = Path(argv[0]).resolve(), Path(argv[1]).resolve()
    root = collections / "ansible_collections" / "vigil" / "monitoring"
    work.mkdir(parents=True, exist_ok=True)
    introspected = subprocess.run(["ansible-builder", "introspect", "--sanitize", str(collections)],
                                  capture_output=True, text=True, timeout=300, check=False)
    if introspected.returncode != 0:
        print("ansible-builder introspect failed:\n%s%s" % (introspected.stdout, introspected.stderr))
        return 1
    data = yaml.safe_load(introspected.stdout) or {}
    mine = [entry for entry in (data.get("python") or []) if "from collection vigil.monitoring" in entry]
    found = {re.split(r"[\s\[<>=!~;]", entry, maxsplit=1)[0].lower() for entry in mine}
    wanted = requirement_names(root / "requirements.txt") - BUILDER_EXCLUDES
    problems = []
    if found != wanted:
        problems.append("introspection of meta/execution-environment.yml gives Python requirements %s, "
                        "requirements.txt has %s" % (sorted(found), sorted(wanted)))
    system = [entry for entry in (data.get("system") or []) if "from collection vigil.monitoring" in entry]
    if not system:
        problems.append("introspection found no system requirements (bindep.txt) of vigil.monitoring")
    (work / "requirements.txt").write_text("\n".join(entry.split("  #")[0] for entry in mine) + "\n", encoding="utf-8")
    (work / "bindep.txt").write_text("\n".join(entry.split("  #")[0] for entry in system) + "\n", encoding="utf-8")
    (work / "execution-environment.yml").write_text(DEFINITION.format(
        python=work / "requirements.txt", system=work / "bindep.txt", galaxy=root / "requirements.yml"), encoding="utf-8")
    created = subprocess.run(["ansible-builder", "create", "--file", str(work / "execution-environment.yml"),
                              "--context", str(work / "context")], capture_output=True, text=True, timeout=300,
                             check=False)
    if created.returncode != 0 or not any((work / "context" / name).exists() for name in ("Containerfile", "Dockerfile")):
        problems.append("ansible-builder create failed:\n%s%s" % (created.stdout, created.stderr))
    for line in problems:
        print(line)
    if not problems:
        print("execution environment: %d Python and %d system requirements from vigil.monitoring; build context in %s"
              % (len(mine), len(system), work / "context"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
