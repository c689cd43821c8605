"""elasticsearch_snapshot_repository against the Elasticsearch fake."""

from __future__ import annotations

import pytest
from ansible_collections.vigil.monitoring.plugins.modules import elasticsearch_snapshot_repository as module
from standins.elastic import FakeElasticsearch, module_failure

NAME = "vigil-snapshots"
SETTINGS = {"location": "/srv/snapshots/vigil", "compress": True, "max_snapshot_bytes_per_sec": "200mb"}


@pytest.fixture(scope="module")
def server():
    fake = FakeElasticsearch().start()
    yield fake
    fake.stop()


@pytest.fixture
def es(server):
    fake = server.reset()
    fake.path_repo = ["/srv/snapshots"]
    return fake


def args(es, **extra):
    values = {"url": es.url, "name": NAME, "type": "fs", "settings": SETTINGS, "retry_delay": 0}
    values.update(extra)
    return values


def test_create_registers_the_repository(run_module, es):
    result = run_module(module, args(es), diff=True)

    assert [(r.method, r.path, r.body) for r in es.writes()] == [
        ("PUT", "/_snapshot/%s" % NAME, {"type": "fs", "settings": SETTINGS})]
    assert result["changed"] is True
    assert result["repository"] == {"type": "fs", "settings": {
        "location": "/srv/snapshots/vigil", "compress": "true", "max_snapshot_bytes_per_sec": "200mb"}}
    assert result["diff"]["before"] == {}


def test_second_run_is_a_no_op_although_settings_are_stored_as_strings(run_module, es):
    run_module(module, args(es))
    es.requests.clear()

    result = run_module(module, args(es))

    assert es.repositories[NAME]["settings"]["compress"] == "true"
    assert result["changed"] is False
    assert es.writes() == []


def test_a_changed_setting_is_rewritten_with_its_diff(run_module, es):
    run_module(module, args(es))
    es.requests.clear()

    result = run_module(module, args(es, settings=dict(SETTINGS, compress=False)), diff=True)

    assert result["changed"] is True
    assert result["changed_fields"] == ["settings.compress"]
    assert (result["diff"]["before"]["settings"]["compress"], result["diff"]["after"]["settings"]["compress"]) == (
        "true", "false")
    assert es.repositories[NAME]["settings"]["compress"] == "false"


def test_check_mode_writes_nothing(run_module, es):
    created = run_module(module, args(es), check_mode=True)
    assert created["changed"] is True and es.writes() == [] and es.repositories == {}

    run_module(module, args(es))
    es.requests.clear()
    changed = run_module(module, args(es, settings=dict(SETTINGS, location="/srv/snapshots/other")), check_mode=True)
    assert changed["changed"] is True and es.writes() == []
    assert es.repositories[NAME]["settings"]["location"] == "/srv/snapshots/vigil"


def test_absent_unregisters_then_is_a_no_op(run_module, es):
    run_module(module, args(es))
    es.requests.clear()

    deleted = run_module(module, {"url": es.url, "name": NAME, "state": "absent"})
    again = run_module(module, {"url": es.url, "name": NAME, "state": "absent"})

    assert deleted["changed"] is True and again["changed"] is False
    assert [(r.method, r.path) for r in es.writes()] == [("DELETE", "/_snapshot/%s" % NAME)]


def test_a_location_outside_path_repo_fails_with_the_fix(run_module, es):
    failure = module_failure(run_module, module, args(es, settings={"location": "/var/backups/es"}, retries=0))

    assert failure["status"] == 500
    assert "doesn't match any of the locations specified by path.repo" in failure["msg"]
    assert "Add the location's parent directory to path.repo" in failure["msg"]


def test_verify_false_is_sent_as_the_query_parameter(run_module, es):
    run_module(module, args(es, verify=False))

    assert es.writes()[0].query.get("verify") == ["false"]


@pytest.mark.parametrize("rtype,settings,words", [
    ("s3", {"bucket": "b", "access_key": "VIGIL-MARKER-ak", "secret_key": "VIGIL-MARKER-sk"},
     "settings access_key, secret_key look like credentials"),
    ("s3", {"client": "default"}, "settings.bucket is required for a repository of type s3"),
    ("fs", {"compress": True}, "settings.location is required for a repository of type fs"),
])
def test_credentials_and_missing_settings_are_refused_before_any_request(run_module, es, rtype, settings, words):
    failure = module_failure(run_module, module, args(es, type=rtype, settings=settings))

    assert words in failure["msg"]
    assert "VIGIL-MARKER" not in failure["msg"]
    assert es.requests == []


def test_s3_repository_is_registered_with_bucket_and_client(run_module, es):
    settings = {"bucket": "vigil-snapshots", "client": "default", "base_path": "lab"}
    result = run_module(module, args(es, type="s3", settings=settings))
    again = run_module(module, args(es, type="s3", settings=settings))

    assert result["changed"] is True and again["changed"] is False
    assert es.repositories[NAME] == {"type": "s3", "uuid": "_na_", "settings": settings}
