"""Authentication, TLS default and bounded retries of the Elasticsearch modules' client."""

from __future__ import annotations

import base64

import pytest
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import elastic_argument_spec
from ansible_collections.vigil.monitoring.plugins.modules import elasticsearch_ilm_policy as module
from standins.elastic import FakeElasticsearch, module_failure

POLICY = {"phases": {"hot": {"actions": {"rollover": {"max_age": "1d"}}}}}


@pytest.fixture(scope="module")
def server():
    fake = FakeElasticsearch().start()
    yield fake
    fake.stop()


@pytest.fixture
def es(server):
    return server.reset()


def args(es, **extra):
    values = {"url": es.url, "name": "p", "policy": POLICY, "retry_delay": 0}
    values.update(extra)
    return values


def b64(text):
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "credentials, header",
    [
        (
            {"api_key": "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="},
            "ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==",
        ),
        (
            {"api_key": "VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw"},
            "ApiKey " + b64("VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw"),
        ),
        (
            {"api_token": "AAEAAWVsYXN0aWMvZmxlZXQtc2VydmVyL3Rva2VuMQ"},
            "Bearer AAEAAWVsYXN0aWMvZmxlZXQtc2VydmVyL3Rva2VuMQ",
        ),
        ({"url_username": "vigil", "url_password": "s3cret"}, "Basic " + b64("vigil:s3cret")),
    ],
)
def test_every_request_carries_the_expected_authorization(run_module, es, credentials, header):
    es.expected_auth = header

    result = run_module(module, args(es, **credentials))

    assert result["changed"] is True
    assert {r.headers.get("authorization") for r in es.requests} == {header}


def test_wrong_credentials_fail_with_the_server_reason(run_module, es):
    es.expected_auth = "ApiKey right"

    failure = module_failure(run_module, module, args(es, api_key="wrong"))

    assert failure["status"] == 401
    assert "missing authentication credentials" in failure["msg"]


def test_api_key_and_api_token_are_mutually_exclusive(run_module, es):
    failure = module_failure(run_module, module, args(es, api_key="a", api_token="b"))

    assert "mutually exclusive" in failure["msg"]
    assert es.requests == []


def test_tls_verification_is_on_by_default():
    assert elastic_argument_spec()["validate_certs"]["default"] is True
    assert elastic_argument_spec()["api_key"]["no_log"] is True


def test_503_is_retried_then_succeeds(run_module, es):
    es.fail_next(2, status=503)

    result = run_module(module, args(es, retries=3))

    assert result["changed"] is True
    assert [r.method for r in es.requests] == ["GET", "GET", "GET", "PUT"]


def test_retries_are_bounded(run_module, es):
    es.fail_next(10, status=503)

    failure = module_failure(run_module, module, args(es, retries=2))

    assert failure["status"] == 503
    assert len(es.requests) == 3
    assert es.writes() == []


def test_connection_refused_is_reported_after_bounded_attempts(run_module, es):
    url = es.url.rsplit(":", 1)[0] + ":1"

    failure = module_failure(run_module, module, args(es, url=url, retries=1))

    assert "connection failed after 2 attempt(s)" in failure["msg"]
