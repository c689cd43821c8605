"""The whole stack in the lab: what an operator checks after `make lab`.

Run by scripts/lab-check.sh after two converges (the second with changed=0).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml

from lab_api import http, wait_for
from local_playbook import load_yaml  # tests/functional, on pythonpath (pyproject.toml): reads !unsafe as Ansible does

ROOT = Path(__file__).resolve().parents[2]

INVENTORY = load_yaml(ROOT / "inventories" / "lab" / "hosts.yml")["all"]["children"]
LAB_HOSTS = sorted(INVENTORY["lab"]["hosts"])
PROMETHEUS = sorted(INVENTORY["prometheus"]["hosts"])
ALERTMANAGERS = sorted(INVENTORY["alertmanager"]["hosts"])
GRAFANA = sorted(INVENTORY["grafana"]["hosts"])
ELASTICSEARCH = sorted(INVENTORY["elasticsearch"]["hosts"])
ES_EXPORTERS = sorted(INVENTORY["elasticsearch_exporter"]["hosts"])
OPENCTI = sorted(INVENTORY["opencti"]["hosts"])
RESPONDERS = sorted(INVENTORY["responder"]["hosts"])
SNMP_EXPORTERS = sorted(INVENTORY["snmp_exporter"]["hosts"])
NETWORK_DEVICES = INVENTORY["network_devices"]["hosts"]
SNMP_AGENT = sorted(INVENTORY["lab_snmpd"]["hosts"])[0]
ALERTING_VARS = load_yaml(ROOT / "inventories" / "lab" / "group_vars" / "all" / "alerting.yml")
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
    assert jobs["snmp_exporter"] == set(SNMP_EXPORTERS)
    # Each network device is its own instance, scraped through the SNMP exporter.
    assert jobs["snmp"] == set(NETWORK_DEVICES)
    assert jobs["elasticsearch"] == set(ES_EXPORTERS)
    assert jobs["responder"] == set(RESPONDERS)
    modules = {t["labels"].get("module") for t in targets if t["labels"]["job"] == "blackbox"}
    assert {"icmp", "tcp_connect", "http_2xx", "dns"} <= modules


@pytest.mark.parametrize("server", PROMETHEUS)
def test_catalog_rules_are_loaded_and_evaluate_without_errors(lab_host, server):
    prom = lab_host(server)
    groups = http(prom, "http://127.0.0.1:9090/api/v1/rules")["json"]["data"]["groups"]
    rules = [r for g in groups for r in g["rules"]]
    names = {r["name"] for r in rules}
    assert {"HostDown", "DiskWillFillSoon", "TlsCertExpiringCritical", "CustomExporterSourceDown"} <= names
    # The stack watching itself, Elasticsearch through its exporter, and the lab inventory's
    # business alert (inventories/lab/group_vars/all/alerting.yml).
    assert {
        "AlertmanagerClusterDegraded",
        "PrometheusAlertmanagersMissing",
        "PrometheusNotificationsDropped",
        "PrometheusTsdbCompactionsFailing",
        "PrometheusTsdbWalCorrupted",
        "ElasticsearchClusterRed",
        "ElasticsearchDiskFloodStage",
        "ElasticsearchLogIngestionStopped",
        "FirewallVpnSessionsNearLimit",
    } <= names
    failing = [(r["name"], r.get("lastError")) for r in rules if r.get("health") not in ("ok", "unknown")]
    assert not failing
    failures = http(prom, "http://127.0.0.1:9090/api/v1/query?query=sum(prometheus_rule_evaluation_failures_total)")["json"]
    assert float(failures["data"]["result"][0]["value"][1]) == 0


@pytest.mark.parametrize("server", PROMETHEUS)
def test_catalog_thresholds_follow_the_lab_inventory(lab_host, server):
    """${name} parameters resolved from the inventory: three Alertmanagers in the lab."""
    prom = lab_host(server)
    groups = http(prom, "http://127.0.0.1:9090/api/v1/rules?type=alert")["json"]["data"]["groups"]
    queries = {r["name"]: r["query"] for g in groups for r in g["rules"]}
    assert queries["AlertmanagerClusterDegraded"].endswith("< %d" % len(ALERTMANAGERS))
    assert queries["PrometheusAlertmanagersMissing"].endswith("< %d" % len(ALERTMANAGERS))
    assert "[30m]" in queries["ElasticsearchLogIngestionStopped"]


def test_elasticsearch_exporter_runs_and_prometheus_reads_the_stand_in(lab_host):
    """The exporter runs for real on its host, registered itself, and Prometheus has the
    lab stand-in's cluster health from it. (The cluster is the project's fake, not
    Elasticsearch: lab/playbooks/fake_elasticsearch.yml.)"""
    for name in ES_EXPORTERS:
        assert lab_host(name).service("prometheus-elasticsearch-exporter").is_running
    for server in PROMETHEUS:
        prom = lab_host(server)

        def health():
            query = "elasticsearch_cluster_health_status%7Bjob%3D%22elasticsearch%22%2Ccolor%3D%22green%22%7D"
            res = http(prom, "http://127.0.0.1:9090/api/v1/query?query=" + query)["json"]
            return res["data"]["result"]

        result = wait_for(health, SCRAPE_WAIT, what="Elasticsearch health from the exporter on %s" % server)
        assert {r["metric"]["instance"] for r in result} == set(ES_EXPORTERS)
        assert {r["metric"]["cluster"] for r in result} == {"vigil-lab"}
        assert {r["value"][1] for r in result} == {"1"}
        streams = http(prom, "http://127.0.0.1:9090/api/v1/query?query=elasticsearch_data_stream_backing_indices_total")
        assert {r["metric"]["data_stream"] for r in streams["json"]["data"]["result"]} >= {"logs-system.syslog-default"}


def test_the_healthy_lab_fires_no_elasticsearch_or_cluster_alert(lab_host):
    prom = lab_host(PROMETHEUS[0])
    groups = http(prom, "http://127.0.0.1:9090/api/v1/rules?type=alert")["json"]["data"]["groups"]
    watched = {"AlertmanagerClusterDegraded", "PrometheusAlertmanagersMissing", "PrometheusNotConnectedToAlertmanagers",
               "FirewallVpnSessionsNearLimit"}
    firing = [(r["name"], r["state"]) for g in groups for r in g["rules"]
              if (r["name"] in watched or r["name"].startswith("Elasticsearch")) and r["state"] == "firing"]
    assert not firing
    assert all(r["health"] == "ok" for g in groups for r in g["rules"] if r["name"].startswith("Elasticsearch"))


def test_every_blackbox_probe_succeeds(lab_host):
    # A probe scrape is "up" even when the probe fails: check probe_success itself.
    prom = lab_host(PROMETHEUS[0])
    expected = len(load_yaml(ROOT / "inventories" / "lab" / "group_vars" / "all" / "metrics.yml")[
        "blackbox_exporter_targets"])

    def results():
        res = http(prom, "http://127.0.0.1:9090/api/v1/query?query=probe_success%7Bjob%3D%22blackbox%22%7D")["json"]
        return {(r["metric"].get("module"), r["metric"]["instance"]): r["value"][1] for r in res["data"]["result"]}

    def all_succeed():
        got = results()
        return got if len(got) == expected and set(got.values()) == {"1"} else None

    try:
        wait_for(all_succeed, SCRAPE_WAIT, what="every probe succeeding")
    except AssertionError:
        failing = {k: v for k, v in results().items() if v != "1"}
        raise AssertionError("probes failing or missing (expected %d): %s" % (expected, failing)) from None


def test_custom_exporter_gauge_holds_the_firewall_value(lab_host):
    prom = lab_host(PROMETHEUS[0])

    def value():
        res = http(prom, "http://127.0.0.1:9090/api/v1/query?query=vigil_firewall_vpn_active_sessions")["json"]
        return res["data"]["result"]

    result = wait_for(value, SCRAPE_WAIT, what="custom exporter gauge in Prometheus")
    assert float(result[0]["value"][1]) == 42


def _query(prom, promql):
    result = http(prom, "http://127.0.0.1:9090/api/v1/query?" + urllib.parse.urlencode({"query": promql}))["json"]
    return result["data"]["result"]


@pytest.mark.parametrize("server", PROMETHEUS)
def test_the_network_device_interfaces_are_in_prometheus(lab_host, server):
    """The SNMP agent on the lab host reports its interfaces; Prometheus has them as the device's."""
    prom = lab_host(server)
    device = sorted(NETWORK_DEVICES)[0]
    links = set(re.findall(r"^\d+: ([^:@]+)", lab_host(SNMP_AGENT).check_output("ip -o link"), re.M))
    assert {"lo", "eth0", "uplink0", "uplink0-peer"} <= links

    def interfaces():
        found = _query(prom, 'ifOperStatus{job="snmp",instance="%s"}' % device)
        return found if {r["metric"]["ifName"] for r in found} == links else None

    found = {r["metric"]["ifName"]: r for r in wait_for(interfaces, SCRAPE_WAIT, what="%s's interfaces" % device)}
    assert found["uplink0"]["value"][1] == "1"
    assert found["uplink0"]["metric"]["exporter"] == SNMP_EXPORTERS[0]
    assert found["uplink0"]["metric"]["device_role"] == "access-switch"
    assert not {"snmp_module", "snmp_auth", "snmp_address"} & set(found["uplink0"]["metric"])
    uplinks = _query(prom, 'vigil_snmp_uplink_info{job="snmp",instance="%s"}' % device)
    assert [r["metric"]["ifName"] for r in uplinks] == ["uplink0"]
    assert float(_query(prom, 'sysUpTime{job="snmp",instance="%s"}' % device)[0]["value"][1]) > 0


def test_an_uplink_going_down_in_the_lab_host_pages_the_network_team(lab_host):
    """uplink0 loses its carrier inside the lab host (its veth peer goes down): SnmpUplinkDown
    fires in Prometheus (for: 1m) and reaches the network team's pager; then it is restored."""
    prom = lab_host(PROMETHEUS[0])
    recorder = lab_host(ALERTING_VARS["webhook_receiver_host"])
    agent = lab_host(SNMP_AGENT)
    device = sorted(NETWORK_DEVICES)[0]
    started = time.time()

    def firing():
        alerts = http(prom, "http://127.0.0.1:9090/api/v1/alerts")["json"]["data"]["alerts"]
        return [a for a in alerts if a["labels"]["alertname"] == "SnmpUplinkDown" and a["state"] == "firing"
                and a["labels"]["instance"] == device and a["labels"]["ifName"] == "uplink0"]

    def paged():
        url = "http://127.0.0.1:%d/records?path=/network-pager" % ALERTING_VARS["webhook_receiver_port"]
        records = http(recorder, url)["json"] or []
        return [alert for record in records if isinstance(record.get("body"), dict)
                for alert in record["body"].get("alerts", [])
                if alert["labels"].get("alertname") == "SnmpUplinkDown" and alert["status"] == "firing"
                and alert["labels"].get("instance") == device and alert.get("startsAt", "") >= time.strftime(
                    "%Y-%m-%dT%H:%M:%S", time.gmtime(started - 5))]

    assert not firing(), "SnmpUplinkDown fires before the test took the uplink down"
    agent.check_output("ip link set uplink0-peer down")
    try:
        # One scrape (15 s), one evaluation (15 s), for: 1m, then Alertmanager's group wait.
        alert = wait_for(firing, 180, interval=5, what="SnmpUplinkDown firing for %s uplink0" % device)[0]
        assert alert["labels"]["severity"] == "critical" and alert["labels"]["team"] == "network"
        wait_for(paged, 120, interval=5, what="SnmpUplinkDown at the network team's pager")
    finally:
        agent.check_output("ip link set uplink0-peer up")

    def back_up():
        found = _query(prom, 'ifOperStatus{job="snmp",instance="%s",ifName="uplink0"}' % device)
        return found and found[0]["value"][1] == "1"

    wait_for(back_up, SCRAPE_WAIT, what="uplink0 up again")


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


def test_a_critical_alert_holds_back_the_warnings_of_its_instance(lab_host):
    """Inhibition in the running cluster: the warning of the same instance is suppressed,
    the same warning on another instance is not."""
    am = lab_host(ALERTMANAGERS[0])
    run = "%d" % time.time()
    ends = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 180))

    def alert(name, severity, instance):
        labels = {"alertname": name, "severity": severity, "team": "infra", "instance": instance, "lab_run": run}
        return {"labels": labels, "endsAt": ends, "annotations": {"summary": "posted by tests/lab"}}

    posted = [
        alert("VigilLabCritical", "critical", "inhibit-a-%s:9100" % run),
        alert("VigilLabWarning", "warning", "inhibit-a-%s:9100" % run),
        alert("VigilLabWarning", "warning", "inhibit-b-%s:9100" % run),
    ]
    assert http(am, "http://127.0.0.1:9093/api/v2/alerts", "POST", posted)["status"] == 200

    def states():
        found = http(am, "http://127.0.0.1:9093/api/v2/alerts?filter=lab_run%%3D%%22%s%%22" % run)["json"]
        got = {(a["labels"]["alertname"], a["labels"]["instance"].split("-")[1]): a["status"]["state"] for a in found}
        return got if len(got) == 3 and "unprocessed" not in got.values() else None

    got = wait_for(states, 30, interval=1, what="the posted alerts processed")
    assert got == {
        ("VigilLabCritical", "a"): "active",
        ("VigilLabWarning", "a"): "suppressed",
        ("VigilLabWarning", "b"): "active",
    }


# ---------------------------------------------------------------- active response
# vigil-edge1 is the lab's Linux firewall (group responder, dry run off in the lab only:
# inventories/lab/group_vars/all/response.yml); BruteForceSource is on with a 30 s TTL
# (group_vars/all/alerting.yml). Every lab host is a monitoring host, so allowlisted: the
# "attacker" is a second address the test gives vigil-node2 for the length of the test.
RESPONSE_TTL = 30
RESPONDER_AUDIT = "/var/log/vigil-responder/audit.jsonl"
ATTACKER_HOST = "vigil-node2"
CONNECT = r"""
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3, source_address=(sys.argv[3], 0)).close()
    print("open")
except socket.timeout:
    print("timeout")
except OSError as exc:
    print(type(exc).__name__)
"""


def _primary_ipv4(host):
    """(address, prefix length, interface) of the host's address on the lab network."""
    route = host.check_output("ip -4 -o route get 1.1.1.1")
    words = route.split()
    device, source = words[words.index("dev") + 1], words[words.index("src") + 1]
    for line in host.check_output("ip -4 -o addr show dev %s" % device).splitlines():
        cidr = line.split()[3]
        if cidr.split("/")[0] == source:
            return source, int(cidr.split("/")[1]), device
    raise AssertionError("no address %s on %s" % (source, device))


def _blocked4(firewall):
    listing = json.loads(firewall.check_output("nft -j list set inet vigil_responder blocked4"))
    elements = [item["set"].get("elem", []) for item in listing["nftables"] if "set" in item][0]
    return {e["elem"]["val"]: e["elem"].get("expires") for e in elements if isinstance(e["elem"]["val"], str)}


def _audit_for(firewall, address):
    lines = firewall.check_output("cat %s" % RESPONDER_AUDIT).splitlines()
    return [record for record in map(json.loads, lines) if record.get("address") == address]


def _response_alert(address, run, ends):
    labels = {"alertname": "BruteForceSource", "severity": "critical", "team": "security",
              "vigil_response": "block_ip", "src_ip": address, "lab_run": run}
    return {"labels": labels, "endsAt": ends, "annotations": {"summary": "posted by tests/lab (active response)"}}


def test_the_responder_runs_enforcing_behind_its_credentials(lab_host):
    firewall = lab_host(RESPONDERS[0])
    assert firewall.service("vigil-responder").is_running
    assert "flags interval,timeout" in firewall.check_output("nft list table inet vigil_responder")
    config = yaml.safe_load(firewall.file("/etc/vigil/responder/config.yml").content_string)
    assert config["dry_run"] is False
    assert {"alertname": "BruteForceSource", "action": "block_ip", "label": "src_ip", "ttl": "30s"} in config["responses"]
    unauthenticated = http(firewall, "http://127.0.0.1:9095/webhook", "POST", {"version": "4", "alerts": []})
    assert unauthenticated["status"] == 401
    am = lab_host(ALERTMANAGERS[0])
    out = am.check_output("amtool config routes test --config.file=/etc/prometheus/alertmanager.yml"
                          " alertname=BruteForceSource severity=critical team=security vigil_response=block_ip")
    assert out.strip() == "vigil-responder,security-pager"


def test_a_response_alert_blocks_its_address_on_the_firewall_until_the_ttl_ends(lab_host):
    """Alertmanager's API (as Prometheus posts) -> the responder on vigil-edge1 -> the address
    in the nftables set, its traffic to the firewall dropped -> after the TTL, gone and passing."""
    firewall = lab_host(RESPONDERS[0])
    attacker = lab_host(ATTACKER_HOST)
    am = lab_host(ALERTMANAGERS[0])
    recorder = lab_host("vigil-mon1")
    firewall_address = _primary_ipv4(firewall)[0]
    own, prefix, device = _primary_ipv4(attacker)
    import ipaddress

    network = ipaddress.ip_network("%s/%d" % (own, prefix), strict=False)
    run = "%d" % time.time()
    # High in the lab network, where Docker (which counts up from .2) hands out no address.
    spare = str(network.broadcast_address - 20 - int(run) % 50)
    ends = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 600))
    attacker.check_output("ip addr add %s/%d dev %s" % (spare, prefix, device))
    try:
        connect = "python3 -c %s %s 9095 %s"
        assert attacker.check_output(connect, CONNECT, firewall_address, spare).strip() == "open"
        posted = [_response_alert(spare, run, ends), _response_alert(own, run, ends)]
        assert http(am, "http://127.0.0.1:9093/api/v2/alerts", "POST", posted)["status"] == 200

        # In the set within Alertmanager's group_wait and the cluster's peer delay.
        wait_for(lambda: spare in _blocked4(firewall), 90, interval=2, what="%s in the nftables set" % spare)
        left = _blocked4(firewall)[spare]
        assert 0 < left <= RESPONSE_TTL
        assert attacker.check_output(connect, CONNECT, firewall_address, spare).strip() == "timeout"
        # The host's own address is a monitoring host's: refused, never blocked.
        refused = wait_for(lambda: [r for r in _audit_for(firewall, own) if r["event"] == "refused"], 30,
                           interval=2, what="the allowlisted address refused")
        assert refused[-1]["reason"] == "allowlisted" and own not in _blocked4(firewall)
        applied = [r for r in _audit_for(firewall, spare) if r["event"] == "applied"]
        assert applied[-1]["ttl"] == RESPONSE_TTL and applied[-1]["firewalls"] == ["local"]
        # The team got it too (the responder's route continues): the pager route waits 10 s
        # (group_wait) where the responder's waits 5 s, so the page comes after the block.

        def paged():
            pages = http(recorder, "http://127.0.0.1:9099/records?path=/security-pager")["json"]
            return any(a["labels"].get("src_ip") == spare for p in pages for a in p["body"].get("alerts", []))

        wait_for(paged, 60, interval=2, what="the security team paged for %s" % spare)

        # The kernel ends the block after the TTL; the audit log records the expiry.
        wait_for(lambda: spare not in _blocked4(firewall), RESPONSE_TTL + 30, interval=2,
                 what="%s gone from the set after the TTL" % spare)
        assert attacker.check_output(connect, CONNECT, firewall_address, spare).strip() == "open"
        wait_for(lambda: [r for r in _audit_for(firewall, spare) if r["event"] == "expired"], 30, interval=2,
                 what="the expiry in the audit log")
    finally:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        http(am, "http://127.0.0.1:9093/api/v2/alerts", "POST",
             [_response_alert(spare, run, now), _response_alert(own, run, now)])
        attacker.run("ip addr del %s/%d dev %s" % (spare, prefix, device))
        firewall.run("nft delete element inet vigil_responder blocked4 { %s }" % spare)


def test_no_mailing_list_catch_all(lab_host):
    am = lab_host(ALERTMANAGERS[0])
    config = yaml.safe_load(am.file("/etc/prometheus/alertmanager.yml").content_string)
    assert config["route"]["receiver"] == "triage"
    triage = next(r for r in config["receivers"] if r["name"] == "triage")
    assert "email_configs" not in triage


# Configuration-only parts (Grafana, Elastic): nothing runs, so check what the service
# would read at start.


def test_grafana_has_one_datasource_per_prometheus_server_and_the_logs(lab_host):
    grafana = lab_host(GRAFANA[0])
    doc = yaml.safe_load(grafana.file("/etc/grafana/provisioning/datasources/vigil.yml").content_string)
    urls = {}
    for ds in doc["datasources"]:
        urls.setdefault(ds["type"], []).append(ds["url"])
    assert sorted(urls["prometheus"]) == ["http://%s:9090" % p for p in PROMETHEUS]
    assert urls["elasticsearch"] == ["https://%s:9200" % ELASTICSEARCH[0]]
    assert [ds["name"] for ds in doc["datasources"] if ds["isDefault"]] == ["Prometheus %s" % PROMETHEUS[0]]


def test_grafana_shows_the_alertmanager_cluster_and_evaluates_nothing_itself(lab_host):
    """One routing brain: Grafana reads the cluster's alerts, provisions no rule of its own
    (Prometheus evaluates the catalog), and any Grafana-managed alert goes to the cluster."""
    grafana = lab_host(GRAFANA[0])
    doc = yaml.safe_load(grafana.file("/etc/grafana/provisioning/datasources/vigil.yml").content_string)
    ams = [ds for ds in doc["datasources"] if ds["type"] == "alertmanager"]
    assert sorted(ds["url"] for ds in ams) == ["http://%s:9093" % a for a in ALERTMANAGERS]
    assert all(ds["jsonData"] == {"implementation": "prometheus", "handleGrafanaManagedAlerts": False} for ds in ams)
    rules = grafana.file("/etc/grafana/provisioning/alerting/vigil-alerts.yml")
    assert not rules.exists or not yaml.safe_load(rules.content_string).get("groups")
    routing = yaml.safe_load(grafana.file("/etc/grafana/provisioning/alerting/vigil-routing.yml").content_string)
    (cp,) = routing["contactPoints"]
    (receiver,) = cp["receivers"]
    assert receiver["type"] == "prometheus-alertmanager"
    assert receiver["settings"]["url"].split(",") == ["http://%s:9093" % a for a in ALERTMANAGERS]
    (policy,) = routing["policies"]
    assert policy["receiver"] == cp["name"] and "routes" not in policy  # nothing to the default email


def test_every_agent_ships_to_the_lab_elasticsearch(lab_host):
    for name in LAB_HOSTS:
        config = lab_host(name).file("/etc/elastic-agent/elastic-agent.yml")
        assert config.mode == 0o640, "%s: the agent config holds an API key" % name
        output = yaml.safe_load(config.content_string)["outputs"]["default"]
        assert output["hosts"] == ["https://%s:9200" % ELASTICSEARCH[0]], name


def test_ecs_pipelines_are_rendered_for_the_elasticsearch_node(lab_host):
    node = lab_host(ELASTICSEARCH[0])
    files = node.file("/var/tmp/vigil/ecs_pipelines").listdir()
    assert files and all(f.endswith(".json") for f in files)
    for name in files:
        pipeline = json.loads(node.file("/var/tmp/vigil/ecs_pipelines/" + name).content_string)
        assert pipeline["processors"], name


def test_opencti_runs_its_dependencies_and_its_project_validates(lab_host):
    node = lab_host(OPENCTI[0])
    assert node.service("redis-server").is_running
    assert node.service("rabbitmq-server").is_running
    cmd = node.run("cd /opt/opencti && docker compose config --format json")
    assert cmd.rc == 0, cmd.stderr
    services = json.loads(cmd.stdout)["services"]
    env = services["opencti"]["environment"]
    env = env if isinstance(env, dict) else dict(item.split("=", 1) for item in env)
    # The platform indexes into the lab's (logs) Elasticsearch, prefixed.
    assert env["ELASTICSEARCH__URL"] == "https://%s:9200" % ELASTICSEARCH[0]
    assert env["ELASTICSEARCH__INDEX_PREFIX"] == "vigil_opencti"
    assert "elasticsearch" not in services


# Entry points: a part run alone keeps the catalog's rules. Runs before the heartbeat
# tests below, which stop Prometheus.


def _recap(output):
    """{host: (changed, failed + unreachable)} from an ansible-playbook PLAY RECAP."""
    found = {}
    for line in output.splitlines():
        match = re.match(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", line)
        if match:
            found[match.group(1)] = (int(match.group(2)), int(match.group(3)) + int(match.group(4)))
    return found


def test_metrics_playbook_alone_keeps_every_catalog_rule_loaded(lab_host):
    """playbooks/metrics.yml on its own (the natural way to add an exporter host) loads the
    catalog itself: the rule file is neither purged nor changed, Prometheus keeps every rule."""
    rule_file = "/etc/prometheus/rules/vigil-alert-catalog.yml"
    before = {}
    for server in PROMETHEUS:
        prom = lab_host(server)
        doc = yaml.safe_load(prom.file(rule_file).content_string)
        before[server] = (prom.file(rule_file).sha256sum, {r["alert"] for g in doc["groups"] for r in g["rules"]})
        assert "HostDown" in before[server][1] and "Watchdog" in before[server][1]
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventories/lab", "playbooks/metrics.yml"],
        cwd=ROOT, capture_output=True, text=True, timeout=1800,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    recap = _recap(proc.stdout)
    assert set(PROMETHEUS) <= set(recap), recap
    assert {host: c for host, c in recap.items() if c != (0, 0)} == {}, "changed/failed after site.yml: %s" % recap
    for server in PROMETHEUS:
        prom = lab_host(server)
        checksum, expected = before[server]
        assert prom.file(rule_file).exists, "%s: the catalog's rule file was purged" % server
        assert prom.file(rule_file).sha256sum == checksum, "%s: the catalog's rule file changed" % server
        groups = http(prom, "http://127.0.0.1:9090/api/v1/rules?type=alert")["json"]["data"]["groups"]
        loaded = {r["name"] for g in groups for r in g["rules"]}
        assert expected <= loaded, "missing on %s: %s" % (server, sorted(expected - loaded))


# The dead man's switch: the Watchdog pings the lab recorder's /heartbeat every
# HEARTBEAT_INTERVAL (inventories/lab/group_vars/all/alerting.yml). With Prometheus
# stopped everywhere, nothing re-sends the Watchdog: it ends 4 x resend-delay (15s in the
# lab) after the last send and the pings stop. Prometheus is started again afterwards.
RECORDER_HOST = ALERTING_VARS["webhook_receiver_host"]
HEARTBEAT_INTERVAL = int(ALERTING_VARS["alertmanager_heartbeat_timing"]["group_interval"].rstrip("s"))
RESEND_HOLD = 60  # 4 x --rules.alert.resend-delay=15s (inventories/lab/group_vars/all/metrics.yml)


def _now(host):
    return float(host.check_output("date +%s.%N"))


def _heartbeats(recorder, since):
    records = http(recorder, "http://127.0.0.1:9099/records?path=/heartbeat")["json"]
    return sorted(r["time"] for r in records if r["time"] > since and r["body"]["status"] == "firing")


def _at_least(items, count):
    """The items when there are at least count of them, else None (for wait_for)."""
    return items if len(items) >= count else None


def test_heartbeats_arrive_at_the_configured_interval(lab_host):
    recorder = lab_host(RECORDER_HOST)
    since = _now(recorder)
    beats = wait_for(
        lambda: _at_least(_heartbeats(recorder, since), 5),
        6 * HEARTBEAT_INTERVAL + 30, interval=2, what="5 heartbeats",
    )
    gaps = [b - a for a, b in zip(beats, beats[1:])]
    # One heartbeat per interval; in a cluster a second member may add a duplicate (harmless for a
    # heartbeat service), never a gap longer than the interval (+ a few seconds of flush jitter).
    assert max(gaps) <= HEARTBEAT_INTERVAL + 5, gaps
    assert beats[0] - since <= HEARTBEAT_INTERVAL + 5
    records = http(recorder, "http://127.0.0.1:9099/records?path=/heartbeat")["json"]
    assert {a["labels"]["alertname"] for r in records for a in r["body"]["alerts"]} == {"Watchdog"}


def test_heartbeats_stop_when_prometheus_is_stopped_everywhere(lab_host):
    recorder = lab_host(RECORDER_HOST)
    servers = [lab_host(name) for name in PROMETHEUS]
    try:
        for prom in servers:
            prom.check_output("systemctl stop prometheus")
        stopped = _now(recorder)

        def quiet():
            beats = _heartbeats(recorder, stopped)
            last = beats[-1] if beats else stopped
            return (last,) if _now(recorder) - last > 3 * HEARTBEAT_INTERVAL else None

        (last,) = wait_for(quiet, RESEND_HOLD + 5 * HEARTBEAT_INTERVAL + 30, interval=5, what="heartbeats stopping")
        assert last - stopped <= RESEND_HOLD + 2 * HEARTBEAT_INTERVAL + 10, "heartbeats went on %.0fs" % (last - stopped)
    finally:
        for prom in servers:
            prom.run("systemctl start prometheus")
        for prom in servers:
            wait_for(lambda p=prom: http(p, "http://127.0.0.1:9090/-/ready")["status"] == 200, 90, what="Prometheus up")
    restarted = _now(recorder)
    wait_for(lambda: _heartbeats(recorder, restarted), 60 + 2 * HEARTBEAT_INTERVAL, what="heartbeats back")


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


# ------------------------------------------------------------------ identities on the Elasticsearch stand-in
# The stand-in (lab/playbooks/fake_elasticsearch.yml, security on) keeps its
# users and roles in a file and logs who each request authenticated as. The test reads
# both files on the host and makes no API call itself (a call as elastic would be a
# request after the bootstrap).
ES_STAND_IN_STATE = "/var/lib/fake-elasticsearch/security.json"
ES_STAND_IN_LOG = "/var/lib/fake-elasticsearch/requests.jsonl"
IDENTITY_VARS = """\
    - name: Write the identities and the retention names as the role computes them
      ansible.builtin.copy:
        content: >-
          {{ {'identities': _elasticsearch_identity_roles, 'ingest': elasticsearch_ingest_username,
              'monitoring': elasticsearch_monitoring_username,
              'policies': _elasticsearch_retention.policies | map(attribute='name') | list,
              'components': _elasticsearch_retention.component_templates | map(attribute='name') | list,
              'templates': _elasticsearch_retention.index_templates | map(attribute='name') | list,
              'repository': _elasticsearch_snapshot_repository.name | default(''),
              'slm': _elasticsearch_slm_policies | map(attribute='name') | list} | to_json }}
        dest: "{{ out }}"
        mode: "0600"
"""


@pytest.fixture(scope="module")
def es_identities(tmp_path_factory):
    """The elasticsearch role's identities (names, components, role descriptors; no password)
    for the lab inventory, computed by Ansible from the role's defaults and vars."""
    from local_playbook import find_ansible_playbook, role_render_playbook, run_local_playbook

    work = tmp_path_factory.mktemp("es-identities")
    lab_vars = {}
    for path in sorted((ROOT / "inventories" / "lab" / "group_vars" / "all").glob("*.yml")):
        lab_vars.update(load_yaml(path) or {})
    # The lab's connection settings are for its containers; this play runs on the controller.
    lab_vars = {k: v for k, v in lab_vars.items() if not k.startswith("ansible_")}
    lab_vars["out"] = str(work / "identities.json")
    play = role_render_playbook("Elasticsearch identities of the lab", ROOT / "roles" / "elasticsearch", IDENTITY_VARS)
    result = run_local_playbook(work, find_ansible_playbook(), play, lab_vars)
    assert result.returncode == 0, result.stdout[-3000:]
    return json.loads((work / "identities.json").read_text(encoding="utf-8"))


def _stand_in_security(node):
    """Users (without their passwords) and roles the stand-in holds."""
    state = json.loads(node.file(ES_STAND_IN_STATE).content_string)
    users = {name: {k: v for k, v in user.items() if k != "password"} for name, user in state["users"].items()}
    return users, state["roles"]


def _stand_in_requests(node):
    rows = []
    for path in (ES_STAND_IN_LOG + ".1", ES_STAND_IN_LOG):
        if node.file(path).exists:
            rows += [json.loads(line) for line in node.file(path).content_string.splitlines() if line.strip()]
    return rows


def _docs_identity_rows():
    """docs/logs.md, "Identities": the table rows by identity name, in order."""
    text = (ROOT / "docs" / "logs.md").read_text(encoding="utf-8")
    section = text[text.index("## Identities"):]
    section = section[:section.index("\n## ", 3)] if "\n## " in section[3:] else section
    return [(m.group(1), m.group(0)) for m in re.finditer(r"^\| `([^`]+)` \|.*$", section, re.M)]


def _privileges(role):
    names = set(role.get("cluster") or [])
    for entry in (role.get("indices") or []) + (role.get("applications") or []):
        names.update(entry.get("privileges") or [])
    return names


def test_each_component_identity_exists_on_the_stand_in_with_its_documented_privileges(lab_host, es_identities):
    users, roles = _stand_in_security(lab_host(ELASTICSEARCH[0]))
    rows = _docs_identity_rows()
    assert es_identities["identities"], "the lab inventory enables no identity"
    for identity in es_identities["identities"]:
        name, wanted = identity["name"], identity["role"]
        assert name in users and users[name]["roles"] == [name], "user %s (role %s)" % (name, name)
        assert users[name]["metadata"].get("managed_by") == "vigil", name
        stored = roles.get(name)
        assert stored is not None, "role %s" % name
        assert stored["metadata"] == {"managed_by": "vigil", "component": identity["component"]}, name
        assert sorted(stored["cluster"]) == sorted(wanted.get("cluster") or []), name
        assert [(sorted(e["names"]), sorted(e["privileges"])) for e in stored["indices"]] == \
            [(sorted(e["names"]), sorted(e["privileges"])) for e in wanted.get("indices") or []], name  # fmt: skip
        assert [(e["application"], sorted(e["privileges"]), e["resources"]) for e in stored["applications"]] == \
            [(e["application"], sorted(e["privileges"]), e["resources"]) for e in wanted.get("applications") or []], name  # fmt: skip
        # docs/logs.md lists the identity and each of its privileges (in its row, or in a
        # row above that it refers to with "as above").
        names = [row_name for row_name, _row in rows]
        assert name in names, "docs/logs.md, Identities, has no row for %s" % name
        upto = " ".join(row for _row_name, row in rows[: names.index(name) + 1])
        missing = sorted(p for p in _privileges(wanted) if "`%s`" % p not in upto)
        assert not missing, "docs/logs.md does not list %s for %s" % (missing, name)


def test_after_the_bootstrap_the_stand_in_is_called_only_as_component_identities(lab_host, es_identities):
    """elastic only for the bootstrap (logging in, writing the identities' roles and users, registering the
    snapshot repository); every other call as a component identity, the uploads as the ingest identity, none refused."""
    requests = _stand_in_requests(lab_host(ELASTICSEARCH[0]))
    assert requests, "the stand-in logged no request: %s" % ES_STAND_IN_LOG
    names = [i["name"] for i in es_identities["identities"]]
    repository = es_identities["repository"]
    bootstrap = re.compile(r"^/(_security/(_authenticate|role/(%s)|user/(%s)(/_password)?)|_snapshot/%s)$"
                           % ("|".join(map(re.escape, names)), "|".join(map(re.escape, names)),
                              re.escape(repository) if repository else "(?!)"))  # fmt: skip
    not_bootstrap = [(r["method"], r["path"]) for r in requests if r["auth"] == "elastic" and not bootstrap.match(r["path"])]
    assert not not_bootstrap, "called as elastic after the bootstrap: %s" % sorted(set(not_bootstrap))
    strangers = sorted({(r["auth"], r["path"]) for r in requests if r["auth"] not in names + ["elastic", None]})
    assert not strangers, "called as something else than a component identity: %s" % strangers
    anonymous = sorted({(r["method"], r["path"], r["status"]) for r in requests if r["auth"] is None and r["status"] != 401})
    assert not anonymous, "answered without authentication: %s" % anonymous
    refused = sorted({(r["auth"], r["method"], r["path"], r["status"]) for r in requests
                      if r["auth"] in names and r["status"] in (401, 403)})  # fmt: skip
    assert not refused, "a component identity was refused: %s" % refused
    uploads = [r for r in requests
               if re.match(r"^/(_ilm/policy|_index_template|_component_template|_slm/policy|_ingest/pipeline)/", r["path"])]
    assert {r["auth"] for r in uploads} == {es_identities["ingest"]}, sorted({(r["auth"], r["path"]) for r in uploads})
    called = {r["path"] for r in uploads}
    assert {"/_ilm/policy/" + p for p in es_identities["policies"]} <= called
    assert {"/_component_template/" + c for c in es_identities["components"]} <= called
    assert {"/_index_template/" + t for t in es_identities["templates"]} <= called
    assert {"/_slm/policy/" + s for s in es_identities["slm"]} <= called
    # The repository was registered (as elastic, in the bootstrap) before the SLM policies that use it.
    assert es_identities["repository"] and any(r["path"] == "/_snapshot/" + es_identities["repository"]
                                               and r["method"] == "PUT" and r["status"] == 200 for r in requests)
    assert any(p.startswith("/_ingest/pipeline/") for p in called), "no ECS pipeline upload reached the stand-in"
    reads = {r["auth"] for r in requests if r["status"] != 401 and re.match(r"^/(_cluster/health|_nodes/|_all/_stats|_data_stream/)", r["path"])}
    assert reads == {es_identities["monitoring"]}, reads


def test_retention_and_snapshots_reach_the_nodes_and_the_stand_in(lab_host, es_identities):
    """path.repo in every node's elasticsearch.yml (the lab's shared file system repository),
    the rendered retention on the API host, and the stand-in holding the repository, the SLM
    policy and the @custom hooks (what the role wrote; the stand-in is not Elasticsearch)."""
    for name in ELASTICSEARCH:
        config = yaml.safe_load(lab_host(name).file("/etc/elasticsearch/elasticsearch.yml").content_string)
        assert config["path.repo"] == ["/var/tmp/vigil/snapshots"], name
    rendered = json.loads(lab_host(ELASTICSEARCH[0]).file("/var/tmp/vigil/retention/vigil-retention.json").content_string)
    assert rendered["snapshot_repository"] == {"name": es_identities["repository"], "type": "fs", "settings": {
        "location": "/var/tmp/vigil/snapshots/" + es_identities["repository"], "compress": True}}
    assert sorted(rendered["slm_policies"]) == sorted(es_identities["slm"])
    assert sorted(rendered["component_templates"]) == sorted(es_identities["components"])
    for policy in rendered["ilm_policies"].values():
        assert policy["phases"]["delete"]["actions"]["wait_for_snapshot"] == {"policy": "vigil-logs-nightly"}
