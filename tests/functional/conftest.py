"""Shared pytest fixtures for Vigil's functional tests (those that run programs:
ansible-playbook, promtool, amtool, Alertmanager, a service's command).

Helpers are imported by module name: pytest's ``pythonpath`` puts tests/unit and
tests/functional on ``sys.path``. ``run_module`` (a module's main() in process) is the
unit tests' fixture, defined in tests/unit/module_harness.py.
"""

from __future__ import annotations

from module_harness import run_module  # the fixture  # noqa: F401  # pylint: disable=unused-import
