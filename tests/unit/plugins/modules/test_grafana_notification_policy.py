"""grafana_notification_policy against the in-process Grafana fake."""

from __future__ import annotations

import base64
import copy

import pytest
from ansible.module_utils import basic
from ansible_collections.vigil.monitoring.plugins.modules import grafana_notification_policy
from standins.grafana import DEFAULT_TREE, GrafanaFake, module_args, run_failing

PATH = "/api/v1/provisioning/policies"
TREE = {
    "receiver": "oncall",
    "group_by": ["grafana_folder", "alertname"],
    "group_wait": "30s",
    "repeat_interval": "240m",
    "routes": [
        {"receiver": "oncall", "object_matchers": [["severity", "=", "critical"]], "continue": False},
        {"receiver": "grafana-default-email", "object_matchers": [["severity", "=~", "warning|info"]],
         "mute_time_intervals": ["out-of-hours"], "group_interval": "300s"},
    ],
}


@pytest.fixture
def grafana():
    fake = GrafanaFake().start()
    fake.seed_contact_point({"uid": "oncall-hook", "name": "oncall", "type": "webhook",
                             "settings": {"url": "https://oncall.example.org"}}, provenance="api")
    fake.seed_mute_timing({"name": "out-of-hours", "time_intervals": []})
    yield fake
    fake.stop()


@pytest.fixture
def warnings(monkeypatch):
    captured = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, warning, **kw: captured.append(warning))
    return captured


def tree_args(fake, auth="token", **overrides):
    args = module_args(fake, auth, tree=copy.deepcopy(TREE))
    args.update(overrides)
    return args


def run(run_module, args, **kwargs):
    return run_module(grafana_notification_policy, args, **kwargs)


def fail(run_module, args, **kwargs):
    return run_failing(run_module, grafana_notification_policy, args, **kwargs)


def test_put_replaces_the_whole_tree(run_module, grafana):
    result = run(run_module, tree_args(grafana), diff=True)

    assert result["changed"] is True
    assert [(r.method, r.path) for r in grafana.writes()] == [("PUT", PATH)]
    assert grafana.org(1).tree["routes"][0]["object_matchers"] == [["severity", "=", "critical"]]
    assert result["diff"]["before"] == dict(DEFAULT_TREE, provenance="")
    assert result["policy_tree"]["repeat_interval"] == "4h" and result["policy_tree"]["provenance"] == "api"


def test_second_run_is_a_noop(run_module, grafana):
    run(run_module, tree_args(grafana))
    grafana.requests.clear()

    result = run(run_module, tree_args(grafana))

    assert result["changed"] is False and grafana.writes() == []


def test_changing_one_nested_policy_rewrites_the_tree_with_a_diff(run_module, grafana):
    run(run_module, tree_args(grafana))
    grafana.requests.clear()
    tree = copy.deepcopy(TREE)
    tree["routes"][0]["repeat_interval"] = "1h"

    result = run(run_module, tree_args(grafana, tree=tree), diff=True)

    assert result["changed"] is True
    assert "repeat_interval" not in result["diff"]["before"]["routes"][0]
    assert result["diff"]["after"]["routes"][0]["repeat_interval"] == "1h"
    put = grafana.calls("PUT")[0]
    assert len(put.body["routes"]) == 2 and put.body["receiver"] == "oncall"


def test_absent_resets_to_the_default_then_is_a_noop(run_module, grafana):
    run(run_module, tree_args(grafana))
    grafana.requests.clear()

    result = run(run_module, module_args(grafana, state="absent"))

    assert result["changed"] is True
    assert [(r.method, r.path) for r in grafana.writes()] == [("DELETE", PATH)]
    assert grafana.org(1).tree == DEFAULT_TREE and grafana.org(1).tree_prov == ""
    grafana.requests.clear()

    assert run(run_module, module_args(grafana, state="absent"))["changed"] is False
    assert grafana.writes() == []


def test_absent_warns_when_grafana_resets_to_another_default(run_module, grafana, warnings, monkeypatch):
    import standins.grafana as fake_module

    run(run_module, tree_args(grafana))
    monkeypatch.setattr(fake_module, "DEFAULT_TREE", {"receiver": "grafana-default-email"})

    result = run(run_module, module_args(grafana, state="absent"))

    assert result["changed"] is True and result["policy_tree"] == {"receiver": "grafana-default-email",
                                                                   "provenance": ""}
    assert len(warnings) == 1 and "every run" in warnings[0]


@pytest.mark.parametrize("step", ["present", "absent"])
def test_check_mode_sends_no_write(run_module, grafana, step):
    if step == "absent":
        run(run_module, tree_args(grafana))
    before = copy.deepcopy(grafana.org(1).tree)
    grafana.requests.clear()
    args = tree_args(grafana) if step == "present" else module_args(grafana, state="absent")

    result = run(run_module, args, check_mode=True)

    assert result["changed"] is True and grafana.writes() == []
    assert grafana.org(1).tree == before


def test_unknown_receiver_is_refused_by_grafana_with_its_message(run_module, grafana):
    tree = dict(TREE, receiver="nobody")

    failure = fail(run_module, tree_args(grafana, tree=tree))

    msg = failure["msg"]
    assert "HTTP 400" in msg and "receiver 'nobody' does not exist" in msg


def test_auth_and_provenance_headers(run_module, grafana):
    run(run_module, tree_args(grafana, auth="basic", disable_provenance=True))

    put = grafana.calls("PUT")[0]
    assert put.headers["x-disable-provenance"] == "true"
    assert {r.headers["authorization"] for r in grafana.requests} == {
        "Basic " + base64.b64encode(b"admin:admin-pw").decode()}
    assert grafana.org(1).tree_prov == ""
    grafana.requests.clear()

    run(run_module, module_args(grafana, state="absent", disable_provenance=True))
    assert "x-disable-provenance" not in grafana.calls("DELETE")[0].headers
    grafana.requests.clear()

    run(run_module, tree_args(grafana))
    assert "x-disable-provenance" not in grafana.calls("PUT")[0].headers
    assert {r.headers["authorization"] for r in grafana.requests} == {"Bearer %s" % grafana.token}
    assert grafana.org(1).tree_prov == "api"


def test_api_tree_cannot_become_editable_in_place(run_module, grafana):
    run(run_module, tree_args(grafana))
    grafana.requests.clear()

    failure = fail(run_module, tree_args(grafana, disable_provenance=True))

    assert "provenance 'api'" in failure["msg"] and "state=absent" in failure["msg"]
    assert grafana.writes() == []


@pytest.mark.parametrize("state", ["present", "absent"])
def test_file_provisioned_tree_is_left_alone(run_module, grafana, state):
    grafana.seed_tree({"receiver": "oncall"}, provenance="file")
    args = tree_args(grafana) if state == "present" else module_args(grafana, state="absent")

    failure = fail(run_module, args)

    assert "provenance 'file'" in failure["msg"] and grafana.writes() == []


def test_org_id_header(run_module, grafana):
    grafana.org(3).contact_points.update(grafana.org(1).contact_points)
    grafana.org(3).cp_prov.update(grafana.org(1).cp_prov)
    grafana.seed_mute_timing({"name": "out-of-hours", "time_intervals": []}, org_id=3)

    run(run_module, tree_args(grafana, org_id=3))

    assert {r.headers["x-grafana-org-id"] for r in grafana.requests} == {"3"}
    assert grafana.org(3).tree["receiver"] == "oncall" and grafana.org(1).tree == DEFAULT_TREE


def test_retries_on_503(run_module, grafana):
    grafana.fail_next(2)
    assert run(run_module, tree_args(grafana, retries=2))["changed"] is True
    grafana.requests.clear()

    grafana.fail_next(5)
    failure = fail(run_module, tree_args(grafana, retries=1))
    assert "HTTP 503" in failure["msg"] and len(grafana.requests) == 2


@pytest.mark.parametrize("tree, fragment", [
    (None, "state=present needs tree"),
    ({"group_by": ["alertname"]}, "tree.receiver is required"),
    (dict(TREE, object_matchers=[["a", "=", "b"]]),
     "tree is the root policy, which matches every alert and cannot have object_matchers"),
    (dict(TREE, routes=[{"receiver": "oncall", "matchers": ["severity=critical"]}]),
     "tree.routes[0] has unknown key(s) matchers"),
    (dict(TREE, routes=[{"receiver": "oncall", "object_matchers": [["severity", "==", "x"]]}]),
     "tree.routes[0].object_matchers[0] must be [label, operator, value]"),
    (dict(TREE, routes=[{"receiver": "oncall", "routes": [{"group_wait": "soon"}]}]),
     "tree.routes[0].routes[0].group_wait must be a duration"),
    (dict(TREE, group_by="alertname"), "tree.group_by must be a list of strings"),
])
def test_argument_errors_name_the_argument(run_module, grafana, tree, fragment):
    failure = fail(run_module, tree_args(grafana, tree=tree))

    assert fragment in failure["msg"]
    assert grafana.requests == []
