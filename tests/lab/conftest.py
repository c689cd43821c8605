"""testinfra for the lab (scripts/lab-check.sh runs it against inventories/lab)."""

from __future__ import annotations

import pytest
import testinfra


def pytest_configure(config):
    config.addinivalue_line("markers", "late_host: adds a host to the lab after the main checks")


@pytest.fixture(scope="session")
def lab_host():
    """Factory: a testinfra host for a lab inventory name."""
    from pathlib import Path

    inventory = Path(__file__).resolve().parents[2] / "inventories" / "lab"

    def _get(name: str):
        return testinfra.get_host("ansible://%s" % name, ansible_inventory=str(inventory))

    return _get
