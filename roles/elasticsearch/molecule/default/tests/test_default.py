"""elasticsearch with install method none: what a node would start with, checked file by file.

Nothing here ran Elasticsearch: these tests check the rendered configuration against
the format (YAML parsed on the host) and the values an operator relies on.
"""

import json
import re

import bcrypt
import pytest
from vigil_testinfra import host_yaml, hostname, is_deb12, sibling

CONFIG = "/etc/elasticsearch/elasticsearch.yml"
FIRST = "/root/elasticsearch.yml.first-converge"
MARKER = "/var/lib/elasticsearch/.vigil-bootstrapped"
TOKENS = {
    "elastic/kibana/vigil-lab": "VIGIL-MARKER-kibana-token-secret-0123",
    "elastic/fleet-server/vigil-lab": "VIGIL-MARKER-fleet-token-secret-4567",
}


def test_elasticsearch_yml_parses_and_holds_the_cluster_settings(host):
    conf = host_yaml(host, CONFIG)
    assert conf["cluster.name"] == "vigil-lab"
    assert conf["node.name"] == hostname(host)
    assert conf["discovery.seed_hosts"] == [f"{sibling(host, 'deb12')}:9300", f"{sibling(host, 'deb13')}:9300"]
    assert conf["node.roles"] == (["master", "data", "ingest"] if is_deb12(host) else ["data_warm", "data_cold", "ingest"])
    assert conf["path.repo"] == ["/var/tmp/vigil/snapshots"]
    assert conf["bootstrap.memory_lock"] is True
    assert "discovery.type" not in conf


def test_security_and_tls_are_on_for_http_and_transport(host):
    conf = host_yaml(host, CONFIG)
    assert conf["xpack.security.enabled"] is True
    for layer in ("http", "transport"):
        assert conf[f"xpack.security.{layer}.ssl.enabled"] is True
        assert conf[f"xpack.security.{layer}.ssl.key"] == "/etc/elasticsearch/tls/node.key"
        assert conf[f"xpack.security.{layer}.ssl.certificate"] == "/etc/elasticsearch/tls/node.crt"
        assert conf[f"xpack.security.{layer}.ssl.certificate_authorities"] == ["/etc/elasticsearch/tls/ca.crt"]
    assert conf["xpack.security.transport.ssl.verification_mode"] == "full"


def test_initial_master_nodes_only_before_the_bootstrap(host):
    first = host_yaml(host, FIRST)
    now = host_yaml(host, CONFIG)
    # First converge: no marker anywhere, the master-eligible node bootstraps the cluster.
    assert first["cluster.initial_master_nodes"] == [sibling(host, "deb12")]
    # After the marker appeared on one node of the group, no node renders it again.
    assert "cluster.initial_master_nodes" not in now
    assert "initial_master_nodes" not in host.file(CONFIG).content_string


def test_marker_is_only_where_the_side_effect_put_it(host):
    assert host.file(MARKER).exists == is_deb12(host)


def test_heap_file(host):
    f = host.file("/etc/elasticsearch/jvm.options.d/vigil-heap.options")
    assert f.mode == 0o640
    xms = re.search(r"^-Xms(\d+)([mg])$", f.content_string, re.M)
    xmx = re.search(r"^-Xmx(\d+)([mg])$", f.content_string, re.M)
    assert xms and xmx and xms.groups() == xmx.groups()
    if is_deb12(host):
        memtotal_mb = int(re.search(r"MemTotal:\s+(\d+) kB", host.file("/proc/meminfo").content_string).group(1)) // 1024
        assert xms.group(2) == "m"
        assert int(xms.group(1)) == max(min(memtotal_mb // 2, 31744), 256)
    else:
        assert xms.groups() == ("512", "m")


def test_systemd_limits_drop_in(host):
    f = host.file("/etc/systemd/system/elasticsearch.service.d/vigil-limits.conf")
    assert f.mode == 0o644
    assert "LimitNOFILE=65535" in f.content_string
    assert "LimitMEMLOCK=infinity" in f.content_string


def test_kernel_setting_is_persisted(host):
    assert "vm.max_map_count=262144" in host.file("/etc/sysctl.d/60-vigil-elasticsearch.conf").content_string


def test_user_and_directories_as_the_package_makes_them(host):
    user = host.user("elasticsearch")
    assert user.group == "elasticsearch"
    assert user.shell == "/bin/false"
    conf_dir = host.file("/etc/elasticsearch")
    assert (conf_dir.user, conf_dir.group, conf_dir.mode) == ("root", "elasticsearch", 0o2750)
    data = host.file("/var/lib/elasticsearch")
    assert (data.user, data.group) == ("elasticsearch", "elasticsearch")


def test_tls_files_provided_on_deb12_skipped_on_deb13(host):
    tls = host.file("/etc/elasticsearch/tls")
    assert tls.is_directory and tls.mode == 0o750 and tls.group == "elasticsearch"
    key = host.file("/etc/elasticsearch/tls/node.key")
    if is_deb12(host):
        assert (key.user, key.group, key.mode) == ("root", "elasticsearch", 0o640)
        for name in ("ca.crt", "node.crt"):
            assert host.file(f"/etc/elasticsearch/tls/{name}").mode == 0o644
        assert host.file("/etc/elasticsearch/tls/node.crt").content == host.file("/etc/vigil/tls/host.crt").content
    else:
        # certutil is not installed on the CA host (deb12): visible skip, nothing made.
        assert not key.exists


def test_service_token_store_holds_hashes_only(host):
    f = host.file("/etc/elasticsearch/service_tokens")
    assert (f.user, f.group, f.mode) == ("root", "elasticsearch", 0o640)
    lines = dict(line.split(":", 1) for line in f.content_string.splitlines())
    assert sorted(lines) == sorted(TOKENS)
    for name, secret in TOKENS.items():
        assert secret not in f.content_string
        assert lines[name].startswith("$2a$10$")
        assert bcrypt.checkpw(secret.encode(), lines[name].encode())


@pytest.mark.parametrize(
    "path", ["/etc/elasticsearch/elasticsearch.yml", "/etc/elasticsearch/service_tokens", "/etc/elasticsearch/tls/node.key"]
)
def test_secrets_and_config_are_not_world_readable(host, path):
    f = host.file(path)
    if f.exists:
        assert f.mode & 0o007 == 0


def test_retention_bodies(host):
    if not is_deb12(host):
        pytest.skip("rendered once, on the API host (first master-eligible node)")
    rendered = json.loads(host.file("/var/tmp/vigil/retention/vigil-retention.json").content_string)
    policies, templates = rendered["ilm_policies"], rendered["index_templates"]
    components = rendered["component_templates"]
    # deb13 is a warm and cold node: hot -> warm -> cold -> delete, debug hot -> delete
    assert rendered["tiers"] == ["hot", "warm", "cold"]
    assert sorted(policies["vigil-security"]["phases"]) == ["cold", "delete", "hot", "warm"]
    assert policies["vigil-security"]["phases"]["delete"]["min_age"] == "365d"
    assert policies["vigil-security"]["phases"]["hot"]["actions"]["rollover"]["max_age"] == "1d"
    assert policies["vigil-security"]["phases"]["delete"]["actions"]["wait_for_snapshot"] == {"policy": "vigil-logs-nightly"}
    assert sorted(policies["vigil-debug"]["phases"]) == ["delete", "hot"]
    assert policies["vigil-debug"]["phases"]["delete"]["min_age"] == "7d"
    # never hours: every retention is in whole days
    assert all(re.fullmatch(r"[1-9][0-9]*d", p["phases"]["delete"]["min_age"]) for p in policies.values())
    # Fleet's integration templates are never written: the lifecycle goes through their @custom hook
    assert components["logs-fortinet_fortigate.log@custom"]["template"]["settings"]["index.lifecycle.name"] == "vigil-firewall"
    assert not any(name.startswith("logs-") for name in templates)
    owned = templates["vigil-logs-vigil.fortinet_fortigate"]
    assert owned["index_patterns"] == ["logs-vigil.fortinet_fortigate-*"]
    assert owned["priority"] == 150 and owned["data_stream"] == {}
    assert owned["composed_of"][-2:] == ["logs@custom", "logs-vigil.fortinet_fortigate@custom"]
    # the agent input naming retention "debug" added its dataset
    assert components["logs-vigil.app_debug@custom"]["template"]["settings"]["index.lifecycle.name"] == "vigil-debug"
    assert "vigil-logs-vigil.app_debug" in templates
    assert rendered["snapshot_repository"] == {"name": "vigil-snapshots", "type": "fs", "settings": {
        "location": "/var/tmp/vigil/snapshots/vigil-snapshots", "compress": True}}
    assert rendered["slm_policies"]["vigil-logs-nightly"]["schedule"] == "0 30 1 * * ?"
