"""elasticsearch_slm_policy against the Elasticsearch fake."""

from __future__ import annotations

import copy

import pytest
from ansible_collections.vigil.monitoring.plugins.modules import elasticsearch_slm_policy as module
from standins.elastic import FakeElasticsearch, module_failure

NAME = "vigil-logs-nightly"
POLICY = {
    "name": "<vigil-logs-{now/d}>",
    "schedule": "0 30 1 * * ?",
    "repository": "vigil-snapshots",
    "config": {"indices": ["logs-*"], "include_global_state": False},
    "retention": {"expire_after": "30d", "min_count": 5, "max_count": 60},
}


@pytest.fixture(scope="module")
def server():
    fake = FakeElasticsearch().start()
    yield fake
    fake.stop()


@pytest.fixture
def es(server):
    fake = server.reset()
    fake.repositories["vigil-snapshots"] = {"type": "fs", "uuid": "_na_", "settings": {"location": "/srv/s"}}
    return fake


def args(es, **extra):
    values = {"url": es.url, "name": NAME, "policy": POLICY, "retry_delay": 0}
    values.update(extra)
    return values


def with_retention(**retention):
    policy = copy.deepcopy(POLICY)
    policy["retention"].update(retention)
    return policy


def test_create_sends_the_policy(run_module, es):
    result = run_module(module, args(es), diff=True)

    assert [(r.method, r.path, r.body) for r in es.writes()] == [("PUT", "/_slm/policy/%s" % NAME, POLICY)]
    assert result["changed"] is True and result["policy"] == POLICY
    assert result["diff"]["before"] == {}


def test_second_run_ignores_version_stats_and_next_execution(run_module, es):
    run_module(module, args(es))
    es.requests.clear()

    result = run_module(module, args(es))

    assert result["changed"] is False and result["version"] == 1
    assert es.writes() == []


def test_retention_change_is_written_with_its_diff(run_module, es):
    run_module(module, args(es))
    es.requests.clear()

    result = run_module(module, args(es, policy=with_retention(expire_after="90d")), diff=True)

    assert result["changed"] is True
    assert result["changed_fields"] == ["retention.expire_after"]
    assert result["diff"]["before"]["retention"]["expire_after"] == "30d"
    assert es.slm_policies[NAME]["version"] == 2


def test_check_mode_writes_nothing(run_module, es):
    created = run_module(module, args(es), check_mode=True)
    assert created["changed"] is True and es.writes() == [] and es.slm_policies == {}

    run_module(module, args(es))
    es.requests.clear()
    updated = run_module(module, args(es, policy=with_retention(max_count=10)), check_mode=True)
    assert updated["changed"] is True and es.writes() == []
    assert es.slm_policies[NAME]["policy"]["retention"]["max_count"] == 60


def test_absent_deletes_then_is_a_no_op(run_module, es):
    run_module(module, args(es))
    es.requests.clear()

    deleted = run_module(module, {"url": es.url, "name": NAME, "state": "absent"})
    again = run_module(module, {"url": es.url, "name": NAME, "state": "absent"})

    assert deleted["changed"] is True and again["changed"] is False
    assert [(r.method, r.path) for r in es.writes()] == [("DELETE", "/_slm/policy/%s" % NAME)]


def test_a_missing_repository_is_elasticsearchs_refusal(run_module, es):
    es.repositories.clear()

    failure = module_failure(run_module, module, args(es, retries=0))

    assert failure["status"] == 400
    assert "no such repository [vigil-snapshots]" in failure["msg"]


@pytest.mark.parametrize("policy,words", [
    (dict(POLICY, schedule="30 1 * * *"), "is not an Elasticsearch cron expression: 6 or 7 fields"),
    ({k: v for k, v in POLICY.items() if k != "repository"}, "policy.repository is required"),
    (dict(POLICY, indices=["logs-*"]), "policy has key(s) indices that an SLM policy does not take"),
    (with_retention(expire_after="1 month"), "policy.retention.expire_after '1 month' is not a time value"),
])
def test_bad_policies_are_refused_before_any_request(run_module, es, policy, words):
    failure = module_failure(run_module, module, args(es, policy=policy))

    assert words in failure["msg"]
    assert es.requests == []
