"""elasticsearch_role against the Elasticsearch fake with security on."""

from __future__ import annotations

import pytest
from ansible_collections.vigil.monitoring.plugins.modules import elasticsearch_role as module
from standins.elastic import FakeElasticsearch, module_failure

ELASTIC = "bootstrap-only-elastic-pw"
NAME = "vigil_ingest"


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
        "cluster": ["manage_ingest_pipelines", "manage_index_templates", "manage_ilm"],
        "retry_delay": 0,
    }
    values.update(extra)
    return values


def test_create_then_second_run_writes_nothing(run_module, es):
    first = run_module(module, args(es), diff=True)

    assert first["changed"] is True
    assert first["diff"]["before"] == {}
    assert [(r.method, r.path) for r in es.writes()] == [("PUT", "/_security/role/%s" % NAME)]
    # Elasticsearch stored it with its defaults (transient_metadata, empty lists).
    assert es.security.roles[NAME]["transient_metadata"] == {"enabled": True}
    es.requests.clear()

    second = run_module(module, args(es, cluster=["manage_ilm", "manage_ingest_pipelines", "manage_index_templates"]))

    assert second["changed"] is False, second["changed_fields"]
    assert es.writes() == []


def test_index_and_kibana_privileges_round_trip(run_module, es):
    extra = dict(
        cluster=[],
        indices=[{"names": "logs-*", "privileges": ["view_index_metadata", "read"]}],
        applications=[
            {"application": "kibana-.kibana", "privileges": ["feature_stackAlerts.all"], "resources": ["space:default"]}
        ],
    )
    run_module(module, args(es, **extra))
    es.requests.clear()

    again = run_module(module, args(es, **extra))

    assert again["changed"] is False
    assert es.security.roles[NAME]["indices"][0]["allow_restricted_indices"] is False


def test_removed_privilege_is_a_change_with_diff(run_module, es):
    run_module(module, args(es))

    result = run_module(module, args(es, cluster=["manage_ingest_pipelines"]), diff=True)

    assert result["changed"] is True
    assert result["changed_fields"] == ["cluster"]
    assert result["diff"]["after"]["cluster"] == ["manage_ingest_pipelines"]
    assert es.security.roles[NAME]["cluster"] == ["manage_ingest_pipelines"]


def test_check_mode_reports_without_writing(run_module, es):
    result = run_module(module, args(es), check_mode=True)

    assert result["changed"] is True
    assert es.writes() == []
    assert NAME not in es.security.roles


def test_unknown_cluster_privilege_is_refused_before_any_call(run_module, es):
    failed = module_failure(run_module, module, args(es, cluster=["manage_ingest_pipeline", "manage_ilm"]))

    assert "unknown privilege 'manage_ingest_pipeline'" in failed["msg"]
    assert "manage_ingest_pipelines" in failed["msg"]  # the closest valid name
    assert "cluster" in failed["msg"]
    assert es.requests == []


def test_unknown_index_and_kibana_privileges_name_entry_and_closest(run_module, es):
    failed = module_failure(
        run_module,
        module,
        args(
            es,
            cluster=[],
            indices=[{"names": ["logs-*"], "privileges": ["create_docs"]}],
            applications=[
                {"application": "kibana-.kibana", "privileges": ["feature_stackAlert.all"], "resources": ["*"]}
            ],
        ),
    )

    assert "indices[0].privileges: unknown privilege 'create_docs'" in failed["msg"]
    assert "create_doc" in failed["msg"]
    assert "applications[0].privileges: unknown privilege 'feature_stackAlert.all'" in failed["msg"]
    assert "feature_stackAlerts.all" in failed["msg"]
    assert es.requests == []


def test_reserved_role_is_refused(run_module, es):
    failed = module_failure(run_module, module, args(es, name="superuser"))

    assert "reserved" in failed["msg"]
    assert es.writes() == []


def test_absent_deletes_once(run_module, es):
    run_module(module, args(es))

    first = run_module(module, args(es, state="absent"))
    second = run_module(module, args(es, state="absent"))

    assert first["changed"] is True and second["changed"] is False
    assert NAME not in es.security.roles


def test_a_user_without_manage_security_gets_the_403(run_module, es):
    run_module(module, args(es))
    es.security.users["vigil_ingest"] = {"username": "vigil_ingest", "roles": [NAME], "full_name": None,
                                         "email": None, "metadata": {}, "enabled": True, "password": "ingest-pw-1"}

    failed = module_failure(run_module, module, args(es, name="other", url_username="vigil_ingest",
                                                     url_password="ingest-pw-1"))

    assert failed["status"] == 403
    assert "unauthorized" in failed["msg"]


def test_a_2xx_that_is_not_a_json_object_is_an_error_not_an_absent_role(run_module, es):
    es.fail_next(1, status=200, body=["not", "an", "object"])

    failed = module_failure(run_module, module, args(es))

    assert "expected a JSON object" in failed["msg"]
    assert es.writes() == []
