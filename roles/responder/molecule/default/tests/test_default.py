"""The responder blocking for real on the Linux firewall (Debian 12), the attacker on Debian 13.

side_effect.yml has already shown the dry run and turned it off; these tests post
Alertmanager's webhook JSON (version 4) to the responder on the firewall, as Alertmanager
would, and watch nftables, the attacker's traffic and the audit log.
"""

import json
import time

import pytest
from vigil_testinfra import eventually, fetch, platform_name, scenario_host

FIREWALL = platform_name("deb12")
ATTACKER = platform_name("deb13")
testinfra_hosts = ["ansible://%s" % FIREWALL]

SERVICE = "vigil-responder"
AUDIT = "/var/log/vigil-responder/audit.jsonl"
WEBHOOK = "http://127.0.0.1:9095/webhook"
USER, PASSWORD = "alertmanager", "VIGIL-MARKER-responder-webhook"
TTL = 20
# TCP connect from the attacker to the responder's port: "open" or the error.
CONNECT = r"""
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()
    print("open")
except socket.timeout:
    print("timeout")
except OSError as exc:
    print(type(exc).__name__)
"""


def wait_for(predicate, timeout):
    """The responder acts within a second of a request: poll every second."""
    return eventually(predicate, timeout, step=1.0)


@pytest.fixture(scope="module")
def attacker(host):
    return scenario_host(host, ATTACKER)


@pytest.fixture(scope="module")
def attacker_address(attacker):
    return attacker.check_output("ip -4 -o route get 1.1.1.1 | sed -n 's/.* src \\([0-9.]*\\).*/\\1/p'").strip()


@pytest.fixture(scope="module")
def firewall_address(host):
    return host.check_output("ip -4 -o route get 1.1.1.1 | sed -n 's/.* src \\([0-9.]*\\).*/\\1/p'").strip()


def post(host, alerts, status="firing", password=PASSWORD):
    body = json.dumps({"version": "4", "status": status, "receiver": "vigil-responder",
                       "groupKey": "{}:{}", "alerts": alerts})
    code, text = fetch(host, WEBHOOK, (USER, password), method="POST", data=body,
                       headers={"Content-Type": "application/json"})
    return {"status": code, "body": text}


def alert(address, status="firing"):
    return {"status": status, "labels": {"alertname": "BruteForceSource", "severity": "critical", "team": "security",
                                         "vigil_response": "block_ip", "src_ip": address},
            "annotations": {"summary": "molecule"}, "startsAt": "2024-05-01T08:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "fp-%s" % address}


def audit(host):
    return [json.loads(line) for line in host.file(AUDIT).content_string.splitlines()]


def decisions_for(host, address, after=0):
    return [line for line in audit(host)[after:] if line.get("address") == address]


def blocked(host):
    """{address: seconds left} of the set blocked4."""
    listing = json.loads(host.check_output("nft -j list set inet vigil_responder blocked4"))
    elements = [item["set"].get("elem", []) for item in listing["nftables"] if "set" in item][0]
    return {e["elem"]["val"]: e["elem"]["expires"] for e in elements if isinstance(e["elem"]["val"], str)}


def connect(attacker, firewall_address):
    return attacker.check_output("python3 -c %s %s 9095", CONNECT, firewall_address).strip()


def test_the_service_runs_as_its_user_with_net_admin_only(host):
    assert host.service(SERVICE).is_running and host.service(SERVICE).is_enabled
    assert host.service("vigil-responder-nftables").is_enabled
    pid = host.check_output("systemctl show -p MainPID --value %s" % SERVICE)
    status = dict(line.split(":\t", 1) for line in host.file("/proc/%s/status" % pid).content_string.splitlines()
                  if ":\t" in line)
    assert host.check_output("stat -c %%U /proc/%s", pid) == "vigil-responder"
    net_admin = "%016x" % (1 << 12)
    assert status["CapAmb"].strip() == net_admin and status["CapBnd"].strip() == net_admin
    assert status["CapEff"].strip() == net_admin and status["NoNewPrivs"].strip() == "1"


def test_configuration_files_are_private_and_hold_hashes(host):
    for path in ("/etc/vigil/responder/config.yml", "/etc/vigil/responder/web-config.yml"):
        config = host.file(path)
        assert (config.user, config.group, config.mode) == ("root", "vigil-responder", 0o640)
    web = host.file("/etc/vigil/responder/web-config.yml").content_string
    assert "VIGIL-MARKER" not in web and "$2b$" in web
    audit_log = host.file(AUDIT)
    assert (audit_log.user, audit_log.mode) == ("vigil-responder", 0o640)


def test_the_table_drops_on_input_and_forward(host):
    ruleset = host.check_output("nft list table inet vigil_responder")
    assert "flags interval,timeout" in ruleset
    for hook in ("input", "forward"):
        assert "hook %s priority filter - 10" % hook in ruleset
    assert ruleset.count("ip saddr @blocked4 counter packets") == 2


def test_wrong_credentials_get_401_and_are_audited(host):
    before = len(audit(host))
    answer = post(host, [alert("203.0.113.99")], password="VIGIL-MARKER-wrong")
    assert answer["status"] == 401
    new = audit(host)[before:]
    assert [(line["event"], line["reason"]) for line in new] == [("rejected", "unauthorized")]
    assert "203.0.113.99" not in blocked(host)


def test_block_repeat_resolved_allowlist_limit_and_expiry(host, attacker, attacker_address, firewall_address):
    assert connect(attacker, firewall_address) == "open", "the attacker must reach the firewall before the block"
    start = len(audit(host))

    # A firing alert with the attacker's address: in the set, and its traffic is dropped.
    assert post(host, [alert(attacker_address)])["status"] == 202
    assert wait_for(lambda: attacker_address in blocked(host), 10), audit(host)[start:]
    first = blocked(host)[attacker_address]
    assert 0 < first <= TTL
    applied = [line for line in decisions_for(host, attacker_address, start) if line["event"] == "applied"]
    assert applied and applied[0]["firewalls"] == ["local"] and applied[0]["ttl"] == TTL
    assert applied[0]["dry_run"] is False and applied[0]["expires_at"]
    assert connect(attacker, firewall_address) == "timeout"

    # Alertmanager repeats itself: nothing new, the timeout is not reset.
    time.sleep(2)
    mark = len(audit(host))
    assert post(host, [alert(attacker_address)])["status"] == 202
    assert wait_for(lambda: decisions_for(host, attacker_address, mark), 10)[0]["event"] == "unchanged"
    assert blocked(host)[attacker_address] < first

    # Resolved: the block stays until its TTL ends.
    mark = len(audit(host))
    assert post(host, [alert(attacker_address, "resolved")], status="resolved")["status"] == 202
    assert wait_for(lambda: decisions_for(host, attacker_address, mark), 10)[0]["event"] == "kept"
    assert attacker_address in blocked(host)

    # Never blocked: the allowlist (an inventory range, the firewall itself, the controller).
    gateway = host.check_output("ip -4 route show default | awk '{print $3}'").strip()
    for address in ("198.51.100.7", firewall_address, gateway):
        mark = len(audit(host))
        assert post(host, [alert(address)])["status"] == 202
        line = wait_for(lambda a=address, m=mark: decisions_for(host, a, m), 10)[0]
        assert (line["event"], line["reason"]) == ("refused", "allowlisted"), line
        assert address not in blocked(host)

    # At most two blocks: the attacker and one more; a third is refused.
    mark = len(audit(host))
    assert post(host, [alert("203.0.113.10"), alert("203.0.113.11")])["status"] == 202
    assert wait_for(lambda: len(decisions_for(host, "203.0.113.11", mark)), 10)
    assert decisions_for(host, "203.0.113.10", mark)[0]["event"] == "applied"
    refused = decisions_for(host, "203.0.113.11", mark)[0]
    assert (refused["event"], refused["reason"]) == ("refused", "max_active_blocks")
    assert "203.0.113.11" not in blocked(host)

    # The TTL ends: the kernel removes the element, the audit log says so, traffic passes.
    assert wait_for(lambda: attacker_address not in blocked(host), TTL + 10), blocked(host)
    expired = wait_for(lambda: [line for line in decisions_for(host, attacker_address, start)
                                if line["event"] == "expired"], 10)
    assert expired and expired[0]["dry_run"] is False, decisions_for(host, attacker_address, start)
    assert connect(attacker, firewall_address) == "open"
    assert wait_for(lambda: "203.0.113.10" not in blocked(host), 15)


def test_metrics_count_without_addresses(host):
    status, text = fetch(host, "http://127.0.0.1:9095/metrics")
    assert status == 200, text
    assert "vigil_responder_dry_run 0.0" in text
    assert 'vigil_responder_refusals_total{reason="allowlisted"} 3.0' in text
    assert 'vigil_responder_refusals_total{reason="max_active_blocks"} 1.0' in text
    assert 'vigil_responder_webhook_requests_total{result="unauthorized"} 1.0' in text
    assert "203.0.113" not in text


def test_registered_in_prometheus_file_sd(host):
    targets = host.file("/etc/prometheus/file_sd/responder.yml").content_string
    assert "%s:9095" % FIREWALL in targets and "role: responder" in targets
