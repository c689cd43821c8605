"""node_exporter from a release tarball, with TLS and basic auth."""

from vigil_testinfra import fetch

SERVICE = "prometheus-node-exporter"
URL = "https://127.0.0.1:9110/metrics"


def _get(host, user=None, password=None):
    """GET /metrics from the host itself, verified with the lab CA; returns {status, body}."""
    status, body = fetch(host, URL, (user, password))
    return {"status": status, "body": body}


def test_binary_comes_from_the_release_tarball(host):
    assert host.file("/usr/local/bin/node_exporter").mode == 0o755
    releases = host.file("/opt/vigil").listdir()
    assert any(r.startswith("node_exporter-1.5.0.linux-") for r in releases), releases
    assert "ExecStart=/usr/local/bin/node_exporter" in host.file(f"/etc/systemd/system/{SERVICE}.service").content_string


def test_service_runs_on_custom_port(host):
    assert host.service(SERVICE).is_running
    assert host.socket("tcp://0.0.0.0:9110").is_listening


def test_https_without_credentials_is_refused(host):
    assert _get(host)["status"] == 401


def test_https_with_credentials_serves_metrics_verified_by_the_lab_ca(host):
    result = _get(host, "scraper", "VIGIL-MARKER-password")
    assert result["status"] == 200
    assert "node_cpu_seconds_total" in result["body"]


def test_wrong_password_is_refused(host):
    assert _get(host, "scraper", "wrong")["status"] == 401


def test_web_config_holds_a_bcrypt_hash_not_the_password(host):
    f = host.file("/etc/prometheus/node-exporter/web-config.yml")
    assert f.mode == 0o640
    assert "VIGIL-MARKER-password" not in f.content_string
    assert "scraper: $2" in f.content_string


def test_disabled_collector_is_off(host):
    assert "--no-collector.wifi" in host.file(f"/etc/systemd/system/{SERVICE}.service").content_string
