"""The custom exporter's fixtures (tests/unit/custom_exporter/conftest.py) for its functional tests.

This directory is no package: a second package named ``custom_exporter`` would clash
with tests/unit/custom_exporter, which ``from custom_exporter.conftest import ...`` finds
through pytest's ``pythonpath``.
"""

from __future__ import annotations

from custom_exporter.conftest import certs, free_port, vce  # fixtures  # noqa: F401  # pylint: disable=unused-import
