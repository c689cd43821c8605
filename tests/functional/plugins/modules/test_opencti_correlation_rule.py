"""The opencti role's C2 correlation rule, played by ansible-playbook against the Kibana fake.

The role's own tasks (tasks/correlation.yml, with its defaults) run on localhost and call
vigil.monitoring.kibana_connector and vigil.monitoring.kibana_rule; the fake stores what
Kibana would. What a user notices: the indicator match rule exists with the firewall
query, the OpenCTI threat index and the destination.ip mapping, it is critical and its
action posts severity=critical, team=security to Alertmanager; a second run changes nothing;
without opencti_kibana_url the role says it skipped the rule.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest
from standins.elastic import FakeKibana

ROOT = pathlib.Path(__file__).resolve().parents[4]
RULE_ID = "vigil-opencti-c2-destination-ip"
CONNECTOR_ID = "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f"
PLAYBOOK = textwrap.dedent("""\
    - name: Correlation rule only
      hosts: localhost
      connection: local
      gather_facts: false
      tasks:
        - name: Play the role's correlation tasks
          ansible.builtin.include_role:
            name: vigil.monitoring.opencti
            tasks_from: correlation.yml
    """)


@pytest.fixture
def kibana():
    fake = FakeKibana(expected_auth="Basic " + base64.b64encode(b"vigil_kibana_rules:kibana-secret").decode()).start()
    yield fake
    fake.stop()


def play(tmp_path, extra_vars, check=False):
    playbook = tmp_path / "correlation.yml"
    playbook.write_text(PLAYBOOK)
    variables = tmp_path / "vars.json"
    variables.write_text(json.dumps(dict({"ansible_python_interpreter": sys.executable}, **extra_vars)))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", str(playbook),
            "-e", "@%s" % variables]
    if check:
        argv.append("--check")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=240, cwd=str(tmp_path))
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    recap = re.search(r"localhost\s+: ok=(\d+)\s+changed=(\d+)", output)
    return int(recap.group(2)), output


def settings(kibana):
    return {"opencti_kibana_url": kibana.url, "opencti_kibana_password": "kibana-secret",
            "opencti_alertmanager_url": "https://alertmanager.lab.example:9093/api/v2/alerts",
            "opencti_kibana_delegate_to": "localhost"}


def test_rule_routes_allowed_traffic_to_c2_as_a_critical_alert(tmp_path, kibana):
    changed, output = play(tmp_path, settings(kibana))

    assert changed == 2, output
    rule = kibana.detection[("default", RULE_ID)]
    assert rule["type"] == "threat_match"
    assert rule["severity"] == "critical" and rule["risk_score"] == 99
    # The firewalls' streams under both agent modes: Vigil's (standalone) and Elastic's integrations' (Fleet).
    assert rule["index"] == ["logs-vigil.fortinet_fortigate-*", "logs-vigil.pfsense_filterlog-*",
                             "logs-fortinet_fortigate.log-*", "logs-pfsense.log-*"]
    assert "event.outcome:success" in rule["query"] and "event.type:allowed" in rule["query"]
    assert rule["threat_index"] == ["logs-ti_custom_opencti.indicator*"]
    assert rule["threat_mapping"] == [
        {"entries": [{"field": "destination.ip", "type": "mapping", "value": "threat.indicator.ip"}]}]
    assert rule["from"] == "now-10m" and rule["interval"] == "5m" and rule["enabled"] is True

    action = rule["actions"][0]
    assert action["id"] == CONNECTOR_ID and action["action_type_id"] == ".webhook"
    body = action["params"]["body"]
    for label in ('"alertname": "ThreatIntelC2Connection"', '"severity": "critical"', '"team": "security"'):
        assert label in body, body

    connector = kibana.connectors[("default", CONNECTOR_ID)]
    assert connector["config"]["url"] == "https://alertmanager.lab.example:9093/api/v2/alerts"
    assert "kibana-secret" not in output


def test_second_run_changes_nothing(tmp_path, kibana):
    play(tmp_path, settings(kibana))
    kibana.requests.clear()

    changed, output = play(tmp_path, settings(kibana))

    assert changed == 0, output
    assert [r for r in kibana.writes()] == []


def test_check_mode_writes_nothing(tmp_path, kibana):
    changed, _output = play(tmp_path, settings(kibana), check=True)

    assert changed == 2
    assert kibana.writes() == [] and kibana.detection == {}


def test_without_kibana_url_the_rule_is_skipped_visibly(tmp_path):
    changed, output = play(tmp_path, {})

    assert changed == 0
    assert "SKIPPED: opencti_kibana_url is empty" in output
    assert RULE_ID in output
