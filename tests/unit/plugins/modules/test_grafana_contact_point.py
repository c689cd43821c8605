"""grafana_contact_point against the in-process Grafana fake."""

from __future__ import annotations

import base64

import pytest
from ansible.module_utils import basic
from ansible_collections.vigil.monitoring.plugins.modules import grafana_contact_point
from standins.grafana import GrafanaFake, module_args, run_failing

LIST_PATH = "/api/v1/provisioning/contact-points"
ITEM_PATH = LIST_PATH + "/vigil-oncall-webhook"


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


def cp_args(fake, auth="token", **overrides):
    args = module_args(fake, auth, uid="vigil-oncall-webhook", name="oncall", type="webhook",
                       settings={"url": "https://oncall.example.org/hook", "httpMethod": "POST"},
                       secure_settings={"password": "s3cret"})
    args.update(overrides)
    return args


def run(run_module, args, **kwargs):
    return run_module(grafana_contact_point, args, **kwargs)


def fail(run_module, args, **kwargs):
    return run_failing(run_module, grafana_contact_point, args, **kwargs)


def stored(fake, uid="vigil-oncall-webhook"):
    return fake.org(1).contact_points[uid]


def test_create_sends_settings_and_secrets(run_module, grafana):
    result = run(run_module, cp_args(grafana), diff=True)

    assert result["changed"] is True
    post = grafana.calls("POST")[0]
    assert post.path == LIST_PATH
    assert post.body["settings"] == {"url": "https://oncall.example.org/hook", "httpMethod": "POST",
                                     "password": "s3cret"}
    assert stored(grafana)["settings"]["password"] == "s3cret"
    assert result["contact_point"]["secure_settings"] == ["password"]
    assert "s3cret" not in repr(result)


def test_second_run_is_a_noop_although_grafana_redacts_the_secret(run_module, grafana):
    run(run_module, cp_args(grafana))
    grafana.requests.clear()

    result = run(run_module, cp_args(grafana))

    assert result["changed"] is False
    assert grafana.writes() == []


def test_changed_secret_alone_is_invisible_without_force(run_module, grafana):
    run(run_module, cp_args(grafana))
    grafana.requests.clear()

    result = run(run_module, cp_args(grafana, secure_settings={"password": "rotated"}))

    assert result["changed"] is False and grafana.writes() == []
    assert stored(grafana)["settings"]["password"] == "s3cret"


def test_force_secret_update_sends_the_secret_every_run(run_module, grafana):
    run(run_module, cp_args(grafana))
    grafana.requests.clear()

    result = run(run_module, cp_args(grafana, secure_settings={"password": "rotated"}, force_secret_update=True))

    assert result["changed"] is True
    assert [(r.method, r.path) for r in grafana.writes()] == [("PUT", ITEM_PATH)]
    assert stored(grafana)["settings"]["password"] == "rotated"


def test_update_of_a_visible_setting_reports_a_diff(run_module, grafana):
    run(run_module, cp_args(grafana))
    grafana.requests.clear()

    result = run(run_module, cp_args(grafana, settings={"url": "https://new.example.org/hook", "httpMethod": "POST"}),
                 diff=True)

    assert result["changed"] is True
    assert result["diff"]["before"]["settings"]["url"] == "https://oncall.example.org/hook"
    assert result["diff"]["after"]["settings"]["url"] == "https://new.example.org/hook"
    assert "s3cret" not in repr(result["diff"])
    put = grafana.calls("PUT")[0]
    assert put.path == ITEM_PATH and put.body["settings"]["password"] == "s3cret"
    assert stored(grafana)["settings"]["url"] == "https://new.example.org/hook"


def test_removing_a_secret_is_a_change(run_module, grafana):
    run(run_module, cp_args(grafana))
    grafana.requests.clear()

    result = run(run_module, cp_args(grafana, secure_settings={}))

    assert result["changed"] is True
    assert "password" not in stored(grafana)["settings"]


def test_secret_given_in_plain_settings_is_compared_as_a_secret(run_module, grafana, warnings):
    args = cp_args(grafana, type="slack", settings={"recipient": "#oncall", "url": "https://hooks.slack.test/x"},
                   secure_settings={})
    run(run_module, args)
    grafana.requests.clear()

    result = run(run_module, args)

    assert result["changed"] is False and grafana.writes() == []
    assert any("move them to secure_settings" in w and "url" in w for w in warnings)


def test_delete_then_noop(run_module, grafana):
    run(run_module, cp_args(grafana))
    grafana.requests.clear()

    result = run(run_module, module_args(grafana, uid="vigil-oncall-webhook", state="absent"))

    assert result["changed"] is True
    assert [(r.method, r.path) for r in grafana.writes()] == [("DELETE", ITEM_PATH)]
    assert "vigil-oncall-webhook" not in grafana.org(1).contact_points
    grafana.requests.clear()
    assert run(run_module, module_args(grafana, uid="vigil-oncall-webhook", state="absent"))["changed"] is False
    assert grafana.writes() == []


def test_delete_of_a_contact_point_in_use_explains_why(run_module, grafana):
    run(run_module, cp_args(grafana))
    grafana.seed_tree({"receiver": "oncall"})

    failure = fail(run_module, module_args(grafana, uid="vigil-oncall-webhook", state="absent"))

    msg = failure["msg"]
    assert "HTTP 409" in msg and "notification policy" in msg


@pytest.mark.parametrize("step", ["create", "update", "delete"])
def test_check_mode_sends_no_write(run_module, grafana, step):
    if step != "create":
        run(run_module, cp_args(grafana))
    grafana.requests.clear()
    args = {
        "create": cp_args(grafana),
        "update": cp_args(grafana, disable_resolve_message=True),
        "delete": module_args(grafana, uid="vigil-oncall-webhook", state="absent"),
    }[step]

    result = run(run_module, args, check_mode=True)

    assert result["changed"] is True and grafana.writes() == []
    assert ("vigil-oncall-webhook" in grafana.org(1).contact_points) == (step != "create")


def test_uid_clash_on_create_adopts_the_contact_point(run_module, grafana, warnings):
    def other_writer(fake, _req):
        fake.seed_contact_point({"uid": "vigil-oncall-webhook", "name": "oncall", "type": "webhook",
                                 "settings": {"url": "https://other.example.org"}})

    grafana.before_create = other_writer

    result = run(run_module, cp_args(grafana))

    assert result["changed"] is True
    assert [r.method for r in grafana.writes()] == ["POST", "PUT"]
    assert stored(grafana)["settings"]["url"] == "https://oncall.example.org/hook"
    assert len(warnings) == 1 and "HTTP 409" in warnings[0]


def test_uid_clash_with_an_invisible_contact_point_fails(run_module, grafana):
    def conflict_only(fake, req):
        return 409, {"message": "contact point with UID already exists"}

    grafana.before_create = conflict_only

    failure = fail(run_module, cp_args(grafana))

    msg = failure["msg"]
    assert "HTTP 409" in msg and "no contact point 'vigil-oncall-webhook' is visible" in msg


def test_auth_headers(run_module, grafana):
    run(run_module, cp_args(grafana))
    assert {r.headers["authorization"] for r in grafana.requests} == {"Bearer %s" % grafana.token}
    grafana.requests.clear()

    run(run_module, cp_args(grafana, auth="basic"))
    assert {r.headers["authorization"] for r in grafana.requests} == {
        "Basic " + base64.b64encode(b"admin:admin-pw").decode()}


def test_provenance_header_only_when_asked(run_module, grafana):
    run(run_module, cp_args(grafana, disable_provenance=True))
    assert grafana.calls("POST")[0].headers["x-disable-provenance"] == "true"
    assert grafana.org(1).cp_prov["vigil-oncall-webhook"] == ""
    grafana.requests.clear()

    run(run_module, cp_args(grafana, uid="vigil-other", name="other"))
    assert "x-disable-provenance" not in grafana.calls("POST")[0].headers
    assert grafana.org(1).cp_prov["vigil-other"] == "api"


def test_api_contact_point_cannot_become_editable_in_place(run_module, grafana):
    run(run_module, cp_args(grafana))
    grafana.requests.clear()

    failure = fail(run_module, cp_args(grafana, disable_provenance=True))

    assert "provenance 'api'" in failure["msg"] and "state=absent" in failure["msg"]
    assert grafana.writes() == []


def test_editable_contact_point_is_locked_when_provenance_is_wanted(run_module, grafana):
    run(run_module, cp_args(grafana, disable_provenance=True))

    result = run(run_module, cp_args(grafana))

    assert result["changed"] is True and grafana.org(1).cp_prov["vigil-oncall-webhook"] == "api"


def test_retries_on_503(run_module, grafana):
    grafana.fail_next(3, status=503)
    assert run(run_module, cp_args(grafana, retries=3))["changed"] is True
    grafana.requests.clear()

    grafana.fail_next(9, status=502)
    failure = fail(run_module, cp_args(grafana, retries=2))
    assert "HTTP 502" in failure["msg"] and len(grafana.requests) == 3


def test_grafana_validation_error_is_reported(run_module, grafana):
    failure = fail(run_module, cp_args(grafana, settings={"httpMethod": "POST"}))

    assert "HTTP 400" in failure["msg"] and "settings.url is required" in failure["msg"]


@pytest.mark.parametrize("overrides, fragment", [
    ({"name": None}, "missing: name"),
    ({"type": None}, "missing: type"),
    ({"uid": "not valid!"}, "uid must be 1 to 40 characters"),
    ({"secure_settings": {"url": "x"}}, "url is in both settings and secure_settings"),
    ({"secure_settings": {"password": {"nested": 1}}}, "secure_settings.password must be a string"),
])
def test_argument_errors_name_the_argument(run_module, grafana, overrides, fragment):
    failure = fail(run_module, cp_args(grafana, **overrides))

    assert fragment in failure["msg"]
    assert grafana.requests == []


def test_secrets_and_credentials_are_no_log():
    spec = grafana_contact_point.argument_spec()
    assert [name for name, opt in spec.items() if opt.get("no_log")] == ["url_password", "api_token", "secure_settings"]
