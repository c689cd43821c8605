"""The whole stack in the lab: what an operator checks after `make lab`.

Run by scripts/lab-check.sh after two converges (the second with changed=0).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lab_api import http, wait_for

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = yaml.safe_load((ROOT / "inventories" / "lab" / "hosts.yml").read_text())["all"]["children"]
LAB_HOSTS = sorted(INVENTORY["lab"]["hosts"])
PROMETHEUS = sorted(INVENTORY["prometheus"]["hosts"])
ALERTMANAGERS = sorted(INVENTORY["alertmanager"]["hosts"])
SCRAPE_WAIT = 90  # seconds: a few 15 s scrape intervals, bounded


def test_node_exporter_serves_metrics_on_every_host(host):
    assert host.service("prometheus-node-exporter").is_running
    result = http(host, "http://127.0.0.1:9100/metrics")
    assert result["status"] == 200
    assert "node_systemd_unit_state" in result["body"]


def _targets(prom):
    data = http(prom, "http://127.0.0.1:9090/api/v1/targets?state=active")["json"]
    return data["data"]["activeTargets"]


@pytest.mark.parametrize("server", PROMETHEUS)
def test_every_target_is_up_on_both_prometheus_servers(lab_host, server):
    prom = lab_host(server)

    def all_up():
        targets = _targets(prom)
        down = [(t["labels"].get("job"), t["labels"].get("instance"), t.get("lastError")) for t in targets if t["health"] != "up"]
        return targets if targets and not down else None

    targets = wait_for(all_up, SCRAPE_WAIT, what="all targets up on %s" % server)
    jobs = {}
    for t in targets:
        jobs.setdefault(t["labels"]["job"], set()).add(t["labels"].get("instance"))
    assert jobs["node"] == set(LAB_HOSTS)
    assert len(jobs["prometheus"]) == len(PROMETHEUS)
    assert len(jobs["alertmanager"]) == len(ALERTMANAGERS)
    assert len(jobs["custom"]) == 1
    assert len(jobs["blackbox_exporter"]) == 1
    modules = {t["labels"].get("module") for t in targets if t["labels"]["job"] == "blackbox"}
    assert {"icmp", "tcp_connect", "http_2xx", "dns"} <= modules


@pytest.mark.parametrize("server", PROMETHEUS)
def test_catalog_rules_are_loaded_and_evaluate_without_errors(lab_host, server):
    prom = lab_host(server)
    groups = http(prom, "http://127.0.0.1:9090/api/v1/rules")["json"]["data"]["groups"]
    rules = [r for g in groups for r in g["rules"]]
    names = {r["name"] for r in rules}
    assert {"HostDown", "DiskWillFillSoon", "TlsCertExpiringCritical", "CustomExporterSourceDown"} <= names
    failing = [(r["name"], r.get("lastError")) for r in rules if r.get("health") not in ("ok", "unknown")]
    assert not failing
    failures = http(prom, "http://127.0.0.1:9090/api/v1/query?query=sum(prometheus_rule_evaluation_failures_total)")["json"]
    assert float(failures["data"]["result"][0]["value"][1]) == 0


def test_custom_exporter_gauge_holds_the_firewall_value(lab_host):
    prom = lab_host(PROMETHEUS[0])

    def value():
        res = http(prom, "http://127.0.0.1:9090/api/v1/query?query=vigil_firewall_vpn_active_sessions")["json"]
        return res["data"]["result"]

    result = wait_for(value, SCRAPE_WAIT, what="custom exporter gauge in Prometheus")
    assert float(result[0]["value"][1]) == 42


@pytest.mark.parametrize("node", ALERTMANAGERS)
def test_alertmanager_cluster_has_every_peer(lab_host, node):
    am = lab_host(node)

    def peers():
        status = http(am, "http://127.0.0.1:9093/api/v2/status")["json"]
        cluster = status["cluster"]
        return cluster if cluster["status"] == "ready" and len(cluster.get("peers", [])) == len(ALERTMANAGERS) else None

    wait_for(peers, 60, what="Alertmanager cluster of %d on %s" % (len(ALERTMANAGERS), node))


@pytest.mark.parametrize(
    "labels,receiver",
    [
        ("alertname=HostDown severity=critical team=infra", "infra-pager"),
        ("alertname=DiskAlmostFull severity=warning team=infra", "infra-digest"),
        ("alertname=HostRebooted severity=info team=infra", "blackhole"),
        ("alertname=ProbeFailed severity=critical team=network", "network-pager"),
        ("alertname=SomethingNew severity=critical team=nobody", "triage"),
    ],
)
def test_routing_sends_each_alert_to_the_owning_team(lab_host, labels, receiver):
    am = lab_host(ALERTMANAGERS[0])
    pairs = labels.split()
    out = am.check_output("amtool config routes test --config.file=/etc/prometheus/alertmanager.yml" + " %s" * len(pairs), *pairs)
    assert out.strip() == receiver


def test_no_mailing_list_catch_all(lab_host):
    am = lab_host(ALERTMANAGERS[0])
    config = yaml.safe_load(am.file("/etc/prometheus/alertmanager.yml").content_string)
    assert config["route"]["receiver"] == "triage"
    triage = next(r for r in config["receivers"] if r["name"] == "triage")
    assert "email_configs" not in triage


@pytest.mark.late_host
def test_a_new_host_appears_in_prometheus_after_only_its_exporter_role_ran(lab_host, tmp_path):
    name = "vigil-node3"
    extra = ROOT / ".cache" / "lab-check" / "extra-inventory"
    extra.mkdir(parents=True, exist_ok=True)
    (extra / "hosts.yml").write_text(
        "---\nall:\n  children:\n    lab:\n      hosts:\n        %s:\n          lab_image: vigil/debian13-systemd\n"
        "    node_exporter:\n      hosts:\n        %s:\n" % (name, name)
    )
    env = {"VIGIL_LAB_INVENTORY": str(extra)}
    import os

    full_env = dict(os.environ, **env)
    subprocess.run([str(ROOT / "scripts" / "lab.sh"), "create"], cwd=ROOT, env=full_env, check=True, timeout=300)
    # Only the node_exporter play, only on the new host: the Prometheus hosts are not
    # in the play; they only receive the delegated registration.
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventories/lab", "-i", str(extra),
         "playbooks/metrics.yml", "--limit", name],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "PLAY [Prometheus servers]" in proc.stdout
    recap = [line for line in proc.stdout.splitlines() if line.startswith(("vigil-mon1 ", "vigil-mon2 "))]
    assert not recap, "the Prometheus hosts must not be in the play: %s" % recap
    for server in PROMETHEUS:
        prom = lab_host(server)

        def new_target_up():
            return [t for t in _targets(prom) if t["labels"].get("instance") == name and t["health"] == "up"]

        wait_for(new_target_up, 45, interval=2, what="%s up in Prometheus on %s" % (name, server))
