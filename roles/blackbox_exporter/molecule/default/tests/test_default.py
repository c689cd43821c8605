"""blackbox_exporter with no variables: packaged binary, plain HTTP, shipped modules, CAP_NET_RAW only."""

import urllib.parse

import pytest
from vigil_testinfra import fetch, prom_samples

SERVICE = "prometheus-blackbox-exporter"
BASE = "http://127.0.0.1:9115"


def probe(host, module, target):
    """The probe's unlabelled samples: {name: value}."""
    status, body = fetch(host, f"{BASE}/probe?" + urllib.parse.urlencode({"module": module, "target": target}))
    assert status == 200, body
    return {name: value for name, labels, value in prom_samples(body) if not labels}


def test_service_runs_and_is_enabled(host):
    svc = host.service(SERVICE)
    assert svc.is_running
    assert svc.is_enabled


def test_listens_on_9115(host):
    assert host.socket("tcp://0.0.0.0:9115").is_listening


def test_unit_is_ours_hardened_with_only_cap_net_raw(host):
    unit = host.file(f"/etc/systemd/system/{SERVICE}.service").content_string
    for line in ("User=prometheus", "NoNewPrivileges=yes", "ProtectSystem=strict", "AmbientCapabilities=CAP_NET_RAW",
                 "CapabilityBoundingSet=CAP_NET_RAW", "ExecReload=/bin/kill -HUP $MAINPID",
                 "--config.file=/etc/prometheus/blackbox.yml"):
        assert line in unit


def test_process_runs_unprivileged_with_net_raw(host):
    pid = host.check_output(f"systemctl show --property=MainPID --value {SERVICE}")
    status = host.file(f"/proc/{pid}/status").content_string
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert fields["Uid"].split()[0] != "0"
    assert int(fields["CapEff"], 16) == 1 << 13  # CAP_NET_RAW and nothing else


def test_deployed_config_passes_the_exporters_check(host):
    out = host.run("/usr/bin/prometheus-blackbox-exporter --config.check --config.file=/etc/prometheus/blackbox.yml")
    assert out.rc == 0, out.stderr


def test_config_is_private_and_has_the_shipped_modules(host):
    f = host.file("/etc/prometheus/blackbox.yml")
    assert (f.user, f.group, f.mode) == ("root", "prometheus", 0o640)
    for module in ("icmp:", "tcp_connect:", "http_2xx:", "https_2xx:", "dns:"):
        assert f"\n  {module}\n" in f.content_string


@pytest.mark.parametrize("module,target", [
    ("icmp", "127.0.0.1"),
    ("tcp_connect", "127.0.0.1:9115"),
    ("http_2xx", "http://127.0.0.1:9115/metrics"),
])
def test_probe_succeeds(host, module, target):
    assert probe(host, module, target)["probe_success"] == 1


def test_http_probe_reports_the_status_code(host):
    assert probe(host, "http_2xx", "http://127.0.0.1:9115/metrics")["probe_http_status_code"] == 200


def test_https_module_refuses_plain_http(host):
    result = probe(host, "https_2xx", "http://127.0.0.1:9115/metrics")
    assert result["probe_success"] == 0
    assert result["probe_http_ssl"] == 0


def test_tcp_probe_of_a_closed_port_fails(host):
    assert probe(host, "tcp_connect", "127.0.0.1:9")["probe_success"] == 0
