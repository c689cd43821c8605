"""Community dashboards (grafana.com exports) turned into provisioning files by the grafana_dashboards filters.

The fixtures (fixtures/community, written for these tests in the shape grafana.com serves)
go through vigil.monitoring.grafana_community_dashboard with the datasource map the role
builds from Vigil's datasources. What a Grafana user would otherwise find out the hard way
is checked on the result, as tests/functional/dashboards/test_dashboards.py does for Vigil's own dashboards: a file
that does not load (left-over ``__inputs``), a panel on a datasource that does not exist on
their Grafana (a ``${DS_...}`` placeholder or another Grafana's uid), a uid that changes at
every revision, PromQL the mapping broke.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.vigil.monitoring.plugins.filter.grafana_dashboards import (
    grafana_community_dashboard,
    grafana_datasource_types,
)
from test_dashboards import panels, walk  # the helpers that check Vigil's own dashboards

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "community"

# Vigil's datasources as the grafana role provisions them for a Prometheus pair and the logs cluster.
DATASOURCES = [
    {"name": "Prometheus vigil-mon1", "uid": "vigil-prom-vigil-mon1", "type": "prometheus", "isDefault": True},
    {"name": "Prometheus vigil-mon2", "uid": "vigil-prom-vigil-mon2", "type": "prometheus", "isDefault": False},
    {"name": "Elasticsearch logs", "uid": "vigil-elasticsearch-logs", "type": "elasticsearch", "isDefault": False},
]
TYPES = grafana_datasource_types(DATASOURCES)
VIGIL_UIDS = {d["uid"] for d in DATASOURCES}
BUILTIN = {"-- Grafana --", "grafana", "-- Mixed --", "-- Dashboard --"}


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def provision(name: str, **kwargs: Any) -> Dict[str, Any]:
    dashboard_id, revision = name[:-5].split("-")
    kwargs.setdefault("uid", "community-%s" % dashboard_id)
    label = "grafana.com dashboard %s revision %s" % (dashboard_id, revision)
    return grafana_community_dashboard(fixture(name), TYPES, name=label, **kwargs)


def datasource_refs(dashboard: Dict[str, Any]) -> Iterator[Tuple[str, Any]]:
    for where, key, value in walk(dashboard):
        if key == "datasource":
            yield where, value


MAPPABLE = ["1860-37.json", "7587-3.json", "17361-2.json"]


# --------------------------------------------------------------------------- the datasource map
def test_each_type_maps_to_its_default_datasource_or_the_first():
    assert TYPES == {"prometheus": {"uid": "vigil-prom-vigil-mon1", "name": "Prometheus vigil-mon1",
                                    "uids": ["vigil-prom-vigil-mon1", "vigil-prom-vigil-mon2"]},
                     "elasticsearch": {"uid": "vigil-elasticsearch-logs", "name": "Elasticsearch logs",
                                       "uids": ["vigil-elasticsearch-logs"]}}
    no_default = [dict(d, isDefault=False) for d in reversed(DATASOURCES)]
    assert grafana_datasource_types(no_default)["prometheus"]["uid"] == "vigil-prom-vigil-mon2"


def test_a_type_can_be_pointed_at_another_datasource():
    types = grafana_datasource_types(DATASOURCES, {"prometheus": "vigil-prom-vigil-mon2", "loki": "site-loki"})
    assert types["prometheus"]["uid"] == "vigil-prom-vigil-mon2"
    assert types["prometheus"]["name"] == "Prometheus vigil-mon2"
    assert types["loki"] == {"uid": "site-loki", "name": "site-loki", "uids": ["site-loki"]}
    with pytest.raises(AnsibleFilterError, match="type loki must be 1-40"):
        grafana_datasource_types(DATASOURCES, {"loki": "no spaces allowed"})


# --------------------------------------------------------------------------- what Grafana loads
@pytest.mark.parametrize("name", MAPPABLE)
def test_the_result_is_a_provisionable_dashboard(name):
    source = json.loads(fixture(name))
    dashboard = provision(name)

    assert dashboard["uid"] == "community-%s" % name.split("-")[0]
    assert dashboard["title"] == source["title"]
    for key in ("__inputs", "__requires", "__elements", "id"):
        assert key not in dashboard, key
    assert [p["id"] for p in panels(dashboard)] == [p["id"] for p in panels(source)]
    # Written as JSON and read back, as the role does.
    assert json.loads(json.dumps(dashboard)) == dashboard


@pytest.mark.parametrize("name", MAPPABLE)
def test_every_datasource_is_vigils_a_variable_or_built_in(name):
    dashboard = provision(name)

    assert not re.search(r"\$\{(DS|VAR)_", json.dumps(dashboard)), "an input placeholder is left"
    for where, ref in datasource_refs(dashboard):
        uid = ref.get("uid") if isinstance(ref, dict) else ref
        if ref is None:
            continue
        assert uid in VIGIL_UIDS or uid in BUILTIN or str(uid).startswith("$"), "%s: %r" % (where, ref)
        if isinstance(ref, dict) and uid in VIGIL_UIDS:
            assert uid in TYPES[ref["type"]]["uids"], "%s: a %s panel on %s" % (where, ref["type"], uid)


def test_the_input_and_the_variable_both_reach_the_default_prometheus():
    dashboard = provision("1860-37.json")
    cores = next(p for p in panels(dashboard) if p["title"] == "CPU Cores")
    assert cores["datasource"] == {"type": "prometheus", "uid": "vigil-prom-vigil-mon1"}
    assert cores["targets"][0]["datasource"] == {"type": "prometheus", "uid": "vigil-prom-vigil-mon1"}
    # Panels on the dashboard's own datasource variable keep it: the user can switch server.
    busy = next(p for p in panels(dashboard) if p["title"] == "CPU Busy")
    assert busy["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    variable = next(v for v in dashboard["templating"]["list"] if v["name"] == "datasource")
    assert variable["type"] == "datasource" and variable["query"] == "prometheus"


def test_old_string_references_become_objects_and_constants_take_their_value():
    dashboard = provision("7587-3.json")
    duration = next(p for p in panels(dashboard) if p["title"] == "Probe duration")
    assert duration["datasource"] == {"type": "prometheus", "uid": "vigil-prom-vigil-mon1"}
    assert duration["targets"][0]["interval"] == "30s"
    assert duration["targets"][0]["legendFormat"] == "{{ instance }}"  # Grafana's own templating is left alone
    target = next(v for v in dashboard["templating"]["list"] if v["name"] == "target")
    assert target["datasource"] == {"type": "prometheus", "uid": "vigil-prom-vigil-mon1"}
    assert dashboard["annotations"]["list"][0]["datasource"] == "-- Grafana --"


def test_a_panel_pinned_to_another_grafanas_datasource_moves_to_vigils():
    dashboard = provision("7587-3.json")
    status = next(p for p in panels(dashboard) if p["title"] == "HTTP status")
    assert status["datasource"] == {"type": "prometheus", "uid": "vigil-prom-vigil-mon1"}
    assert status["targets"][0]["datasource"]["uid"] == "vigil-prom-vigil-mon1"
    assert "P1809F7CD0C75ACF3" not in json.dumps(dashboard)


def test_inputs_can_be_mapped_by_hand():
    dashboard = provision("7587-3.json", inputs={"DS_PROMETHEUS": "vigil-prom-vigil-mon2", "VAR_INTERVAL": "1m"},
                          title="Blackbox (second server)")
    duration = next(p for p in panels(dashboard) if p["title"] == "Probe duration")
    assert duration["datasource"] == {"type": "prometheus", "uid": "vigil-prom-vigil-mon2"}
    assert duration["targets"][0]["interval"] == "1m"
    assert dashboard["title"] == "Blackbox (second server)"


def test_the_elasticsearch_input_maps_to_the_logs_datasource():
    dashboard = provision("17361-2.json")
    assert dashboard["panels"][0]["datasource"] == {"type": "elasticsearch", "uid": "vigil-elasticsearch-logs"}


def test_the_uid_is_stable_across_revisions_and_runs():
    first = provision("1860-37.json")
    again = grafana_community_dashboard(json.dumps(first), TYPES, name="again", uid="community-1860")
    assert again == first
    assert json.loads(fixture("1860-37.json"))["uid"] != first["uid"]  # the exporter's uid is replaced


def test_the_promql_still_parses(tmp_path):
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool not installed: apt-get install prometheus")
    rules = []
    for index, panel in enumerate(p for p in panels(provision("1860-37.json")) if p.get("targets")):
        for target in panel["targets"]:
            expr = target["expr"].replace("$__rate_interval", "5m")
            rules.append({"record": "community:%d:%s" % (index, target["refId"]),
                          "expr": re.sub(r"\$\{[^}]*\}|\$\w+", ".*", expr)})
    rule_file = tmp_path / "community.rules.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "community", "rules": rules}]}))
    result = subprocess.run([promtool, "check", "rules", str(rule_file)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------- refusals
def test_an_input_of_a_type_vigil_does_not_provision_is_refused_naming_dashboard_and_input():
    with pytest.raises(AnsibleFilterError) as error:
        provision("13639-2.json")
    message = str(error.value)
    assert "grafana.com dashboard 13639 revision 2 cannot be provisioned" in message
    assert "input DS_LOKI" in message and "a loki datasource" in message
    assert "elasticsearch, prometheus" in message


def test_library_panels_are_refused():
    with pytest.raises(AnsibleFilterError, match="library panels \\(Shared CPU panel\\)"):
        provision("99999-1.json")


def test_a_hand_mapping_to_an_unknown_datasource_is_refused():
    with pytest.raises(AnsibleFilterError, match="input DS_PROMETHEUS is mapped to 'nope'"):
        provision("1860-37.json", inputs={"DS_PROMETHEUS": "nope"})
    with pytest.raises(AnsibleFilterError, match="inputs names DS_TYPO"):
        provision("1860-37.json", inputs={"DS_TYPO": "prometheus"})


def test_a_constant_without_value_is_refused():
    source = json.loads(fixture("7587-3.json"))
    source["__inputs"][1].pop("value")
    with pytest.raises(AnsibleFilterError, match="input VAR_INTERVAL \\(a constant\\) has no value"):
        grafana_community_dashboard(source, TYPES, name="7587", uid="community-7587")


def test_a_pinned_datasource_of_an_unknown_type_is_refused_with_its_path():
    source = json.loads(fixture("17361-2.json"))
    source["panels"][0]["targets"][0]["datasource"] = {"type": "influxdb", "uid": "abc123"}
    with pytest.raises(AnsibleFilterError, match=r"panels\[0\]\.targets\[0\]\.datasource pins a influxdb datasource"):
        grafana_community_dashboard(source, TYPES, name="17361", uid="community-17361")


@pytest.mark.parametrize("document,message", [
    ("<html>rate limited</html>", "is not JSON"),
    ("[]", "is not a dashboard"),
    ('{"title": "x"}', "has no title or no panels"),
])
def test_what_is_not_a_dashboard_is_refused(document, message):
    with pytest.raises(AnsibleFilterError, match=message):
        grafana_community_dashboard(document, TYPES, name="grafana.com dashboard 1 revision 1", uid="community-1")


def test_a_bad_uid_is_refused():
    with pytest.raises(AnsibleFilterError, match="uid 'no spaces' must be"):
        provision("1860-37.json", uid="no spaces")
