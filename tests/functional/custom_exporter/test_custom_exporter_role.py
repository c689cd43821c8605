"""The role's preflight and package steps, run by ansible-playbook on the controller.

``tasks_from: preflight`` only reads (facts, assertions, the wheel built on the controller);
``tasks_from: package`` installs the wheel into a venv, here one in a temporary directory
(the role's internal paths are overridden), with the role's own tasks and handlers. The unit
named by ``_custom_exporter_service`` does not exist, so no handler touches systemd.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import pytest

from custom_exporter.conftest import EXAMPLE_CONFIG
from local_playbook import find_ansible_playbook, run_local_playbook
from service_package import check_package_steps, make_venv

PREFLIGHT = """\
---
- name: Preflight of the custom_exporter role
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Preflight
      ansible.builtin.include_role: {name: vigil.monitoring.custom_exporter, tasks_from: preflight}
"""
PACKAGE = PREFLIGHT + """\
    - name: Package
      ansible.builtin.include_role: {name: vigil.monitoring.custom_exporter, tasks_from: package}
"""
TOKEN = "VIGIL-MARKER-role-token"
SOURCES: List[Dict[str, Any]] = [
    {"name": "fw", "type": "http", "url": "https://fw.example.org/api", "headers": {"Authorization": "Bearer " + TOKEN},
     "metrics": [{"name": "fw_vpn_sessions", "query": "vpn.active"}]},
]

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the role's files are owned by root: run as root")


def _variables(home: Path, **extra: Any) -> Dict[str, Any]:
    variables: Dict[str, Any] = {
        "custom_exporter_sources": SOURCES,
        "_custom_exporter_home": str(home),
        "_custom_exporter_service": "vigil-custom-exporter-unit-test-absent",
    }
    variables.update(extra)
    return variables


def _play(tmp_path: Path, playbook: str, variables: Dict[str, Any], *args: str) -> subprocess.CompletedProcess:
    return run_local_playbook(tmp_path / "run", find_ansible_playbook(), playbook, variables, args=args)


def test_install_then_nothing_to_do_until_the_build_changes(tmp_path: Path):
    home = tmp_path / "home"
    make_venv(home / "venv", with_pip=True)  # the venv the role's pip task makes, with its own pip
    marker = home / "venv" / "vigil-custom-exporter.wheel.sha256"
    check_package_steps(tmp_path, PACKAGE, _variables(home), marker, TOKEN)
    program = home / "venv" / "bin" / "vigil-custom-exporter"
    version = subprocess.run([str(program), "--version"], capture_output=True, text=True, check=True, timeout=60)
    assert version.stdout.startswith("vigil_custom_exporter ")
    check = subprocess.run([str(program), "--config.check", "--config.file", str(EXAMPLE_CONFIG)],
                           capture_output=True, text=True, check=False, timeout=60)
    assert check.returncode == 0 and "config OK" in check.stdout, check.stderr


@pytest.mark.parametrize("sources, message", [
    ([], "custom_exporter_sources: must be a non-empty list (each source: name, type http or command, metrics)"),
    ([dict(SOURCES[0], metrics=[{"name": "fw-vpn"}])],
     "custom_exporter_sources[0] (fw).metrics[0].name: 'fw-vpn' is not a valid Prometheus metric name"),
    ([SOURCES[0], dict(SOURCES[0], url="ftp://fw/")],
     "custom_exporter_sources[1] (fw).url: 'ftp://fw/' must be an http:// or https:// URL"),
], ids=["no source", "bad metric name", "bad url"])
def test_a_bad_configuration_stops_the_preflight_naming_the_entry(tmp_path: Path, sources, message):
    home = tmp_path / "home"
    result = _play(tmp_path, PACKAGE, _variables(home, custom_exporter_sources=sources))
    assert result.returncode != 0
    assert message in result.stdout, result.stdout[-4000:]
    assert "Check the configuration with the exporter's schema" in result.stdout
    assert TOKEN not in result.stdout
    assert not home.exists()  # nothing was installed
