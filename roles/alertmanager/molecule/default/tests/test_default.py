"""Alertmanager with only the required variables: 2-node cluster, packaged binaries."""

import json
import time

import pytest
from vigil_testinfra import eventually, fetch

SERVICE = "prometheus-alertmanager"
CONFIG = "/etc/prometheus/alertmanager.yml"


def _http(host, method, url, body=None):
    """HTTP from the host itself; returns (status, parsed JSON or text)."""
    status, text = fetch(host, url, method=method, data=json.dumps(body) if body is not None else None,
                         headers={"Content-Type": "application/json"})
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def _members(host):
    variables = host.ansible.get_variables()
    return sorted(variables["groups"]["alertmanager"]), variables


def test_service_runs_and_is_enabled(host):
    svc = host.service(SERVICE)
    assert svc.is_running
    assert svc.is_enabled


def test_listens_on_api_and_cluster_ports(host):
    assert host.socket("tcp://0.0.0.0:9093").is_listening
    assert host.socket("tcp://0.0.0.0:9094").is_listening


def test_deployed_config_passes_amtool_check_config(host):
    out = host.check_output("amtool check-config %s", CONFIG)
    assert "SUCCESS" in out


def test_config_holds_secrets_so_is_private(host):
    f = host.file(CONFIG)
    assert (f.user, f.group, f.mode) == ("root", "prometheus", 0o640)


def test_unit_overrides_the_package_unit_and_names_the_peer(host):
    members, dummy = _members(host)
    me = host.backend.get_hostname()
    unit = host.file(f"/etc/systemd/system/{SERVICE}.service").content_string
    for line in (
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "User=prometheus",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ):
        assert line in unit
    for member in members:
        assert (f"--cluster.peer={member}:9094" in unit) == (member != me)


def _status(host):
    """(HTTP status, cluster, whole body) of the local member's /api/v2/status."""
    status, body = _http(host, "GET", "http://127.0.0.1:9093/api/v2/status")
    return status, (body.get("cluster", {}) if status == 200 else {}), body


def test_cluster_has_both_members_and_is_ready(host):
    def ready():
        status, cluster, body = _status(host)
        return body if cluster.get("status") == "ready" and len(cluster.get("peers") or []) == 2 else None

    body = eventually(ready, timeout=90)
    status, cluster, dummy = _status(host)
    assert body, f"cluster not ready with 2 peers after 90s: {status} {cluster}"
    assert "global" in body["config"]["original"]


@pytest.mark.parametrize(
    "labels,receiver",
    [
        ({"alertname": "HostDown", "severity": "critical", "team": "infra"}, "infra-pager"),
        ({"alertname": "ExporterDown", "severity": "warning", "team": "platform"}, "platform-digest"),
        ({"alertname": "HttpStatusWrong", "severity": "critical", "team": "app"}, "app-digest"),
        ({"alertname": "HostRebooted", "severity": "info", "team": "infra"}, "blackhole"),
        ({"alertname": "Unowned", "severity": "critical", "team": "nobody"}, "triage"),
    ],
)
def test_routes_test_passes(host, labels, receiver):
    args = " ".join(f"{k}={v}" for k, v in sorted(labels.items()))
    cmd = host.run(f"amtool config routes test --config.file={CONFIG} --verify.receivers={receiver} {args}")
    assert cmd.rc == 0, cmd.stdout + cmd.stderr


def test_unowned_alert_reaches_the_triage_webhook_once(host):
    """Posted to both members (as Prometheus does): the cluster notifies exactly once."""
    members, variables = _members(host)
    recorder = variables["webhook_receiver_host"]
    if host.backend.get_hostname() != recorder:
        pytest.skip("runs once, on the recorder host")
    alertname = "LabUnowned%d" % int(time.time())
    alert = [
        {
            "labels": {"alertname": alertname, "severity": "critical", "team": "nobody"},
            "annotations": {"summary": "posted by the default scenario"},
        }
    ]
    for member in members:
        status, body = _http(host, "POST", f"http://{member}:9093/api/v2/alerts", alert)
        assert status == 200, body

    def notifications():
        dummy, records = _http(host, "GET", "http://127.0.0.1:9099/records")
        return [r for r in records if any(a["labels"]["alertname"] == alertname for a in r["body"]["alerts"])]

    # root route group_wait is 30s; a duplicate would follow a peer_timeout (15s) later
    assert eventually(notifications, timeout=120), "no notification at the recorder within 120s"
    time.sleep(20)
    mine = notifications()
    assert [r["path"] for r in mine] == ["/triage"]
    assert mine[0]["body"]["receiver"] == "triage"
