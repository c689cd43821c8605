"""The project-wide variables (vigil_*): declared once, read with the declared default, checked.

They are declared in ``roles/_vigil_common/meta/argument_specs.yml`` (entry point
``project``) with a type, a default and a description; ``defaults/main.yml`` of that role
holds the same defaults (scripts/check_role_specs.py). Here:

- every ``vigil_<name> | default(...)`` read in the roles, playbooks and templates names a
  declared variable and uses the declared default;
- a wrong type stops the ``project`` entry point (site.yml's preflight play and every
  role's preflight run it) with a message naming the variable;
- the project's documentation table is the one generated from that spec.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest
import yaml

from local_playbook import ROOT, find_ansible_playbook, run_local_playbook

SPEC = ROOT / "roles" / "_vigil_common" / "meta" / "argument_specs.yml"
READ = re.compile(r"\b(vigil_[a-z0-9_]+)\s*\|\s*default\(")
# Files whose Jinja reads host variables: role tasks, defaults, vars, templates, playbooks.
SOURCES = sorted(p for pattern in ("roles/*/tasks/**/*.yml", "roles/*/defaults/*.yml", "roles/*/vars/*.yml",
                                   "roles/*/templates/**/*.j2", "roles/*/handlers/*.yml", "playbooks/*.yml", "site.yml")
                 for p in ROOT.glob(pattern))


def declared() -> Dict[str, dict]:
    return yaml.safe_load(SPEC.read_text(encoding="utf-8"))["argument_specs"]["project"]["options"]


def _argument(text: str, start: int) -> str:
    """The first argument of the default( call that opens at text[start - 1]."""
    depth, quote, index = 0, "", start
    while index < len(text):
        char = text[index]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                break
            depth -= 1
        elif char == "," and depth == 0:
            break
        index += 1
    return text[start:index].strip()


def reads(text: str) -> Iterator[Tuple[str, str]]:
    """(variable, default expression) for each `vigil_x | default(expr, ...)` in text."""
    for match in READ.finditer(text):
        yield match.group(1), _argument(text, match.end())


def _as_jinja(value) -> str:
    """The declared default as the expression a read would write."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        found = re.fullmatch(r"\{\{\s*(.*?)\s*\}\}", value)
        return found.group(1) if found else repr(value)
    if value == {}:
        return "{}"
    return repr(value)


def _normal(expression: str) -> str:
    return re.sub(r"\s+", "", expression.replace('"', "'"))


def test_the_reads_are_found():
    found = [name for path in SOURCES for name, _expr in reads(path.read_text(encoding="utf-8"))]
    assert found.count("vigil_no_log") > 50
    assert {"vigil_site", "vigil_os", "vigil_environment", "vigil_metrics_address"} <= set(found)


def test_every_read_names_a_declared_variable_with_its_declared_default():
    options = declared()
    problems: List[str] = []
    for path in SOURCES:
        for name, expression in reads(path.read_text(encoding="utf-8")):
            where = "%s: %s | default(%s)" % (path.relative_to(ROOT), name, expression)
            if name not in options:
                problems.append("%s: %s is not declared in %s" % (where, name, SPEC.relative_to(ROOT)))
            elif _normal(expression) != _normal(_as_jinja(options[name]["default"])):
                problems.append("%s: declared default is %r" % (where, options[name]["default"]))
    assert not problems, "\n".join(problems)


def test_a_read_with_another_default_is_found():
    text = "no_log: \"{{ vigil_no_log | default(false) }}\"\nsite: \"{{ vigil_site | default('x', true) }}\""
    found = dict(reads(text))
    assert found == {"vigil_no_log": "false", "vigil_site": "'x'"}
    options = declared()
    assert _normal(found["vigil_no_log"]) != _normal(_as_jinja(options["vigil_no_log"]["default"]))


def test_every_declared_variable_is_typed_described_and_in_the_defaults():
    defaults = yaml.safe_load((ROOT / "roles" / "_vigil_common" / "defaults" / "main.yml").read_text(encoding="utf-8"))
    for name, option in declared().items():
        assert name.startswith("vigil_") and option.get("type") and option.get("description"), name
        assert defaults[name] == option["default"], name


def _project(tmp_path: Path, variables: dict):
    playbook = ("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - ansible.builtin.include_role:\n"
                "        name: vigil.monitoring._vigil_common\n        tasks_from: project\n")
    return run_local_playbook(tmp_path, find_ansible_playbook(), playbook, variables)


@pytest.mark.parametrize("name,value", [("vigil_no_log", "perhaps"), ("vigil_metrics_labels", ["team", "infra"])])
def test_a_wrong_type_stops_the_play_naming_the_variable(tmp_path: Path, name: str, value):
    result = _project(tmp_path, {name: value})
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert name in output and "project" in output, output[-2000:]


def test_the_lab_inventory_passes(tmp_path: Path):
    good = {"vigil_no_log": False, "vigil_site": "lab-site-1", "vigil_environment": "lab", "vigil_os": "linux",
            "vigil_metrics_address": "192.0.2.10", "vigil_metrics_labels": {"team": "infra"},
            "vigil_scrape_source_address": ["192.0.2.1", "192.0.2.2"]}
    result = _project(tmp_path, good)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_documentation_table_is_generated_from_the_spec():
    readme = (ROOT / "roles" / "_vigil_common" / "README.md").read_text(encoding="utf-8")
    assert "Entry point `project`" in readme
    for name in declared():
        assert "| `%s` |" % name in readme, name
    assert "roles/_vigil_common/README.md" in (ROOT / "README.md").read_text(encoding="utf-8")
