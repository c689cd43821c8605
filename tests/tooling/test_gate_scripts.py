"""The checks behind `make lint`'s gates find what they are for (scripts/ of the gates)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / ("%s.py" % name))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


specs_check = _script("check_role_specs")
role_docs = _script("role_docs")
pending = _script("sanity_pending")


def _role(tmp_path, options, defaults, name="demo"):
    role = tmp_path / name
    (role / "meta").mkdir(parents=True)
    (role / "defaults").mkdir()
    (role / "meta" / "argument_specs.yml").write_text(yaml.safe_dump(
        {"argument_specs": {"main": {"short_description": "Demo role", "options": options}}}))
    (role / "defaults" / "main.yml").write_text(defaults)
    return role


def test_specs_and_defaults_that_agree_pass(tmp_path):
    role = _role(tmp_path, {"demo_port": {"type": "int", "default": 9100},
                            "demo_url": {"type": "str", "required": True},
                            "demo_address": {"type": "str"}},
                 "---\ndemo_port: 9100\ndemo_address: \"{{ ansible_host }}\"\ndemo_raw: !unsafe '{{ x }}'\n")
    (role / "meta" / "argument_specs.yml").write_text(
        (role / "meta" / "argument_specs.yml").read_text().replace("demo_url:", "demo_raw:\n        type: str\n      demo_url:"))
    assert specs_check.role_problems(role) == []


def test_each_kind_of_mismatch_is_named(tmp_path):
    role = _role(tmp_path, {"demo_port": {"type": "int", "default": 9100},
                            "demo_mode": {"type": "str", "default": "0640"},
                            "demo_only_in_spec": {"type": "bool"}},
                 "---\ndemo_port: 9200\ndemo_mode: 0640\ndemo_only_in_defaults: 1\n")
    problems = "\n".join(specs_check.role_problems(role))
    assert "demo_port defaults to 9100 in meta/argument_specs.yml but 9200" in problems
    assert "demo_mode defaults to '0640'" in problems
    assert "demo_only_in_defaults is in defaults/main.yml but not in meta/argument_specs.yml" in problems
    assert "demo_only_in_spec is in meta/argument_specs.yml but not in defaults/main.yml" in problems


def test_readme_table_is_appended_then_replaced_in_place(tmp_path):
    specs = {"main": {"options": {"demo_port": {"type": "int", "default": 9100, "description": "Port | listen"}}}}
    text = role_docs.updated("# demo\n\nHand-written.\n", tmp_path, specs)
    assert text.startswith("# demo\n\nHand-written.\n\n" + role_docs.BEGIN)
    assert "| `demo_port` | int | `9100` | Port \\| listen |" in text
    specs["main"]["options"]["demo_port"]["default"] = 9200
    again = role_docs.updated(text + "\nAfter the table.\n", tmp_path, specs)
    assert "`9200`" in again and "`9100`" not in again
    assert again.count(role_docs.BEGIN) == 1 and again.endswith("After the table.\n")


def test_a_role_without_readme_gets_one_with_an_example_play(tmp_path):
    role = _role(tmp_path, {"demo_port": {"type": "int", "default": 9100}}, "---\ndemo_port: 9100\n")
    (role / "meta" / "main.yml").write_text("galaxy_info:\n  description: Demo exporter\n")
    text = role_docs.updated(None, role, {"main": {"options": {"demo_port": {"type": "int", "default": 9100}}}})
    assert text.startswith("# vigil.monitoring.demo\n\nDemo exporter\n")
    assert "    - role: vigil.monitoring.demo\n" in text and role_docs.END in text


def test_the_checked_in_readmes_are_current():
    assert role_docs.main(["--check"]) == 0


SANITY_LOG = """\
Running sanity test "pep8"
ERROR: Found 1 pep8 issue(s) which need to be resolved:
ERROR: plugins/filter/x.py:561:62: E128: continuation line under-indented for visual indent
Running sanity test "empty-init"
ERROR: tests/unit/y/__init__.py:0:0: empty __init__.py required
Running sanity test "yamllint"
"""


def test_sanity_findings_are_path_test_and_code_without_line_numbers():
    assert pending.findings(SANITY_LOG.splitlines()) == {
        "plugins/filter/x.py pep8:E128", "tests/unit/y/__init__.py empty-init"}


def test_new_and_fixed_findings_fail_listed_ones_pass(tmp_path, capsys):
    listed = tmp_path / "pending.txt"
    found = pending.findings(SANITY_LOG.splitlines())
    listed.write_text("plugins/filter/x.py pep8:E128  # scheduled\ntests/unit/y/__init__.py empty-init\n")
    assert pending.compare(found, "sanity", listed) == 0
    listed.write_text("plugins/filter/x.py pep8:E128\n")
    assert pending.compare(found, "sanity", listed) == 1
    assert "NEW finding" in capsys.readouterr().out
    listed.write_text("plugins/filter/x.py pep8:E128\ntests/unit/y/__init__.py empty-init\nplugins/z.py pylint:x\n")
    assert pending.compare(found, "sanity", listed) == 1
    assert "no longer found, remove from pending.txt: plugins/z.py pylint:x" in capsys.readouterr().out
    # check_docs' entries in the same file are not sanity's business
    listed.write_text("plugins/filter/x.py pep8:E128\ntests/unit/y/__init__.py empty-init\nplugins/a.py check-docs:shared-documentation\n")
    assert pending.compare(found, "sanity", listed) == 0
