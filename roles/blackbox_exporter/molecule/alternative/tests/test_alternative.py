"""blackbox_exporter from a release tarball, TLS + basic auth, lab modules, probes scraped by Prometheus."""

import json
import time
import urllib.parse

from vigil_testinfra import eventually, fetch as fetch_url, is_deb12, prom_samples, sibling

SERVICE = "prometheus-blackbox-exporter"
BASE = "https://127.0.0.1:9116"
AUTH = ("prober", "VIGIL-MARKER-password")


def fetch(host, url, auth=AUTH):
    return fetch_url(host, url, auth)


def probe(host, module, target):
    """The probe's unlabelled samples: {name: value}."""
    status, body = fetch(host, f"{BASE}/probe?" + urllib.parse.urlencode({"module": module, "target": target}))
    assert status == 200
    return {name: value for name, labels, value in prom_samples(body) if not labels}


def is_prometheus(host):
    """deb12 runs the Prometheus of this scenario."""
    return is_deb12(host)


def prom_query(host, promql):
    url = "https://127.0.0.1:9090/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    status, body = fetch(host, url, auth=None)
    assert status == 200, body
    return json.loads(body)["data"]["result"]


def test_binary_comes_from_the_release_tarball(host):
    assert host.file("/usr/local/bin/blackbox_exporter").mode == 0o755
    assert host.file("/opt/vigil/blackbox_exporter-0.23.0.linux-amd64/blackbox_exporter").exists
    unit = host.file(f"/etc/systemd/system/{SERVICE}.service").content_string
    assert "ExecStart=/usr/local/bin/blackbox_exporter" in unit


def test_service_runs_on_custom_port(host):
    assert host.service(SERVICE).is_running
    assert host.socket("tcp://0.0.0.0:9116").is_listening


def test_https_requires_credentials(host):
    assert fetch(host, f"{BASE}/metrics", auth=None)[0] == 401
    assert fetch(host, f"{BASE}/metrics", auth=("prober", "wrong"))[0] == 401
    status, body = fetch(host, f"{BASE}/metrics")
    assert status == 200
    assert "blackbox_exporter_config_last_reload_successful 1" in body


def test_web_config_holds_a_bcrypt_hash_not_the_password(host):
    f = host.file("/etc/prometheus/blackbox-exporter/web-config.yml")
    assert f.mode == 0o640
    assert "VIGIL-MARKER-password" not in f.content_string
    assert "prober: $2" in f.content_string


def test_user_modules_are_merged_over_the_shipped_ones(host):
    config = host.file("/etc/prometheus/blackbox.yml").content_string
    assert "dns_lab:" in config
    https = config.split("  https_2xx:\n", 1)[1].split("\n  icmp:\n", 1)[0]
    assert "fail_if_not_ssl: true" in https  # shipped key kept
    assert "ca_file: /etc/vigil/tls/ca.crt" in https  # user key added
    check = host.run("/usr/local/bin/blackbox_exporter --config.check --config.file=/etc/prometheus/blackbox.yml")
    assert check.rc == 0, check.stderr


def test_icmp_and_tcp_probes_succeed(host):
    assert probe(host, "icmp", "127.0.0.1")["probe_success"] == 1
    assert probe(host, "tcp_connect", "127.0.0.1:9116")["probe_success"] == 1


def test_https_probe_verifies_the_lab_certificate(host):
    result = probe(host, "https_2xx", f"https://{sibling(host, 'deb12')}:9090/-/healthy")
    assert result["probe_success"] == 1
    assert result["probe_http_ssl"] == 1
    assert result["probe_ssl_earliest_cert_expiry"] > time.time()


def test_dns_probes_resolve_lab_hosts(host):
    assert probe(host, "dns_lab", "127.0.0.11")["probe_success"] == 1
    assert probe(host, "dns", "127.0.0.11")["probe_success"] == 1


def test_prometheus_file_sd_holds_every_exporter_and_its_probes(host):
    if not is_prometheus(host):
        return
    registered = host.file("/etc/prometheus/file_sd/blackbox.yml").content_string
    for name in ("deb12", "deb13"):
        exporter = sibling(host, name)
        assert f"{exporter}:9116" in registered
        probes = host.file(f"/etc/prometheus/file_sd/probes-{exporter}.yml").content_string
        assert f"blackbox_address: {exporter}:9116" in probes
        assert "module: dns_lab" in probes
        assert "127.0.1.2" in probes and "127.0.2." not in probes
    assert "scheme: https" in registered


def test_prometheus_scrapes_both_exporters_with_tls_and_auth(host):
    if not is_prometheus(host):
        return

    def up():
        return prom_query(host, 'up{job="blackbox_exporter"} == 1')

    assert eventually(lambda: len(up()) == 2), prom_query(host, 'up{job="blackbox_exporter"}')
    assert {s["metric"]["role"] for s in up()} == {"blackbox"}


def test_every_probe_succeeds_in_prometheus_with_its_module_label(host):
    if not is_prometheus(host):
        return
    expected = {
        ("127.0.0.1", "icmp"), ("127.0.0.1:9116", "tcp_connect"),
        (f"https://{sibling(host, 'deb12')}:9090/-/healthy", "https_2xx"),
        ("127.0.0.11", "dns"), ("127.0.0.11", "dns_lab"), ("127.0.1.1", "icmp"), ("127.0.1.2", "icmp"),
    }

    def series():
        return prom_query(host, 'probe_success{job="blackbox"}')

    def complete():
        found = series()
        return len(found) == 2 * len(expected) and all(s["value"][1] == "1" for s in found)

    assert eventually(complete), series()
    found = series()
    for prober in ("deb12", "deb13"):
        mine = {(s["metric"]["instance"], s["metric"]["module"]) for s in found
                if s["metric"]["prober"] == sibling(host, prober)}
        assert mine == expected
    for s in found:
        assert "blackbox_address" not in s["metric"] and "scheme" not in s["metric"]
        if s["metric"]["instance"].startswith("127.0.1."):
            assert s["metric"]["zone"] == "loopback"
