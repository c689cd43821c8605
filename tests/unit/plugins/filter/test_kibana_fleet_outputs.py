# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kibana role's Fleet output filters: the CA fingerprint and the checks of kibana_fleet_outputs."""

from __future__ import annotations

import hashlib
import ssl
import subprocess

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.filter import kibana_fleet_outputs as outputs

REMOTE = {"id": "central", "name": "Central", "type": "remote_elasticsearch", "hosts": ["https://soc:9200"],
          "service_token": "AAEAAWVsYXN0aWMvZmxlZXQtc2VydmVyL3g6VklHSUwtTUFSS0VS"}


@pytest.fixture(scope="module")
def pem(tmp_path_factory):
    directory = tmp_path_factory.mktemp("ca")
    key, cert = directory / "ca.key", directory / "ca.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=Vigil test CA"], check=True, capture_output=True)
    return cert.read_text(encoding="ascii")


def test_the_fingerprint_is_the_sha256_of_the_certificates_der(pem):
    expected = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
    assert outputs.certificate_sha256(pem) == expected
    assert outputs.certificate_sha256("subject=CN\n" + pem + pem) == expected  # the first certificate


@pytest.mark.parametrize("text, words", [
    ("no certificate here", "no -----BEGIN CERTIFICATE----- block"),
    ("-----BEGIN CERTIFICATE-----\n@@@\n-----END CERTIFICATE-----\n", "not base64"),
    (["a list"], "takes a PEM text, got list"),
])
def test_bad_certificates_are_refused(text, words):
    with pytest.raises(AnsibleFilterError, match=words):
        outputs.certificate_sha256(text)


def test_a_good_extra_output_has_no_problem():
    assert outputs.kibana_fleet_output_problems([REMOTE], "vigil-elasticsearch") == []
    assert outputs.kibana_fleet_output_problems([], "vigil-elasticsearch") == []


@pytest.mark.parametrize("entry, words", [
    (dict(REMOTE, service_token=None), "a remote_elasticsearch output needs service_token"),
    (dict(REMOTE, is_default=True), "is marked default, and so is the cluster's output"),
    (dict(REMOTE, id="vigil-elasticsearch"), "uses the id of the output Vigil derives from the cluster"),
    (dict(REMOTE, type="kafka"), "type must be one of elasticsearch, remote_elasticsearch, logstash"),
    (dict(REMOTE, hosts="https://soc:9200"), "needs hosts, a non-empty list"),
    (dict(REMOTE, token="x"), "has unknown key(s) token"),
    (dict(REMOTE, service_token={"vault": "x"}), "service_token must be a string (from the vault), got dict"),
    (dict(REMOTE, config_yaml="password: hunter2\n"), "config_yaml sets api_key, username or password"),
])
def test_each_problem_names_the_entry(entry, words):
    found = outputs.kibana_fleet_output_problems([entry], "vigil-elasticsearch")
    assert any(words in p and p.startswith("kibana_fleet_outputs[0]") for p in found), found


def test_a_second_default_is_fine_when_the_clusters_output_is_off():
    assert outputs.kibana_fleet_output_problems([dict(REMOTE, is_default=True)], "") == []


def test_ids_used_twice_and_wrong_shapes():
    assert outputs.kibana_fleet_output_problems([REMOTE, REMOTE], "") == ["kibana_fleet_outputs: the id central is used twice"]
    assert outputs.kibana_fleet_output_problems({"id": "x"}, "") == ["kibana_fleet_outputs must be a list of outputs, got dict"]
