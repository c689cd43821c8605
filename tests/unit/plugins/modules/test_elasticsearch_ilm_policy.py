"""elasticsearch_ilm_policy against the Elasticsearch fake."""

from __future__ import annotations

import copy

import pytest
from ansible_collections.vigil.monitoring.plugins.modules import elasticsearch_ilm_policy as module
from standins.elastic import FakeElasticsearch, module_failure

NAME = "vigil-security-365d"
POLICY = {
    "_meta": {"managed_by": "vigil"},
    "phases": {
        "hot": {"actions": {"rollover": {"max_age": "1d", "max_primary_shard_size": "50gb"}}},
        "delete": {"min_age": "365d", "actions": {"delete": {}}},
    },
}


@pytest.fixture(scope="module")
def server():
    fake = FakeElasticsearch().start()
    yield fake
    fake.stop()


@pytest.fixture
def es(server):
    return server.reset()


def args(es, **extra):
    values = {"url": es.url, "name": NAME, "policy": POLICY, "retry_delay": 0}
    values.update(extra)
    return values


def with_delete_age(age):
    policy = copy.deepcopy(POLICY)
    policy["phases"]["delete"]["min_age"] = age
    return policy


def test_create_sends_the_policy_under_policy(run_module, es):
    result = run_module(module, args(es), diff=True)

    puts = es.calls("PUT")
    assert [(r.path, r.body) for r in puts] == [("/_ilm/policy/%s" % NAME, {"policy": POLICY})]
    assert result["changed"] is True
    assert result["diff"]["before"] == {}
    assert result["policy"]["phases"]["hot"]["min_age"] == "0ms"


def test_second_run_ignores_server_fields_and_defaults(run_module, es):
    run_module(module, args(es))
    es.requests.clear()

    result = run_module(module, args(es))

    # The fake stored min_age 0ms and delete_searchable_snapshot, and answers version,
    # modified_date and in_use_by: none of that is a difference.
    assert es.policies[NAME]["policy"]["phases"]["delete"]["actions"]["delete"] == {"delete_searchable_snapshot": True}
    assert result["changed"] is False
    assert result["version"] == 1
    assert es.writes() == []


def test_update_of_retention_with_diff(run_module, es):
    run_module(module, args(es))
    es.requests.clear()

    result = run_module(module, args(es, policy=with_delete_age("400d")), diff=True)

    assert result["changed"] is True
    assert result["changed_fields"] == ["phases.delete.min_age"]
    assert result["diff"]["before"]["phases"]["delete"]["min_age"] == "365d"
    assert result["diff"]["after"]["phases"]["delete"]["min_age"] == "400d"
    assert [r.method for r in es.writes()] == ["PUT"]
    assert es.policies[NAME]["version"] == 2


def test_removed_phase_is_detected(run_module, es):
    run_module(module, args(es))
    es.requests.clear()
    policy = {"phases": {"hot": POLICY["phases"]["hot"]}, "_meta": POLICY["_meta"]}

    result = run_module(module, args(es, policy=policy))

    assert result["changed"] is True
    assert result["changed_fields"] == ["phases.delete"]
    assert "delete" not in es.policies[NAME]["policy"]["phases"]


def test_check_mode_create_and_update_write_nothing(run_module, es):
    created = run_module(module, args(es), check_mode=True)
    assert created["changed"] is True
    assert es.writes() == []
    assert NAME not in es.policies

    run_module(module, args(es))
    es.requests.clear()
    updated = run_module(module, args(es, policy=with_delete_age("7d")), check_mode=True)
    assert updated["changed"] is True
    assert es.writes() == []
    assert es.policies[NAME]["policy"]["phases"]["delete"]["min_age"] == "365d"


def test_delete_then_absent_is_a_no_op(run_module, es):
    run_module(module, args(es))
    es.requests.clear()

    checked = run_module(module, {"url": es.url, "name": NAME, "state": "absent"}, check_mode=True)
    assert checked["changed"] is True and es.writes() == []

    deleted = run_module(module, {"url": es.url, "name": NAME, "state": "absent"}, diff=True)
    again = run_module(module, {"url": es.url, "name": NAME, "state": "absent"})

    assert deleted["changed"] is True
    assert deleted["diff"]["after"] == {}
    assert [(r.method, r.path) for r in es.writes()] == [("DELETE", "/_ilm/policy/%s" % NAME)]
    assert again["changed"] is False


def test_server_error_is_not_mistaken_for_a_missing_policy(run_module, es):
    es.fail_next(1, status=500)

    failure = module_failure(run_module, module, args(es, retries=0))

    assert failure["status"] == 500
    assert es.writes() == []


def test_unknown_phase_is_refused_before_any_request(run_module, es):
    failure = module_failure(run_module, module, args(es, policy={"phases": {"lukewarm": {"actions": {}}}}))

    assert "policy.phases has unknown phase(s) lukewarm" in failure["msg"]
    assert es.requests == []


def test_policy_without_phases_is_refused(run_module, es):
    failure = module_failure(run_module, module, args(es, policy={"_meta": {}}))

    assert "policy.phases must be a dict" in failure["msg"]
