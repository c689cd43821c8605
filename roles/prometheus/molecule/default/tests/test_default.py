"""Prometheus with no variables: packaged, plain HTTP, HA pair, alert catalog rules, file_sd jobs."""

import json

from vigil_testinfra import eventually, fetch, host_yaml, is_deb12, scenario_host, sibling

SERVICE = "prometheus"
BASE = "http://127.0.0.1:9090"


def api(host, path):
    status, body = fetch(host, BASE + path)
    assert status == 200, body
    return json.loads(body)["data"]


def query(host, promql):
    return api(host, "/api/v1/query?query=" + promql.replace(" ", "%20").replace('"', "%22"))["result"]


def peer(host):
    """The other server of the HA pair."""
    return scenario_host(host, sibling(host, "deb13" if is_deb12(host) else "deb12"))


def test_service_runs_and_is_enabled(host):
    svc = host.service(SERVICE)
    assert svc.is_running
    assert svc.is_enabled


def test_listens_on_9090(host):
    assert host.socket("tcp://0.0.0.0:9090").is_listening


def test_unit_is_ours_hardened_and_reloadable(host):
    unit = host.file(f"/etc/systemd/system/{SERVICE}.service").content_string
    for line in ("NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", "User=prometheus",
                 "ExecReload=/bin/kill -HUP $MAINPID", "--web.enable-lifecycle",
                 "--web.config.file=/etc/prometheus/web-config.yml"):
        assert line in unit


def test_deployed_config_passes_promtool(host):
    out = host.run("promtool check config /etc/prometheus/prometheus.yml")
    assert out.rc == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout + out.stderr


def test_config_files_are_private(host):
    for path in ("/etc/prometheus/prometheus.yml", "/etc/prometheus/web-config.yml"):
        f = host.file(path)
        assert (f.user, f.group, f.mode) == ("root", "prometheus", 0o640)


def test_retention_defaults_to_30_days(host):
    flags = api(host, "/api/v1/status/flags")
    assert flags["storage.tsdb.retention.time"] == "30d"
    assert flags["storage.tsdb.path"] == "/var/lib/prometheus/metrics2"
    assert flags["web.enable-lifecycle"] == "true"


def test_each_server_has_its_own_replica_label(host):
    config = api(host, "/api/v1/status/config")["yaml"]
    assert f"replica: {host.backend.get_hostname()}" in config


def test_ha_pair_runs_identical_config_except_replica(host):
    def normalised(h):
        text = h.file("/etc/prometheus/prometheus.yml").content_string
        return [line for line in text.splitlines() if not line.strip().startswith("replica:")]

    assert normalised(host) == normalised(peer(host))


def test_alert_catalog_rules_are_loaded_without_a_catalog_play_before(host):
    rules = [r["name"] for g in api(host, "/api/v1/rules")["groups"] for r in g["rules"]]
    for name in ("HostDown", "ProbeFailed", "TlsCertExpiringCritical", "PrometheusConfigReloadFailed"):
        assert name in rules
    assert host.run("promtool check rules /etc/prometheus/rules/vigil-alert-catalog.yml").rc == 0


def test_file_sd_files_of_every_exporter_kind_exist(host):
    for kind in ("node", "windows", "custom", "blackbox", "alertmanager"):
        assert host.file(f"/etc/prometheus/file_sd/{kind}.yml").is_file


def test_existing_registration_is_kept_and_scraped(host):
    assert "registered_by: prepare" in host.file("/etc/prometheus/file_sd/custom.yml").content_string

    def custom_up():
        return [s for s in query(host, 'up{job="custom"}') if s["value"][1] == "1"]

    series = eventually(custom_up, timeout=90)  # scrapes and rule evaluations run every 30s
    assert series, "the target registered in custom.yml is not scraped by job custom"
    assert series[0]["metric"]["registered_by"] == "prepare"


def test_both_servers_of_the_pair_are_scraped(host):
    # Compare sets: the package's first start scraped localhost:9090 with its own
    # config, and that series stays visible for the 5-minute lookback after the
    # role's restart, so counting series would depend on timing.
    me = host.backend.get_hostname()
    pair = {me, peer(host).backend.get_hostname()}

    def up_instances():
        return {s["metric"]["instance"] for s in query(host, 'up{job="prometheus"} == 1')}

    assert eventually(lambda: pair <= up_instances(), timeout=90), up_instances()


def test_probe_job_routes_through_the_blackbox_exporter(host):
    jobs = {c["job_name"]: c for c in _scrape_configs(host)}
    assert set(jobs) >= {"prometheus", "node", "windows", "custom", "blackbox_exporter", "blackbox", "alertmanager"}
    assert jobs["blackbox"]["metrics_path"] == "/probe"
    assert jobs["blackbox"]["file_sd_configs"][0]["files"] == ["/etc/prometheus/file_sd/probes-*.yml"]


def _scrape_configs(host):
    return host_yaml(host, "/etc/prometheus/prometheus.yml")["scrape_configs"]
