# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the grafana role provisions, computed from the inventory on the controller.

The role's variables are evaluated by ansible-playbook (no Grafana): the datasources
file (Prometheus per server or one URL, the Alertmanagers, Elasticsearch, the user's
extras and deletions), the Alertmanager contact point, the dashboard providers, the
directories and files copied, and the community dashboards' names. Each scenario is also
kept whole in tests/golden/role_vars/ (see role_vars_render.py), with the checkout and
temporary paths replaced and the file lists sorted (the file tree lookup lists them in
the file system's order).
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any, Dict

import pytest

from local_playbook import ROOT
from role_vars_render import golden_test, render_role_vars, task_vars

NAMES = [
    "_grafana_prometheus_servers",
    "_grafana_prometheus_default_uid",
    "_grafana_prometheus_datasources",
    "_grafana_elasticsearch_url",
    "_grafana_elasticsearch_datasources",
    "_grafana_alertmanagers",
    "_grafana_alertmanager_datasources",
    "_grafana_alerting_routed",
    "_grafana_datasources_document",
    "_grafana_alerting_datasource_uid",
    "_grafana_datasource_types",
    "_grafana_dashboard_providers",
    "_grafana_dashboard_trees",
    "_grafana_dashboard_dirs",
    "_grafana_dashboard_copies",
    "_grafana_community_entries",
    "_grafana_community_dirs",
    "_grafana_community_dests",
    "__grafana_dashboard_uids",
    "__grafana_community_provisioned",
    "__grafana_plugins_pinned",
    "__grafana_plugins_to_install",
]
# The task programs: the preflight's uid check, the community dashboards' datasource
# mapping, the plugins to install.
TASK_VARS = dict(
    task_vars("grafana", "preflight.yml", "Assert dashboard UIDs are unique across Vigil's and the user's dashboards"),
    **task_vars("grafana", "community_fetch.yml", "Map the community dashboards' datasources to Vigil's"),
    **task_vars("grafana", "plugins.yml", "Install and pin plugins"),
)
FIXTURES = ROOT / "tests" / "functional" / "dashboards" / "fixtures" / "community"

LONG = "prometheus-replica-in-the-second-datacenter.example.org"
INVENTORY = {
    "all": {
        "children": {
            "prometheus": {"hosts": {
                "mon1": {"ansible_host": "192.0.2.1"},
                "Mon_2.Example": {"ansible_host": "192.0.2.2", "vigil_metrics_address": "2001:db8::2"},
                LONG: {},
            }},
            "alertmanager": {"hosts": {
                "mon1": {},
                "am-" + LONG: {"ansible_host": "[2001:db8::3]"},
            }},
            "elasticsearch": {"hosts": {"es1": {"ansible_host": "2001:db8::10"}, "es2": {}}},
            "grafana": {"hosts": {"grafana1": {}}},
        }
    }
}

COMMUNITY = [
    {"id": 1860, "revision": 37},
    {"id": 7587, "revision": 3, "uid": "blackbox", "folder": "Probes", "title": "Blackbox", "checksum": "sha256:abc",
     "inputs": {"VAR_INTERVAL": "1m"}},
    {"id": 13639, "revision": 2, "uid": "", "folder": "", "inputs": None},
]
PLUGINS = [{"name": "grafana-clock-panel", "version": "2.1.5"}, {"name": "yesoreyeram-infinity-datasource", "version": 2},
           {"name": "grafana-polystat-panel", "version": "2.1.13"}]
PLUGINS_LS = ("installed plugins:\ngrafana-clock-panel @ 2.1.5\nyesoreyeram-infinity-datasource @ 2 \n"
              "grafana-polystat-panel @ 2.1.12\n\nPlease restart Grafana after installing or removing plugins.\n")


def _user_dashboards(base: Path) -> Path:
    tree = base / "user-dashboards"
    (tree / "Team A" / "Nested").mkdir(parents=True, exist_ok=True)
    (tree / "top.json").write_text(json.dumps({"uid": "user-top", "title": "Top"}), encoding="utf-8")
    (tree / "Team A" / "a.json").write_text(json.dumps({"uid": "user-a", "title": "A"}), encoding="utf-8")
    (tree / "Team A" / "notes.txt").write_text("not a dashboard\n", encoding="utf-8")
    (tree / "Team A" / "Nested" / "b.json").write_text(json.dumps({"uid": "user-b", "title": "B"}), encoding="utf-8")
    return tree


def _scenarios(base: Path) -> Dict[str, Dict[str, Any]]:
    return {
        "defaults": {},
        "custom": {
            "grafana_prometheus_url": "https://prom.example.org:9090/$prefix",
            "grafana_prometheus_basic_auth_user": "grafana$reader",
            "grafana_prometheus_basic_auth_password": "render-test-pa$$word",
            "grafana_prometheus_ca_cert": "-----BEGIN CERTIFICATE-----\nMIIB$x\n-----END CERTIFICATE-----\n",
            "grafana_prometheus_scheme": "https",
            "grafana_prometheus_port": 9443,
            "grafana_elasticsearch_url": "https://logs.example.org:9243",
            "grafana_elasticsearch_password": "render-test-es-password",
            "grafana_elasticsearch_ca_cert": "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n",
            "grafana_elasticsearch_index": "logs-vigil.*",
            "grafana_alertmanager_url": "https://am.example.org:9093",
            "grafana_alertmanager_basic_auth_user": "grafana",
            "grafana_alertmanager_basic_auth_password": "render-test-am-pa$s",
            "grafana_datasources_extra": [{"name": "Loki", "uid": "site-loki", "type": "loki", "url": "http://loki:3100",
                                           "isDefault": True}],
            "grafana_datasources_delete": ["Old Prometheus", "Old Loki"],
            "grafana_dashboards_dir": str(_user_dashboards(base)),
            "grafana_dashboards_allow_ui_updates": True,
            "grafana_community_dashboards": COMMUNITY,
            "grafana_community_datasources": {"loki": "site-loki"},
            "grafana_community_dashboards_source": "directory",
            "grafana_community_dashboards_dir": str(FIXTURES),
            "grafana_plugins": PLUGINS,
            "__grafana_plugins_ls": {"stdout": PLUGINS_LS},
        },
        # Downloaded on the host: the files come back from slurp.
        "host_download": {
            "grafana_community_dashboards": [{"id": 17361, "revision": 2}, {"id": 1860, "revision": 37, "folder": "Hosts"}],
            "grafana_community_dashboards_download_on": "host",
            "__grafana_community_slurped": {"results": [
                {"content": base64.b64encode((FIXTURES / name).read_bytes()).decode()}
                for name in ("17361-2.json", "1860-37.json")]},
            "grafana_plugins": PLUGINS,
        },
        "bare": {
            "grafana_elasticsearch_user": "",
            "grafana_dashboards_builtin": False,
            "grafana_alertmanager_basic_auth_user": "grafana",
            "grafana_alertmanager_basic_auth_password": "render-test-am-password",
            "grafana_alerting_datasource_uid": "site-prometheus",
        },
    }


INVENTORIES = {"defaults": INVENTORY, "custom": INVENTORY, "host_download": INVENTORY, "bare": {"all": {"hosts": {"grafana1": {}}}}}


def _portable(value: Any, base: Path) -> Any:
    """Checkout and temporary paths as placeholders, file lists sorted."""
    text = json.dumps(value).replace(str(base), "<TMP>").replace(str(ROOT), "<ROOT>")
    value = json.loads(text)
    for host in value.values():
        host["_grafana_dashboard_dirs"] = sorted(host["_grafana_dashboard_dirs"])
        host["_grafana_dashboard_copies"] = sorted(host["_grafana_dashboard_copies"], key=lambda c: c["dest"])
        host["__grafana_dashboard_uids"] = sorted(host["__grafana_dashboard_uids"])
        # Each provisioned dashboard by its uid, title, datasources and digest (the whole JSON is large).
        host["__grafana_community_provisioned"] = [
            {"dest": item["dest"], "uid": item["dashboard"].get("uid"), "title": item["dashboard"].get("title"),
             "datasources": sorted(set(_datasource_uids(item["dashboard"]))),
             "sha256": hashlib.sha256(json.dumps(item["dashboard"], sort_keys=True).encode()).hexdigest()}
            for item in host["__grafana_community_provisioned"]]
    return value


def _datasource_uids(node: Any):
    if isinstance(node, dict):
        source = node.get("datasource")
        if isinstance(source, dict) and "uid" in source:
            yield str(source["uid"])
        for child in node.values():
            yield from _datasource_uids(child)
    elif isinstance(node, list):
        for child in node:
            yield from _datasource_uids(child)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Dict[str, Dict[str, Any]]]:
    base = tmp_path_factory.mktemp("grafana_trees")
    out = {}
    for name, extra in _scenarios(base).items():
        got = render_role_vars(tmp_path_factory.mktemp("grafana_" + name), "grafana", NAMES, extra, INVENTORIES[name],
                               hosts="grafana1", extra_task_vars=TASK_VARS)
        out[name] = _portable(got, base)
    return out


test_scenario_matches_golden_file = golden_test("grafana", ["defaults", "custom", "host_download", "bare"])


def test_one_prometheus_datasource_per_server(rendered):
    host = rendered["defaults"]["grafana1"]
    long_uid = "vigil-prom-" + hashlib.sha1(LONG.encode()).hexdigest()[:16]
    # The inventory lists the hosts sorted (role_vars_render writes it with sorted keys).
    assert host["_grafana_prometheus_servers"] == [
        {"host": "Mon_2.Example", "name": "Prometheus Mon_2.Example", "uid": "vigil-prom-mon-2-example",
         "url": "http://[2001:db8::2]:9090"},
        {"host": "mon1", "name": "Prometheus mon1", "uid": "vigil-prom-mon1", "url": "http://192.0.2.1:9090"},
        {"host": LONG, "name": "Prometheus " + LONG, "uid": long_uid, "url": "http://%s:9090" % LONG},
    ]
    second = host["_grafana_prometheus_datasources"][1]
    assert second == {
        "name": "Prometheus mon1", "uid": "vigil-prom-mon1", "type": "prometheus", "access": "proxy", "orgId": 1,
        "url": "http://192.0.2.1:9090", "editable": False, "isDefault": False, "basicAuth": False,
        "jsonData": {"httpMethod": "POST", "prometheusType": "Prometheus", "timeInterval": "15s", "tlsSkipVerify": False},
    }
    assert [d["isDefault"] for d in host["_grafana_prometheus_datasources"]] == [True, False, False]
    assert host["_grafana_alerting_datasource_uid"] == "vigil-prom-mon-2-example"


def test_one_prometheus_url_with_auth_and_dollars_escaped(rendered):
    host = rendered["custom"]["grafana1"]
    url_ds = host["_grafana_prometheus_datasources"][0]
    assert url_ds["uid"] == "vigil-prometheus" and url_ds["url"] == "https://prom.example.org:9090/$$prefix"
    assert url_ds["basicAuth"] is True and url_ds["basicAuthUser"] == "grafana$$reader"
    assert url_ds["secureJsonData"] == {
        "basicAuthPassword": "render-test-pa$$$$word",
        "tlsCACert": "-----BEGIN CERTIFICATE-----\nMIIB$$x\n-----END CERTIFICATE-----\n",
    }
    assert url_ds["jsonData"]["tlsAuthWithCACert"] is True
    # A user datasource marked default wins: none of Vigil's is.
    assert not any(d["isDefault"] for d in host["_grafana_datasources_document"]["datasources"][:-1])
    assert host["_grafana_prometheus_servers"][0]["url"] == "https://[2001:db8::2]:9443"
    assert host["_grafana_datasources_document"]["deleteDatasources"] == [
        {"name": "Old Prometheus", "orgId": 1}, {"name": "Old Loki", "orgId": 1}]


def test_elasticsearch_datasource(rendered):
    (default,) = rendered["defaults"]["grafana1"]["_grafana_elasticsearch_datasources"]
    assert default["url"] == "https://[2001:db8::10]:9200"
    assert default["basicAuth"] is True and default["basicAuthUser"] == "vigil_grafana"
    assert default["jsonData"] == {"index": "logs-*", "timeField": "@timestamp", "logMessageField": "message",
                                   "logLevelField": "log.level", "maxConcurrentShardRequests": 5,
                                   "includeFrozen": False, "tlsSkipVerify": False}
    (custom,) = rendered["custom"]["grafana1"]["_grafana_elasticsearch_datasources"]
    assert custom["url"] == "https://logs.example.org:9243"
    assert custom["secureJsonData"]["basicAuthPassword"] == "render-test-es-password"
    assert custom["jsonData"]["tlsAuthWithCACert"] is True
    assert rendered["bare"]["grafana1"]["_grafana_elasticsearch_datasources"] == []


def test_alertmanagers_and_their_contact_point(rendered):
    host = rendered["defaults"]["grafana1"]
    long_uid = "vigil-am-" + hashlib.sha1(("am-" + LONG).encode()).hexdigest()[:16]
    assert host["_grafana_alertmanagers"] == [
        {"name": "Alertmanager am-" + LONG, "uid": long_uid, "url": "http://[2001:db8::3]:9093"},
        {"name": "Alertmanager mon1", "uid": "vigil-am-mon1", "url": "http://192.0.2.1:9093"},
    ]
    assert host["_grafana_alertmanager_datasources"][1] == {
        "name": "Alertmanager mon1", "uid": "vigil-am-mon1", "type": "alertmanager", "access": "proxy", "orgId": 1,
        "url": "http://192.0.2.1:9093", "editable": False, "isDefault": False, "basicAuth": False,
        "jsonData": {"implementation": "prometheus", "handleGrafanaManagedAlerts": False},
    }
    custom = rendered["custom"]["grafana1"]
    (am,) = custom["_grafana_alertmanager_datasources"]
    assert am["basicAuthUser"] == "grafana" and am["secureJsonData"] == {"basicAuthPassword": "render-test-am-pa$$s"}
    assert custom["_grafana_alerting_routed"] is True
    assert rendered["bare"]["grafana1"]["_grafana_alertmanagers"] == []
    assert rendered["bare"]["grafana1"]["_grafana_alerting_routed"] is False


def test_dashboards_directories_and_files(rendered):
    host = rendered["custom"]["grafana1"]
    assert [p["name"] for p in host["_grafana_dashboard_providers"]] == ["vigil", "vigil-user", "vigil-community"]
    assert all(p["allowUiUpdates"] is True for p in host["_grafana_dashboard_providers"])
    user = [c for c in host["_grafana_dashboard_copies"] if c["src"].startswith("<TMP>")]
    assert user == [
        {"src": "<TMP>/user-dashboards/Team A/Nested/b.json", "dest": "/var/lib/grafana/dashboards/user/Team A/Nested/b.json"},
        {"src": "<TMP>/user-dashboards/Team A/a.json", "dest": "/var/lib/grafana/dashboards/user/Team A/a.json"},
        {"src": "<TMP>/user-dashboards/top.json", "dest": "/var/lib/grafana/dashboards/user/top.json"},
    ]
    assert "/var/lib/grafana/dashboards/user/Team A/Nested" in host["_grafana_dashboard_dirs"]
    assert "/var/lib/grafana/dashboards/vigil/Vigil Hosts" in host["_grafana_dashboard_dirs"]
    bare = rendered["bare"]["grafana1"]
    assert bare["_grafana_dashboard_providers"] == [] and bare["_grafana_dashboard_copies"] == []


def test_community_dashboards_are_named(rendered):
    host = rendered["custom"]["grafana1"]
    node, blackbox, loki = host["_grafana_community_entries"]
    assert node == {"id": 1860, "revision": 37, "uid": "community-1860", "folder": "Community", "title": None,
                    "inputs": {}, "checksum": "", "file": "1860-37.json",
                    "name": "grafana.com dashboard 1860 revision 37"}
    assert blackbox["uid"] == "blackbox" and blackbox["folder"] == "Probes" and blackbox["checksum"] == "sha256:abc"
    assert (loki["uid"], loki["folder"], loki["inputs"]) == ("community-13639", "Community", {})
    assert host["_grafana_community_dests"] == [
        "/var/lib/grafana/dashboards/community/Community/community-1860.json",
        "/var/lib/grafana/dashboards/community/Probes/blackbox.json",
        "/var/lib/grafana/dashboards/community/Community/community-13639.json",
    ]


def test_dashboard_uids_of_every_source_are_checked_together(rendered):
    uids = rendered["custom"]["grafana1"]["__grafana_dashboard_uids"]
    assert {"user-top", "user-a", "user-b", "community-1860", "blackbox", "community-13639"} <= set(uids)
    assert len(uids) == len(rendered["custom"]["grafana1"]["_grafana_dashboard_copies"]) + 3


def test_community_dashboards_are_provisioned_with_vigils_datasources(rendered):
    node, blackbox, loki = rendered["custom"]["grafana1"]["__grafana_community_provisioned"]
    assert node["dest"] == "/var/lib/grafana/dashboards/community/Community/community-1860.json"
    assert node["uid"] == "community-1860" and "vigil-prometheus" in node["datasources"]
    assert (blackbox["uid"], blackbox["title"]) == ("blackbox", "Blackbox")
    assert loki["datasources"] == ["site-loki"]
    es, hosts = rendered["host_download"]["grafana1"]["__grafana_community_provisioned"]
    assert es["datasources"] == ["vigil-elasticsearch-logs"]
    assert hosts["dest"] == "/var/lib/grafana/dashboards/community/Hosts/community-1860.json"
    assert "vigil-prom-mon-2-example" in hosts["datasources"]


def test_plugins_already_at_their_version_are_not_installed_again(rendered):
    host = rendered["custom"]["grafana1"]
    assert host["__grafana_plugins_pinned"] == ["grafana-clock-panel", "yesoreyeram-infinity-datasource"]
    assert host["__grafana_plugins_to_install"] == [PLUGINS[2]]
    # Nothing listed (a new host): every plugin is installed.
    assert rendered["host_download"]["grafana1"]["__grafana_plugins_to_install"] == PLUGINS
