# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the grafana role provisions: endpoints, datasources, dashboard trees, community dashboards, plugins."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.filter import grafana_community_entries as community
from ansible_collections.vigil.monitoring.plugins.filter import grafana_dashboard_tree as tree
from ansible_collections.vigil.monitoring.plugins.filter import grafana_datasources as datasources
from ansible_collections.vigil.monitoring.plugins.filter import grafana_endpoints as endpoints
from ansible_collections.vigil.monitoring.plugins.filter import grafana_plugins_pinned as plugins
from ansible_collections.vigil.monitoring.plugins.filter.grafana_dashboards import grafana_datasource_types

FIXTURES = Path(__file__).resolve().parents[3] / "functional" / "dashboards" / "fixtures" / "community"
LONG = "prometheus-replica-in-the-second-datacenter.example.org"
HOSTVARS = {"mon1": {"ansible_host": "192.0.2.1"}, "Mon_2.Example": {"ansible_host": "192.0.2.2", "vigil_metrics_address": "2001:db8::2"},
            LONG: {}, "am1": {"ansible_host": "[2001:db8::3]"}}


def test_the_filters_are_exposed():
    assert set(endpoints.FilterModule().filters()) == {"grafana_prometheus_servers", "grafana_alertmanagers"}
    assert set(datasources.FilterModule().filters()) == {
        "grafana_prometheus_datasources", "grafana_elasticsearch_datasources", "grafana_alertmanager_datasources"}
    assert set(tree.FilterModule().filters()) == {"grafana_dashboard_dirs", "grafana_dashboard_copies"}
    assert set(community.FilterModule().filters()) == {"grafana_community_entries", "grafana_community_provisioned"}
    assert plugins.FilterModule().filters() == {"grafana_plugins_pinned": plugins.grafana_plugins_pinned}


# -- endpoints ----------------------------------------------------------------------


def test_one_prometheus_per_host_with_a_uid_grafana_accepts():
    servers = endpoints.grafana_prometheus_servers(["mon1", "Mon_2.Example", LONG], HOSTVARS, "https", 9443)
    assert servers[:2] == [
        {"host": "mon1", "name": "Prometheus mon1", "uid": "vigil-prom-mon1", "url": "https://192.0.2.1:9443"},
        {"host": "Mon_2.Example", "name": "Prometheus Mon_2.Example", "uid": "vigil-prom-mon-2-example",
         "url": "https://[2001:db8::2]:9443"},
    ]
    # A slug that would pass Grafana's 40 characters becomes a digest of the name.
    assert servers[2]["uid"] == "vigil-prom-" + hashlib.sha1(LONG.encode()).hexdigest()[:16]
    assert all(len(s["uid"]) <= 40 for s in servers)


def test_alertmanagers_per_host_or_one_url():
    assert endpoints.grafana_alertmanagers(["am1", "mon1"], HOSTVARS) == [
        {"name": "Alertmanager am1", "uid": "vigil-am-am1", "url": "http://[2001:db8::3]:9093"},
        {"name": "Alertmanager mon1", "uid": "vigil-am-mon1", "url": "http://192.0.2.1:9093"},
    ]
    assert endpoints.grafana_alertmanagers(["am1"], HOSTVARS, url="https://am.example.org") == [
        {"name": "Alertmanager", "uid": "vigil-alertmanager", "url": "https://am.example.org"}]


def test_endpoints_name_a_host_missing_from_the_inventory():
    with pytest.raises(AnsibleFilterError, match="grafana_prometheus_servers: host mon9 is not in the inventory"):
        endpoints.grafana_prometheus_servers(["mon9"], HOSTVARS)
    with pytest.raises(AnsibleFilterError, match="the hosts of grafana_alertmanager_group must be a list, got str"):
        endpoints.grafana_alertmanagers("am1", HOSTVARS)


# -- datasources --------------------------------------------------------------------

SERVERS = [{"host": "mon1", "name": "Prometheus mon1", "uid": "vigil-prom-mon1", "url": "http://mon1:9090"},
           {"host": "mon2", "name": "Prometheus mon2", "uid": "vigil-prom-mon2", "url": "http://mon2:9090"}]


def test_prometheus_datasources_one_default_and_no_auth():
    found = datasources.grafana_prometheus_datasources(SERVERS, default_uid="vigil-prom-mon1")
    assert found[0] == {"name": "Prometheus mon1", "uid": "vigil-prom-mon1", "type": "prometheus", "access": "proxy", "orgId": 1,
                        "url": "http://mon1:9090", "editable": False, "isDefault": True,
                        "jsonData": {"httpMethod": "POST", "prometheusType": "Prometheus", "timeInterval": "15s",
                                     "tlsSkipVerify": False},
                        "basicAuth": False}
    assert [d["isDefault"] for d in found] == [True, False]
    assert not any(d["isDefault"] for d in datasources.grafana_prometheus_datasources(SERVERS, default_uid="vigil-prom-mon1",
                                                                                      extra_default=True))


def test_prometheus_url_first_with_auth_ca_and_dollars_kept_literal():
    found = datasources.grafana_prometheus_datasources(SERVERS, url="https://prom/$x", default_uid="vigil-prometheus",
                                                       basic_auth_user="u$er", basic_auth_password="pa$$", ca_cert="PEM$")
    assert [d["uid"] for d in found] == ["vigil-prometheus", "vigil-prom-mon1", "vigil-prom-mon2"]
    first = found[0]
    assert first["url"] == "https://prom/$$x" and first["isDefault"] is True
    assert (first["basicAuth"], first["basicAuthUser"]) == (True, "u$$er")
    assert first["secureJsonData"] == {"basicAuthPassword": "pa$$$$", "tlsCACert": "PEM$$"}
    assert first["jsonData"]["tlsAuthWithCACert"] is True
    # The key order is the file's (written with sort_keys=false).
    assert list(first) == ["name", "uid", "type", "access", "orgId", "url", "editable", "isDefault", "jsonData", "basicAuth",
                           "basicAuthUser", "secureJsonData"]


def test_elasticsearch_datasource_only_with_a_url():
    assert datasources.grafana_elasticsearch_datasources("") == []
    (found,) = datasources.grafana_elasticsearch_datasources(
        "https://es:9200", user="vigil_grafana", password="pw$", ca_cert="PEM", index="logs-vigil.*")
    assert found["uid"] == "vigil-elasticsearch-logs" and found["basicAuthUser"] == "vigil_grafana"
    assert found["secureJsonData"] == {"basicAuthPassword": "pw$$", "tlsCACert": "PEM"}
    assert found["jsonData"]["index"] == "logs-vigil.*" and found["jsonData"]["tlsAuthWithCACert"] is True
    (anonymous,) = datasources.grafana_elasticsearch_datasources("https://es:9200")
    assert anonymous["basicAuth"] is False and "secureJsonData" not in anonymous and "basicAuthUser" not in anonymous


def test_alertmanager_datasources_do_not_forward_grafana_alerts():
    ams = [{"name": "Alertmanager am1", "uid": "vigil-am-am1", "url": "http://am1:9093"}]
    (found,) = datasources.grafana_alertmanager_datasources(ams, "grafana", "pw")
    assert found["jsonData"] == {"implementation": "prometheus", "handleGrafanaManagedAlerts": False}
    assert found["basicAuthUser"] == "grafana" and found["secureJsonData"] == {"basicAuthPassword": "pw"}
    assert "secureJsonData" not in datasources.grafana_alertmanager_datasources(ams)[0]


def test_datasource_entries_need_name_uid_and_url():
    with pytest.raises(AnsibleFilterError, match="the servers .* every entry needs name, uid and url"):
        datasources.grafana_prometheus_datasources([{"name": "x"}])


# -- dashboard trees ----------------------------------------------------------------

ENTRIES = [{"path": "Team A", "state": "directory", "src": "/src/Team A"},
           {"path": "Team A/a.json", "state": "file", "src": "/src/Team A/a.json"},
           {"path": "Team A/notes.txt", "state": "file", "src": "/src/Team A/notes.txt"},
           {"path": "top.json", "state": "file", "src": "/src/top.json"},
           {"path": "link.json", "state": "link", "src": "/elsewhere.json"}]


def test_dashboard_directories_and_copies():
    trees = [{"root": "/var/lib/grafana/dashboards/user", "entries": ENTRIES},
             {"root": "/var/lib/grafana/dashboards/vigil", "entries": []}]
    assert tree.grafana_dashboard_dirs(trees) == ["/var/lib/grafana/dashboards/user", "/var/lib/grafana/dashboards/user/Team A",
                                                  "/var/lib/grafana/dashboards/vigil"]
    assert tree.grafana_dashboard_copies(trees) == [
        {"src": "/src/Team A/a.json", "dest": "/var/lib/grafana/dashboards/user/Team A/a.json"},
        {"src": "/src/top.json", "dest": "/var/lib/grafana/dashboards/user/top.json"}]
    assert tree.grafana_dashboard_dirs([]) == []


def test_a_tree_needs_a_root():
    with pytest.raises(AnsibleFilterError, match="grafana_dashboard_copies: every tree needs root and entries"):
        tree.grafana_dashboard_copies([{"entries": ENTRIES}])


# -- community dashboards -----------------------------------------------------------


def test_community_entries_resolve_their_defaults():
    node, custom = community.grafana_community_entries([
        {"id": 1860, "revision": 37, "uid": "", "folder": None, "inputs": None},
        {"id": 7587, "revision": 3, "uid": "blackbox", "folder": "Probes", "title": "Blackbox", "checksum": "sha256:ab",
         "inputs": {"VAR_INTERVAL": "1m"}}])
    assert node == {"id": 1860, "revision": 37, "uid": "community-1860", "folder": "Community", "title": None, "inputs": {},
                    "checksum": "", "file": "1860-37.json", "name": "grafana.com dashboard 1860 revision 37"}
    assert (custom["uid"], custom["folder"], custom["title"], custom["checksum"]) == ("blackbox", "Probes", "Blackbox", "sha256:ab")


def test_community_entries_need_id_and_revision():
    with pytest.raises(AnsibleFilterError, match=r"grafana_community_dashboards\[0\] needs id and revision"):
        community.grafana_community_entries([{"id": 1860}])


def test_community_dashboards_are_mapped_to_vigils_datasources():
    types = grafana_datasource_types([{"type": "prometheus", "uid": "vigil-prom-mon1", "name": "Prometheus mon1", "isDefault": True}])
    entries = community.grafana_community_entries([{"id": 1860, "revision": 37, "folder": "Hosts"}])
    (found,) = community.grafana_community_provisioned(entries, [(FIXTURES / "1860-37.json").read_text()], types,
                                                       "/var/lib/grafana/dashboards/community")
    assert found["dest"] == "/var/lib/grafana/dashboards/community/Hosts/community-1860.json"
    assert found["dashboard"]["uid"] == "community-1860" and "__inputs" not in found["dashboard"]
    assert "vigil-prom-mon1" in json.dumps(found["dashboard"]) and "${DS_PROMETHEUS}" not in json.dumps(found["dashboard"])


def test_a_dashboard_that_cannot_be_mapped_is_named():
    entries = community.grafana_community_entries([{"id": 13639, "revision": 2}])
    with pytest.raises(AnsibleFilterError, match="grafana.com dashboard 13639 revision 2 cannot be provisioned"):
        community.grafana_community_provisioned(entries, [(FIXTURES / "13639-2.json").read_text()], {}, "/d")
    with pytest.raises(AnsibleFilterError, match="1 dashboards but 0 texts"):
        community.grafana_community_provisioned(entries, [], {}, "/d")


# -- plugins --------------------------------------------------------------------------


def test_plugins_installed_at_their_version_are_left_alone():
    wanted = [{"name": "grafana-clock-panel", "version": "2.1.5"}, {"name": "infinity", "version": 2},
              {"name": "polystat", "version": "2.1.13"}, {"name": "new-one", "version": "1.0.0"}]
    installed = {"grafana-clock-panel": "2.1.5", "infinity": "2", "polystat": "2.1.12"}
    assert plugins.grafana_plugins_pinned(wanted, installed) == ["grafana-clock-panel", "infinity"]
    assert plugins.grafana_plugins_pinned([], {}) == []


def test_a_plugin_needs_name_and_version():
    with pytest.raises(AnsibleFilterError, match=r"grafana_plugins\[0\] needs name and version"):
        plugins.grafana_plugins_pinned([{"name": "grafana-clock-panel"}], {})
