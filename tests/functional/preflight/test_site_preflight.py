"""site.yml stops in its preflight play, on the controller, before any host is touched.

The lab inventory (its group_vars, its groups) is copied to a temporary directory with
every host made unreachable on purpose (ssh to 127.0.0.1 port 1: any connection attempt
is refused at once and shows as "unreachable"), and site.yml runs with one mistake each:
(a) a team that owns alerts has no receivers, (b) broken PromQL in a new alert, (c) a
misspelt disable, (d) a network device with contradictory SNMP settings. Each run must
fail in the preflight play, naming the entry, with no later play started, and the PLAY RECAP must show every managed host with changed=0 and
unreachable=0: no task ever ran on a host. A control run with the lab's own, correct
settings passes the whole preflight and stops only when the first real play tries to
reach a host, which proves the unreachable hosts would be noticed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from local_playbook import ROOT, find_ansible_playbook, isolated_environment, load_yaml

LAB = ROOT / "inventories" / "lab"
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def inventory(tmp_path: Path) -> Path:
    target = tmp_path / "inventory"
    shutil.copytree(LAB / "group_vars", target / "group_vars")
    hosts = yaml.safe_load((LAB / "hosts.yml").read_text(encoding="utf-8"))
    unreachable = {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1,
                   "ansible_user": "nobody", "ansible_ssh_common_args": "-o ConnectTimeout=2 -o BatchMode=yes"}
    for name in hosts["all"]["children"]["lab"]["hosts"]:
        hosts["all"]["children"]["lab"]["hosts"][name] = dict(unreachable)
    (target / "hosts.yml").write_text(yaml.safe_dump(hosts), encoding="utf-8")
    return target


def run_site(tmp_path: Path, extra_vars: dict) -> subprocess.CompletedProcess:
    env = isolated_environment(tmp_path, host_key_checking="false", forks="10")
    (tmp_path / "extra.yml").write_text(yaml.safe_dump(extra_vars), encoding="utf-8")
    command = [
        str(find_ansible_playbook()), "-i", str(inventory(tmp_path)),
        "-e", "ansible_python_interpreter=%s" % sys.executable,
        "-e", "@%s" % (tmp_path / "extra.yml"),
        str(ROOT / "site.yml"),
    ]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=600)


def recap(output: str) -> dict:
    return {m.group(1): tuple(int(v) for v in m.groups()[1:]) for m in RECAP.finditer(output)}


def assert_stopped_in_preflight(result: subprocess.CompletedProcess, *fragments: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    plays = re.findall(r"^PLAY \[([^\]]+)\]", result.stdout, re.M)
    assert plays == ["Preflight checks on the controller"], plays
    for fragment in fragments:
        assert fragment in output, "%r not in the output:\n%s" % (fragment, output[-4000:])
    lab = yaml.safe_load((LAB / "hosts.yml").read_text(encoding="utf-8"))["all"]["children"]["lab"]["hosts"]
    found = recap(result.stdout)
    assert set(lab) <= set(found), found
    for host in lab:
        ok, changed, unreachable, failed = found[host]
        assert (changed, unreachable) == (0, 0), "%s was touched: %s" % (host, found[host])


def lab_teams():
    return load_yaml(LAB / "group_vars" / "all" / "alerting.yml")["alertmanager_teams"]


def test_a_team_without_receivers_stops_site_in_preflight(tmp_path):
    teams = lab_teams()
    del teams["network"]
    result = run_site(tmp_path, {"alertmanager_teams": teams})
    assert_stopped_in_preflight(
        result, "alertmanager_teams['network']: team 'network' owns alerts (", "but has no receiver; add network"
    )


def test_broken_promql_stops_site_in_preflight(tmp_path):
    if not shutil.which("promtool"):
        pytest.skip("promtool not on the controller: the check then runs on the Prometheus hosts (validate:)")
    broken = {
        "name": "QueueStuck", "expr": 'queue_depth{job="custom" > 100', "for": "5m", "severity": "warning",
        "owner": "app", "summary": "Queue stuck", "description": "The queue does not drain.",
        "runbook_url": "https://runbooks.example.org/queue-stuck",
    }  # fmt: skip
    team_rules = tmp_path / "team-rules.yml"
    team_rules.write_text("groups:\n  - name: team\n    rules:\n      - alert: TeamBroken\n        expr: rate(x[5m]\n")
    result = run_site(tmp_path, {"alert_catalog": [broken], "prometheus_rule_files": [str(team_rules)]})
    assert_stopped_in_preflight(
        result, "promtool check rules refused", '"QueueStuck": could not parse expression', "team-rules.yml"
    )


def test_a_misspelt_disable_stops_site_in_preflight(tmp_path):
    result = run_site(tmp_path, {"alert_catalog": [{"name": "LoadHihg", "enabled": False}]})
    assert_stopped_in_preflight(
        result,
        "alert_catalog entry 'LoadHihg' (item 1): disables 'LoadHihg', which is not an alert of the catalog",
        "Did you mean LoadHigh?",
    )


def test_a_broken_network_device_stops_site_in_preflight(tmp_path):
    """A network device is checked on the controller before the Prometheus servers change
    (it runs no Ansible; its exporter's play comes after theirs), without its credentials."""
    result = run_site(tmp_path, {"snmp_device_security_level": "noAuthNoPriv"})
    assert_stopped_in_preflight(
        result,
        "network device 'vigil-sw1' (inventory host): snmp_device_security_level is noAuthNoPriv but passwords are given",
    )
    network = load_yaml(LAB / "group_vars" / "all" / "network.yml")
    output = result.stdout + result.stderr
    for name in ("lab_snmpd_v3_auth_password", "lab_snmpd_v3_priv_password"):
        assert network[name] not in output


def test_control_run_passes_preflight_and_stops_at_the_first_unreachable_host(tmp_path):
    result = run_site(tmp_path, {})
    plays = re.findall(r"^PLAY \[([^\]]+)\]", result.stdout, re.M)
    assert result.returncode != 0
    assert plays[:2] == ["Preflight checks on the controller", "Prometheus servers"], plays
    found = recap(result.stdout)
    assert found["vigil-mon1"][2] == 1, found  # unreachable: the design notices any contact with a host
    assert all(changed == 0 for _ok, changed, _u, _f in found.values()), found
