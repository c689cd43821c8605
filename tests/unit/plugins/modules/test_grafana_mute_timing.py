"""grafana_mute_timing against the in-process Grafana fake."""

from __future__ import annotations

import base64

import pytest
from ansible.module_utils import basic
from ansible_collections.vigil.monitoring.plugins.modules import grafana_mute_timing
from standins.grafana import GrafanaFake, module_args, run_failing

ITEM_PATH = "/api/v1/provisioning/mute-timings/out-of-hours"
INTERVALS = [
    {"weekdays": ["Saturday", "SUNDAY"]},
    {"weekdays": ["monday:friday"], "times": [{"start_time": "0:00", "end_time": "8:00"}],
     "months": ["1:3", "12"], "days_of_month": ["1:1", "-1"], "location": "Europe/Paris"},
]


@pytest.fixture
def grafana():
    fake = GrafanaFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def warnings(monkeypatch):
    captured = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, warning, **kw: captured.append(warning))
    return captured


def mt_args(fake, auth="token", **overrides):
    args = module_args(fake, auth, name="out-of-hours", time_intervals=[dict(i) for i in INTERVALS])
    args.update(overrides)
    return args


def run(run_module, args, **kwargs):
    return run_module(grafana_mute_timing, args, **kwargs)


def fail(run_module, args, **kwargs):
    return run_failing(run_module, grafana_mute_timing, args, **kwargs)


def test_create_posts_the_mute_timing(run_module, grafana):
    result = run(run_module, mt_args(grafana))

    assert result["changed"] is True
    post = grafana.calls("POST")[0]
    assert post.path == "/api/v1/provisioning/mute-timings" and post.body["name"] == "out-of-hours"
    assert "out-of-hours" in grafana.org(1).mute_timings
    assert result["mute_timing"]["time_intervals"][1]["months"] == ["january:march", "december"]


def test_second_run_is_a_noop_although_grafana_rewrites_the_values(run_module, grafana):
    """Grafana answers with lower-case names, month names, HH:MM and single values: same thing."""
    run(run_module, mt_args(grafana))
    stored = grafana.org(1).mute_timings["out-of-hours"]["time_intervals"]
    assert stored[0]["weekdays"] == ["saturday", "sunday"] and stored[1]["times"][0]["start_time"] == "00:00"
    grafana.requests.clear()

    result = run(run_module, mt_args(grafana))

    assert result["changed"] is False and grafana.writes() == []


def test_update_sends_a_put_with_the_version_and_reports_a_diff(run_module, grafana):
    run(run_module, mt_args(grafana))
    version = grafana.org(1).mute_timings["out-of-hours"]["version"]
    grafana.requests.clear()

    result = run(run_module, mt_args(grafana, time_intervals=[{"weekdays": ["tuesday:thursday"]}]), diff=True)

    assert result["changed"] is True
    put = grafana.calls("PUT")[0]
    assert put.path == ITEM_PATH and put.body["version"] == version
    assert result["diff"]["before"]["time_intervals"][0]["weekdays"] == ["saturday", "sunday"]
    assert result["diff"]["after"]["time_intervals"] == [{"weekdays": ["tuesday:thursday"]}]
    assert grafana.org(1).mute_timings["out-of-hours"]["time_intervals"] == [{"weekdays": ["tuesday:thursday"]}]


def test_delete_then_noop(run_module, grafana):
    run(run_module, mt_args(grafana))
    grafana.requests.clear()

    result = run(run_module, module_args(grafana, name="out-of-hours", state="absent"))

    assert result["changed"] is True and result["mute_timing"] == {}  # one result shape: {} when absent
    assert [(r.method, r.path) for r in grafana.writes()] == [("DELETE", ITEM_PATH)]
    grafana.requests.clear()
    assert run(run_module, module_args(grafana, name="out-of-hours", state="absent"))["changed"] is False
    assert grafana.writes() == []


def test_delete_of_a_mute_timing_in_use_explains_why(run_module, grafana):
    run(run_module, mt_args(grafana))
    grafana.seed_tree({"receiver": "grafana-default-email",
                       "routes": [{"receiver": "grafana-default-email", "mute_time_intervals": ["out-of-hours"]}]})

    failure = fail(run_module, module_args(grafana, name="out-of-hours", state="absent"))

    assert "HTTP 409" in failure["msg"] and "notification policy" in failure["msg"]


@pytest.mark.parametrize("step", ["create", "update", "delete"])
def test_check_mode_sends_no_write(run_module, grafana, step):
    if step != "create":
        run(run_module, mt_args(grafana))
    grafana.requests.clear()
    args = {
        "create": mt_args(grafana),
        "update": mt_args(grafana, time_intervals=[]),
        "delete": module_args(grafana, name="out-of-hours", state="absent"),
    }[step]

    result = run(run_module, args, check_mode=True)

    assert result["changed"] is True and grafana.writes() == []
    assert ("out-of-hours" in grafana.org(1).mute_timings) == (step != "create")


@pytest.mark.parametrize("status", [400, 409])
def test_name_clash_on_create_adopts_the_mute_timing(run_module, grafana, warnings, status):
    """Grafana answers an existing name with 400 nameExists (some versions 409): both are adopted."""
    def other_writer(fake, _req):
        fake.seed_mute_timing({"name": "out-of-hours", "time_intervals": []})
        if status == 409:
            return 409, {"message": "conflict", "messageId": "alerting.notifications.conflict"}
        return None  # the fake itself answers 400 nameExists

    grafana.before_create = other_writer

    result = run(run_module, mt_args(grafana))

    assert result["changed"] is True
    assert [r.method for r in grafana.writes()] == ["POST", "PUT"]
    assert len(warnings) == 1 and "HTTP %d" % status in warnings[0]
    assert len(grafana.org(1).mute_timings["out-of-hours"]["time_intervals"]) == 2


def test_other_bad_request_on_create_is_not_taken_for_a_clash(run_module, grafana):
    grafana.before_create = lambda fake, _req: (400, {"message": "invalid location", "messageId": "x.invalid"})

    failure = fail(run_module, mt_args(grafana))

    assert "HTTP 400: invalid location" in failure["msg"]
    assert [r.method for r in grafana.requests] == ["GET", "POST"]


def test_auth_and_provenance_headers(run_module, grafana):
    run(run_module, mt_args(grafana, disable_provenance=True))
    assert grafana.calls("POST")[0].headers["x-disable-provenance"] == "true"
    assert {r.headers["authorization"] for r in grafana.requests} == {"Bearer %s" % grafana.token}
    grafana.requests.clear()

    run(run_module, mt_args(grafana, auth="basic", name="other"))
    assert "x-disable-provenance" not in grafana.calls("POST")[0].headers
    assert {r.headers["authorization"] for r in grafana.requests} == {
        "Basic " + base64.b64encode(b"admin:admin-pw").decode()}
    assert grafana.org(1).mt_prov == {"out-of-hours": "", "other": "api"}


def test_api_mute_timing_cannot_become_editable_in_place(run_module, grafana):
    run(run_module, mt_args(grafana))
    grafana.requests.clear()

    failure = fail(run_module, mt_args(grafana, disable_provenance=True))

    assert "provenance 'api'" in failure["msg"] and grafana.writes() == []


def test_file_provisioned_mute_timing_is_left_alone(run_module, grafana):
    grafana.seed_mute_timing({"name": "out-of-hours", "time_intervals": []}, provenance="file")

    failure = fail(run_module, module_args(grafana, name="out-of-hours", state="absent"))

    assert "provenance 'file'" in failure["msg"] and grafana.writes() == []


def test_retries_on_503(run_module, grafana):
    grafana.fail_next(1)
    assert run(run_module, mt_args(grafana, retries=1))["changed"] is True
    grafana.requests.clear()

    grafana.fail_next(4)
    fail(run_module, mt_args(grafana, retries=1, name="second"))
    assert len(grafana.requests) == 2 and grafana.writes() == []


@pytest.mark.parametrize("interval, fragment", [
    ({"weekdays": ["funday"]}, "time_intervals[0].weekdays 'funday' is not a valid value or range"),
    ({"weekdays": ["saturday:sunday"]}, "'saturday:sunday' ends before it starts"),
    ({"months": ["13"]}, "time_intervals[0].months '13'"),
    ({"days_of_month": ["0"]}, "time_intervals[0].days_of_month '0' is out of range"),
    ({"times": [{"start_time": "25:00", "end_time": "26:00"}]}, "time_intervals[0].times[0].start_time must be a time"),
    ({"times": [{"start_time": "18:00", "end_time": "08:00"}]}, "times[0].end_time must be after start_time"),
    ({"times": [{"start_time": "18:00"}]}, "missing required arguments: end_time"),
])
def test_argument_errors_name_the_argument(run_module, grafana, interval, fragment):
    failure = fail(run_module, mt_args(grafana, time_intervals=[interval]))

    assert fragment in failure["msg"]
    assert grafana.requests == []
