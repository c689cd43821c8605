"""Hooks for every pytest run in the checkout: unit tests, the stack check, Molecule verifiers.

Tests plant secrets that start with ``VIGIL-MARKER`` and ``make test`` fails when one
reaches a log (scripts/check-no-secrets.py). A failing assertion that compares such a
value would print it; the report keeps the failure and shows a placeholder instead.
"""

from __future__ import annotations

import re

import pytest

PLANTED = re.compile(r"VIGIL-MARKER[^\s'\",;:}\]\)]*")
PLACEHOLDER = "<planted secret, not shown>"


def mask_planted(text: str) -> str:
    """``text`` with every planted secret replaced by a placeholder."""
    return PLANTED.sub(PLACEHOLDER, text)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # pylint: disable=unused-argument
    outcome = yield
    report = outcome.get_result()
    if report.longrepr is not None and "VIGIL-MARKER" in str(report.longrepr):
        report.longrepr = mask_planted(str(report.longrepr))
    report.sections = [(title, mask_planted(body)) for title, body in report.sections]
