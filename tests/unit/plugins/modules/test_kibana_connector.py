"""kibana_connector against the Kibana fake."""

from __future__ import annotations

import json

import pytest
from ansible_collections.vigil.monitoring.plugins.modules import kibana_connector as module
from standins.elastic import FakeKibana, module_failure

CID = "2b7c3a10-9a7e-4a55-8d8e-0f5b7d1c2e33"
PATH = "/api/actions/connector/%s" % CID
CONFIG = {
    "url": "https://alertmanager.lab.example:9093/api/v2/alerts",
    "method": "post",
    "headers": {"Content-Type": "application/json"},
    "hasAuth": True,
    "authType": "webhook-authentication-basic",
}
SECRETS = {"user": "kibana", "password": "am-Pa55-w0rd"}


@pytest.fixture(scope="module")
def server():
    fake = FakeKibana().start()
    yield fake
    fake.stop()


@pytest.fixture
def kibana(server):
    return server.reset()


def args(kibana, **extra):
    values = {
        "url": kibana.url,
        "id": CID,
        "name": "Alertmanager",
        "config": CONFIG,
        "secrets": SECRETS,
        "retry_delay": 0,
    }
    values.update(extra)
    return values


def test_create_posts_config_and_secrets_under_the_given_id(run_module, kibana):
    result = run_module(module, args(kibana), diff=True)

    (post,) = kibana.writes()
    assert (post.method, post.path) == ("POST", PATH)
    assert post.body == {"name": "Alertmanager", "connector_type_id": ".webhook", "config": CONFIG, "secrets": SECRETS}
    assert kibana.connector_secrets[("default", CID)] == SECRETS
    assert result["changed"] is True
    assert result["secrets_sent"] is True
    assert result["diff"]["after"] == {"name": "Alertmanager", "connector_type_id": ".webhook", "config": CONFIG}


def test_secret_never_appears_in_result_or_diff(run_module, kibana):
    created = run_module(module, args(kibana), diff=True)
    updated = run_module(module, args(kibana, name="AM", force_secret_update=True), diff=True)

    for result in (created, updated):
        assert SECRETS["password"] not in json.dumps(result)
        assert "secrets" not in result["connector"]


def test_second_run_is_a_no_op_although_kibana_adds_config_defaults(run_module, kibana):
    run_module(module, args(kibana))
    kibana.requests.clear()

    result = run_module(
        module, args(kibana, config={"url": CONFIG["url"], "hasAuth": True, "authType": "webhook-authentication-basic"})
    )

    assert kibana.connectors[("default", CID)]["config"]["verificationMode"] is None  # a server default
    assert result["changed"] is False
    assert result["secrets_sent"] is False
    assert kibana.writes() == []


def test_config_change_puts_name_config_and_secrets_only(run_module, kibana):
    run_module(module, args(kibana))
    kibana.requests.clear()
    config = dict(CONFIG, url="https://am2.lab.example:9093/api/v2/alerts")

    result = run_module(module, args(kibana, config=config), diff=True)

    (put,) = kibana.writes()
    assert (put.method, put.path) == ("PUT", PATH)
    assert put.body == {"name": "Alertmanager", "config": config, "secrets": SECRETS}
    assert result["changed_fields"] == ["config.url"]
    assert result["diff"]["before"]["config"]["url"] == CONFIG["url"]


def test_secret_change_alone_is_not_detected(run_module, kibana):
    run_module(module, args(kibana))
    kibana.requests.clear()

    result = run_module(module, args(kibana, secrets={"user": "kibana", "password": "new"}))

    assert result["changed"] is False
    assert kibana.writes() == []
    assert kibana.connector_secrets[("default", CID)] == SECRETS


def test_force_secret_update_sends_the_new_secret(run_module, kibana):
    run_module(module, args(kibana))
    kibana.requests.clear()
    new = {"user": "kibana", "password": "rotated"}

    result = run_module(module, args(kibana, secrets=new, force_secret_update=True))

    assert result["changed"] is True
    assert result["changed_fields"] == ["secrets"]
    assert [r.method for r in kibana.writes()] == ["PUT"]
    assert kibana.connector_secrets[("default", CID)] == new


def test_missing_secrets_reported_by_kibana_are_rewritten(run_module, kibana):
    run_module(module, args(kibana))
    kibana.connectors[("default", CID)]["is_missing_secrets"] = True
    kibana.requests.clear()

    result = run_module(module, args(kibana))

    assert result["changed"] is True
    assert kibana.writes()[0].body["secrets"] == SECRETS


def test_check_mode_create_and_update_write_nothing(run_module, kibana):
    created = run_module(module, args(kibana), check_mode=True)
    assert created["changed"] is True
    assert kibana.writes() == []

    run_module(module, args(kibana))
    kibana.requests.clear()
    updated = run_module(module, args(kibana, name="Other"), check_mode=True)
    forced = run_module(module, args(kibana, force_secret_update=True), check_mode=True)
    assert updated["changed"] is True and forced["changed"] is True
    assert kibana.writes() == []
    assert kibana.connectors[("default", CID)]["name"] == "Alertmanager"


def test_delete_then_absent_is_a_no_op(run_module, kibana):
    run_module(module, args(kibana))
    kibana.requests.clear()

    checked = run_module(module, {"url": kibana.url, "id": CID, "state": "absent"}, check_mode=True)
    deleted = run_module(module, {"url": kibana.url, "id": CID, "state": "absent"}, diff=True)
    again = run_module(module, {"url": kibana.url, "id": CID, "state": "absent"})

    assert checked["changed"] is True
    assert deleted["changed"] is True and deleted["diff"]["after"] == {}
    assert again["changed"] is False
    assert [(r.method, r.path) for r in kibana.writes()] == [("DELETE", PATH)]


def test_connector_type_cannot_change(run_module, kibana):
    run_module(module, args(kibana))
    kibana.requests.clear()

    failure = module_failure(run_module, module, args(kibana, connector_type_id=".server-log", config={}))

    assert "connector_type_id cannot be changed" in failure["msg"]
    assert kibana.writes() == []


def test_non_uuid_id_refused_by_kibana_comes_with_a_hint(run_module, kibana):
    failure = module_failure(run_module, module, args(kibana, id="vigil-alertmanager"))

    assert failure["status"] == 400
    assert "unless the ID is a UUID" in failure["msg"]
    assert "uuidgen" in failure["hint"]


def test_server_error_on_read_is_not_taken_for_absence(run_module, kibana):
    kibana.fail_next(1, status=500)

    failure = module_failure(run_module, module, args(kibana, retries=0))

    assert failure["status"] == 500
    assert kibana.writes() == []


def test_name_is_required_when_present(run_module, kibana):
    failure = module_failure(run_module, module, {"url": kibana.url, "id": CID})

    assert "name" in failure["msg"]
