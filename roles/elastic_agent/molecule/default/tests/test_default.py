"""elastic_agent with install method none: standalone config (deb12), Fleet mode up to the API (deb13).

Nothing here ran Elastic Agent: elastic-agent.yml is parsed as YAML on the host and its
values checked; the policy checks run on the controller with broken policies.
"""

import glob
import json
import os
import re
import subprocess
import textwrap

import pytest
import yaml
from vigil_testinfra import host_yaml, is_deb12

CONFIG = "/etc/elastic-agent/elastic-agent.yml"
ROOT = os.environ.get("VIGIL_ROOT", os.path.join(os.path.dirname(__file__), "../../../../.."))


def _field_map_pipelines():
    names = set()
    for path in glob.glob(os.path.join(ROOT, "roles/ecs_pipelines/files/field_maps/*.yml")):
        with open(path, encoding="utf-8") as handle:
            names.add(yaml.safe_load(handle)["name"])
    return names


def test_standalone_config_is_private(host):
    f = host.file(CONFIG)
    if not is_deb12(host):
        # Fleet mode: elastic-agent.yml belongs to the enrollment; Vigil writes none.
        assert not f.exists
        return
    assert (f.user, f.group, f.mode) == ("root", "root", 0o640)


def test_output_has_ca_api_key_and_verification(host):
    if not is_deb12(host):
        pytest.skip("standalone host only")
    out = host_yaml(host, CONFIG)["outputs"]["default"]
    assert out["type"] == "elasticsearch"
    assert out["hosts"] == ["https://es.lab.invalid:9200"]
    assert out["api_key"] == "VIGIL-MARKER-id:VIGIL-MARKER-api-key"
    assert out["ssl.certificate_authorities"] == ["/etc/vigil/tls/ca.crt"]
    assert out["ssl.verification_mode"] == "full"


def test_one_port_per_vendor_each_on_its_own_ecs_pipeline(host):
    if not is_deb12(host):
        pytest.skip("standalone host only")
    inputs = host_yaml(host, CONFIG)["inputs"]
    network = [i for i in inputs if i["type"] in ("udp", "tcp")]
    ports = [int(i["streams"][0]["host"].rsplit(":", 1)[1]) for i in network]
    pipelines = [i["streams"][0]["pipeline"] for i in network]
    assert sorted(ports) == [5514, 5515, 5516, 5520]
    assert len(set(ports)) == len(ports)
    assert len(set(pipelines)) == len(pipelines)
    by_port = {int(i["streams"][0]["host"].rsplit(":", 1)[1]): i for i in network}
    assert by_port[5514]["type"] == "udp"
    assert by_port[5514]["streams"][0]["pipeline"] == "vigil-ecs-fortinet-fortigate"
    assert by_port[5514]["streams"][0]["data_stream"] == {"type": "logs", "dataset": "vigil.fortinet_fortigate"}
    assert by_port[5520]["type"] == "tcp"
    assert by_port[5520]["streams"][0]["pipeline"] == "vigil-ecs-generic-edr"


def test_every_pipeline_is_defined_by_a_field_map(host):
    if not is_deb12(host):
        pytest.skip("standalone host only")
    known = _field_map_pipelines()
    for item in host_yaml(host, CONFIG)["inputs"]:
        for stream in item["streams"]:
            assert stream.get("pipeline", "none") in known | {"none"}


def test_each_input_names_its_retention(host):
    if not is_deb12(host):
        pytest.skip("standalone host only")
    text = host.file(CONFIG).content_string
    assert re.search(r"# fortinet-fortigate: pipeline vigil-ecs-fortinet-fortigate, retention firewall", text)
    assert re.search(r"# cisco-ios: pipeline vigil-ecs-cisco-ios, retention network", text)
    assert "data stream logs-vigil.edr-default" in text


def test_fleet_host_is_prepared_but_not_enrolled(host):
    certs = host.file("/etc/elastic-agent/certs")
    assert certs.is_directory and certs.mode == 0o750
    if not is_deb12(host):
        assert not host.file("/var/lib/elastic-agent/fleet.enc").exists


def _run_policy_checks(policies):
    playbook = textwrap.dedent(
        """
        - hosts: localhost
          gather_facts: false
          tasks:
            - ansible.builtin.include_role:
                name: vigil.monitoring.elastic_agent
                tasks_from: policy_checks
        """
    )
    workdir = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp")
    path = os.path.join(workdir, "policy_checks.yml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(playbook)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "collections"), ANSIBLE_NOCOLOR="1")
    return subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "-c", "local", path, "-e", json.dumps({"elastic_agent_policies": policies})],
        capture_output=True, text=True, env=env, check=False, timeout=300,
    )


def test_policy_checks_refuse_a_shared_port_and_an_unknown_pipeline(host):
    if not is_deb12(host):
        pytest.skip("controller-side check, run once")
    broken = [{"id": "bad", "inputs": [
        {"id": "fortigate", "type": "udp", "port": 5514, "dataset": "vigil.fortinet_fortigate",
         "pipeline": "vigil-ecs-fortinet-fortigate", "retention": "firewall"},
        {"id": "pfsense", "type": "tcp", "port": 5514, "dataset": "vigil.pfsense_filterlog",
         "pipeline": "vigil-ecs-pfsense-filterlog", "retention": "firewall"},
        {"id": "acme", "type": "udp", "port": 5599, "dataset": "vigil.acme",
         "pipeline": "vigil-ecs-acme-firewall", "retention": "firewall"},
    ]}]
    result = _run_policy_checks(broken)
    output = " ".join((result.stdout + result.stderr).split())  # folded by the callback, on either stream
    assert result.returncode != 0
    assert "port 5514 is already used by input fortigate" in output
    assert "pipeline vigil-ecs-acme-firewall is not defined by any field map" in output
    good = [{"id": "ok", "inputs": [broken[0]["inputs"][0]]}]
    assert _run_policy_checks(good).returncode == 0
