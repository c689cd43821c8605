"""elasticsearch_api_key against the Elasticsearch fake with security on."""

from __future__ import annotations

import base64

import pytest
from ansible_collections.vigil.monitoring.plugins.modules import elasticsearch_api_key as module
from standins.elastic import FakeElasticsearch, module_failure

ELASTIC = "bootstrap-only-elastic-pw"
ISSUER = "vigil_agent_writer"
ISSUER_PASSWORD = "agent-writer-password-1"
NAME = "vigil-agent-web-1"
WRITER = {"indices": [{"names": ["logs-*-*", "metrics-*-*"], "privileges": ["create_doc", "auto_configure"]}]}


@pytest.fixture(scope="module")
def server():
    fake = FakeElasticsearch(elastic_password=ELASTIC).start()
    yield fake
    fake.stop()


@pytest.fixture
def es(server):
    fake = server.reset()
    realm = fake.security
    realm.roles[ISSUER] = {"cluster": ["manage_own_api_key"], "indices": WRITER["indices"], "applications": [],
                           "run_as": [], "metadata": {}}  # fmt: skip
    realm.users[ISSUER] = {"username": ISSUER, "roles": [ISSUER], "full_name": None, "email": None, "metadata": {},
                           "enabled": True, "password": ISSUER_PASSWORD}  # fmt: skip
    return fake


def args(es, **extra):
    values = {
        "url": es.url,
        "url_username": ISSUER,
        "url_password": ISSUER_PASSWORD,
        "name": NAME,
        "role_descriptors": {"vigil_agent_output": WRITER},
        "metadata": {"managed_by": "vigil"},
        "retry_delay": 0,
    }
    values.update(extra)
    return values


def active(es):
    return [k for k in es.security.api_keys.values() if k["name"] == NAME and not k["invalidated"]]


def test_mints_once_and_returns_the_secret_only_then(run_module, es):
    first = run_module(module, args(es))

    assert first["created"] is True and first["changed"] is True
    key_id, secret = base64.b64decode(first["encoded"]).decode().split(":")
    assert key_id == first["id"] and es.security.api_keys[key_id]["secret"] == secret
    assert es.security.api_keys[key_id]["username"] == ISSUER  # owned by the issuer, not by elastic
    es.requests.clear()

    second = run_module(module, args(es))

    assert second["changed"] is False and second["created"] is False
    assert "encoded" not in second
    assert second["id"] == first["id"]
    assert es.writes() == []
    assert len(active(es)) == 1


def test_a_holder_of_the_key_keeps_it(run_module, es):
    first = run_module(module, args(es, current_key=""))
    es.requests.clear()

    second = run_module(module, args(es, current_key=first["encoded"]))

    assert second["changed"] is False and "encoded" not in second
    assert es.writes() == []
    # The held key was checked by logging in with it.
    assert [r.auth for r in es.requests if r.path == "/_security/_authenticate"] == ["api_key:%s" % NAME]


def test_id_colon_key_form_is_accepted_as_the_held_key(run_module, es):
    first = run_module(module, args(es, current_key=""))
    plain = base64.b64decode(first["encoded"]).decode()

    second = run_module(module, args(es, current_key=plain))

    assert second["changed"] is False


def test_a_holder_that_lost_its_key_gets_a_new_one_and_the_lost_one_is_invalidated(run_module, es):
    lost = run_module(module, args(es, current_key=""))

    again = run_module(module, args(es, current_key=""))

    assert again["created"] is True and again["invalidated"] == [lost["id"]]
    assert [k["id"] for k in active(es)] == [again["id"]]
    assert es.security.api_keys[lost["id"]]["invalidated"] is True


def test_changed_descriptors_update_the_key_in_place(run_module, es):
    first = run_module(module, args(es, current_key=""))
    narrower = {"indices": [{"names": ["logs-*-*"], "privileges": ["create_doc", "auto_configure"]}]}
    es.requests.clear()

    result = run_module(module, args(es, current_key=first["encoded"],
                                     role_descriptors={"vigil_agent_output": narrower}), diff=True)  # fmt: skip

    assert result["updated"] is True and result["created"] is False and "encoded" not in result
    assert [(r.method, r.path) for r in es.writes()] == [("PUT", "/_security/api_key/%s" % first["id"])]
    stored = es.security.api_keys[first["id"]]["role_descriptors"]["vigil_agent_output"]
    assert stored["indices"][0]["names"] == ["logs-*-*"]
    assert result["diff"]["before"]["role_descriptors"]["vigil_agent_output"]["indices"][0]["names"] == [
        "logs-*-*",
        "metrics-*-*",
    ]
    assert "secret" not in repr(result["diff"])


def test_check_mode_mints_updates_and_invalidates_nothing(run_module, es):
    result = run_module(module, args(es), check_mode=True)
    assert result["created"] is True and result["changed"] is True and "encoded" not in result
    assert es.writes() == [] and es.security.api_keys == {}

    run_module(module, args(es, current_key=""))
    lost = run_module(module, args(es, current_key=""), check_mode=True)
    assert lost["invalidated"] and es.security.api_keys[lost["invalidated"][0]]["invalidated"] is False


def test_absent_invalidates_every_active_key_of_the_name(run_module, es):
    run_module(module, args(es, current_key=""))
    run_module(module, args(es, current_key=""))

    result = run_module(module, args(es, state="absent"))

    assert result["changed"] is True and len(result["invalidated"]) == 1
    assert active(es) == []
    assert run_module(module, args(es, state="absent"))["changed"] is False


def test_the_minted_key_writes_logs_and_nothing_else(run_module, es):
    key = run_module(module, args(es))["encoded"]
    header = {"Authorization": "ApiKey " + key}

    from ansible.module_utils.urls import open_url  # the agent's view, outside the modules

    ok = open_url(es.url + "/logs-vigil.linux_auth-default/_doc", data='{"message": "x"}', headers=dict(
        header, **{"Content-Type": "application/json"}), method="POST")  # fmt: skip
    assert ok.status == 201
    with pytest.raises(Exception) as refused:
        open_url(es.url + "/.kibana/_doc", data='{"x": 1}', method="POST",
                 headers=dict(header, **{"Content-Type": "application/json"}))  # fmt: skip
    assert getattr(refused.value, "code", None) == 403
    with pytest.raises(Exception) as cannot_read:
        open_url(es.url + "/logs-vigil.linux_auth-default/_search", headers=header)
    assert getattr(cannot_read.value, "code", None) == 403


def test_unknown_privilege_in_a_descriptor_is_refused_before_any_call(run_module, es):
    bad = {"indices": [{"names": ["logs-*-*"], "privileges": ["create_docs"]}]}

    failed = module_failure(run_module, module, args(es, role_descriptors={"vigil_agent_output": bad}))

    assert "role_descriptors.vigil_agent_output.indices[0].privileges: unknown privilege 'create_docs'" in failed["msg"]
    assert es.requests == []


def test_a_garbled_held_key_is_refused_without_showing_it(run_module, es):
    failed = module_failure(run_module, module, args(es, current_key="not base64 !!"))

    assert "current_key" in failed["msg"] and "not base64" not in failed["msg"]
    assert es.requests == []


def test_an_issuer_cannot_give_a_key_more_than_it_has(run_module, es):
    broad = {"indices": [{"names": ["*"], "privileges": ["all"]}]}
    key = run_module(module, args(es, role_descriptors={"vigil_agent_output": broad}))["encoded"]

    from ansible.module_utils.urls import open_url

    with pytest.raises(Exception) as refused:
        open_url(es.url + "/.kibana/_doc", data='{"x": 1}', method="POST",
                 headers={"Authorization": "ApiKey " + key, "Content-Type": "application/json"})  # fmt: skip
    assert getattr(refused.value, "code", None) == 403


def test_a_2xx_without_api_keys_is_an_error_and_mints_nothing(run_module, es):
    es.fail_next(1, status=200, body={"unexpected": True})

    failed = module_failure(run_module, module, args(es))

    assert "expected an object with api_keys" in failed["msg"]
    assert es.writes() == [] and es.security.api_keys == {}
