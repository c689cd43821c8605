"""The Elasticsearch exporter for real, reading the lab's Elasticsearch stand-in.

Debian 12 runs its package's exporter 1.5.0 (plain HTTP), Debian 13 the 1.9.0 release
tarball (binary method) with TLS and basic auth; both read the stand-in on the Debian 13
host over HTTPS with basic auth. The stand-in is the project's Elasticsearch fake, not
Elasticsearch.
"""

import json
import re

import pytest
import yaml
from vigil_testinfra import fetch, platform_name, scenario_host

SERVICE = "prometheus-elasticsearch-exporter"
DEB12, DEB13 = platform_name("deb12"), platform_name("deb13")
ENV_FILE = "/etc/prometheus/elasticsearch-exporter/credentials.env"
STATE_FILE = "/etc/fake-elasticsearch/state.json"
PASSWORD = 'VIGIL-MARKER-es "only" \\ pa$word #1'  # molecule.yml's, after Molecule's $$ -> $
SCRAPE_AUTH = ("prometheus", "VIGIL-MARKER-es-exporter-scrape")


def metrics_url(host):
    name = host.backend.get_hostname()
    return f"https://{name}:9114/metrics" if name == DEB13 else "http://127.0.0.1:9114/metrics"


def scrape(host):
    auth = SCRAPE_AUTH if host.backend.get_hostname() == DEB13 else None
    status, body = fetch(host, metrics_url(host), auth)
    assert status == 200, body
    return body


@pytest.fixture(scope="module")
def standin(host):
    return scenario_host(host, DEB13)


@pytest.fixture(scope="module")
def prometheus(host):
    return scenario_host(host, DEB12)


def test_service_runs_and_is_enabled(host):
    svc = host.service(SERVICE)
    assert svc.is_running
    assert svc.is_enabled


def test_the_exporter_serves_the_stand_ins_cluster_health(host):
    body = scrape(host)
    assert 'elasticsearch_cluster_health_status{cluster="vigil-molecule",color="green"} 1' in body
    assert 'elasticsearch_cluster_health_number_of_nodes{cluster="vigil-molecule"} 1' in body


def test_data_stream_and_backing_index_series_are_served(host):
    body = scrape(host)
    assert 'elasticsearch_data_stream_backing_indices_total{data_stream="logs-system.syslog-default"} 2' in body
    assert 'elasticsearch_data_stream_backing_indices_total{data_stream="logs-vigil.linux_auth-default"} 1' in body
    # What ElasticsearchLogIngestionStopped reads: indexing counters per backing index.
    assert re.search(
        r'^elasticsearch_index_stats_indexing_index_total\{cluster="vigil-molecule",'
        r'index="\.ds-logs-vigil\.linux_auth-default-2026\.01\.01-000001"\} \d', body, re.M
    )
    # What the disk watermark alerts read: every node's data path.
    size = r'^elasticsearch_filesystem_data_size_bytes\{[^}]*name="es-1"[^}]*\} 1\.073741824e\+11$'
    assert re.search(size, body, re.M)


def test_the_exporter_reads_the_cluster_live(host, standin):
    """A change of the stand-in's cluster shows in the next scrape: the exporter asks the
    cluster on every scrape, and the stand-in reads its state file on every request."""
    try:
        yellow = json.dumps({"cluster_name": "vigil-molecule", "status": "yellow"})
        standin.run_expect([0], "printf '%%s' %s > %s", yellow, STATE_FILE)
        assert 'elasticsearch_cluster_health_status{cluster="vigil-molecule",color="yellow"} 1' in scrape(host)
    finally:
        green = json.dumps({"cluster_name": "vigil-molecule"})
        standin.run_expect([0], "printf '%%s' %s > %s", green, STATE_FILE)


def test_debian13_reads_the_disk_watermarks_debian12_cannot(host):
    body = scrape(host)
    if host.backend.get_hostname() == DEB13:
        assert "elasticsearch_clustersettings_allocation_watermark_high_ratio 0.9" in body
        assert "elasticsearch_clustersettings_allocation_watermark_flood_stage_ratio 0.95" in body
    else:  # 1.5.0 has no watermark series: the catalog falls back to Elasticsearch's defaults
        assert "elasticsearch_clustersettings_allocation_watermark" not in body
        assert "elasticsearch_clustersettings_stats_up 1" in body


def test_debian13_serves_tls_with_basic_auth(host):
    if host.backend.get_hostname() != DEB13:
        pytest.skip("Debian 12's exporter 1.5.0 has no TLS or basic auth: plain HTTP")
    assert fetch(host, metrics_url(host))[0] == 401
    assert fetch(host, metrics_url(host), ("prometheus", "wrong"))[0] == 401
    assert fetch(host, metrics_url(host), SCRAPE_AUTH)[0] == 200
    # The certificate is the lab's, verified against the lab CA by the client above.
    assert "--web.config.file=/etc/prometheus/elasticsearch-exporter/web-config.yml" in host.file(
        f"/etc/systemd/system/{SERVICE}.service").content_string


def test_the_unit_uses_the_flags_of_each_version(host):
    unit = host.file(f"/etc/systemd/system/{SERVICE}.service").content_string
    assert "EnvironmentFile=%s" % ENV_FILE in unit
    for flag in ("--es.uri=https://%s:9200" % DEB13, "--es.ca=/etc/vigil/tls/ca.crt", "--es.all", "--es.indices",
                 "--es.data_stream"):
        assert flag in unit
    if host.backend.get_hostname() == DEB13:
        assert "ExecStart=/usr/local/bin/elasticsearch_exporter" in unit  # the binary method
        assert "--collector.clustersettings" in unit
    else:
        assert "ExecStart=/usr/bin/prometheus-elasticsearch-exporter" in unit  # Debian's package
        assert "--es.cluster_settings" in unit
        assert "--web.config.file" not in unit
    for line in ("NoNewPrivileges=yes", "ProtectSystem=strict", "User=prometheus"):
        assert line in unit


def test_the_password_is_in_a_private_file_and_never_on_the_command_line(host):
    env = host.file(ENV_FILE)
    assert (env.user, env.group, env.mode) == ("root", "prometheus", 0o640)
    assert 'ES_USERNAME="vigil_monitoring"' in env.content_string
    # systemd's EnvironmentFile syntax: double quotes, backslash and quote escaped.
    quoted = PASSWORD.replace("\\", "\\\\").replace('"', '\\"')
    assert 'ES_PASSWORD="%s"' % quoted in env.content_string
    pid = host.check_output(f"systemctl show -p MainPID --value {SERVICE}")
    cmdline = host.file(f"/proc/{pid}/cmdline").content_string.replace("\0", " ")
    assert "--es.uri=" in cmdline
    assert "VIGIL-MARKER" not in cmdline and "vigil_monitoring" not in cmdline
    assert "VIGIL-MARKER" not in host.file(f"/etc/systemd/system/{SERVICE}.service").content_string


def test_both_exporters_registered_in_prometheus_file_sd(prometheus):
    groups = yaml.safe_load(prometheus.file("/etc/prometheus/file_sd/elasticsearch.yml").content_string)
    by_instance = {g["labels"]["instance"]: g for g in groups}
    assert set(by_instance) == {DEB12, DEB13}
    assert by_instance[DEB13]["labels"]["scheme"] == "https"
    assert by_instance[DEB12]["labels"]["scheme"] == "http"
    assert by_instance[DEB13]["labels"]["role"] == "elasticsearch"
    assert by_instance[DEB13]["targets"] == [f"{DEB13}:9114"]
