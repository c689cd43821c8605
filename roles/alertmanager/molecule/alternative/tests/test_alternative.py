"""Alertmanager from a release tarball, with TLS, basic auth, an external URL path and more knobs."""

import json

import pytest
from vigil_testinfra import eventually, fetch

SERVICE = "prometheus-alertmanager"
CONFIG = "/etc/prometheus/alertmanager.yml"
BASE = "https://127.0.0.1:9193/alertmanager"
AMTOOL = "/usr/local/bin/amtool"


def _get(host, path, user=None, password=None):
    """HTTPS GET from the host itself, verified with the lab CA; returns {status, content}."""
    status, body = fetch(host, BASE + path, (user, password))
    return {"status": status, "content": body}


def test_binaries_come_from_the_release_tarball(host):
    for binary in ("alertmanager", "amtool"):
        assert host.file(f"/usr/local/bin/{binary}").mode == 0o755
        assert host.file(f"/opt/vigil/alertmanager-0.25.0.linux-amd64/{binary}").exists
    unit = host.file(f"/etc/systemd/system/{SERVICE}.service").content_string
    assert "ExecStart=/usr/local/bin/alertmanager" in unit


def test_service_runs_on_custom_ports(host):
    assert host.service(SERVICE).is_running
    assert host.socket("tcp://0.0.0.0:9193").is_listening
    assert host.socket("tcp://0.0.0.0:9194").is_listening


def test_https_without_credentials_is_refused(host):
    assert _get(host, "/api/v2/status")["status"] == 401


def test_wrong_password_is_refused(host):
    assert _get(host, "/api/v2/status", "admin", "wrong")["status"] == 401


def _cluster(host):
    """(HTTP status, cluster) of /api/v2/status, with the credentials."""
    result = _get(host, "/api/v2/status", "admin", "VIGIL-MARKER-password")
    return result["status"], (json.loads(result["content"]).get("cluster", {}) if result["status"] == 200 else {})


def test_cluster_of_two_is_ready_over_https_under_the_external_path(host):
    def ready():
        dummy, cluster = _cluster(host)
        return cluster if cluster.get("status") == "ready" and len(cluster.get("peers") or []) == 2 else None

    cluster = eventually(ready, timeout=90)
    assert cluster, "cluster not ready with 2 peers after 90s: %s %s" % _cluster(host)
    assert all(peer["address"].endswith(":9194") for peer in cluster["peers"])


def test_web_config_holds_a_bcrypt_hash_not_the_password(host):
    f = host.file("/etc/prometheus/alertmanager/web-config.yml")
    assert (f.user, f.group, f.mode) == ("root", "prometheus", 0o640)
    assert "VIGIL-MARKER-password" not in f.content_string
    assert "admin: $2" in f.content_string


def test_check_config_sees_the_template_and_the_time_interval(host):
    out = host.check_output("%s check-config %s", AMTOOL, CONFIG)
    assert "SUCCESS" in out
    assert " - 1 templates" in out
    assert host.file("/etc/prometheus/alertmanager_templates/vigil.tmpl").mode == 0o640


def test_config_has_email_smtp_and_the_muted_digest(host):
    content = host.file(CONFIG).content_string
    assert "smtp_smarthost: localhost:25" in content
    assert "to: platform@lab.example" in content
    assert "- name: weekends" in content
    assert "mute_time_intervals:\n      - weekends" in content or "mute_time_intervals:\n      -   weekends" in content


@pytest.mark.parametrize(
    "labels,receiver",
    [
        ("alertname=SomethingNew severity=critical team=nobody", "triage"),
        ("alertname=IntrusionDetected severity=critical team=security source=kibana", "security-pager"),
        ("alertname=ScanSeen severity=warning team=security", "triage"),
        ("alertname=HostDown severity=critical team=infra", "infra-pager"),
        ("alertname=ExporterDown severity=warning team=platform", "platform-digest"),
    ],
)
def test_hand_written_routes(host, labels, receiver):
    cmd = host.run(f"{AMTOOL} config routes test --config.file={CONFIG} --verify.receivers={receiver} {labels}")
    assert cmd.rc == 0, cmd.stdout + cmd.stderr
