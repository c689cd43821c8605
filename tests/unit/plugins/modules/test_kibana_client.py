"""Kibana specifics of the client: kbn-xsrf on writes, spaces, authentication, retries."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from ansible_collections.vigil.monitoring.plugins.modules import kibana_connector as module
from standins.elastic import FakeKibana, module_failure

CID = "9d2f4c1e-0b6a-4f3e-8c71-5a2e9b0d4f10"


@pytest.fixture(scope="module")
def server():
    fake = FakeKibana().start()
    yield fake
    fake.stop()


@pytest.fixture
def kibana(server):
    return server.reset()


def args(kibana, **extra):
    values = {"url": kibana.url, "id": CID, "name": "log", "connector_type_id": ".server-log", "retry_delay": 0}
    values.update(extra)
    return values


def test_the_fake_refuses_a_write_without_kbn_xsrf(kibana):
    request = urllib.request.Request(
        kibana.url + "/api/actions/connector/" + CID,
        data=json.dumps({"name": "x", "connector_type_id": ".server-log"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=5)

    assert answer.value.code == 400
    assert json.loads(answer.value.read())["message"] == "Request must contain a kbn-xsrf header."
    assert ("default", CID) not in kibana.connectors


def test_the_module_sends_kbn_xsrf_on_every_write(run_module, kibana):
    run_module(module, args(kibana))
    run_module(module, args(kibana, name="renamed"))
    run_module(module, args(kibana, state="absent"))

    writes = kibana.writes()
    assert [r.method for r in writes] == ["POST", "PUT", "DELETE"]
    assert all(r.headers.get("kbn-xsrf") for r in writes)


def test_space_id_prefixes_every_path_and_isolates_objects(run_module, kibana):
    run_module(module, args(kibana, space_id="secops"))

    assert {r.path.split("/api/")[0] for r in kibana.requests} == {"/s/secops"}
    assert ("secops", CID) in kibana.connectors
    assert ("default", CID) not in kibana.connectors


def test_default_space_has_no_prefix(run_module, kibana):
    run_module(module, args(kibana, space_id="default"))

    assert all(r.path.startswith("/api/") for r in kibana.requests)


def test_api_key_header_shape(run_module, kibana):
    kibana.expected_auth = "ApiKey aWQ6a2V5"

    result = run_module(module, args(kibana, api_key="id:key"))

    assert result["changed"] is True
    assert {r.headers["authorization"] for r in kibana.requests} == {"ApiKey aWQ6a2V5"}


def test_503_is_retried_then_succeeds_and_retries_are_bounded(run_module, kibana):
    kibana.fail_next(1, status=503)
    assert run_module(module, args(kibana, retries=2))["changed"] is True

    kibana.reset()
    kibana.fail_next(5, status=503)
    failure = module_failure(run_module, module, args(kibana, retries=1))
    assert failure["status"] == 503
    assert len(kibana.requests) == 2
