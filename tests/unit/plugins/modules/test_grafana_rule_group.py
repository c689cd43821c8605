"""grafana_rule_group against the in-process Grafana fake."""

from __future__ import annotations

import base64
import copy

import pytest
from ansible_collections.vigil.monitoring.plugins.modules import grafana_rule_group
from standins.grafana import GrafanaFake, module_args, run_failing

GROUP_PATH = "/api/v1/provisioning/folder/vigil-alerts/rule-groups/availability"
MATH = [{"refId": "A", "datasourceUid": "__expr__", "model": {"type": "math", "expression": "1 == 1", "refId": "A"}}]


def rule(uid, title, **extra):
    opts = {"uid": uid, "title": title, "condition": "A", "data": copy.deepcopy(MATH)}
    opts.update(extra)
    return opts


@pytest.fixture
def grafana():
    fake = GrafanaFake().start()
    yield fake
    fake.stop()


def group_args(fake, auth="token", **overrides):
    args = module_args(fake, auth, folder_uid="vigil-alerts", name="availability", interval="60s",
                       rules=[rule("vigil-one", "One", pending_period="5m"), rule("vigil-two", "Two")])
    args.update(overrides)
    return args


def run(run_module, args, **kwargs):
    return run_module(grafana_rule_group, args, **kwargs)


def fail(run_module, args, **kwargs):
    return run_failing(run_module, grafana_rule_group, args, **kwargs)


def test_create_puts_the_whole_group(run_module, grafana):
    result = run(run_module, group_args(grafana))

    assert result["changed"] is True
    puts = grafana.calls("PUT")
    assert [r.path for r in puts] == [GROUP_PATH]
    assert puts[0].body["interval"] == 60
    assert [r["uid"] for r in puts[0].body["rules"]] == ["vigil-one", "vigil-two"]
    assert grafana.org(1).group_interval[("vigil-alerts", "availability")] == 60
    assert result["group"]["interval"] == "1m"


def test_second_run_is_a_noop(run_module, grafana):
    run(run_module, group_args(grafana))
    grafana.requests.clear()

    result = run(run_module, group_args(grafana, interval="1m"))

    assert result["changed"] is False
    assert grafana.writes() == []


def test_update_changes_interval_and_drops_unlisted_rules(run_module, grafana):
    run(run_module, group_args(grafana))
    grafana.requests.clear()

    result = run(run_module, group_args(grafana, interval="2m", rules=[rule("vigil-one", "One", pending_period="5m")]),
                 diff=True)

    assert result["changed"] is True
    assert result["diff"]["before"]["interval"] == "1m" and result["diff"]["after"]["interval"] == "2m"
    assert [r["uid"] for r in result["diff"]["before"]["rules"]] == ["vigil-one", "vigil-two"]
    assert [r["uid"] for r in result["diff"]["after"]["rules"]] == ["vigil-one"]
    assert [r.method for r in grafana.writes()] == ["PUT"]
    assert sorted(grafana.org(1).rules) == ["vigil-one"]


def test_delete_removes_the_group_then_is_a_noop(run_module, grafana):
    run(run_module, group_args(grafana))
    grafana.requests.clear()

    result = run(run_module, module_args(grafana, folder_uid="vigil-alerts", name="availability", state="absent"))

    assert result["changed"] is True and result["group"] == {}  # one result shape: {} when absent
    assert [(r.method, r.path) for r in grafana.writes()] == [("DELETE", GROUP_PATH)]
    assert grafana.org(1).rules == {}
    grafana.requests.clear()

    again = run(run_module, module_args(grafana, folder_uid="vigil-alerts", name="availability", state="absent"))
    assert again["changed"] is False and grafana.writes() == []


@pytest.mark.parametrize("step", ["create", "update", "delete"])
def test_check_mode_sends_no_write(run_module, grafana, step):
    if step != "create":
        run(run_module, group_args(grafana))
    before = copy.deepcopy(grafana.org(1).rules)
    grafana.requests.clear()
    args = {
        "create": group_args(grafana),
        "update": group_args(grafana, interval="5m"),
        "delete": module_args(grafana, folder_uid="vigil-alerts", name="availability", state="absent"),
    }[step]

    result = run(run_module, args, check_mode=True)

    assert result["changed"] is True
    assert grafana.writes() == []
    assert grafana.org(1).rules == before


def test_title_used_by_another_group_fails_with_a_clear_message(run_module, grafana):
    grafana.seed_rule({"uid": "elsewhere", "title": "One", "folderUID": "vigil-alerts", "ruleGroup": "other",
                       "condition": "A", "data": MATH, "noDataState": "NoData", "execErrState": "Error",
                       "for": "0s"})

    failure = fail(run_module, group_args(grafana))

    msg = failure["msg"]
    assert "HTTP 409" in msg and "no rule group 'vigil-alerts/availability' is visible" in msg
    assert "rule title of the group is already used" in msg


def test_existing_group_with_a_missing_rule_is_completed(run_module, grafana):
    grafana.seed_rule({"uid": "vigil-one", "title": "One", "folderUID": "vigil-alerts", "ruleGroup": "availability",
                       "condition": "A", "data": MATH, "noDataState": "NoData", "execErrState": "Error",
                       "for": "5m"})

    result = run(run_module, group_args(grafana))

    assert result["changed"] is True
    assert [r.method for r in grafana.writes()] == ["PUT"]
    assert sorted(grafana.org(1).rules) == ["vigil-one", "vigil-two"]


def test_token_and_basic_auth_headers(run_module, grafana):
    run(run_module, group_args(grafana))
    assert {r.headers["authorization"] for r in grafana.requests} == {"Bearer %s" % grafana.token}
    grafana.requests.clear()

    run(run_module, group_args(grafana, auth="basic", interval="2m"))
    expected = "Basic " + base64.b64encode(b"admin:admin-pw").decode()
    assert {r.headers["authorization"] for r in grafana.requests} == {expected}


def test_provenance_header_only_when_asked(run_module, grafana):
    run(run_module, group_args(grafana))
    assert all("x-disable-provenance" not in r.headers for r in grafana.requests)
    assert set(grafana.org(1).rule_prov.values()) == {"api"}
    grafana.requests.clear()

    result = run(run_module, group_args(grafana, disable_provenance=True))

    assert result["changed"] is True  # provenance api -> "" is a change, and Grafana allows it for groups
    assert grafana.calls("PUT")[0].headers["x-disable-provenance"] == "true"
    assert set(grafana.org(1).rule_prov.values()) == {""}


def test_file_provisioned_rule_blocks_the_group(run_module, grafana):
    grafana.seed_rule({"uid": "vigil-one", "title": "One", "folderUID": "vigil-alerts", "ruleGroup": "availability",
                       "condition": "A", "data": MATH, "noDataState": "NoData", "execErrState": "Error",
                       "for": "0s"}, provenance="file")

    failure = fail(run_module, group_args(grafana))

    assert "provenance 'file'" in failure["msg"] and grafana.writes() == []


def test_retries_on_503_are_bounded_then_succeed(run_module, grafana):
    grafana.fail_next(1, status=503)
    assert run(run_module, group_args(grafana, retries=1))["changed"] is True

    grafana.requests.clear()
    grafana.fail_next(5, status=503)
    fail(run_module, group_args(grafana, retries=1, interval="5m"))
    assert len(grafana.requests) == 2


@pytest.mark.parametrize("overrides, fragment", [
    ({"interval": None}, "state=present needs interval"),
    ({"interval": "15s"}, "interval must be at least 10s and a multiple of 10s"),
    ({"interval": "soon"}, "interval must be a duration"),
    ({"rules": []}, "at least one entry in rules"),
    ({"rules": [rule("dup", "One"), rule("dup", "Two")]}, "rules[1].uid 'dup' is listed twice"),
    ({"rules": [rule("a", "Same"), rule("b", "Same")]}, "rules[1].title 'Same' is listed twice"),
    ({"rules": [rule("a", "One", condition="Z")]}, "rules[0].condition 'Z' names no entry of rules[0].data"),
    ({"rules": [{"uid": "a", "title": "One", "condition": "A"}]}, "missing required arguments: data"),
])
def test_argument_errors_name_the_argument(run_module, grafana, overrides, fragment):
    failure = fail(run_module, group_args(grafana, **overrides))

    assert fragment in failure["msg"]
    assert grafana.requests == []
