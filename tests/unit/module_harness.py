"""Exceptions that stand in for sys.exit when a module under test calls exit_json/fail_json.

Import them from here (``from module_harness import ModuleFail``), not from conftest:
with several conftest.py files on sys.path the name ``conftest`` is ambiguous.
"""

from __future__ import annotations

from typing import Any, Dict


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
