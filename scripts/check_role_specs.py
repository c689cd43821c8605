#!/usr/bin/env python
"""Check that every role's argument specs and its defaults agree (run by `make lint`).

    scripts/check_role_specs.py [ROLE_DIR...]     # default: every roles/*/

For each role with meta/argument_specs.yml:
- every variable in defaults/main.yml is an option of one of the role's entry points;
- every option of an entry point is in defaults/main.yml, unless the spec marks it
  ``required: true`` (a required value has no default by definition);
- where an option gives ``default:``, it equals the value in defaults/main.yml (compared
  as loaded YAML, so ``'0640'`` and ``0640`` differ but key order does not matter).
A role without a spec is an error. Prints one line per mismatch; exit status 1 if any.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict, List

import yaml
from ansible.parsing.yaml.loader import AnsibleLoader

ROOT = Path(__file__).resolve().parents[1]


def _load(path: Path) -> Any:
    # Ansible's own loader: it reads the !unsafe and !vault tags that defaults may hold.
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=AnsibleLoader)  # nosec B506 - Ansible's safe loader


def spec_options(role: Path) -> Dict[str, Dict[str, Any]]:
    """Top-level options of every entry point, by name (the first entry point wins)."""
    specs = (_load(role / "meta" / "argument_specs.yml") or {}).get("argument_specs") or {}
    options: Dict[str, Dict[str, Any]] = {}
    for entry in specs.values():
        for name, option in ((entry or {}).get("options") or {}).items():
            options.setdefault(name, option or {})
    return options


def role_problems(role: Path) -> List[str]:
    """Mismatches between one role's specs and its defaults, as printable lines."""
    name = role.name
    spec_file = role / "meta" / "argument_specs.yml"
    if not spec_file.exists():
        return ["%s: no meta/argument_specs.yml" % name]
    options = spec_options(role)
    defaults_file = role / "defaults" / "main.yml"
    defaults = (_load(defaults_file) or {}) if defaults_file.exists() else {}
    problems = []
    for var in sorted(set(defaults) - set(options)):
        problems.append("%s: %s is in defaults/main.yml but not in meta/argument_specs.yml" % (name, var))
    for var, option in sorted(options.items()):
        if var not in defaults:
            if not option.get("required"):
                problems.append("%s: %s is in meta/argument_specs.yml but not in defaults/main.yml "
                                "(give it a default there, or mark it required: true)" % (name, var))
            continue
        if "default" in option and option["default"] != defaults[var]:
            problems.append("%s: %s defaults to %r in meta/argument_specs.yml but %r in defaults/main.yml"
                            % (name, var, option["default"], defaults[var]))
    return problems


def main(argv: List[str]) -> int:
    """Check the given roles (default: all) and print the mismatches."""
    roles = [Path(arg) for arg in argv] or sorted(p for p in (ROOT / "roles").iterdir() if p.is_dir())
    problems = [line for role in roles for line in role_problems(role)]
    for line in problems:
        print(line)
    print("role specs vs defaults: %d role(s), %d mismatch(es)" % (len(roles), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
