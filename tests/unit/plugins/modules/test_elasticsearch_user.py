"""elasticsearch_user against the Elasticsearch fake with security on."""

from __future__ import annotations

import base64

import pytest
from ansible_collections.vigil.monitoring.plugins.modules import elasticsearch_user as module
from standins.elastic import FakeElasticsearch, module_failure

ELASTIC = "bootstrap-only-elastic-pw"
NAME = "vigil_grafana"
PASSWORD = "grafana-reader-password-1"


@pytest.fixture(scope="module")
def server():
    fake = FakeElasticsearch(elastic_password=ELASTIC).start()
    yield fake
    fake.stop()


@pytest.fixture
def es(server):
    return server.reset()


def args(es, **extra):
    values = {
        "url": es.url,
        "url_username": "elastic",
        "url_password": ELASTIC,
        "name": NAME,
        "user_password": PASSWORD,
        "roles": ["vigil_grafana"],
        "full_name": "Vigil Grafana datasource",
        "retry_delay": 0,
    }
    values.update(extra)
    return values


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def test_create_sets_password_and_roles(run_module, es):
    result = run_module(module, args(es))

    assert result["changed"] is True and result["password_changed"] is True
    assert es.security.users[NAME]["password"] == PASSWORD
    assert es.security.users[NAME]["roles"] == ["vigil_grafana"]
    assert es.security.authenticate(basic(NAME, PASSWORD)).username == NAME
    assert PASSWORD not in repr(result)


def test_second_run_checks_the_password_by_logging_in_and_writes_nothing(run_module, es):
    run_module(module, args(es))
    es.requests.clear()

    result = run_module(module, args(es))

    assert result["changed"] is False and result["password_changed"] is False
    assert es.writes() == []
    # The check is a login as the user itself, not a read of the password.
    logins = [r for r in es.requests if r.path == "/_security/_authenticate"]
    assert [r.auth for r in logins] == [NAME]


def test_a_new_vault_password_is_set_with_the_password_api(run_module, es):
    run_module(module, args(es))
    es.requests.clear()

    result = run_module(module, args(es, user_password="rotated-password-2"), diff=True)

    assert result["changed"] is True and result["changed_fields"] == ["password"]
    assert [(r.method, r.path) for r in es.writes()] == [("POST", "/_security/user/%s/_password" % NAME)]
    assert es.security.users[NAME]["password"] == "rotated-password-2"
    assert result["diff"]["after"]["password"] == "changed"
    assert "rotated-password-2" not in repr(result)


def test_on_create_leaves_an_existing_password_alone(run_module, es):
    run_module(module, args(es))
    es.requests.clear()

    result = run_module(module, args(es, user_password="someone-else-rotates-it", update_password="on_create"))

    assert result["changed"] is False
    assert es.security.users[NAME]["password"] == PASSWORD
    assert not [r for r in es.requests if r.path == "/_security/_authenticate"]


def test_role_change_does_not_resend_the_password(run_module, es):
    run_module(module, args(es))
    es.requests.clear()

    result = run_module(module, args(es, roles=["vigil_grafana", "viewer"]))

    assert result["changed_fields"] == ["roles"]
    puts = [r for r in es.writes() if r.method == "PUT"]
    assert len(puts) == 1 and "password" not in puts[0].body
    assert sorted(es.security.users[NAME]["roles"]) == ["viewer", "vigil_grafana"]


def test_check_mode_on_a_new_user_and_on_a_wrong_password_writes_nothing(run_module, es):
    created = run_module(module, args(es), check_mode=True)
    assert created["changed"] is True and es.writes() == []

    run_module(module, args(es))
    es.requests.clear()
    drift = run_module(module, args(es, user_password="rotated-password-2"), check_mode=True)

    assert drift["changed"] is True and drift["password_changed"] is True
    assert es.writes() == []
    assert es.security.users[NAME]["password"] == PASSWORD


def test_creating_without_password_fails_naming_the_option(run_module, es):
    failed = module_failure(run_module, module, args(es, user_password=None))

    assert "user_password is required" in failed["msg"]
    assert es.writes() == []


def test_short_password_is_refused_before_any_call(run_module, es):
    failed = module_failure(run_module, module, args(es, user_password="abc12"))

    assert "shorter than 6" in failed["msg"] and "abc12" not in failed["msg"]
    assert es.requests == []


def test_reserved_user_is_refused(run_module, es):
    failed = module_failure(run_module, module, args(es, name="elastic"))

    assert "reserved" in failed["msg"]
    assert es.writes() == []


def test_absent_deletes(run_module, es):
    run_module(module, args(es))

    result = run_module(module, args(es, state="absent"))

    assert result["changed"] is True
    assert NAME not in es.security.users


def test_a_2xx_that_is_not_a_json_object_is_an_error_not_an_absent_user(run_module, es):
    es.fail_next(1, status=200, body="<html>login</html>")

    failed = module_failure(run_module, module, args(es))

    assert "expected a JSON object" in failed["msg"]
    assert es.writes() == []
