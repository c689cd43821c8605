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


# What a collection user needs, and what only the playbook project around it uses.
SHIPPED = (
    "README.md", "LICENSE", "CHANGELOG.md", "meta/runtime.yml", "meta/execution-environment.yml",
    "requirements.txt", "bindep.txt", "requirements.yml", "changelogs/config.yaml",
    "plugins/doc_fragments/api.py", "plugins/filter/web_config.py", "plugins/filter/bcrypt_users.yml",
    "roles/node_exporter/tasks/main.yml", "docs/alerting.md",
)
PROJECT_ONLY = (
    "ansible.cfg", "site.yml", "Makefile", "pyproject.toml", "requirements-test.txt", "DEVELOPERS.md",
    "playbooks/", "inventories/", "scripts/", "lab/", "tests/", "molecule/", "collections/", "build/",
    ".ci/", ".config/", ".venv/", ".cache/", ".git", ".ansible-lint", ".yamllint", ".gitignore",
)


def test_tarball_holds_the_collection_and_nothing_of_the_playbook_project(installed):
    with tarfile.open(installed["tarball"]) as tar:
        names = tar.getnames()
    for rel in SHIPPED:
        assert rel in names, "%s is missing from the tarball" % rel
    roles = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "tasks").is_dir())
    assert roles and all("roles/%s/README.md" % role in names for role in roles)
    for rel in PROJECT_ONLY:
        leaked = [n for n in names if n == rel.rstrip("/") or n.startswith(rel if rel.endswith("/") else rel + "/")]
        assert not leaked, "the tarball ships playbook-project files: %s" % leaked[:5]
    # The example inventory's vault password file, above all.
    assert not any("vault-password" in n for n in names)
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


def test_playbook_outside_the_checkout_uses_role_action_group_module_and_filter(installed, tmp_path):
    """Another project's playbook: a role, a module whose connection options come from
    module_defaults of its action group, and a filter, all by FQCN from the installed
    tarball. The module talks to the Grafana fake on loopback."""
    from standins.grafana import GrafanaFake  # pylint: disable=import-outside-toplevel

    fake = GrafanaFake().start()
    try:
        project = tmp_path / "other-project"
        project.mkdir()
        (project / "play.yml").write_text(PLAY)
        env = dict(installed["env"], GRAFANA_URL=fake.url, GRAFANA_TOKEN=fake.token)
        command = [BIN / "ansible-playbook", "-i", "localhost,", "-c", "local",
                   "-e", "ansible_python_interpreter=%s" % sys.executable, "play.yml"]
        out = _run(command, cwd=project, env=env)
        second = _run(command, cwd=project, env=env)
    finally:
        fake.stop()
    assert "failed=0" in out and "ok=" in out
    # The role ran: the catalog was merged and validated by the installed collection.
    assert "effective alerts: " in out
    # The module ran against the fake with the group's token: one mute timing created, then nothing.
    posts = [req for req in fake.calls("POST") if req.path.endswith("/mute-timings")]
    assert len(posts) == 1 and posts[0].headers.get("authorization") == "Bearer " + fake.token
    assert "changed=0" in second.split("PLAY RECAP", 1)[1]


PLAY = """---
- name: Use vigil.monitoring from another project
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/vigil.monitoring.grafana:
      url: "{{ lookup('ansible.builtin.env', 'GRAFANA_URL') }}"
      api_token: "{{ lookup('ansible.builtin.env', 'GRAFANA_TOKEN') }}"
      timeout: 5
  roles:
    - role: vigil.monitoring.alert_catalog
      vars:
        alert_catalog_default_owner: ops
  tasks:
    - name: The role's result
      ansible.builtin.debug:
        msg: "effective alerts: {{ alert_catalog_effective | length }}"

    - name: A module of the grafana action group, connection from module_defaults
      vigil.monitoring.grafana_mute_timing:
        name: weekends
        time_intervals:
          - weekdays: ["saturday", "sunday"]

    - name: A filter by FQCN
      ansible.builtin.assert:
        that:
          - (['192.0.2.0/30'] | vigil.monitoring.expand_cidr_targets) == ['192.0.2.1', '192.0.2.2']
"""


def test_the_services_wheels_build_from_the_installed_collection(installed, tmp_path):
    """The roles' services (services/<package>, the schema a link into plugins/module_utils) ship in the
    tarball: the lookup builds the same wheels from the installed collection as from the checkout, and the
    custom exporter's preflight runs the exporter's schema from it."""
    from ansible_collections.vigil.monitoring.plugins.lookup import service_wheel  # pylint: disable=import-outside-toplevel

    env = dict(installed["env"], ANSIBLE_HOME=str(tmp_path / "home"))
    out = _run([BIN / "ansible", "localhost", "-i", "localhost,", "-c", "local", "-m", "ansible.builtin.debug", "-a",
                "msg={{ query('vigil.monitoring.service_wheel', 'vigil_custom_exporter', 'vigil_responder')"
                " | map(attribute='sha256') | join(' ') }}"], cwd=installed["work"], env=env)
    for package in ("vigil_custom_exporter", "vigil_responder"):
        assert service_wheel.cached_wheel(ROOT / "services" / package, tmp_path / "checkout")["sha256"] in out
    (tmp_path / "play.yml").write_text(
        "---\n- name: Preflight\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: Preflight\n      ansible.builtin.include_role: {name: vigil.monitoring.custom_exporter, tasks_from: preflight}\n")
    bad = '{"custom_exporter_sources": [{"name": "fw", "type": "command", "command": ["x"], "metrics": [{"name": "a-b"}]}]}'
    proc = subprocess.run([BIN / "ansible-playbook", "-i", "localhost,", "-c", "local", "-e",
                           "ansible_python_interpreter=%s" % sys.executable, "-e", bad, "play.yml"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode != 0
    assert "custom_exporter_sources[0] (fw).metrics[0].name: 'a-b' is not a valid Prometheus metric name" in proc.stdout
