"""elasticsearch_component_template against the Elasticsearch fake."""

from __future__ import annotations

import pytest
from ansible_collections.vigil.monitoring.plugins.modules import elasticsearch_component_template as module
from ansible_collections.vigil.monitoring.plugins.modules import elasticsearch_index_template
from standins.elastic import FakeElasticsearch, module_failure

NAME = "logs-fortinet_fortigate.log@custom"
BODY = {
    "template": {
        "settings": {"index": {"lifecycle": {"name": "vigil-firewall"}}, "number_of_replicas": 1},
        "mappings": {"properties": {"organization": {"properties": {"site": {"type": "keyword"}}}}},
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

    assert [(r.method, r.path, r.body) for r in es.writes()] == [("PUT", "/_component_template/%s" % NAME, BODY)]
    assert result["changed"] is True
    assert result["component_template"]["template"]["settings"] == {
        "index.lifecycle.name": "vigil-firewall", "index.number_of_replicas": "1"}
    assert result["diff"]["before"] == {}


def test_second_run_is_a_no_op_despite_stored_form_and_dates(run_module, es):
    run_module(module, args(es))
    es.requests.clear()

    result = run_module(module, args(es))

    # The fake stored flat string settings and created/modified dates: no difference.
    assert "modified_date" in es.component_templates[NAME]
    assert result["changed"] is False
    assert es.writes() == []
    assert es.calls("GET")[0].query.get("flat_settings") == ["true"]


def test_changed_policy_is_written_with_its_diff(run_module, es):
    run_module(module, args(es))
    es.requests.clear()
    settings = {"index.lifecycle.name": "vigil-security", "index.number_of_replicas": 1}
    body = {"template": dict(BODY["template"], settings=settings), "_meta": BODY["_meta"]}

    result = run_module(module, args(es, body=body), diff=True)

    assert result["changed"] is True
    assert result["changed_fields"] == ["template.settings.index.lifecycle.name"]
    assert result["diff"]["before"]["template"]["settings"]["index.lifecycle.name"] == "vigil-firewall"
    assert es.component_templates[NAME]["template"]["settings"]["index.lifecycle.name"] == "vigil-security"


def test_check_mode_reports_and_writes_nothing(run_module, es):
    created = run_module(module, args(es), check_mode=True, diff=True)
    assert created["changed"] is True and created["diff"]["after"]["_meta"] == {"managed_by": "vigil"}
    assert es.writes() == [] and NAME not in es.component_templates

    run_module(module, args(es))
    es.requests.clear()
    body = {"template": {"settings": {"index.lifecycle.name": "other"}}}
    updated = run_module(module, args(es, body=body), check_mode=True)
    assert updated["changed"] is True
    assert es.writes() == []
    assert es.component_templates[NAME]["template"]["settings"]["index.lifecycle.name"] == "vigil-firewall"


def test_absent_deletes_then_is_a_no_op(run_module, es):
    run_module(module, args(es))
    es.requests.clear()

    deleted = run_module(module, {"url": es.url, "name": NAME, "state": "absent"}, diff=True)
    again = run_module(module, {"url": es.url, "name": NAME, "state": "absent"})

    assert deleted["changed"] is True and deleted["diff"]["after"] == {}
    assert [(r.method, r.path) for r in es.writes()] == [("DELETE", "/_component_template/%s" % NAME)]
    assert again["changed"] is False


def test_a_component_an_index_template_composes_is_not_deleted(run_module, es):
    run_module(module, args(es))
    run_module(elasticsearch_index_template, {
        "url": es.url, "name": "logs-fortinet_fortigate.log", "retry_delay": 0,
        "body": {"index_patterns": ["logs-fortinet_fortigate.log-*"], "data_stream": {}, "composed_of": [NAME]}})

    failure = module_failure(run_module, module, {"url": es.url, "name": NAME, "state": "absent", "retries": 0})

    assert failure["status"] == 400
    assert "still in use by index templates [logs-fortinet_fortigate.log]" in failure["msg"]
    assert NAME in es.component_templates


def test_an_index_template_composing_a_missing_component_is_refused_unless_allowed(run_module, es):
    body = {"index_patterns": ["logs-vigil.edr-*"], "data_stream": {}, "composed_of": ["logs-vigil.edr@custom"]}
    failure = module_failure(run_module, elasticsearch_index_template, {
        "url": es.url, "name": "vigil-logs-vigil.edr", "body": body, "retries": 0, "retry_delay": 0})
    assert "specifies component templates ['logs-vigil.edr@custom'] that do not exist" in failure["msg"]

    allowed = dict(body, ignore_missing_component_templates=["logs-vigil.edr@custom"])
    result = run_module(elasticsearch_index_template, {
        "url": es.url, "name": "vigil-logs-vigil.edr", "body": allowed, "retry_delay": 0})
    assert result["changed"] is True


@pytest.mark.parametrize("body,words", [
    ({"_meta": {}}, "body.template is required"),
    ({"template": {}, "priority": 200}, "body has key(s) priority that a component template does not take"),
])
def test_bad_bodies_are_refused_before_any_request(run_module, es, body, words):
    failure = module_failure(run_module, module, args(es, body=body))

    assert words in failure["msg"]
    assert es.requests == []
