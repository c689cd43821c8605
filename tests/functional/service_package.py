"""Helpers for the tests of the services the collection ships (services/<name>) and of the roles' package steps.

A service's wheel is built by the lookup vigil.monitoring.service_wheel on the controller;
the roles install it with ``pip install --no-index --no-deps`` into the service's venv
(tasks/package.yml). These helpers make throwaway venvs that see the test venv's packages
(the services' dependencies) through a ``.pth`` file, install wheels the roles' way, build
the developers' wheel with setuptools for comparison, and run a role's package steps with
ansible-playbook to check what a user of the role would see: installed once, then nothing
to do (and check mode clean) until the venv holds another build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path
from typing import Any, Dict

from local_playbook import find_ansible_playbook, recap_changed, run_local_playbook


def make_venv(target: Path, with_pip: bool) -> Path:
    """A new venv at target whose Python also sees the test venv's packages; its python."""
    venv.EnvBuilder(with_pip=with_pip).create(target)
    python = target / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    Path(site, "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return python


def install_wheel(python: Path, wheel: Path) -> None:
    """Install a wheel into the venv of python the way the roles do: no index, no dependencies."""
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index", "--no-deps",
                    "--disable-pip-version-check", "--no-cache-dir", str(wheel)],
                   capture_output=True, text=True, check=True, timeout=300)


def run_installed(target: Path, command: str, *args: str) -> subprocess.CompletedProcess:
    """Run a command of the venv at target, away from the checkout (no PYTHONPATH, cwd in the venv)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(target / "bin" / command), *args], capture_output=True, text=True, timeout=60,
                          check=False, cwd=str(target), env=env)


def setuptools_wheel(project: Path, tmp_path: Path) -> Path:
    """The wheel pyproject.toml's [build-system] (setuptools) makes of a copy of the project."""
    copy = tmp_path / "setuptools-project"  # setuptools writes build/ and *.egg-info next to the sources
    shutil.copytree(project, copy, symlinks=False, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "setuptools-dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "--disable-pip-version-check", "-w", str(out), str(copy)],
                   capture_output=True, text=True, check=True, timeout=300)
    (wheel,) = out.glob("*.whl")
    return wheel


def package_files(wheel: Path) -> Dict[str, bytes]:
    """The files of a wheel outside its .dist-info directory."""
    with zipfile.ZipFile(wheel) as archive:
        return {n: archive.read(n) for n in archive.namelist() if ".dist-info/" not in n}


def check_package_steps(tmp_path: Path, playbook: str, variables: Dict[str, Any], marker: Path,
                        secret: str) -> subprocess.CompletedProcess:
    """Run a role's package steps: install, then nothing to do (and check mode clean); with
    another build noted in the venv, check mode shows the change and a run installs again.
    Returns the first run; the secret must be in no output."""

    def play(*args: str) -> subprocess.CompletedProcess:
        result = run_local_playbook(tmp_path / "run", find_ansible_playbook(), playbook, variables, args=args)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        assert secret not in result.stdout
        return result

    first = play()
    assert recap_changed(first.stdout) >= 3, first.stdout[-4000:]  # copy, pip, marker (and the copy removed)
    built = marker.read_text()
    assert len(built.strip()) == 64
    assert not list(marker.parent.parent.glob("*.whl")), "the copied wheel was left behind"
    for args in ((), ("--check",)):
        again = play(*args)
        assert recap_changed(again.stdout) == 0, again.stdout[-4000:]
    marker.write_text("0" * 64 + "\n")
    checked = play("--check")
    assert recap_changed(checked.stdout) >= 1 and marker.read_text() == "0" * 64 + "\n", checked.stdout[-4000:]
    upgraded = play()
    assert recap_changed(upgraded.stdout) >= 3 and "Install the wheel into the venv" in upgraded.stdout
    assert marker.read_text() == built
    return first
