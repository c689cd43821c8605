"""custom_exporter behind TLS and basic auth on 9878, reading the firewall over HTTPS with a token.

side_effect.yml ran before these tests: it added the command source `queue` (applied by a
reload) and then tried an invalid JMESPath query, which was refused.
"""

import json

import pytest
import yaml
from vigil_testinfra import eventually, fetch as fetch_url, platform_name, prom_samples, scenario_host
from vigil_testinfra import prom_value as sample

SERVICE = "vigil-custom-exporter"
URL = "https://127.0.0.1:9878/metrics"
CONFIG = "/etc/vigil/custom_exporter/config.yml"
FIREWALL_HOST = platform_name("deb12")
FIREWALL_URL = f"https://{FIREWALL_HOST}:8581/api/status"
TOKEN = "VIGIL-MARKER-firewall-token"
STATUS_FILE = "/etc/fake-firewall/status.json"
# Collects one source the way the service does, from a config given as JSON.
COLLECT = r"""
import json, sys
from vigil_custom_exporter.config import parse_config
from vigil_custom_exporter.sources import collect_source
config = parse_config(json.loads(sys.argv[1]))
result = collect_source(config.sources[0])
print(json.dumps({"up": result.up, "errors": list(result.errors)}))
"""


def fetch(host, user="scraper", password="VIGIL-MARKER-password"):
    """(HTTP status, body) of the exporter's /metrics, TLS verified with the lab CA."""
    return fetch_url(host, URL, (user, password))


def scrape(host):
    """/metrics as [(name, {label: value}, value)]."""
    status, body = fetch(host)
    assert status == 200
    return prom_samples(body)


@pytest.fixture(scope="module")
def firewall(host):
    return scenario_host(host, FIREWALL_HOST)


@pytest.fixture
def firewall_status(firewall):
    def _set(document):
        firewall.check_output("printf '%%s\\n' %s > %s", json.dumps(document), STATUS_FILE)

    yield _set
    _set({})


def test_service_runs_on_the_custom_port(host):
    assert host.service(SERVICE).is_running
    assert host.socket("tcp://0.0.0.0:9878").is_listening
    assert not host.socket("tcp://0.0.0.0:9877").is_listening


def test_https_without_credentials_is_refused(host):
    assert fetch(host, user=None)[0] == 401


def test_wrong_password_is_refused(host):
    assert fetch(host, password="wrong")[0] == 401


def test_https_with_credentials_serves_the_firewall_values(host):
    # The source is read every 5 s: a value another test changed on the firewall may lag that long.
    eventually(lambda: sample(scrape(host), "vigil_firewall_vpn_active_sessions", site="lab") == 42, timeout=30, step=1)
    metrics = scrape(host)
    assert sample(metrics, "vigil_custom_source_up", source="firewall") == 1
    assert sample(metrics, "vigil_firewall_vpn_active_sessions", site="lab") == 42
    assert sample(metrics, "vigil_firewall_license_days_left", site="lab") == 120


def test_interval_source_follows_the_firewall_in_the_background(host, firewall_status):
    firewall_status({"vpn": {"active_sessions": 7}})
    seen = eventually(lambda: sample(scrape(host), "vigil_firewall_vpn_active_sessions", site="lab") == 7,
                      timeout=30, step=1)
    assert seen, "the gauge did not follow the firewall within 30 s (interval: 5 s)"


def test_firewall_certificate_is_verified(host):
    """Without the lab CA the firewall's certificate is refused: verification is on by default."""
    source = {"name": "fw", "type": "http", "url": FIREWALL_URL, "headers": {"Authorization": f"Bearer {TOKEN}"},
              "metrics": [{"name": "x", "query": "vpn.active_sessions"}]}
    run = "/opt/vigil/custom_exporter/venv/bin/python -c %s %s"
    without_ca = json.loads(host.check_output(run, COLLECT, json.dumps({"sources": [source]})))
    assert without_ca == {"up": False, "errors": ["tls"]}
    source["ca_file"] = "/etc/vigil/tls/ca.crt"
    assert json.loads(host.check_output(run, COLLECT, json.dumps({"sources": [source]}))) == {"up": True, "errors": []}


def test_secret_config_is_not_world_readable(host):
    config = host.file(CONFIG)
    assert (config.user, config.group, config.mode) == ("root", "vigil-exporter", 0o640)
    assert f"Bearer {TOKEN}" in config.content_string  # the header the firewall needs
    assert host.run("runuser -u nobody -- cat %s", CONFIG).rc != 0


def test_token_is_not_logged(host):
    journal = host.check_output(f"journalctl -u {SERVICE} --no-pager -o cat")
    assert "listening on 0.0.0.0:9878 (tls=on, basic_auth=on)" in journal
    assert TOKEN not in journal


def test_web_config_holds_a_bcrypt_hash_and_the_lab_certificate(host):
    web = host.file("/etc/vigil/custom_exporter/web-config.yml")
    assert (web.user, web.group, web.mode) == ("root", "vigil-exporter", 0o640)
    assert "VIGIL-MARKER-password" not in web.content_string
    data = yaml.safe_load(web.content_string)
    assert data["basic_auth_users"]["scraper"].startswith("$2")
    assert data["tls_server_config"] == {"cert_file": "/etc/vigil/tls/host.crt", "key_file": "/etc/vigil/tls/host.key"}


def test_bcrypt_is_installed_for_basic_auth(host):
    freeze = host.check_output("/opt/vigil/custom_exporter/venv/bin/python -m pip freeze")
    assert "bcrypt==5.0.0" in freeze


def test_unit_reads_the_key_through_the_prometheus_group(host):
    assert "SupplementaryGroups=prometheus" in host.file(f"/etc/systemd/system/{SERVICE}.service").content_string


def test_valid_change_was_applied_by_a_reload_and_the_invalid_one_refused(host):
    # side_effect.yml: the queue source was added (reload), then a bad query was refused.
    data = yaml.safe_load(host.file(CONFIG).content_string)
    assert [s["name"] for s in data["sources"]] == ["firewall", "queue"]
    assert data["sources"][1]["metrics"][0]["query"] == "queue.depth"
    metrics = scrape(host)
    assert sample(metrics, "vigil_lab_queue_depth") == 3
    assert sample(metrics, "vigil_custom_exporter_config_last_reload_successful") == 1
    journal = host.check_output(f"journalctl -u {SERVICE} --no-pager -o cat")
    assert "configuration reloaded: 2 sources, 3 metrics" in journal


def test_registered_with_the_custom_port_and_labels(host, firewall):
    groups = yaml.safe_load(firewall.file("/etc/prometheus/file_sd/custom.yml").content_string)
    me = host.backend.get_hostname()
    entries = [g for g in groups if g["targets"] == [f"{me}:9878"]]
    assert len(entries) == 1, groups
    assert entries[0]["labels"] == {"role": "custom", "os": "linux", "instance": me, "scheme": "https", "team": "netops"}
