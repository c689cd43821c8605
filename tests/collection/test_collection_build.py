"""The collection builds, installs from its tarball, and works by FQCN away from the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(args, cwd, env=None):
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, "%s failed:\n%s\n%s" % (" ".join(map(str, args)), proc.stdout, proc.stderr)
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("collection")
    _run([BIN / "ansible-galaxy", "collection", "build", "--output-path", str(work), str(ROOT)], cwd=work)
    tarballs = list(work.glob("vigil-monitoring-*.tar.gz"))
    assert len(tarballs) == 1
    dest = work / "installed"
    _run([BIN / "ansible-galaxy", "collection", "install", "--offline", "--no-deps", "--force", "-p", str(dest), str(tarballs[0])], cwd=work)
    env = dict(os.environ)
    # A "new host": no project ansible.cfg, only the installed collection (plus the
    # collections bundled with the ansible package, which real users get from Galaxy).
    env.pop("ANSIBLE_CONFIG", None)
    env["ANSIBLE_COLLECTIONS_PATH"] = str(dest)
    env["ANSIBLE_ROLES_PATH"] = str(work / "no-roles")
    return {"tarball": tarballs[0], "dest": dest, "env": env, "work": work}


def test_tarball_holds_roles_and_plugins_but_no_lab_or_venv(installed):
    with tarfile.open(installed["tarball"]) as tar:
        names = tar.getnames()
    assert "roles/node_exporter/tasks/main.yml" in names
    assert "plugins/filter/web_config.py" in names
    assert "meta/runtime.yml" in names
    assert not any(n.startswith((".venv", "collections/", "tests/", "build/")) for n in names)
    assert not any("/molecule/" in n for n in names)


def test_role_resolves_by_fqcn_from_the_installed_collection(installed):
    playbook = installed["work"] / "play.yml"
    playbook.write_text(
        "---\n- name: Use the installed collection\n  hosts: localhost\n  gather_facts: false\n"
        "  roles:\n    - role: vigil.monitoring.node_exporter\n"
    )
    out = _run([BIN / "ansible-playbook", "--syntax-check", "-i", "localhost,", str(playbook)], cwd=installed["work"], env=installed["env"])
    assert "play.yml" in out


def test_filter_plugin_runs_by_fqcn_from_the_installed_collection(installed):
    out = _run(
        [BIN / "ansible", "localhost", "-i", "localhost,", "-c", "local", "-m", "ansible.builtin.debug",
         "-a", "msg={{ {'scraper': 'pw'} | vigil.monitoring.bcrypt_users | list }}"],
        cwd=installed["work"], env=installed["env"],
    )
    assert "scraper" in out


def test_installed_files_are_the_checkout_files(installed):
    target = installed["dest"] / "ansible_collections" / "vigil" / "monitoring"
    for rel in ("roles/node_exporter/defaults/main.yml", "plugins/filter/web_config.py"):
        assert (target / rel).read_bytes() == (ROOT / rel).read_bytes()
    assert shutil.which("ansible-galaxy", path=str(BIN))
