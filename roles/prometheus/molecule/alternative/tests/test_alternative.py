"""Prometheus from a release tarball with TLS, basic auth, retention limits, a custom rule file, and the side effect:
a valid change reloads the same process, a broken configuration never replaces the running one."""

import json
import urllib.parse

from vigil_testinfra import eventually, fetch as fetch_url, sibling

SERVICE = "prometheus"
BASE = "https://127.0.0.1:9090"
AUTH = ("admin", "VIGIL-MARKER-password")


def fetch(host, path, auth=AUTH):
    return fetch_url(host, BASE + path, auth)


def api(host, path):
    status, body = fetch(host, path)
    assert status == 200, body
    return json.loads(body)["data"]


def query(host, promql):
    return api(host, "/api/v1/query?" + urllib.parse.urlencode({"query": promql}))["result"]


def test_binaries_come_from_the_release_tarball(host):
    for binary in ("prometheus", "promtool"):
        assert host.file(f"/usr/local/bin/{binary}").mode == 0o755
        assert host.file(f"/opt/vigil/prometheus-2.42.0.linux-amd64/{binary}").exists
    assert "ExecStart=/usr/local/bin/prometheus" in host.file(f"/etc/systemd/system/{SERVICE}.service").content_string


def test_api_needs_credentials_over_tls_verified_by_the_lab_ca(host):
    assert fetch(host, "/-/ready", auth=None)[0] == 401
    assert fetch(host, "/-/ready", auth=("admin", "wrong"))[0] == 401
    assert fetch(host, "/-/ready")[0] == 200
    assert fetch(host, "/-/ready", auth=("grafana", "VIGIL-MARKER-grafana-password"))[0] == 200


def test_web_config_holds_bcrypt_hashes_not_passwords(host):
    f = host.file("/etc/prometheus/web-config.yml")
    assert f.mode == 0o640
    assert "VIGIL-MARKER-password" not in f.content_string
    assert "admin: $2" in f.content_string


def test_retention_by_time_and_size(host):
    flags = api(host, "/api/v1/status/flags")
    assert flags["storage.tsdb.retention.time"] == "10d"
    # Prometheus reads sizes as powers of 1024 and shows them so: 1GB is 1GiB.
    assert flags["storage.tsdb.retention.size"] in ("1GB", "1GiB")


def test_deployed_config_passes_promtool(host):
    out = host.run("/usr/local/bin/promtool check config /etc/prometheus/prometheus.yml")
    assert out.rc == 0, out.stdout + out.stderr


def test_passwords_live_in_private_files_not_in_the_config(host):
    config = host.file("/etc/prometheus/prometheus.yml").content_string
    for name, password in (("job-node", "VIGIL-MARKER-scrape-password"), ("remote-write-0", "VIGIL-MARKER-remote-password"),
                           ("job-prometheus", "VIGIL-MARKER-password")):
        secret = host.file(f"/etc/prometheus/secrets/{name}")
        assert (secret.user, secret.group, secret.mode) == ("root", "prometheus", 0o640)
        assert secret.content_string == password
        assert password not in config
        assert f"password_file: /etc/prometheus/secrets/{name}" in config


def test_custom_rule_file_is_loaded_and_its_alert_fires(host):
    groups = {g["name"]: [r["name"] for r in g["rules"]] for g in api(host, "/api/v1/rules")["groups"]}
    assert groups["lab"] == ["LabAlwaysFiring", "lab:up:sum"]

    def firing():
        return [a for a in api(host, "/api/v1/alerts")["alerts"]
                if a["labels"]["alertname"] == "LabAlwaysFiring" and a["state"] == "firing"]

    assert eventually(firing)


def test_stale_rule_file_was_purged(host):
    assert not host.file("/etc/prometheus/rules/stale.yml").exists
    assert host.file("/etc/prometheus/rules/lab-rules.yml").mode == 0o640


def test_both_servers_scrape_each_other_over_tls_with_auth(host):
    def up():
        return query(host, 'up{job="prometheus"} == 1')

    assert eventually(lambda: len(up()) == 2), query(host, 'up{job="prometheus"}')


def test_external_labels_and_alerting(host):
    config = api(host, "/api/v1/status/config")["yaml"]
    assert "cluster: lab" in config
    assert f"replica: {host.backend.get_hostname()}" in config
    alertmanagers = api(host, "/api/v1/alertmanagers")["activeAlertmanagers"]
    peer = sibling(host, "deb13")
    assert [a["url"] for a in alertmanagers] == [f"http://{peer}:9093/api/v2/alerts"]


def test_broken_config_left_the_running_prometheus_alone(host):
    """side_effect applied scrape_interval "banana": the play failed, the old configuration still runs."""
    recorded = host.file("/var/tmp/vigil-side-effect-prometheus.pid").content_string.strip()
    current = host.check_output(f"systemctl show --property=MainPID --value {SERVICE}")
    assert current == recorded, "Prometheus was restarted or stopped"
    running = api(host, "/api/v1/status/config")["yaml"]
    assert "scrape_interval: 15s" in running
    assert "banana" not in running
    assert "banana" not in host.file("/etc/prometheus/prometheus.yml").content_string


def test_valid_change_was_applied_by_reload(host):
    """side_effect added a rule file: loaded by the same process (reload, not restart)."""
    rules = [r["name"] for g in api(host, "/api/v1/rules")["groups"] for r in g["rules"]]
    assert "vigil:side_effect:applied" in rules
    assert query(host, "prometheus_config_last_reload_successful")[0]["value"][1] == "1"
