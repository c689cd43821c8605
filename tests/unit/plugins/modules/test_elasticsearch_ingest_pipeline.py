"""elasticsearch_ingest_pipeline against the Elasticsearch fake."""

from __future__ import annotations

import hashlib
import json

import pytest
from ansible_collections.vigil.monitoring.plugins.modules import elasticsearch_ingest_pipeline as module
from standins.elastic import FakeElasticsearch, module_failure

NAME = "vigil-firewall-ecs"
BODY = {
    "description": "Firewall syslog to ECS",
    "version": 3,
    "processors": [
        {"set": {"field": "event.kind", "value": "event"}},
        {"rename": {"field": "src", "target_field": "source.ip", "ignore_missing": True}},
        {"lowercase": {"field": "event.outcome", "ignore_missing": True}},
    ],
    "_meta": {"owner": "secops"},
}
SAMPLE_OK = {
    "document": {"src": "198.51.100.7", "event": {"outcome": "SUCCESS"}},
    "expected": {"source": {"ip": "198.51.100.7"}, "event": {"kind": "event", "outcome": "success"}, "src": None},
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
    values = {"url": es.url, "name": NAME, "body": BODY, "retry_delay": 0}
    values.update(extra)
    return values


def expected_hash(body):
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def stored_body(es):
    return {k: v for k, v in es.pipelines[NAME].items() if not k.startswith(("created_date", "modified_date"))}


def test_create_puts_body_with_content_hash_and_diff(run_module, es):
    result = run_module(module, args(es), diff=True)

    digest = expected_hash(BODY)
    want = dict(BODY, _meta={"owner": "secops", "vigil_hash": digest})
    puts = es.calls("PUT")
    assert [r.path for r in puts] == ["/_ingest/pipeline/%s" % NAME]
    assert puts[0].body == want
    assert result["changed"] is True
    assert result["vigil_hash"] == digest
    assert result["diff"] == {"before": {}, "after": want}


def test_second_run_makes_no_write_although_server_adds_date_fields(run_module, es):
    run_module(module, args(es))
    assert "created_date" in es.pipelines[NAME]  # the fake behaves like Elasticsearch 9.2+
    es.requests.clear()

    result = run_module(module, args(es))

    assert result["changed"] is False
    assert result["changed_fields"] == []
    assert es.writes() == []


def test_update_of_version_alone_is_written_with_diff(run_module, es):
    run_module(module, args(es))
    es.requests.clear()

    result = run_module(module, args(es, body=dict(BODY, version=4)), diff=True)

    assert result["changed"] is True
    assert "version" in result["changed_fields"]
    assert result["diff"]["before"]["version"] == 3
    assert result["diff"]["after"]["version"] == 4
    assert [r.method for r in es.writes()] == ["PUT"]
    assert stored_body(es)["version"] == 4


def test_change_in_meta_is_detected(run_module, es):
    run_module(module, args(es, content_hash=False))
    es.requests.clear()

    result = run_module(module, args(es, content_hash=False, body=dict(BODY, _meta={"owner": "netops"})))

    assert result["changed"] is True
    assert result["changed_fields"] == ["_meta.owner"]
    assert stored_body(es)["_meta"] == {"owner": "netops"}


def test_content_hash_false_sends_body_unchanged(run_module, es):
    run_module(module, args(es, content_hash=False))

    assert es.calls("PUT")[0].body == BODY


def test_pipeline_changed_outside_ansible_is_restored(run_module, es):
    run_module(module, args(es))
    es.pipelines[NAME]["processors"] = []
    es.requests.clear()

    result = run_module(module, args(es))

    assert result["changed"] is True
    assert result["changed_fields"] == ["processors"]
    assert stored_body(es)["processors"] == BODY["processors"]


def test_check_mode_create_writes_nothing(run_module, es):
    result = run_module(module, args(es), check_mode=True, diff=True)

    assert result["changed"] is True
    assert result["diff"]["before"] == {}
    assert es.writes() == []
    assert NAME not in es.pipelines


def test_check_mode_update_writes_nothing(run_module, es):
    run_module(module, args(es))
    es.requests.clear()

    result = run_module(module, args(es, body=dict(BODY, description="new")), check_mode=True)

    assert result["changed"] is True
    assert es.writes() == []
    assert stored_body(es)["description"] == BODY["description"]


def test_delete_and_then_absent_is_a_no_op(run_module, es):
    run_module(module, args(es))
    es.requests.clear()

    first = run_module(module, {"url": es.url, "name": NAME, "state": "absent"}, diff=True)
    second = run_module(module, {"url": es.url, "name": NAME, "state": "absent"})

    assert first["changed"] is True
    assert first["diff"]["after"] == {}
    assert [(r.method, r.path) for r in es.writes()] == [("DELETE", "/_ingest/pipeline/%s" % NAME)]
    assert second["changed"] is False
    assert NAME not in es.pipelines


def test_delete_in_check_mode_keeps_the_pipeline(run_module, es):
    run_module(module, args(es))
    es.requests.clear()

    result = run_module(module, {"url": es.url, "name": NAME, "state": "absent"}, check_mode=True)

    assert result["changed"] is True
    assert es.writes() == []
    assert NAME in es.pipelines


def test_samples_run_through_the_new_body_before_upload(run_module, es):
    es.pipelines[NAME] = {"processors": [{"set": {"field": "old", "value": "yes"}}]}

    result = run_module(module, args(es, simulate_samples=[SAMPLE_OK]))

    simulate, put = es.writes()
    assert simulate.path == "/_ingest/pipeline/_simulate"
    assert simulate.body["pipeline"] == put.body  # the new body, hash included
    assert simulate.body["docs"][0]["_source"] == SAMPLE_OK["document"]
    assert result["simulate_results"][0]["ok"] is True
    assert result["simulate_results"][0]["output"] == {
        "source": {"ip": "198.51.100.7"},
        "event": {"kind": "event", "outcome": "success"},
    }


def test_sample_mismatch_refuses_the_upload_with_a_readable_report(run_module, es):
    wrong = {
        "document": {"src": "198.51.100.7", "event": {"outcome": "SUCCESS"}},
        "expected": {"event": {"outcome": "SUCCESS"}, "source.ip": "10.0.0.1"},
    }

    failure = module_failure(run_module, module, args(es, simulate_samples=[SAMPLE_OK, wrong]))

    msg = failure["msg"]
    assert "was not uploaded" in msg
    assert 'sample 2: field event.outcome: expected "SUCCESS", got "success"' in msg
    assert 'sample 2: field source.ip: expected "10.0.0.1", got "198.51.100.7"' in msg
    assert "sample 1" not in msg
    assert [r["ok"] for r in failure["simulate_results"]] == [True, False]
    assert es.mutations() == []
    assert NAME not in es.pipelines


def test_missing_expected_field_and_field_that_must_be_absent(run_module, es):
    sample = {"document": {"src": "x"}, "expected": {"event": {"dataset": "firewall"}, "source": None}}

    failure = module_failure(run_module, module, args(es, simulate_samples=[sample]))

    msg = failure["msg"]
    assert 'field event.dataset: expected "firewall", got (missing)' in msg
    assert 'field source: expected null, got {"ip": "x"}' in msg


def test_processor_failure_in_a_sample_refuses_the_upload(run_module, es):
    body = {"processors": [{"rename": {"field": "src", "target_field": "source.ip"}}]}
    sample = {"document": {"other": 1}, "expected": {"other": 1}}

    failure = module_failure(run_module, module, args(es, body=body, simulate_samples=[sample]))

    assert "sample 1: the pipeline failed: field [src] doesn't exist" in failure["msg"]
    assert es.mutations() == []


def test_sample_mismatch_also_fails_in_check_mode(run_module, es):
    wrong = {"document": {}, "expected": {"event": {"kind": "alert"}}}

    module_failure(run_module, module, args(es, simulate_samples=[wrong]), check_mode=True)

    assert es.mutations() == []


def test_samples_are_checked_even_when_the_pipeline_is_up_to_date(run_module, es):
    run_module(module, args(es))
    es.requests.clear()
    wrong = {"document": {}, "expected": {"event": {"kind": "alert"}}}

    module_failure(run_module, module, args(es, simulate_samples=[wrong]))

    assert es.mutations() == []


def test_elasticsearch_rejection_is_reported_with_its_reason(run_module, es):
    failure = module_failure(run_module, module, args(es, body={"processors": [{"nosuch": {}}]}))

    assert "No processor type exists with name [nosuch]" in failure["msg"]
    assert failure["status"] == 400


def test_error_other_than_404_on_read_is_not_taken_for_absence(run_module, es):
    es.fail_next(1, status=500)

    failure = module_failure(run_module, module, args(es, retries=0))

    assert failure["status"] == 500
    assert es.writes() == []


@pytest.mark.parametrize(
    "extra, fragment",
    [
        ({"simulate_samples": [{"document": {"a": 1}}]}, "simulate_samples[0].expected must be a dict"),
        ({"simulate_samples": [{"document": "x", "expected": {}}]}, "simulate_samples[0].document must be a dict"),
        (
            {"simulate_samples": [{"document": {}, "expected": {}, "extra": 1}]},
            "simulate_samples[0] has unknown key(s) ['extra']",
        ),
        ({"body": {"processors": {"set": {}}}}, "body.processors must be a list"),
        ({"body": {"processors": [], "created_date": "x"}}, "body must not set created_date"),
    ],
)
def test_invalid_arguments_name_the_argument(run_module, es, extra, fragment):
    failure = module_failure(run_module, module, args(es, **extra))

    assert fragment in failure["msg"]
    assert es.requests == []


def test_body_is_required_when_present(run_module, es):
    failure = module_failure(run_module, module, {"url": es.url, "name": NAME})

    assert "body" in failure["msg"]
