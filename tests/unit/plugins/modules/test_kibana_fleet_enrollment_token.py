"""kibana_fleet_enrollment_token against the Kibana fake."""

from __future__ import annotations

import json

import pytest
from ansible_collections.vigil.monitoring.plugins.modules import kibana_fleet_enrollment_token as module
from standins.elastic import FakeKibana, module_failure

POLICY_ID = "vigil-firewall"


class _Req:
    query = {}


@pytest.fixture(scope="module")
def server():
    fake = FakeKibana().start()
    yield fake
    fake.stop()


@pytest.fixture
def kibana(server):
    fake = server.reset()
    fake.create_agent_policy(
        _Req(), "default", {"id": POLICY_ID, "name": "Vigil firewall collectors", "namespace": "lab"}
    )
    return fake


def args(kibana, **extra):
    values = {"url": kibana.url, "policy_id": POLICY_ID, "retry_delay": 0}
    values.update(extra)
    return values


def keys_of(kibana, active=True):
    return [k for k in kibana.enrollment_keys.values() if k["policy_id"] == POLICY_ID and k["active"] is active]


def test_the_default_key_fleet_created_is_reused(run_module, kibana):
    (default,) = keys_of(kibana)

    result = run_module(module, args(kibana))

    assert result["changed"] is False
    assert result["enrollment_token"] == default["api_key"]
    assert result["enrollment_key"]["id"] == default["id"]
    assert kibana.writes() == []
    assert kibana.calls("GET")[0].query["kuery"] == ['policy_id:"%s"' % POLICY_ID]


def test_named_key_is_created_once_and_then_reused(run_module, kibana):
    first = run_module(module, args(kibana, name="vigil"), diff=True)
    kibana.requests.clear()
    second = run_module(module, args(kibana, name="vigil"))

    created = [k for k in keys_of(kibana) if k["name"].startswith("vigil (")]
    assert len(created) == 1
    assert first["changed"] is True
    assert first["enrollment_token"] == created[0]["api_key"]
    assert second["changed"] is False
    assert second["enrollment_token"] == first["enrollment_token"]
    assert kibana.writes() == []


def test_create_request_names_the_policy(run_module, kibana):
    run_module(module, args(kibana, name="vigil"))

    (post,) = kibana.writes()
    assert (post.method, post.path, post.body) == (
        "POST",
        "/api/fleet/enrollment_api_keys",
        {"policy_id": POLICY_ID, "name": "vigil"},
    )


def test_token_is_returned_only_under_enrollment_token(run_module, kibana):
    result = run_module(module, args(kibana, name="vigil"), diff=True)

    token = result.pop("enrollment_token")
    assert token
    assert token not in json.dumps(result)
    assert "api_key" not in result["enrollment_key"]


def test_check_mode_creates_nothing_and_returns_no_token(run_module, kibana):
    result = run_module(module, args(kibana, name="vigil"), check_mode=True)

    assert result["changed"] is True
    assert result["enrollment_token"] == ""
    assert kibana.writes() == []


def test_revoked_key_is_not_reused(run_module, kibana):
    (default,) = keys_of(kibana)
    default["active"] = False

    result = run_module(module, args(kibana))

    assert result["changed"] is True
    assert result["enrollment_token"] != default["api_key"]
    assert len(keys_of(kibana)) == 1


def test_policy_found_by_name(run_module, kibana):
    result = run_module(module, {"url": kibana.url, "policy_name": "Vigil firewall collectors"})

    assert result["policy_id"] == POLICY_ID
    assert result["changed"] is False


def test_unknown_policy_name_fails(run_module, kibana):
    failure = module_failure(run_module, module, {"url": kibana.url, "policy_name": "nope"})

    assert "No Fleet agent policy is named 'nope'" in failure["msg"]
    assert kibana.writes() == []


def test_absent_revokes_matching_keys_then_is_a_no_op(run_module, kibana):
    run_module(module, args(kibana, name="vigil"))
    named = [k for k in keys_of(kibana) if k["name"].startswith("vigil (")][0]
    kibana.requests.clear()

    checked = run_module(module, args(kibana, name="vigil", state="absent"), check_mode=True)
    revoked = run_module(module, args(kibana, name="vigil", state="absent"))
    again = run_module(module, args(kibana, name="vigil", state="absent"))

    assert checked["changed"] is True
    assert revoked["revoked"] == [named["id"]]
    assert again["changed"] is False
    assert [(r.method, r.path) for r in kibana.writes()] == [
        ("DELETE", "/api/fleet/enrollment_api_keys/%s" % named["id"])
    ]
    assert len(keys_of(kibana)) == 1  # the Default key is untouched


def test_server_error_fails_without_creating_a_key(run_module, kibana):
    kibana.fail_next(1, status=500)

    failure = module_failure(run_module, module, args(kibana, retries=0))

    assert failure["status"] == 500
    assert kibana.writes() == []


def test_policy_id_and_policy_name_are_exclusive(run_module, kibana):
    failure = module_failure(run_module, module, args(kibana, policy_name="x"))

    assert "mutually exclusive" in failure["msg"]
