"""Integration tests run against real servers named by VIGIL_IT_* environment variables.

Without the variable a test is reported as skipped with the variable's name: a skip
proves nothing about the real server, and the README says so.
"""

from __future__ import annotations

import os

import pytest


def require_env(*names: str) -> dict:
    """Return the named environment variables, or skip the test saying which is missing."""
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        pytest.skip("set %s to run against a real server" % ", ".join(missing))
    return {n: os.environ[n] for n in names}
