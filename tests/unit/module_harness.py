"""Exceptions that stand in for sys.exit when a module under test calls exit_json/fail_json,
and the ``run_module`` fixture that uses them.

Import them from here (``from module_harness import ModuleFail``), not from conftest:
with several conftest.py files on sys.path the name ``conftest`` is ambiguous. The
conftest.py of tests/unit and of tests/functional import ``run_module`` from here.
"""

from __future__ import annotations

import json
from typing import Any, Dict

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes


class ModuleExit(Exception):
    """Raised instead of sys.exit when a module calls exit_json."""

    def __init__(self, result: Dict[str, Any]):
        super().__init__(result)
        self.result = result


class ModuleFail(Exception):
    """Raised instead of sys.exit when a module calls fail_json."""

    def __init__(self, result: Dict[str, Any]):
        super().__init__(result.get("msg"))
        self.result = result


def _exit_json(self, **kwargs):  # pylint: disable=unused-argument
    kwargs.setdefault("changed", False)
    raise ModuleExit(kwargs)


def _fail_json(self, **kwargs):  # pylint: disable=unused-argument
    kwargs["failed"] = True
    raise ModuleFail(kwargs)


@pytest.fixture
def run_module(monkeypatch):
    """Run a module's main() with arguments; return its result dict.

    ``run_module(mod, {"url": ...}, check_mode=True, diff=True)`` returns the exit_json
    result, or raises ModuleFail (its ``.result`` holds fail_json's keyword arguments).
    """
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", _exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", _fail_json)

    def _run(module, args: Dict[str, Any], check_mode: bool = False, diff: bool = False) -> Dict[str, Any]:
        payload = dict(args)
        payload["_ansible_check_mode"] = check_mode
        payload["_ansible_diff"] = diff
        payload["_ansible_remote_tmp"] = "/tmp"
        payload["_ansible_keep_remote_files"] = False
        monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": payload})))
        monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
        try:
            module.main()
        except ModuleExit as exc:
            return exc.result
        raise AssertionError("module returned without calling exit_json or fail_json")

    return _run
