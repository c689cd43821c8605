"""node_exporter with no variables: packaged binary, plain HTTP, hardened unit."""

import pytest

SERVICE = "prometheus-node-exporter"


def test_service_runs_and_is_enabled(host):
    svc = host.service(SERVICE)
    assert svc.is_running
    assert svc.is_enabled


def test_listens_on_9100(host):
    assert host.socket("tcp://0.0.0.0:9100").is_listening


def test_metrics_include_systemd_and_textfile_collectors(host):
    out = host.check_output("python3 -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:9100/metrics', timeout=5).read().decode())\"")
    assert "node_systemd_unit_state" in out
    assert 'node_scrape_collector_success{collector="textfile"} 1' in out
    assert 'node_scrape_collector_success{collector="systemd"} 1' in out


def test_unit_is_ours_and_hardened(host):
    unit = host.file(f"/etc/systemd/system/{SERVICE}.service")
    assert unit.exists
    for line in ("NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", "User=prometheus"):
        assert line in unit.content_string
    assert "--web.config.file=/etc/prometheus/node-exporter/web-config.yml" in unit.content_string


@pytest.mark.parametrize("path,mode", [("/etc/prometheus/node-exporter/web-config.yml", 0o640)])
def test_web_config_is_private(host, path, mode):
    f = host.file(path)
    assert f.user == "root"
    assert f.group == "prometheus"
    assert f.mode == mode
