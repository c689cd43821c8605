# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A role's variables and task arguments evaluated as a play resolves them.

``role_value`` templates an expression with the role's ``defaults/main.yml`` and
``vars/main.yml`` (no inventory) through Ansible's own Templar, in a fresh Python with the
collection's plugins loaded; ``task_module_args`` does
the same for the arguments a task of the role passes to its module (with the ``vars`` of
the task and its blocks), dropping those that evaluate to ``omit``. Tests use them to
check what Vigil really sends (a module's arguments exactly as the role writes them)
without running a play.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

import yaml

from local_playbook import ROOT

OMIT = "__vigil_omit_place_holder__"


# The roles' variables call the collection's filters by FQCN, which needs Ansible's collection
# loader installed before anything imports ``ansible_collections`` (the test suite imports it
# as a plain package from ``collections/``): the templating runs in a fresh Python.
_TEMPLATE_PROGRAM = r"""
import json, sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([sys.argv[1]])
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

def trusted(value):
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {key: trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [trusted(item) for item in value]
    return value

request = json.load(sys.stdin)
value = Templar(loader=DataLoader(), variables=trusted(request["variables"])).template(trusted(request["value"]))
json.dump(value, sys.stdout)
"""


@functools.lru_cache(maxsize=None)
def _role_variables(role: str) -> Dict[str, Any]:
    variables: Dict[str, Any] = {}
    for name in ("defaults", "vars"):
        with (ROOT / "roles" / role / name / "main.yml").open(encoding="utf-8") as handle:
            variables.update(yaml.safe_load(handle) or {})
    return variables


def _template(role: str, value: Any, extra: Optional[Mapping[str, Any]]) -> Any:
    """value (a string, or a structure of them) templated with the role's variables and extra."""
    request = {"variables": dict(_role_variables(role), omit=OMIT, **(extra or {})), "value": value}
    done = subprocess.run([sys.executable, "-c", _TEMPLATE_PROGRAM, str(ROOT / "collections")],
                          input=json.dumps(request), capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise AssertionError("templating with the %s role's variables failed:\n%s" % (role, done.stderr[-3000:]))
    return json.loads(done.stdout)


def role_value(role: str, expression: str, extra: Optional[Mapping[str, Any]] = None) -> Any:
    """``expression`` templated with the role's defaults and vars (no inventory), as Ansible does;
    plain JSON types (Ansible's tagged strings are not)."""
    return _template(role, expression, extra)


def _tasks(tasks: Any, scope: Dict[str, Any]) -> Iterable[Tuple[Dict[str, Any], Dict[str, Any]]]:
    for task in tasks or []:
        inner = dict(scope, **(task.get("vars") or {}))
        yield task, inner
        for key in ("block", "rescue", "always"):
            yield from _tasks(task.get(key), inner)


def role_tasks(role: str) -> Iterable[Tuple[str, Dict[str, Any], Dict[str, Any]]]:
    """(tasks file name, task, the ``vars`` of the task and its enclosing blocks) for every
    task of the role, blocks included."""
    for path in sorted((ROOT / "roles" / role / "tasks").glob("*.yml")):
        for task, scope in _tasks(yaml.safe_load(path.read_text(encoding="utf-8")), {}):
            yield path.name, task, scope


def task_module_args(
    role: str, tasks_file: str, task_name: str, module: str, extra: Optional[Mapping[str, Any]] = None
) -> Dict[str, Any]:
    """The arguments the task named ``task_name`` passes to ``module``, templated with the
    role's variables and ``extra`` (the facts and registered results a play would have);
    arguments that evaluate to ``omit`` are left out, as Ansible does."""
    for name, task, scope in role_tasks(role):
        if name == tasks_file and task.get("name") == task_name:
            args = _template(role, task[module], dict(scope, **(extra or {})))
            return {k: v for k, v in args.items() if v != OMIT}
    raise AssertionError("no task named %r in roles/%s/tasks/%s" % (task_name, role, tasks_file))
