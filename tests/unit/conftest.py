"""Shared pytest fixtures for Vigil's unit tests.

Modules are imported by their collection path (``ansible_collections.vigil.monitoring``)
through the ``collections/`` link in the checkout; pytest's ``pythonpath`` setting
puts it on ``sys.path``. ``run_module`` is defined in module_harness.py (shared with
tests/functional).
"""

from __future__ import annotations

from module_harness import ModuleExit, ModuleFail, _exit_json, _fail_json  # re-exported  # noqa: F401  # pylint: disable=unused-import
from module_harness import run_module  # the fixture  # noqa: F401  # pylint: disable=unused-import
