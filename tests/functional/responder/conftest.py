"""The responder's fixtures (tests/unit/responder/conftest.py) for its functional tests.

This directory is no package: a second package named ``responder`` would clash with
tests/unit/responder, which ``from responder.conftest import ...`` finds through pytest's
``pythonpath``.
"""

from __future__ import annotations

from responder.conftest import config_file, make_config  # fixtures  # noqa: F401  # pylint: disable=unused-import
