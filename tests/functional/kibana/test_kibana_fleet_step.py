# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kibana role's Fleet step (tasks_from: fleet), run by ansible-playbook on localhost against the Kibana fake.

The fake (``FakeKibana``: Fleet outputs and package manager, bodies checked against the facts recorded from
Kibana's OpenAPI document, basic auth of the Fleet identity required) stands in for Kibana; it is not Kibana, and
nothing here shows what a real Fleet or Fleet Server does with the output or the packages.
"""

from __future__ import annotations

import base64
import hashlib
import ssl
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest

from standins.elastic import FakeKibana
from local_playbook import find_ansible_playbook, recap_changed, run_local_playbook

PASSWORD = "lab-only-VIGIL-MARKER-fleet-password"
PLAYBOOK = """\
---
- name: Fleet outputs and packages
  hosts: localhost
  gather_facts: false
  tasks:
    - name: The kibana role's Fleet step
      ansible.builtin.include_role:
        name: vigil.monitoring.kibana
        tasks_from: fleet
"""
HOSTS = ["https://es-1.example.org:9200", "https://es-2.example.org:9200"]


@pytest.fixture(scope="module")
def kibana() -> Iterator[FakeKibana]:
    token = base64.b64encode(("vigil_fleet:" + PASSWORD).encode()).decode()
    fake = FakeKibana(expected_auth="Basic " + token).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("ca")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(directory / "ca.key"),
                    "-out", str(directory / "ca.crt"), "-days", "1", "-subj", "/CN=Vigil fleet test CA"],
                   check=True, capture_output=True)
    return directory / "ca.crt"


def run(tmp_path: Path, kibana: FakeKibana, ca_file: Path, *args: str, **extra: Any) -> subprocess.CompletedProcess:
    variables = {
        "kibana_api_url": kibana.url,
        "kibana_api_retries": 1,
        "kibana_api_delay": 1,
        "kibana_fleet_api_password": PASSWORD,
        "kibana_elasticsearch_hosts": HOSTS,
        "kibana_elasticsearch_ca_file": str(ca_file),
        "vigil_no_log": False,
    }
    variables.update(extra)
    return run_local_playbook(tmp_path / "run", find_ansible_playbook(), PLAYBOOK, variables, args=("-v",) + args)


def test_the_clusters_output_and_the_pinned_packages_then_nothing(tmp_path, kibana, ca_file):
    kibana.reset(kibana.expected_auth)
    first = run(tmp_path, kibana, ca_file)
    assert first.returncode == 0, first.stdout[-3000:]

    output = kibana.outputs["vigil-elasticsearch"]
    pem = ca_file.read_text(encoding="ascii")
    assert output["type"] == "elasticsearch" and output["hosts"] == HOSTS
    assert output["ca_trusted_fingerprint"] == hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
    assert output["ssl"] == {"certificate_authorities": [pem], "verification_mode": "full"}
    assert output["is_default"] is True and output["is_default_monitoring"] is True
    assert kibana.outputs["fleet-default-output"]["is_default"] is False  # no more http://localhost:9200
    assert {name: p["version"] for name, p in kibana.packages.items()} == {
        "fortinet_fortigate": "1.25.6", "pfsense": "1.18.0", "cisco_ios": "1.16.1", "system": "1.64.0",
        "windows": "2.3.6"}
    assert kibana.rejected == []
    assert PASSWORD not in first.stdout + first.stderr

    writes = len(kibana.writes())
    second = run(tmp_path, kibana, ca_file)
    assert second.returncode == 0, second.stdout[-3000:]
    assert len(kibana.writes()) == writes
    assert recap_changed(second.stdout) == 0


def test_a_new_elasticsearch_node_updates_the_output_in_place(tmp_path, kibana, ca_file):
    kibana.reset(kibana.expected_auth)
    assert run(tmp_path, kibana, ca_file).returncode == 0
    kibana.requests.clear()

    hosts = HOSTS + ["https://es-3.example.org:9200"]
    result = run(tmp_path, kibana, ca_file, kibana_elasticsearch_hosts=hosts)

    assert result.returncode == 0, result.stdout[-3000:]
    assert [(r.method, r.path) for r in kibana.writes()] == [("PUT", "/api/fleet/outputs/vigil-elasticsearch")]
    assert kibana.outputs["vigil-elasticsearch"]["hosts"] == hosts


def test_check_mode_writes_nothing_and_says_what_would_change(tmp_path, kibana, ca_file):
    kibana.reset(kibana.expected_auth)
    result = run(tmp_path, kibana, ca_file, "--check")
    assert result.returncode == 0, result.stdout[-3000:]
    assert kibana.writes() == []
    assert recap_changed(result.stdout) > 0


def test_a_remote_cluster_as_second_output(tmp_path, kibana, ca_file):
    kibana.reset(kibana.expected_auth)
    token = "AAEAAWVsYXN0aWMvZmxlZXQtc2VydmVyL3JlbW90ZTpWSUdJTC1NQVJLRVItcmVtb3Rl"
    remote = {"id": "vigil-central", "name": "Central", "type": "remote_elasticsearch",
              "hosts": ["https://soc.example.org:9200"], "service_token": token}
    result = run(tmp_path, kibana, ca_file, kibana_fleet_outputs=[remote])
    assert result.returncode == 0, result.stdout[-3000:]
    assert kibana.outputs["vigil-central"]["type"] == "remote_elasticsearch"
    assert kibana.output_secrets["vigil-central"]["service_token"] == token
    assert kibana.outputs["vigil-elasticsearch"]["is_default"] is True


def test_wrong_fleet_credentials_stop_the_step(tmp_path, kibana, ca_file):
    kibana.reset(kibana.expected_auth)
    result = run(tmp_path, kibana, ca_file, kibana_fleet_api_password="not-the-VIGIL-MARKER-password")
    assert result.returncode != 0
    assert "refuses vigil_fleet (HTTP 401)" in result.stdout
    assert kibana.writes() == []
