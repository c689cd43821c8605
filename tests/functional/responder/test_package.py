"""The responder as a package: its wheel (lookup service_wheel) installed into a throwaway venv, and the role's package steps.

The role installs the wheel built on the controller with ``pip install --no-index --no-deps``
(tasks/package.yml); the same steps run here with ansible-playbook against a venv in a
temporary directory (the role's internal paths overridden; the unit it would restart does
not exist, so no handler touches systemd).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from ansible_collections.vigil.monitoring.plugins.lookup import service_wheel
from responder.conftest import PACKAGE, write_config
from service_package import check_package_steps, install_wheel, make_venv, package_files, run_installed, setuptools_wheel

VERSION = re.search(r'^__version__ = "([^"]+)"', (PACKAGE / "src" / "vigil_responder" / "__init__.py").read_text(),
                    re.M).group(1)
PLAY = """\
---
- name: The responder role's package steps
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Build the wheel, as the role's preflight does
      ansible.builtin.set_fact:
        __responder_package: "{{ lookup('vigil.monitoring.service_wheel', 'vigil_responder') }}"
    - name: Package
      ansible.builtin.include_role: {name: vigil.monitoring.responder, tasks_from: package}
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(service_wheel.cached_wheel(PACKAGE, tmp_path_factory.mktemp("wheels"))["path"])


def test_the_installed_command_shows_its_version_and_checks_a_configuration(wheel: Path, tmp_path: Path):
    target = tmp_path / "venv"
    install_wheel(make_venv(target, with_pip=False), wheel)
    version = run_installed(target, "vigil-responder", "--version")
    assert version.returncode == 0 and version.stdout.strip() == "vigil-responder %s" % VERSION, version.stdout
    good = run_installed(target, "vigil-responder", "--config.check", "--config.file", str(write_config(tmp_path)))
    assert good.returncode == 0 and "config OK" in good.stdout, good.stderr
    bad = run_installed(target, "vigil-responder", "--config.check", "--config.file",
                        str(write_config(tmp_path, max_active_blocks=-1)))
    assert bad.returncode == 1 and "max_active_blocks must be an integer" in bad.stderr


def test_the_wheel_holds_every_module_and_setuptools_builds_the_same(wheel: Path, tmp_path: Path):
    sources = {p.relative_to(PACKAGE / "src").as_posix() for p in (PACKAGE / "src").rglob("*.py")
               if "__pycache__" not in p.parts}
    assert set(package_files(wheel)) == sources
    assert wheel.name == "vigil_responder-%s-py3-none-any.whl" % VERSION
    pytest.importorskip("setuptools")
    theirs = setuptools_wheel(PACKAGE, tmp_path)
    assert theirs.name == wheel.name and package_files(theirs) == package_files(wheel)


@pytest.mark.skipif(os.geteuid() != 0, reason="the role's files are owned by root: run as root")
def test_the_role_installs_the_wheel_once_until_the_build_changes(tmp_path: Path):
    home = tmp_path / "home"
    make_venv(home / "venv", with_pip=True)
    variables = {"_responder_home": str(home), "_responder_service": "vigil-responder-unit-test-absent",
                 "responder_nftables": False}
    check_package_steps(tmp_path, PLAY, variables, home / "venv" / "vigil-responder.wheel.sha256", "VIGIL-MARKER")
    version = run_installed(home / "venv", "vigil-responder", "--version")
    assert version.stdout.strip() == "vigil-responder %s" % VERSION
