"""Grafana with install method none (pre-baked): everything but the package is converged.

Grafana itself does not run here (it cannot be installed in the lab); these tests check
the files Grafana would read, the way Grafana reads them.
"""

import json

import pytest
import yaml
from vigil_testinfra import host_ini

INI = "/etc/grafana/grafana.ini"
PROVISIONING = "/etc/grafana/provisioning"
DATASOURCES = PROVISIONING + "/datasources/vigil.yml"
PROVIDERS = PROVISIONING + "/dashboards/vigil.yml"
ALERTING = PROVISIONING + "/alerting/vigil-alerts.yml"
DASHBOARDS = "/var/lib/grafana/dashboards/vigil"
FOLDERS = {"Vigil Hosts", "Vigil Probes", "Vigil Business", "Vigil Alerting", "Vigil Logs", "Vigil Network"}


def yaml_file(host, path):
    return yaml.safe_load(host.file(path).content_string)


def datasource_uids(host):
    return {ds["uid"] for ds in yaml_file(host, DATASOURCES)["datasources"]}


def dashboards(host):
    paths = host.check_output("find %s -name '*.json' -type f", DASHBOARDS).splitlines()
    return {path: json.loads(host.file(path).content_string) for path in sorted(paths)}


def test_grafana_user_and_group_exist_as_the_package_makes_them(host):
    user = host.user("grafana")
    assert user.exists
    assert user.group == "grafana"
    assert user.home == "/usr/share/grafana"


@pytest.mark.parametrize(
    "path,owner,mode",
    [("/etc/grafana", "root", 0o755), ("/var/lib/grafana", "grafana", 0o750), ("/var/log/grafana", "grafana", 0o755),
     ("/var/lib/grafana/plugins", "grafana", 0o755), (PROVISIONING, "root", 0o750)],
)
def test_directories_the_package_would_make(host, path, owner, mode):
    d = host.file(path)
    assert d.is_directory
    assert d.user == owner
    assert d.group == "grafana"
    assert d.mode == mode


def test_nothing_was_installed_and_apt_was_left_alone(host):
    assert not host.package("grafana").is_installed
    assert not host.file("/etc/apt/sources.list.d/grafana.sources").exists
    assert not host.file("/etc/apt/keyrings/grafana.asc").exists


@pytest.mark.parametrize("path", [INI, DATASOURCES])
def test_files_with_secrets_are_root_grafana_0640(host, path):
    f = host.file(path)
    assert f.user == "root"
    assert f.group == "grafana"
    assert f.mode == 0o640


def test_grafana_ini_parses_and_holds_the_merged_values(host):
    conf = host_ini(host, INI)
    assert conf.get("auth.anonymous", "enabled") == "false"
    assert conf.get("server", "protocol") == "http"
    assert conf.get("server", "http_port") == "3000"
    assert conf.get("security", "cookie_secure") == "false"  # no TLS here
    assert conf.get("security", "admin_user") == "admin"
    assert conf.get("security", "admin_password") == "VIGIL-MARKER-admin-password"
    assert conf.get("security", "secret_key") == "VIGIL-MARKER-secret-key-0123456789"
    assert conf.get("analytics", "reporting_enabled") == "false"
    assert conf.get("analytics", "check_for_updates") == "false"
    assert conf.get("users", "allow_sign_up") == "false"
    assert conf.get("paths", "provisioning") == PROVISIONING


def test_one_prometheus_datasource_per_server_and_elasticsearch(host):
    doc = yaml_file(host, DATASOURCES)
    assert doc["apiVersion"] == 1
    for ds in doc["datasources"]:
        for field in ("name", "type", "uid", "url", "access"):
            assert ds.get(field), "%s misses %s" % (ds.get("name"), field)
        assert ds["access"] == "proxy"
        assert ds["jsonData"]["tlsSkipVerify"] is False
    prometheus = [ds for ds in doc["datasources"] if ds["type"] == "prometheus"]
    hosts = sorted(host.ansible.get_variables()["groups"]["prometheus"])
    assert sorted(ds["uid"] for ds in prometheus) == sorted("vigil-prom-" + h for h in hosts)
    assert sorted(ds["url"] for ds in prometheus) == sorted("http://%s:9090" % h for h in hosts)
    assert [ds["isDefault"] for ds in doc["datasources"]].count(True) == 1
    (es,) = [ds for ds in doc["datasources"] if ds["type"] == "elasticsearch"]
    assert es["url"].startswith("https://") and es["url"].endswith(":9200")
    assert es["jsonData"]["timeField"] == "@timestamp"
    assert es["jsonData"]["index"] == "logs-*"
    # It logs in as the datasource identity (read-only on logs-*), never as elastic.
    assert es["basicAuth"] is True and es["basicAuthUser"] == "vigil_grafana"
    assert es["secureJsonData"]["basicAuthPassword"] == "VIGIL-MARKER-grafana-es-password"


def test_dashboard_provider_reads_folders_from_the_file_tree(host):
    doc = yaml_file(host, PROVIDERS)
    assert doc["apiVersion"] == 1
    (provider,) = doc["providers"]
    assert provider["name"] and provider["type"] == "file"
    assert provider["options"]["path"] == DASHBOARDS
    assert provider["options"]["foldersFromFilesStructure"] is True
    assert host.file(provider["options"]["path"]).is_directory


def test_vigil_dashboards_are_in_their_folders(host):
    found = dashboards(host)
    assert {path.split("/")[-2] for path in found} == FOLDERS
    for path in found:
        f = host.file(path)
        assert (f.user, f.group, f.mode) == ("root", "grafana", 0o640)


def test_dashboards_parse_have_unique_uids_and_use_only_provisioned_datasources(host):
    found = dashboards(host)
    uids = [d["uid"] for d in found.values()]
    assert len(uids) == len(set(uids))
    allowed = datasource_uids(host) | {"${datasource}"}

    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "datasource":
                    yield value.get("uid") if isinstance(value, dict) else value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for path, dashboard in found.items():
        assert dashboard["schemaVersion"] >= 39
        bad = set(refs(dashboard)) - allowed
        assert not bad, "%s refers to datasources %s" % (path, bad)


def test_grafana_evaluates_nothing_by_default(host):
    """Prometheus evaluates the catalog; Grafana shows its alerts and provisions no rule of its own."""
    assert not host.file(ALERTING).exists
    # No Alertmanager in this scenario's inventory: no routing to one, and no datasource for it.
    assert not host.file(PROVISIONING + "/alerting/vigil-routing.yml").exists
    assert not [uid for uid in datasource_uids(host) if uid.startswith("vigil-am")]


def test_no_plugin_was_installed_and_no_service_exists(host):
    assert host.file("/var/lib/grafana/plugins").listdir() == []
    assert not host.file("/usr/sbin/grafana").exists
