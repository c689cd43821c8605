"""Alertmanager with only the required variables: 2-node cluster, packaged binaries."""

import json
import time

import pytest

SERVICE = "prometheus-alertmanager"
CONFIG = "/etc/prometheus/alertmanager.yml"


def _http(host, method, url, body=None):
    """HTTP from the host itself (python3 is in the lab images); returns (status, parsed JSON or text)."""
    script = (
        "import json, sys, urllib.request, urllib.error\n"
        "data = sys.argv[3].encode() if sys.argv[3] else None\n"
        "req = urllib.request.Request(sys.argv[2], data=data, method=sys.argv[1], headers={'Content-Type': 'application/json'})\n"
        "try:\n"
        "    r = urllib.request.urlopen(req, timeout=10); print(r.status); print(r.read().decode())\n"
        "except urllib.error.HTTPError as e:\n"
        "    print(e.code); print(e.read().decode())\n"
    )
    out = host.check_output("python3 -c %s %s %s %s", script, method, url, json.dumps(body) if body is not None else "")
    status, dummy, text = out.partition("\n")
    try:
        return int(status), json.loads(text)
    except ValueError:
        return int(status), text


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


def test_cluster_has_both_members_and_is_ready(host):
    deadline = time.monotonic() + 90
    while True:
        status, body = _http(host, "GET", "http://127.0.0.1:9093/api/v2/status")
        cluster = body.get("cluster", {}) if status == 200 else {}
        if cluster.get("status") == "ready" and len(cluster.get("peers") or []) == 2:
            break
        assert time.monotonic() < deadline, f"cluster not ready with 2 peers after 90s: {status} {cluster}"
        time.sleep(3)
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
    # root route group_wait is 30s; a duplicate would follow a peer_timeout (15s) later
    deadline = time.monotonic() + 120
    while True:
        dummy, records = _http(host, "GET", "http://127.0.0.1:9099/records")
        mine = [r for r in records if any(a["labels"]["alertname"] == alertname for a in r["body"]["alerts"])]
        if mine:
            break
        assert time.monotonic() < deadline, "no notification at the recorder within 120s"
        time.sleep(3)
    time.sleep(20)
    dummy, records = _http(host, "GET", "http://127.0.0.1:9099/records")
    mine = [r for r in records if any(a["labels"]["alertname"] == alertname for a in r["body"]["alerts"])]
    assert [r["path"] for r in mine] == ["/triage"]
    assert mine[0]["body"]["receiver"] == "triage"
