"""Grafana with HTTPS, a repository mirror, more datasources and a user dashboard directory.

The APT path is exercised up to the package install: the deb822 source and the signing
key are written and apt parses them (``apt-get update --print-uris``); the mirror does not
exist, so nothing is downloaded or installed (install method none).
"""

import hashlib
import json
import os

import yaml
from vigil_testinfra import host_ini

INI = "/etc/grafana/grafana.ini"
PROVISIONING = "/etc/grafana/provisioning"
DATASOURCES = PROVISIONING + "/datasources/vigil.yml"
PROVIDERS = PROVISIONING + "/dashboards/vigil.yml"
ALERTING = PROVISIONING + "/alerting/vigil-alerts.yml"
ROUTING = PROVISIONING + "/alerting/vigil-routing.yml"
USER_DASHBOARDS = "/var/lib/grafana/dashboards/user"
SOURCE = "/etc/apt/sources.list.d/grafana.sources"
KEY = "/etc/apt/keyrings/grafana.asc"
MIRROR = "https://grafana-mirror.lab.invalid/apt"
FIXTURE_KEY = os.path.join(os.path.dirname(__file__), "..", "files", "lab-apt-repo-key.asc")
ADMIN_PASSWORD = "lab#only;admin$pw"


def yaml_file(host, path):
    return yaml.safe_load(host.file(path).content_string)


def datasources(host):
    return {ds["uid"]: ds for ds in yaml_file(host, DATASOURCES)["datasources"]}


# ------------------------------------------------------------------ APT repository
def test_deb822_source_points_at_the_mirror_and_its_key(host):
    f = host.file(SOURCE)
    assert (f.user, f.mode) == ("root", 0o644)
    fields = dict(line.split(": ", 1) for line in f.content_string.splitlines() if ": " in line)
    assert fields["Types"] == "deb"
    assert fields["URIs"] == MIRROR
    assert fields["Suites"] == "stable"
    assert fields["Components"] == "main"
    assert fields["Signed-By"] == KEY
    assert fields.get("Enabled", "yes") == "yes"


def test_signing_key_is_the_fixture_armored(host):
    key = host.file(KEY)
    assert (key.user, key.mode) == ("root", 0o644)
    with open(FIXTURE_KEY, "rb") as fixture:
        assert key.sha256sum == hashlib.sha256(fixture.read()).hexdigest()
    assert key.content_string.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")


def test_apt_parses_the_source_and_would_fetch_from_the_mirror(host):
    # --print-uris reads every source (a malformed one is an error) without downloading.
    out = host.check_output("apt-get update --print-uris")
    assert "'%s/dists/stable/InRelease'" % MIRROR in out
    assert "'%s/dists/stable/main/binary-" % MIRROR in out


def test_the_one_line_source_was_replaced(host):
    assert not host.file("/etc/apt/sources.list.d/grafana.list").exists


def test_grafana_was_not_installed(host):
    assert not host.package("grafana").is_installed


# ------------------------------------------------------------------ grafana.ini
def test_https_turns_on_secure_cookies(host):
    conf = host_ini(host, INI)
    assert conf.get("server", "protocol") == "https"
    assert conf.get("server", "cert_file") == "/etc/vigil/tls/host.crt"
    assert conf.get("server", "cert_key") == "/etc/vigil/tls/host.key"
    assert conf.get("server", "http_port") == "3443"
    assert conf.get("security", "cookie_secure") == "true"


def test_user_settings_are_merged_over_the_defaults(host):
    conf = host_ini(host, INI)
    assert conf.get("server", "root_url") == "https://grafana.lab.invalid/"
    assert conf.get("users", "default_theme") == "light"
    assert conf.get("users", "allow_sign_up") == "false"  # default kept beside the user's key
    assert conf.get("smtp", "host") == "smtp.lab.invalid:587"
    assert conf.get("auth.anonymous", "enabled") == "false"


def test_admin_password_with_comment_characters_is_quoted(host):
    # Grafana's ini parser would cut the value at ' #' or ';' without the triple quotes.
    assert host_ini(host, INI).get("security", "admin_password") == '"""%s"""' % ADMIN_PASSWORD
    f = host.file(INI)
    assert (f.user, f.group, f.mode) == ("root", "grafana", 0o640)


# ------------------------------------------------------------------ datasources
def test_default_prometheus_in_front_of_the_pair(host):
    found = datasources(host)
    default = found["vigil-prometheus"]
    assert default["isDefault"] is True
    assert default["url"] == "https://prometheus.lab.invalid:9090"
    servers = [ds for uid, ds in found.items() if uid.startswith("vigil-prom-")]
    assert len(servers) == 2
    assert all(ds["url"].startswith("https://") and ds["url"].endswith(":9090") for ds in servers)
    assert not any(ds["isDefault"] for ds in servers)


def test_prometheus_basic_auth_and_ca_go_to_secure_json_data(host):
    for uid, ds in datasources(host).items():
        if ds["type"] != "prometheus":
            continue
        assert ds["basicAuth"] is True and ds["basicAuthUser"] == "grafana"
        # Grafana expands $VAR in provisioning files: a literal $ is written $$.
        assert ds["secureJsonData"]["basicAuthPassword"] == "VIGIL-MARKER-$$scrape"
        assert ds["secureJsonData"]["tlsCACert"].startswith("-----BEGIN CERTIFICATE-----")
        assert ds["jsonData"]["tlsAuthWithCACert"] is True
        assert ds["jsonData"]["tlsSkipVerify"] is False


def test_elasticsearch_with_credentials_and_verified_tls(host):
    es = datasources(host)["vigil-elasticsearch-logs"]
    assert es["url"] == "https://elasticsearch.lab.invalid:9200"
    assert es["basicAuth"] is True and es["basicAuthUser"] == "grafana_reader"
    assert es["secureJsonData"]["basicAuthPassword"] == "VIGIL-MARKER-es-password"
    assert es["jsonData"]["tlsSkipVerify"] is False and es["jsonData"]["tlsAuthWithCACert"] is True
    assert es["jsonData"]["timeField"] == "@timestamp"


def test_extra_datasource_is_written_as_given(host):
    am = datasources(host)["lab-extra-alertmanager"]
    assert am["type"] == "alertmanager"
    assert am["jsonData"]["implementation"] == "prometheus"
    assert [ds["isDefault"] for ds in datasources(host).values() if "isDefault" in ds].count(True) == 1


def test_the_alertmanager_cluster_is_a_datasource_that_does_not_forward_grafana_alerts(host):
    am = datasources(host)["vigil-alertmanager"]
    assert (am["type"], am["url"]) == ("alertmanager", "https://alertmanager.lab.invalid:9093")
    assert am["jsonData"] == {"implementation": "prometheus", "handleGrafanaManagedAlerts": False}
    assert am["basicAuthUser"] == "grafana"
    assert am["secureJsonData"]["basicAuthPassword"] == "VIGIL-MARKER-am-$$grafana"


def test_every_grafana_managed_alert_goes_to_the_alertmanager_cluster(host):
    f = host.file(ROUTING)
    assert (f.user, f.group, f.mode) == ("root", "grafana", 0o640)
    doc = yaml.safe_load(f.content_string)
    (cp,) = doc["contactPoints"]
    (receiver,) = cp["receivers"]
    assert receiver["type"] == "prometheus-alertmanager"
    assert receiver["settings"] == {
        "url": "https://alertmanager.lab.invalid:9093",
        "basicAuthUser": "grafana",
        "basicAuthPassword": "VIGIL-MARKER-am-$$grafana",
    }
    (policy,) = doc["policies"]
    assert policy["receiver"] == cp["name"] and "routes" not in policy


# ------------------------------------------------------------------ dashboards
def test_user_dashboards_get_their_own_provider_and_folder(host):
    providers = {p["name"]: p for p in yaml_file(host, PROVIDERS)["providers"]}
    assert providers["vigil-user"]["options"] == {"path": USER_DASHBOARDS, "foldersFromFilesStructure": True}
    assert providers["vigil-user"]["type"] == "file"
    dashboard = json.loads(host.file(USER_DASHBOARDS + "/Team apps/orders.json").content_string)
    assert dashboard["uid"] == "lab-team-orders"


def test_a_dashboard_removed_from_the_source_is_removed_from_the_host(host):
    assert not host.file(USER_DASHBOARDS + "/Retired/retired.json").exists
    assert not host.file(USER_DASHBOARDS + "/Retired").exists


def test_vigil_dashboards_are_there_too(host):
    assert host.file("/var/lib/grafana/dashboards/vigil/Vigil Hosts/host-overview.json").exists


# ------------------------------------------------------------------ alerting
def test_alert_rules_follow_the_catalog_and_delete_what_left_it(host):
    doc = yaml_file(host, ALERTING)
    rules = {r["title"]: r for group in doc["groups"] for r in group["rules"]}
    assert "HostDown" in rules
    assert "LoadHigh" not in rules  # disabled in alert_catalog
    assert {g["folder"] for g in doc["groups"]} == {"Vigil lab"}
    # Rules queried through the default datasource in front of the pair.
    assert {q["datasourceUid"] for r in rules.values() for q in r["data"]} == {"vigil-prometheus", "__expr__"}
    # A rule from the previous file is deleted from Grafana instead of left behind.
    assert {"orgId": 1, "uid": "lab-retired-rule"} in doc["deleteRules"]


def test_plugins_are_skipped_without_grafana(host):
    assert host.file("/var/lib/grafana/plugins").listdir() == []
