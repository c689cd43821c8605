"""Shared pytest fixtures for Vigil's unit tests.

Modules are imported by their collection path (``ansible_collections.vigil.monitoring``)
through the ``collections/`` link in the checkout; pytest's ``pythonpath`` setting
puts it on ``sys.path``.
"""

from __future__ import annotations

import json
from typing import Any, Dict

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes


from module_harness import ModuleExit, ModuleFail, _exit_json, _fail_json  # re-exported  # noqa: F401  # pylint: disable=unused-import


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
