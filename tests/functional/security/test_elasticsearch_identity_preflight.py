# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The elasticsearch role's preflight refuses unusable component identities.

Run by ansible-playbook on the controller (tasks_from preflight, which only reads): a
password shorter than 16 characters, a built-in user's name or a name given twice stops
the play before any host changes, naming the identity and never showing a password.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import pytest

from local_playbook import find_ansible_playbook, run_local_playbook

PLAYBOOK = """\
---
- name: Preflight of the elasticsearch role
  hosts: localhost
  gather_facts: true
  tasks:
    - name: Preflight
      ansible.builtin.include_role: {name: vigil.monitoring.elasticsearch, tasks_from: preflight}
"""
GOOD = "a-good-identity-password"


def run(tmp_path: Path, **extra: Any):
    tls = tmp_path / "tls"
    tls.mkdir(exist_ok=True)
    for name in ("ca.crt", "host.crt", "host.key"):
        (tls / name).write_text("placeholder\n", encoding="utf-8")
    variables: Dict[str, Any] = {
        "elasticsearch_install_method": "none",
        "elasticsearch_elastic_password": "bootstrap-only-password",
        "elasticsearch_tls_mode": "provided",
        "elasticsearch_tls_ca_file": str(tls / "ca.crt"),
        "elasticsearch_tls_cert_file": str(tls / "host.crt"),
        "elasticsearch_tls_key_file": str(tls / "host.key"),
        "elasticsearch_ingest_password": GOOD,
        "elasticsearch_grafana_password": GOOD + "-2",
    }
    variables.update(extra)
    return run_local_playbook(tmp_path / "run", find_ansible_playbook(), PLAYBOOK, variables)


def test_usable_identities_pass(tmp_path: Path) -> None:
    result = run(tmp_path)
    assert result.returncode == 0, result.stdout[-4000:]


@pytest.mark.parametrize(
    "extra, named",
    [
        ({"elasticsearch_grafana_password": "too-short-pw"}, "vigil_grafana"),
        ({"elasticsearch_identities_extra": [{"name": "elastic", "password": GOOD, "component": "x",
                                              "role": {"cluster": ["monitor"]}}]}, "elastic"),  # fmt: skip
        ({"elasticsearch_fleet_username": "vigil_ingest", "elasticsearch_fleet_password": GOOD}, "vigil_ingest"),
    ],
    ids=["short password", "built-in name", "name twice"],
)
def test_unusable_identities_stop_the_play_naming_them(tmp_path: Path, extra: Dict[str, Any], named: str) -> None:
    result = run(tmp_path, **extra)
    assert result.returncode != 0
    line = next(l for l in result.stdout.splitlines() if "Component identities" in l and "FAILED" not in l)
    assert "Component identities %s" % named in line, line
    assert "too-short-pw" not in result.stdout and GOOD not in result.stdout
