# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a role's internal variables evaluate to, rendered by ansible-playbook on the controller.

A play loads a role's ``vars/main.yml`` (the role itself does not run) on the hosts of a
small inventory (connection local, no facts) and writes, per host, the values of the
variables asked for as JSON. The role's ``defaults/main.yml`` is the inventory's
``group_vars/all``, so that, as with role defaults, the inventory's group and host
variables override it. Tests then assert on what the role
would write or send (policies, datasources, settings) for realistic inventories.

The golden files in ``tests/golden/role_vars/`` hold the same values for fixed
scenarios, so that a refactoring of how a variable is computed (a Jinja program moved
into a filter) shows any change in what it evaluates to. Rewrite them with
``VIGIL_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Union

import pytest
import yaml

from local_playbook import ROOT, find_ansible_playbook, run_local_playbook

GOLDEN = ROOT / "tests" / "golden" / "role_vars"
# An Elasticsearch inventory group as the roles that reach it read it: IPv4, IPv6 (bare and
# bracketed) and a host known by its name only; one node on another HTTP port.
ELASTICSEARCH_GROUP = {
    "hosts": {
        "es1": {"ansible_host": "192.0.2.10"},
        "es2": {"ansible_host": "2001:db8::12", "elasticsearch_http_port": 9201},
        "es3": {"ansible_host": "[2001:db8::13]"},
        "es4": {},
    }
}
UPDATE = os.environ.get("VIGIL_UPDATE_GOLDEN") == "1"

_CONTENT = "{{ dict(vigil_render_names | zip(query('ansible.builtin.vars', *vigil_render_names))) | to_json }}"


def task_vars(role: str, tasks_file: str, task_name: str) -> Dict[str, str]:
    """The variables a task of roles/`role`/tasks/`tasks_file` defines: its ``vars`` and, for
    set_fact, the facts it sets; as written (templates), to be evaluated by render_role_vars."""
    tasks = yaml.safe_load((ROOT / "roles" / role / "tasks" / tasks_file).read_text(encoding="utf-8"))
    for task in _walk(tasks):
        if task.get("name") == task_name:
            found = dict(task.get("vars") or {})
            for key in ("ansible.builtin.set_fact", "set_fact"):
                found.update({k: v for k, v in (task.get(key) or {}).items() if k != "cacheable"})
            return found
    raise AssertionError("no task named %r in roles/%s/tasks/%s" % (task_name, role, tasks_file))


def _walk(tasks: Any) -> Iterable[Dict[str, Any]]:
    for task in tasks or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _walk(task.get(key))


def _dependencies(role_dir: Path) -> List[str]:
    """The collection roles a role depends on (meta/main.yml), by their directory name."""
    meta = role_dir / "meta" / "main.yml"
    if not meta.is_file():
        return []
    found = []
    for entry in (yaml.safe_load(meta.read_text(encoding="utf-8")) or {}).get("dependencies") or []:
        name = entry.get("role") if isinstance(entry, dict) else entry
        if isinstance(name, str):
            found.append(name.split(".")[-1])
    return found


def render_role_vars(
    workdir: Path,
    role: str,
    names: Sequence[str],
    extra_vars: Optional[Dict[str, Any]] = None,
    inventory: Optional[Dict[str, Any]] = None,
    hosts: str = "all",
    vars_files: Iterable[str] = ("vars/main.yml",),
    extra_task_vars: Optional[Dict[str, Any]] = None,
    setup_tasks: Sequence[Dict[str, Any]] = (),
) -> Dict[str, Dict[str, Any]]:
    """{host: {variable: value}} for the variables `names` of roles/`role`, on the hosts of
    `inventory` (a YAML inventory as data; default: localhost alone). `extra_task_vars` are
    set on the task that evaluates them (see task_vars); `setup_tasks` run first on every
    host (e.g. set_fact with cacheable: true, to give hosts facts). Fails with
    ansible-playbook's output when the play fails."""
    role_dir = ROOT / "roles" / role
    out = workdir / "out"
    out.mkdir(parents=True, exist_ok=True)
    group_vars = workdir / "group_vars" / "all"
    group_vars.mkdir(parents=True, exist_ok=True)
    defaults = (role_dir / "defaults" / "main.yml").read_text(encoding="utf-8")
    (group_vars / "role_defaults.yml").write_text(defaults, encoding="utf-8")
    # The defaults of the role's dependencies (meta/main.yml), which a role sees too; loaded first
    # (group_vars files are read in name order), so the role's own defaults win.
    for index, dependency in enumerate(_dependencies(role_dir)):
        dep_defaults = ROOT / "roles" / dependency / "defaults" / "main.yml"
        if dep_defaults.is_file():
            (group_vars / ("0%d_dependency_defaults.yml" % index)).write_text(
                dep_defaults.read_text(encoding="utf-8"), encoding="utf-8")
    if inventory is None:
        inventory = {"all": {"hosts": {"localhost": {}}}}
    inventory = {"all": dict(inventory["all"], vars=dict(inventory["all"].get("vars") or {}, ansible_connection="local"))}
    task = {
        "name": "Write the variables of this host",
        "ansible.builtin.copy": {"content": _CONTENT, "dest": "{{ vigil_render_out }}/{{ inventory_hostname }}.json",
                                 "mode": "0600"},
    }
    if extra_task_vars:
        task["vars"] = extra_task_vars
    setup = [{"name": "Set up the hosts", "hosts": "all", "gather_facts": False, "tasks": list(setup_tasks)}] if setup_tasks else []
    play = yaml.safe_dump(setup + [{
        "name": "Evaluate the variables of the role %s" % role,
        "hosts": hosts,
        "gather_facts": False,
        "vars_files": [str(role_dir / name) for name in vars_files],
        "tasks": [task],
    }], sort_keys=False, width=1000)
    variables = dict(extra_vars or {}, vigil_render_names=list(names), vigil_render_out=str(out), role_path=str(role_dir))
    result = run_local_playbook(workdir, find_ansible_playbook(), play, variables, inventory=yaml.safe_dump(inventory))
    assert result.returncode == 0, result.stdout + result.stderr
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(out.glob("*.json"))}


def render_scenarios(
    factory: Any,
    role: str,
    scenarios: Dict[str, Dict[str, Any]],
    names: Union[Sequence[str], Callable[[str], Sequence[str]]],
    inventory: Union[None, Dict[str, Any], Callable[[str], Dict[str, Any]]] = None,
    **kwargs: Any,
) -> Dict[str, Dict[str, Dict[str, Any]]]:
    """{scenario: render_role_vars(...)} for every scenario's extra variables; `names` and
    `inventory` may depend on the scenario (a function of its name). `factory` is pytest's
    tmp_path_factory; `kwargs` go to render_role_vars."""
    found = {}
    for name, extra in scenarios.items():
        wanted = names(name) if callable(names) else names
        hosts = inventory(name) if callable(inventory) else inventory
        found[name] = render_role_vars(factory.mktemp("%s_%s" % (role, name)), role, wanted, extra, hosts, **kwargs)
    return found


class _GoldenDumper(yaml.SafeDumper):
    """Block style with indented sequences (yamllint's layout)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def _ordered(value: Any) -> Any:
    """Mappings as lists of (key, value) pairs: equal only with the keys in the same order."""
    if isinstance(value, dict):
        return [(key, _ordered(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [_ordered(item) for item in value]
    return value


def check_golden(name: str, rendered: Any) -> None:
    """Compare `rendered` with tests/golden/role_vars/`name`.yml (written when VIGIL_UPDATE_GOLDEN=1), the
    keys of every mapping in the same order (the roles write some files with sort_keys=false)."""
    path = GOLDEN / ("%s.yml" % name)
    text = yaml.dump(rendered, Dumper=_GoldenDumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=120)
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("---\n# Written by VIGIL_UPDATE_GOLDEN=1 (tests/functional/role_vars_render.py); review the diff.\n" + text,
                        encoding="utf-8")
    assert path.exists(), "%s is missing: run with VIGIL_UPDATE_GOLDEN=1 to write it" % path
    expected = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert rendered == expected, (
        "the role's variables differ from %s; if the change is intended, rewrite it with VIGIL_UPDATE_GOLDEN=1 and "
        "review the diff" % path
    )
    assert _ordered(rendered) == _ordered(expected), "the role's variables list their keys in another order than %s" % path


def golden_test(prefix: str, scenarios: Iterable[str]) -> Callable[..., None]:
    """A test, parametrized by scenario, that its rendering (fixture ``rendered``) matches
    tests/golden/role_vars/<prefix>-<scenario>.yml. Assign it to a module-level test_ name."""
    @pytest.mark.parametrize("scenario", sorted(scenarios))
    def test_scenario_matches_golden_file(rendered: Dict[str, Any], scenario: str) -> None:
        check_golden("%s-%s" % (prefix, scenario), rendered[scenario])
    return test_scenario_matches_golden_file
