"""kibana_fleet_output against the Kibana fake (Fleet outputs, checked against the facts of Kibana's OpenAPI document)."""

from __future__ import annotations

import pytest
from ansible_collections.vigil.monitoring.plugins.modules import kibana_fleet_output as module
from standins.elastic import FakeKibana, module_failure

CA = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
FINGERPRINT = "AB:" * 31 + "CD"
TOKEN = "AAEAAWVsYXN0aWMvZmxlZXQtc2VydmVyL3JlbW90ZTpWSUdJTC1NQVJLRVItcmVtb3Rl"


@pytest.fixture(scope="module")
def server():
    fake = FakeKibana().start()
    yield fake
    fake.stop()


@pytest.fixture
def kibana(server):
    return server.reset()


def es_args(kibana, **extra):
    values = {
        "url": kibana.url,
        "retry_delay": 0,
        "id": "vigil-elasticsearch",
        "name": "Vigil Elasticsearch",
        "type": "elasticsearch",
        "hosts": ["https://es-1.example.org:9200", "https://es-2.example.org:9200"],
        "is_default": True,
        "is_default_monitoring": True,
        "ca_trusted_fingerprint": FINGERPRINT,
        "ssl": {"certificate_authorities": [CA], "verification_mode": "full"},
    }
    values.update(extra)
    return values


def remote_args(kibana, **extra):
    values = {
        "url": kibana.url,
        "retry_delay": 0,
        "id": "vigil-central",
        "name": "Central SOC",
        "type": "remote_elasticsearch",
        "hosts": ["https://soc.example.org:9200"],
        "service_token": TOKEN,
    }
    values.update(extra)
    return values


def test_the_cluster_output_replaces_fleets_localhost_default(run_module, kibana):
    result = run_module(module, es_args(kibana), diff=True)

    (post,) = kibana.writes()
    assert (post.method, post.path) == ("POST", "/api/fleet/outputs")
    assert post.body["hosts"] == ["https://es-1.example.org:9200", "https://es-2.example.org:9200"]
    assert post.body["ca_trusted_fingerprint"] == "ab" * 31 + "cd"
    assert post.body["ssl"]["certificate_authorities"] == [CA]
    assert kibana.rejected == []
    assert result["changed"] is True and result["diff"]["before"] == {}
    stored = kibana.outputs["vigil-elasticsearch"]
    assert stored["is_default"] is True
    # Fleet keeps one default: its own localhost output is no longer what agents use.
    assert kibana.outputs["fleet-default-output"]["is_default"] is False


def test_second_run_writes_nothing(run_module, kibana):
    run_module(module, es_args(kibana))
    kibana.requests.clear()

    result = run_module(module, es_args(kibana, ca_trusted_fingerprint=FINGERPRINT.lower()))

    assert result["changed"] is False
    assert kibana.writes() == []


def test_a_new_elasticsearch_host_updates_the_output_in_place(run_module, kibana):
    run_module(module, es_args(kibana))
    kibana.requests.clear()
    hosts = ["https://es-1.example.org:9200", "https://es-2.example.org:9200", "https://es-3.example.org:9200"]

    result = run_module(module, es_args(kibana, hosts=hosts), diff=True)

    (put,) = kibana.writes()
    assert (put.method, put.path) == ("PUT", "/api/fleet/outputs/vigil-elasticsearch")
    assert kibana.rejected == []
    assert result["changed_fields"] == ["hosts"]
    assert result["diff"]["after"]["hosts"] == hosts
    assert kibana.outputs["vigil-elasticsearch"]["hosts"] == hosts


def test_check_mode_reports_the_change_and_writes_nothing(run_module, kibana):
    run_module(module, es_args(kibana))
    kibana.requests.clear()

    result = run_module(module, es_args(kibana, ssl={"certificate_authorities": [CA], "verification_mode": "certificate"}),
                        check_mode=True, diff=True)

    assert result["changed"] is True
    assert result["changed_fields"] == ["ssl.verification_mode"]
    assert kibana.writes() == []
    assert kibana.outputs["vigil-elasticsearch"]["ssl"]["verification_mode"] == "full"


def test_remote_output_sends_its_token_once_and_never_shows_it(run_module, kibana):
    created = run_module(module, remote_args(kibana), diff=True)
    kibana.requests.clear()
    again = run_module(module, remote_args(kibana), diff=True)

    assert kibana.output_secrets["vigil-central"]["service_token"] == TOKEN
    assert created["secrets_sent"] is True
    assert again["changed"] is False and again["secrets_sent"] is False
    assert kibana.writes() == []
    assert TOKEN not in repr(created) and TOKEN not in repr(again)


def test_force_secret_update_rewrites_the_token(run_module, kibana):
    run_module(module, remote_args(kibana))
    kibana.requests.clear()

    result = run_module(module, remote_args(kibana, service_token=TOKEN + "x", force_secret_update=True))

    assert result["changed"] is True and result["changed_fields"] == ["secrets"]
    assert kibana.output_secrets["vigil-central"]["service_token"] == TOKEN + "x"


def test_absent_deletes_and_is_then_a_no_op(run_module, kibana):
    run_module(module, remote_args(kibana))
    kibana.requests.clear()

    gone = run_module(module, {"url": kibana.url, "id": "vigil-central", "state": "absent", "retry_delay": 0})
    again = run_module(module, {"url": kibana.url, "id": "vigil-central", "state": "absent", "retry_delay": 0})

    assert gone["changed"] is True and again["changed"] is False
    assert "vigil-central" not in kibana.outputs


def test_a_preconfigured_output_is_refused(run_module, kibana):
    kibana.outputs["vigil-elasticsearch"] = dict(es_args(kibana), is_preconfigured=True)
    kibana.requests.clear()

    failed = module_failure(run_module, module, es_args(kibana, hosts=["https://other:9200"]))

    assert "kibana.yml" in failed["msg"]
    assert kibana.writes() == []


@pytest.mark.parametrize("extra,words", [
    ({"config_yaml": "bulk_max_size: 50\napi_key: id:key\n"}, "config_yaml sets a credential"),
    ({"ca_trusted_fingerprint": "not-hex"}, "ca_trusted_fingerprint must be the SHA-256"),
    ({"service_token": TOKEN}, "service_token is only for a remote_elasticsearch output"),
    ({"ssl": {"ca": CA}}, "ssl has unknown key(s) ca"),
])
def test_bad_options_stop_before_any_request(run_module, kibana, extra, words):
    failed = module_failure(run_module, module, es_args(kibana, **extra))

    assert words in failed["msg"]
    assert kibana.requests == []


def test_a_remote_output_without_token_is_refused(run_module, kibana):
    failed = module_failure(run_module, module, remote_args(kibana, service_token=None))

    assert "needs service_token" in failed["msg"]
    assert kibana.requests == []
