"""elasticsearch_index_template against the Elasticsearch fake."""

from __future__ import annotations

import pytest
from ansible_collections.vigil.monitoring.plugins.modules import elasticsearch_index_template as module
from standins.elastic import FakeElasticsearch, module_failure

NAME = "vigil-logs-firewall"
BODY = {
    "index_patterns": ["logs-firewall-*"],
    "data_stream": {},
    "priority": 200,
    "composed_of": ["ecs@mappings"],
    "template": {
        "settings": {"index": {"lifecycle": {"name": "vigil-security-365d"}}, "number_of_replicas": 1},
        "mappings": {"properties": {"source": {"properties": {"ip": {"type": "ip"}}}}},
    },
    "_meta": {"managed_by": "vigil"},
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


def test_create_sends_the_body_as_given(run_module, es):
    result = run_module(module, args(es), diff=True)

    assert [(r.method, r.path, r.body) for r in es.writes()] == [("PUT", "/_index_template/%s" % NAME, BODY)]
    assert result["changed"] is True
    assert result["template"]["template"]["settings"] == {
        "index.lifecycle.name": "vigil-security-365d",
        "index.number_of_replicas": "1",
    }
    assert result["diff"]["before"] == {}


def test_second_run_is_a_no_op_despite_normalised_settings(run_module, es):
    run_module(module, args(es))
    es.requests.clear()

    result = run_module(module, args(es))

    # Elasticsearch stored "1" for 1, added index. prefixes and data_stream defaults.
    assert es.templates[NAME]["data_stream"] == {"hidden": False, "allow_custom_routing": False}
    assert result["changed"] is False
    assert es.writes() == []
    assert es.calls("GET")[0].query.get("flat_settings") == ["true"]


def test_priority_and_lifecycle_policy_change_with_diff(run_module, es):
    run_module(module, args(es))
    es.requests.clear()
    body = dict(
        BODY,
        priority=300,
        template=dict(
            BODY["template"], settings={"index.lifecycle.name": "vigil-debug-7d", "index.number_of_replicas": 1}
        ),
    )

    result = run_module(module, args(es, body=body), diff=True)

    assert result["changed"] is True
    assert result["changed_fields"] == ["priority", "template.settings.index.lifecycle.name"]
    assert result["diff"]["before"]["priority"] == 200
    assert result["diff"]["after"]["priority"] == 300
    assert [r.method for r in es.writes()] == ["PUT"]
    assert es.templates[NAME]["template"]["settings"]["index.lifecycle.name"] == "vigil-debug-7d"


def test_data_stream_lifecycle_is_idempotent(run_module, es):
    body = {
        "index_patterns": ["logs-debug-*"],
        "data_stream": {},
        "priority": 200,
        "template": {"lifecycle": {"data_retention": "7d"}},
    }
    run_module(module, args(es, name="vigil-logs-debug", body=body))
    es.requests.clear()

    again = run_module(module, args(es, name="vigil-logs-debug", body=body))
    longer = run_module(
        module, args(es, name="vigil-logs-debug", body=dict(body, template={"lifecycle": {"data_retention": "14d"}}))
    )

    assert again["changed"] is False
    assert longer["changed"] is True
    assert longer["changed_fields"] == ["template.lifecycle.data_retention"]


def test_check_mode_create_and_update_write_nothing(run_module, es):
    created = run_module(module, args(es), check_mode=True)
    assert created["changed"] is True
    assert es.writes() == []

    run_module(module, args(es))
    es.requests.clear()
    updated = run_module(module, args(es, body=dict(BODY, priority=1)), check_mode=True)
    assert updated["changed"] is True
    assert es.writes() == []
    assert es.templates[NAME]["priority"] == 200


def test_delete_then_absent_is_a_no_op(run_module, es):
    run_module(module, args(es))
    es.requests.clear()

    checked = run_module(module, {"url": es.url, "name": NAME, "state": "absent"}, check_mode=True)
    deleted = run_module(module, {"url": es.url, "name": NAME, "state": "absent"})
    again = run_module(module, {"url": es.url, "name": NAME, "state": "absent"})

    assert checked["changed"] is True
    assert deleted["changed"] is True
    assert again["changed"] is False
    assert [(r.method, r.path) for r in es.writes()] == [("DELETE", "/_index_template/%s" % NAME)]


def test_server_error_is_not_mistaken_for_a_missing_template(run_module, es):
    es.fail_next(
        1,
        status=403,
        body={
            "error": {
                "type": "security_exception",
                "reason": "action [indices:admin/index_template/get] is unauthorized",
            },
            "status": 403,
        },
    )

    failure = module_failure(run_module, module, args(es))

    assert failure["status"] == 403
    assert "is unauthorized" in failure["msg"]
    assert es.writes() == []


def test_index_patterns_are_required(run_module, es):
    failure = module_failure(run_module, module, args(es, body={"priority": 1}))

    assert "body.index_patterns is required" in failure["msg"]
    assert es.requests == []
