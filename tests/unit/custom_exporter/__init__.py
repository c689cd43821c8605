"""Tests of the custom exporter program (roles/custom_exporter/files) and scripts/fake_firewall_api.py.

A package so that this directory's conftest is imported as ``custom_exporter.conftest`` and
does not shadow ``tests/unit/conftest.py``, which other tests import as ``conftest``.
"""
