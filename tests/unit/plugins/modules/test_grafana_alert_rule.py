"""grafana_alert_rule against the in-process Grafana fake."""

from __future__ import annotations

import base64
import copy

import pytest
from ansible.module_utils import basic
from ansible_collections.vigil.monitoring.plugins.modules import grafana_alert_rule
from standins.grafana import GrafanaFake, module_args, run_failing

QUERIES = [
    {"refId": "A", "datasourceUid": "prometheus", "relativeTimeRange": {"from": 600, "to": 0},
     "model": {"expr": "up", "refId": "A"}},
    {"refId": "B", "datasourceUid": "__expr__",
     "model": {"type": "reduce", "expression": "A", "reducer": "last", "refId": "B"}},
    {"refId": "C", "datasourceUid": "__expr__",
     "model": {"type": "threshold", "expression": "B", "refId": "C",
               "conditions": [{"evaluator": {"type": "lt", "params": [1]}}]}},
]


@pytest.fixture
def grafana():
    fake = GrafanaFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def warnings(monkeypatch):
    """Warnings the module emits (module.warn), in order."""
    captured = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, warning, **kw: captured.append(warning))
    return captured


def rule_args(fake, auth="token", **overrides):
    args = module_args(
        fake, auth,
        uid="vigil-target-down", title="Target down", folder_uid="vigil-alerts", rule_group="availability",
        condition="C", data=copy.deepcopy(QUERIES), pending_period="300s",
        labels={"severity": "critical"}, annotations={"summary": "{{ $labels.instance }} is down"},
    )
    args.update(overrides)
    return args


def run(run_module, args, **kwargs):
    return run_module(grafana_alert_rule, args, **kwargs)


def fail(run_module, args, **kwargs):
    return run_failing(run_module, grafana_alert_rule, args, **kwargs)


# ------------------------------------------------------------------ create / no-op / update / delete
def test_create_posts_the_rule_in_api_format(run_module, grafana):
    result = run(run_module, rule_args(grafana))

    assert result["changed"] is True
    assert result["uid"] == "vigil-target-down"
    posts = grafana.calls("POST")
    assert [r.path for r in posts] == ["/api/v1/provisioning/alert-rules"]
    body = posts[0].body
    assert body["uid"] == "vigil-target-down"
    assert body["folderUID"] == "vigil-alerts" and body["ruleGroup"] == "availability"
    assert body["condition"] == "C" and [q["refId"] for q in body["data"]] == ["A", "B", "C"]
    stored = grafana.org(1).rules["vigil-target-down"]
    assert stored["title"] == "Target down" and stored["for"] == "5m"
    assert grafana.org(1).rule_prov["vigil-target-down"] == "api"


def test_second_run_is_a_noop_despite_server_defaults(run_module, grafana):
    """Grafana adds intervalMs/maxDataPoints, writes 300s as 5m and adds id/updated: still no change."""
    run(run_module, rule_args(grafana))
    grafana.requests.clear()

    result = run(run_module, rule_args(grafana), diff=True)

    assert result["changed"] is False
    assert grafana.writes() == []
    assert result["diff"]["before"] == result["diff"]["after"]
    assert result["rule"]["for"] == "5m"


def test_update_puts_the_rule_and_reports_a_diff(run_module, grafana):
    run(run_module, rule_args(grafana))
    grafana.requests.clear()

    result = run(run_module, rule_args(grafana, title="Target unreachable", labels={"severity": "warning"}), diff=True)

    assert result["changed"] is True
    puts = grafana.calls("PUT")
    assert [r.path for r in puts] == ["/api/v1/provisioning/alert-rules/vigil-target-down"]
    assert result["diff"]["before"]["title"] == "Target down"
    assert result["diff"]["after"]["title"] == "Target unreachable"
    assert result["diff"]["after"]["labels"] == {"severity": "warning"}
    assert grafana.org(1).rules["vigil-target-down"]["title"] == "Target unreachable"


def test_update_keeps_fields_the_module_does_not_manage(run_module, grafana):
    run(run_module, rule_args(grafana))
    grafana.org(1).rules["vigil-target-down"]["notification_settings"] = {"receiver": "grafana-default-email"}

    run(run_module, rule_args(grafana, title="Renamed"))

    assert grafana.calls("PUT")[-1].body["notification_settings"] == {"receiver": "grafana-default-email"}
    assert grafana.org(1).rules["vigil-target-down"]["notification_settings"] == {"receiver": "grafana-default-email"}


def test_managed_notification_settings_are_compared(run_module, grafana):
    settings = {"receiver": "grafana-default-email", "group_wait": "30s"}
    run(run_module, rule_args(grafana, notification_settings=settings))
    grafana.requests.clear()

    assert run(run_module, rule_args(grafana, notification_settings=settings))["changed"] is False
    changed = run(run_module, rule_args(grafana, notification_settings=dict(settings, group_wait="1m")))
    assert changed["changed"] is True and len(grafana.calls("PUT")) == 1


def test_delete_removes_the_rule_then_is_a_noop(run_module, grafana):
    run(run_module, rule_args(grafana))
    grafana.requests.clear()

    result = run(run_module, module_args(grafana, uid="vigil-target-down", state="absent"), diff=True)

    assert result["changed"] is True and result["rule"] == {}  # one result shape: {} when absent
    assert result["diff"]["before"]["title"] == "Target down" and result["diff"]["after"] == {}
    assert [(r.method, r.path) for r in grafana.writes()] == [
        ("DELETE", "/api/v1/provisioning/alert-rules/vigil-target-down")]
    assert "vigil-target-down" not in grafana.org(1).rules
    grafana.requests.clear()

    again = run(run_module, module_args(grafana, uid="vigil-target-down", state="absent"))
    assert again["changed"] is False and grafana.writes() == []


# ------------------------------------------------------------------ check mode
def test_check_mode_create_sends_no_write(run_module, grafana):
    result = run(run_module, rule_args(grafana), check_mode=True, diff=True)

    assert result["changed"] is True
    assert result["diff"]["before"] == {} and result["diff"]["after"]["title"] == "Target down"
    assert grafana.writes() == [] and grafana.org(1).rules == {}


def test_check_mode_update_sends_no_write(run_module, grafana):
    run(run_module, rule_args(grafana))
    grafana.requests.clear()

    result = run(run_module, rule_args(grafana, is_paused=True), check_mode=True)

    assert result["changed"] is True and result["rule"]["isPaused"] is True
    assert grafana.writes() == []
    assert grafana.org(1).rules["vigil-target-down"]["isPaused"] is False


def test_check_mode_delete_sends_no_write(run_module, grafana):
    run(run_module, rule_args(grafana))
    grafana.requests.clear()

    result = run(run_module, module_args(grafana, uid="vigil-target-down", state="absent"), check_mode=True)

    assert result["changed"] is True
    assert grafana.writes() == [] and "vigil-target-down" in grafana.org(1).rules


# ------------------------------------------------------------------ 409 on create
def test_uid_clash_on_create_adopts_the_rule_created_meanwhile(run_module, grafana, warnings):
    def other_writer(fake, _req):
        body = rule_args(fake, title="Created by someone else")
        fake.seed_rule({"uid": body["uid"], "title": body["title"], "folderUID": "vigil-alerts",
                        "ruleGroup": "availability", "condition": "C", "data": QUERIES,
                        "noDataState": "NoData", "execErrState": "Error", "for": "5m"})

    grafana.before_create = other_writer

    result = run(run_module, rule_args(grafana))

    assert result["changed"] is True
    assert len(warnings) == 1 and "HTTP 409" in warnings[0] and "updates that alert rule" in warnings[0]
    assert [r.method for r in grafana.writes()] == ["POST", "PUT"]
    assert grafana.org(1).rules["vigil-target-down"]["title"] == "Target down"


def test_title_clash_on_create_fails_with_grafanas_message(run_module, grafana):
    grafana.seed_rule({"uid": "someone-elses", "title": "Target down", "folderUID": "vigil-alerts",
                       "ruleGroup": "availability", "condition": "C", "data": QUERIES,
                       "noDataState": "NoData", "execErrState": "Error", "for": "5m"})

    failure = fail(run_module, rule_args(grafana))

    msg = failure["msg"]
    assert "HTTP 409" in msg and "title under the same organisation and folder" in msg
    assert "'Target down'" in msg and "'vigil-alerts'" in msg
    assert [r.method for r in grafana.writes()] == ["POST"]


# ------------------------------------------------------------------ auth, org, provenance headers
def test_token_auth_sends_a_bearer_header(run_module, grafana):
    run(run_module, rule_args(grafana))

    assert {r.headers["authorization"] for r in grafana.requests} == {"Bearer %s" % grafana.token}


def test_basic_auth_sends_the_user_and_password(run_module, grafana):
    result = run(run_module, rule_args(grafana, auth="basic"))

    expected = "Basic " + base64.b64encode(b"admin:admin-pw").decode()
    assert result["changed"] is True
    assert {r.headers["authorization"] for r in grafana.requests} == {expected}


def test_wrong_token_fails_naming_the_credentials(run_module, grafana):
    failure = fail(run_module, rule_args(grafana, api_token="wrong"))

    assert "HTTP 401" in failure["msg"] and "api_token" in failure["msg"]
    assert grafana.writes() == []


def test_org_id_selects_the_organisation(run_module, grafana):
    run(run_module, rule_args(grafana, org_id=2))

    assert {r.headers.get("x-grafana-org-id") for r in grafana.requests} == {"2"}
    assert "vigil-target-down" in grafana.org(2).rules and grafana.org(1).rules == {}
    assert grafana.calls("POST")[0].body["orgID"] == 2


def test_no_provenance_header_unless_asked(run_module, grafana):
    result = run(run_module, rule_args(grafana))

    assert all("x-disable-provenance" not in r.headers for r in grafana.requests)
    assert result["rule"]["provenance"] == "api"


def test_disable_provenance_sends_the_header_on_writes_only(run_module, grafana):
    result = run(run_module, rule_args(grafana, disable_provenance=True))

    post = grafana.calls("POST")[0]
    assert post.headers["x-disable-provenance"] == "true"
    assert all("x-disable-provenance" not in r.headers for r in grafana.calls("GET"))
    assert result["rule"]["provenance"] == ""
    assert grafana.org(1).rule_prov["vigil-target-down"] == ""
    grafana.requests.clear()

    run(run_module, module_args(grafana, uid="vigil-target-down", state="absent", disable_provenance=True))
    assert all("x-disable-provenance" not in r.headers for r in grafana.calls("DELETE"))


def test_switching_provenance_updates_an_identical_rule(run_module, grafana):
    run(run_module, rule_args(grafana))
    grafana.requests.clear()

    result = run(run_module, rule_args(grafana, disable_provenance=True), diff=True)

    assert result["changed"] is True
    assert result["diff"]["before"]["provenance"] == "api" and result["diff"]["after"]["provenance"] == ""
    assert grafana.calls("PUT")[0].headers["x-disable-provenance"] == "true"
    assert grafana.org(1).rule_prov["vigil-target-down"] == ""


def test_api_provisioned_rule_can_be_deleted_by_a_play_with_disable_provenance(run_module, grafana):
    run(run_module, rule_args(grafana))

    result = run(run_module, module_args(grafana, uid="vigil-target-down", state="absent", disable_provenance=True))

    assert result["changed"] is True and grafana.org(1).rules == {}


@pytest.mark.parametrize("state", ["present", "absent"])
def test_file_provisioned_rule_is_left_alone(run_module, grafana, state):
    grafana.seed_rule({"uid": "vigil-target-down", "title": "From a file", "folderUID": "vigil-alerts",
                       "ruleGroup": "availability", "condition": "C", "data": QUERIES,
                       "noDataState": "NoData", "execErrState": "Error", "for": "5m"}, provenance="file")
    args = rule_args(grafana) if state == "present" else module_args(grafana, uid="vigil-target-down", state="absent")

    failure = fail(run_module, args)

    assert "provenance 'file'" in failure["msg"]
    assert grafana.writes() == []


# ------------------------------------------------------------------ retries
def test_retries_while_grafana_starts_then_succeeds(run_module, grafana):
    grafana.fail_next(2, status=503)

    result = run(run_module, rule_args(grafana, retries=3))

    assert result["changed"] is True
    assert [r.method for r in grafana.requests] == ["GET", "GET", "GET", "POST"]


def test_retries_are_bounded(run_module, grafana):
    grafana.fail_next(10, status=503)

    failure = fail(run_module, rule_args(grafana, retries=2))

    assert "HTTP 503" in failure["msg"]
    assert len(grafana.requests) == 3 and grafana.writes() == []


# ------------------------------------------------------------------ arguments
@pytest.mark.parametrize("overrides, fragment", [
    ({"title": None}, "missing: title"),
    ({"condition": "D"}, "condition 'D' names no entry of data; use one of the refIds A, B, C"),
    ({"uid": "bad uid/"}, "uid must be 1 to 40 characters"),
    ({"pending_period": "five minutes"}, "pending_period must be a duration"),
    ({"labels": {"team": {"name": "sre"}}}, "labels.team must be a string"),
    ({"data": [dict(QUERIES[0], relativeTimeRange=None), QUERIES[1], QUERIES[2]]},
     "data[0] queries data source 'prometheus' and needs relativeTimeRange with from > to"),
    ({"data": [QUERIES[0], dict(QUERIES[1], refId="A"), QUERIES[2]]}, "data[1].refId 'A' is used twice"),
    ({"data": [{"refId": "C", "datasourceUid": "__expr__"}]}, "data[0].model is required"),
    ({"url": "grafana.example.org:3000"}, "url must start with https://"),
    ({"org_id": 0}, "org_id must be a positive organisation ID"),
])
def test_argument_errors_name_the_argument(run_module, grafana, overrides, fragment):
    failure = fail(run_module, rule_args(grafana, **overrides))

    assert fragment in failure["msg"]
    assert grafana.requests == []


def test_token_and_basic_auth_are_mutually_exclusive(run_module, grafana):
    failure = fail(run_module, rule_args(grafana, url_username="admin", url_password="x"))

    assert "api_token|url_username" in failure["msg"]


def test_absent_needs_only_the_uid(run_module, grafana):
    result = run(run_module, module_args(grafana, uid="never-created", state="absent"))

    assert result["changed"] is False and grafana.writes() == []


# ------------------------------------------------------------------ API format vs export format
def test_module_works_in_api_format_not_export_format(run_module, grafana):
    result = run(run_module, rule_args(grafana))
    rule = result["rule"]
    assert rule["folderUID"] == "vigil-alerts" and rule["ruleGroup"] == "availability"

    status, export = grafana.handle(_get("/api/v1/provisioning/alert-rules/export", grafana.token))
    assert status == 200 and "groups" in export and "folderUID" not in export["groups"][0]["rules"][0]
    assert export["groups"][0]["rules"][0]["uid"] == rule["uid"]


def _get(path, token):
    from standins.base import Request

    return Request("GET", path, {}, {"authorization": "Bearer %s" % token}, None)
