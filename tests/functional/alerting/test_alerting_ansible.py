"""The catalog through real Ansible: the role, the filters, !unsafe/raw and Vault.

Runs ansible-playbook on two local hosts with the alert_catalog role and the filters
(by FQCN, through the collections/ link), then checks what was written: Prometheus
template braces survive Ansible templating, the run_once fact reaches every host,
a vaulted secret reaches the Alertmanager receiver as given, and a bad entry fails the
play with the filter's message.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from alerting_support import ROOT
from alerting_support import promtool  # noqa: F401  (fixture)  # pylint: disable=unused-import

PLAYBOOK = textwrap.dedent("""\
    ---
    - name: Render the alert catalog
      hosts: vigil
      gather_facts: false
      roles:
        - role: vigil.monitoring.alert_catalog
      tasks:
        - name: Write the rule file as each host sees the fact
          ansible.builtin.copy:
            content: "{{ alert_catalog_effective | vigil.monitoring.alert_catalog_rules | to_nice_yaml(indent=2) }}"
            dest: "{{ out_dir }}/rules-{{ inventory_hostname }}.yml"
            mode: "0644"
        - name: Write the Alertmanager routing
          ansible.builtin.copy:
            content: >-
              {{ alert_catalog_effective | vigil.monitoring.alertmanager_routing(alertmanager_teams,
                 triage_channels=alertmanager_triage_channels) | to_nice_yaml(indent=2) }}
            dest: "{{ out_dir }}/routing.yml"
            mode: "0644"
          run_once: true
    """)

USER_VARS = textwrap.dedent("""\
    ---
    alert_catalog:
      - name: LoadHigh
        enabled: false
      - name: HostDown
        owner: platform
        labels:
          tier: core
      - name: QueueStuck
        expr: queue_depth{job="custom"} > 1000
        for: 10m
        severity: warning
        owner: app
        summary: !unsafe "Queue {{ $labels.queue }} is stuck"
        description: "{% raw %}Queue {{ $labels.queue }} on {{ $labels.instance }} holds {{ $value }} messages.{% endraw %}"
        runbook_url: https://runbooks.example.org/queue-stuck
        incident: INC-2024-031
    alertmanager_triage_channels:
      - type: webhook
        url: https://triage.example.org/hook
    alertmanager_teams:
      infra:
        pager:
          - type: pagerduty
            routing_key: "{{ vault_infra_routing_key }}"
        digest:
          - type: email
            to: infra@example.org
      network:
        pager:
          - type: webhook
            url: https://network.example.org/hook
        digest:
          - type: webhook
            url: https://network.example.org/digest
      platform:
        pager:
          - type: webhook
            url: https://platform.example.org/hook
        digest:
          - type: webhook
            url: https://platform.example.org/digest
      app:
        digest:
          - type: slack
            api_url: https://hooks.slack.com/services/T0/B0/APP
    """)

VAULT_SECRET = "s3cr3t-routing-key-0123456789"


def _tool(name):
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else shutil.which(name)


def _workspace(tmp_path: Path, user_vars: str) -> dict:
    (tmp_path / "out").mkdir()
    (tmp_path / "ansible.cfg").write_text(
        textwrap.dedent("""\
            [defaults]
            collections_path = {root}/collections
            roles_path = {root}/roles
            inventory = {tmp}/inventory.ini
            retry_files_enabled = false
            gathering = explicit
            nocows = true
            """).format(root=ROOT, tmp=tmp_path),
        encoding="utf-8",
    )
    (tmp_path / "inventory.ini").write_text(
        "[vigil]\nmon1\nmon2\n\n[alertmanager]\nmon1\nmon2\n\n"
        "[vigil:vars]\nansible_connection=local\nansible_python_interpreter=%s\n" % sys.executable,
        encoding="utf-8",
    )
    (tmp_path / "playbook.yml").write_text(PLAYBOOK, encoding="utf-8")
    (tmp_path / "user.yml").write_text(user_vars, encoding="utf-8")
    (tmp_path / "vault-pass").write_text("test-vault-password\n", encoding="utf-8")
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"),
        ANSIBLE_HOME=str(tmp_path / ".ansible"),
        ANSIBLE_LOCAL_TEMP=str(tmp_path / ".ansible" / "tmp"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_VAULT_PASSWORD_FILE=str(tmp_path / "vault-pass"),
    )
    return env


def _encrypt(tmp_path, env, name, value):
    result = subprocess.run(
        [_tool("ansible-vault"), "encrypt_string", value, "--name", name],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _play(tmp_path, env):
    return subprocess.run(
        [
            _tool("ansible-playbook"),
            "playbook.yml",
            "-e",
            "@user.yml",
            "-e",
            "@vault.yml",
            "-e",
            "out_dir=%s" % (tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    if not _tool("ansible-playbook"):
        pytest.skip("ansible-playbook not installed: pip install -r requirements.txt")
    tmp_path = tmp_path_factory.mktemp("ansible-render")
    env = _workspace(tmp_path, USER_VARS)
    (tmp_path / "vault.yml").write_text(
        "---\n" + _encrypt(tmp_path, env, "vault_infra_routing_key", VAULT_SECRET), encoding="utf-8"
    )
    result = _play(tmp_path, env)
    assert result.returncode == 0, result.stdout + result.stderr
    return tmp_path / "out"


def _rules(path):
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {rule["alert"]: rule for group in doc["groups"] for rule in group["rules"]}


def test_prometheus_templates_survive_ansible(rendered):
    rules = _rules(rendered / "rules-mon1.yml")
    assert rules["HostDown"]["annotations"]["summary"] == "Host {{ $labels.instance }} is down"
    assert "{{ $value | humanizePercentage }}" in rules["DiskWillFillSoon"]["annotations"]["description"]
    # the user's own templates: !unsafe and {% raw %} both reach Prometheus untouched
    assert rules["QueueStuck"]["annotations"]["summary"] == "Queue {{ $labels.queue }} is stuck"
    assert rules["QueueStuck"]["annotations"]["description"] == (
        "Queue {{ $labels.queue }} on {{ $labels.instance }} holds {{ $value }} messages."
    )


def test_user_overrides_apply(rendered):
    rules = _rules(rendered / "rules-mon1.yml")
    assert "LoadHigh" not in rules
    assert rules["HostDown"]["labels"] == {"severity": "critical", "team": "platform", "tier": "core"}
    assert rules["HostDown"]["expr"] == 'up{job="node"} == 0'  # not overridden: kept
    assert rules["QueueStuck"]["annotations"]["incident"] == "INC-2024-031"


def test_catalog_parameters_come_from_the_inventory(rendered):
    rules = _rules(rendered / "rules-mon1.yml")
    # Two hosts in the inventory's alertmanager group: the cluster must have two members.
    assert rules["AlertmanagerClusterDegraded"]["expr"] == 'alertmanager_cluster_members{job="alertmanager"} < 2'
    assert rules["AlertmanagerClusterDegraded"]["annotations"]["summary"].endswith("of 2 cluster members")
    assert rules["PrometheusAlertmanagersMissing"]["expr"].endswith("< 2")
    assert "[30m]" in rules["ElasticsearchLogIngestionStopped"]["expr"]


def test_run_once_fact_reaches_every_host(rendered):
    assert _rules(rendered / "rules-mon1.yml") == _rules(rendered / "rules-mon2.yml")


def test_rendered_rule_file_passes_promtool(rendered, promtool):
    result = subprocess.run(
        [promtool, "check", "rules", str(rendered / "rules-mon1.yml")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_vaulted_secret_reaches_the_receiver_as_given(rendered):
    routing = yaml.safe_load((rendered / "routing.yml").read_text(encoding="utf-8"))
    receivers = {r["name"]: r for r in routing["receivers"]}
    assert receivers["infra-pager"]["pagerduty_configs"] == [{"routing_key": VAULT_SECRET}]
    # HostDown now belongs to platform (overridden above): platform's pager is routed.
    assert routing["route"]["receiver"] == "triage"


def test_invalid_user_entry_fails_the_play_naming_it(tmp_path):
    if not _tool("ansible-playbook"):
        pytest.skip("ansible-playbook not installed: pip install -r requirements.txt")
    bad = USER_VARS.replace("    severity: warning\n    owner: app\n", "    severity: urgent\n    owner: app\n")
    assert bad != USER_VARS
    env = _workspace(tmp_path, bad)
    (tmp_path / "vault.yml").write_text("---\nvault_infra_routing_key: unused\n", encoding="utf-8")
    result = _play(tmp_path, env)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "alert_catalog entry 'QueueStuck' (item 3): unknown severity 'urgent'" in output
    assert not (tmp_path / "out" / "rules-mon1.yml").exists()
