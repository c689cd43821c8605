"""The Elasticsearch and Kibana fakes reject the bodies the vendors' published contracts reject.

One case per endpoint Vigil sends a body to (docs/elastic-modules.md, "What the fakes
enforce"): a body the contract accepts passes the fake's check, the same body with one
defect is answered 400 the way the vendor answers it. The contracts are the data under
tests/unit/fakes/spec/ (Elasticsearch: elastic/elasticsearch-specification 8.17;
Kibana: facts from Kibana's OpenAPI document, with their source).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest
import yaml
from ansible_collections.vigil.monitoring.plugins.modules import (
    elasticsearch_index_template,
)
from fakes.elastic import (
    ES_SPEC,
    KIBANA_SPEC,
    FakeElasticsearch,
    FakeKibana,
    module_failure,
)
from fakes.spec_check import SPEC_DIR

ROOT = Path(__file__).resolve().parents[3]

ELASTIC = "elastic-VIGIL-MARKER-spec"
BASIC = "Basic " + base64.b64encode(("elastic:" + ELASTIC).encode()).decode()

PIPELINE = {
    "description": "d",
    "processors": [{"set": {"field": "event.kind", "value": "event"}}],
}
TEMPLATE = {
    "index_patterns": ["logs-vigil.test-*"],
    "data_stream": {},
    "template": {
        "settings": {"index.lifecycle.name": "p", "number_of_replicas": 0},
        "mappings": {"properties": {"source": {"properties": {"ip": {"type": "ip"}}}}},
    },
}
ROLE = {
    "cluster": ["monitor"],
    "indices": [{"names": ["logs-*"], "privileges": ["read"]}],
}


def with_(body: Dict[str, Any], path: str, value: Any) -> Dict[str, Any]:
    """A copy of ``body`` with ``path`` (dotted; ``[n]`` for a list item: ``a.[0].b``) set to ``value``."""
    out = json.loads(json.dumps(body))
    node: Any = out
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    last = parts[-1]
    node[int(last[1:-1]) if last.startswith("[") else last] = value
    return out


# (operation, method, path, good body, bad body, error type, words of the reason)
ES_CASES = [
    (
        "PUT /_ingest/pipeline/{id}",
        "PUT",
        "/_ingest/pipeline/p",
        PIPELINE,
        with_(PIPELINE, "processors.[0].set.target", "x"),
        "parse_exception",
        "processor [set] doesn't support one or more provided configuration parameters [target]",
    ),
    (
        "POST /_ingest/pipeline/_simulate",
        "POST",
        "/_ingest/pipeline/_simulate",
        {"pipeline": PIPELINE, "docs": [{"_source": {"message": "m"}}]},
        {"pipeline": PIPELINE},
        "parse_exception",
        "required property [docs] is missing",
    ),
    (
        "PUT /_ilm/policy/{policy}",
        "PUT",
        "/_ilm/policy/p",
        {"policy": {"phases": {"hot": {"actions": {"rollover": {"max_age": "1d"}}}}}},
        {"policy": {"phases": {"hot": {"actions": {"rollover": {"max_age": "1d", "max_size_gb": 50}}}}}},
        "x_content_parse_exception",
        "unknown field [max_size_gb]",
    ),
    (
        "PUT /_index_template/{name}",
        "PUT",
        "/_index_template/t",
        TEMPLATE,
        with_(
            TEMPLATE,
            "template.mappings.properties.source.properties.ip.type",
            "ip_address",
        ),
        "x_content_parse_exception",
        "unknown type [ip_address]",
    ),
    (
        "PUT /_security/role/{name}",
        "PUT",
        "/_security/role/r",
        ROLE,
        with_(ROLE, "indices.[0].names", 5),
        "x_content_parse_exception",
        "indices[0].names",
    ),
    (
        "PUT /_security/user/{username}",
        "PUT",
        "/_security/user/u",
        {"password": "l0ng-enough-VIGIL-MARKER", "roles": ["r"], "full_name": "U"},
        {"password": "l0ng-enough-VIGIL-MARKER", "roles": "r"},
        "x_content_parse_exception",
        "[roles] expected array, got string",
    ),
    (
        "POST /_security/user/{username}/_password",
        "POST",
        "/_security/user/u/_password",
        {"password": "an0ther-VIGIL-MARKER"},
        {"new_password": "an0ther-VIGIL-MARKER"},
        "x_content_parse_exception",
        "unknown field [new_password]",
    ),
    (
        "POST /_security/api_key",
        "POST",
        "/_security/api_key",
        {"name": "k", "expiration": "1d", "role_descriptors": {"w": ROLE}},
        {
            "name": "k",
            "role_descriptors": {"w": with_(ROLE, "indices.[0].privilege", ["read"])},
        },
        "x_content_parse_exception",
        "unknown field [privilege]",
    ),
    (
        "PUT /_security/api_key/{id}",
        "PUT",
        "/_security/api_key/KEYID",
        {"metadata": {"managed_by": "vigil"}},
        {"name": "renamed"},
        "x_content_parse_exception",
        "unknown field [name]",
    ),
    (
        "DELETE /_security/api_key",
        "DELETE",
        "/_security/api_key",
        {"ids": ["KEYID"], "owner": True},
        {"ids": "KEYID"},
        "x_content_parse_exception",
        "[ids] expected array, got string",
    ),
    (
        "PUT /_cluster/settings",
        "PUT",
        "/_cluster/settings",
        {"persistent": {"cluster.routing.allocation.enable": None}},
        {
            "persistent": {"cluster.routing.allocation.enable": "primaries"},
            "permanent": {},
        },
        "x_content_parse_exception",
        "unknown field [permanent]",
    ),
]

RULE = {
    "name": "r",
    "rule_type_id": ".es-query",
    "consumer": "stackAlerts",
    "schedule": {"interval": "1m"},
    "params": {},
    "actions": [
        {
            "id": "c",
            "group": "query matched",
            "params": {},
            "frequency": {
                "summary": False,
                "notify_when": "onActiveAlert",
                "throttle": None,
            },
        }
    ],
}
PACKAGE_POLICY = {
    "name": "firewall-syslog",
    "namespace": "lab",
    "policy_id": "p1",
    "package": {"name": "udp", "version": "2.3.0"},
    "inputs": {
        "syslog-udp": {
            "enabled": True,
            "streams": {"udp.generic": {"enabled": True, "vars": {"listen_port": 5514}}},
        }
    },
}
OUTPUT = {
    "id": "vigil-elasticsearch",
    "name": "Vigil Elasticsearch",
    "type": "elasticsearch",
    "hosts": ["https://es-1.example.org:9200"],
    "is_default": True,
    "ca_trusted_fingerprint": "ab" * 32,
    "ssl": {"certificate_authorities": ["-----BEGIN CERTIFICATE-----"], "verification_mode": "full"},
}
RULE_UPDATE = {k: v for k, v in RULE.items() if k not in ("rule_type_id", "consumer")}
KIBANA_CASES = [
    (
        "POST /api/actions/connector/{id}",
        "POST",
        "/api/actions/connector/c",
        {
            "name": "c",
            "connector_type_id": ".webhook",
            "config": {"url": "http://a"},
            "secrets": {},
        },
        {"name": "c", "config": {"url": "http://a"}},
        "[request body.connector_type_id]: expected value to be defined but got [undefined]",
    ),
    (
        "PUT /api/actions/connector/{id}",
        "PUT",
        "/api/actions/connector/c",
        {"name": "c", "config": {"url": "http://a"}, "secrets": {}},
        {"name": "c", "connector_type_id": ".webhook", "config": {"url": "http://a"}},
        "[request body.connector_type_id]: definition for this key is missing",
    ),
    (
        "POST /api/alerting/rule/{id}",
        "POST",
        "/api/alerting/rule/0d4e5a3c-93a6-4a4e-8a3b-2f9c3e3b6a11",
        RULE,
        with_(RULE, "actions.[0].frequency.notify_when", "onEveryRun"),
        "[request body.actions[0].frequency.notify_when]: [onEveryRun] is not one of",
    ),
    (
        "PUT /api/alerting/rule/{id}",
        "PUT",
        "/api/alerting/rule/0d4e5a3c-93a6-4a4e-8a3b-2f9c3e3b6a11",
        RULE_UPDATE,
        dict(RULE_UPDATE, consumer="stackAlerts"),
        "[request body.consumer]: definition for this key is missing",
    ),
    (
        "POST /api/fleet/agent_policies",
        "POST",
        "/api/fleet/agent_policies",
        {"name": "p", "namespace": "lab", "monitoring_enabled": ["logs", "metrics"]},
        {"name": "p", "namespace": "lab", "monitoring_enabled": ["logs", "profiles"]},
        "[request body.monitoring_enabled[1]]: [profiles] is not one of",
    ),
    (
        "PUT /api/fleet/agent_policies/{agentPolicyId}",
        "PUT",
        "/api/fleet/agent_policies/p1",
        {"name": "p", "namespace": "lab", "description": "d"},
        {"name": "p", "namespace": "lab", "monitoring": True},
        "[request body.monitoring]: definition for this key is missing",
    ),
    (
        "POST /api/fleet/agent_policies/delete",
        "POST",
        "/api/fleet/agent_policies/delete",
        {"agentPolicyId": "p1"},
        {"id": "p1"},
        "[request body.agentPolicyId]: expected value to be defined but got [undefined]",
    ),
    (
        "POST /api/fleet/package_policies",
        "POST",
        "/api/fleet/package_policies",
        PACKAGE_POLICY,
        with_(PACKAGE_POLICY, "inputs.syslog-udp.enable", True),
        "[request body.inputs.syslog-udp.enable]: definition for this key is missing",
    ),
    (
        "PUT /api/fleet/package_policies/{packagePolicyId}",
        "PUT",
        "/api/fleet/package_policies/pp1",
        PACKAGE_POLICY,
        dict(PACKAGE_POLICY, agents=3),
        "[request body.agents]: definition for this key is missing",
    ),
    (
        "POST /api/fleet/outputs",
        "POST",
        "/api/fleet/outputs",
        OUTPUT,
        dict(OUTPUT, api_key="id:key"),
        "[request body.api_key]: definition for this key is missing",
    ),
    (
        "PUT /api/fleet/outputs/{outputId}",
        "PUT",
        "/api/fleet/outputs/o1",
        {"hosts": ["https://es-1.example.org:9200"]},
        {"type": "elasticsearch", "ssl": {"verification_mode": "maybe"}},
        "[request body.ssl.verification_mode]: [maybe] is not one of",
    ),
    (
        "POST /api/fleet/epm/packages/{pkgName}/{pkgVersion}",
        "POST",
        "/api/fleet/epm/packages/fortinet_fortigate/1.25.6",
        {"force": False},
        {"force": True, "version": "1.25.6"},
        "[request body.version]: definition for this key is missing",
    ),
    (
        "POST /api/fleet/enrollment_api_keys",
        "POST",
        "/api/fleet/enrollment_api_keys",
        {"policy_id": "p", "name": "lab"},
        {"policy_id": "p", "name": "lab", "expiration_days": 30},
        "[request body.expiration_days]: definition for this key is missing",
    ),
]


def call(url: str, method: str, path: str, body: Any, headers: Dict[str, str]) -> Tuple[int, Any]:
    data = json.dumps(body).encode()
    req = urllib.request.Request(
        url + path,
        data=data,
        method=method,
        headers=dict(headers, **{"Content-Type": "application/json"}),
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:  # nosec B310 - loopback fake
            raw = answer.read()
            return answer.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        raw = err.read()
        return err.code, json.loads(raw) if raw else None


@pytest.fixture(scope="module")
def es_server():
    fake = FakeElasticsearch(elastic_password=ELASTIC).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def kibana_server():
    fake = FakeKibana().start()
    yield fake
    fake.stop()


def es_call(es: FakeElasticsearch, method: str, path: str, body: Any) -> Tuple[int, Any]:
    return call(es.url, method, path, body, {"Authorization": BASIC})


def prepare_es(es: FakeElasticsearch, path: str) -> str:
    """Create what the call needs (a user, an API key); the key's id replaces KEYID."""
    if path == "/_security/user/u/_password":
        assert (
            es_call(
                es,
                "PUT",
                "/_security/user/u",
                {"password": "l0ng-enough-VIGIL-MARKER", "roles": []},
            )[0]
            == 200
        )
    if "api_key" in path:
        status, made = es_call(es, "POST", "/_security/api_key", {"name": "k"})
        assert status == 200, made
        return made["id"]
    return ""


def substituted(body: Any, key_id: str) -> Any:
    return json.loads(json.dumps(body).replace("KEYID", key_id)) if key_id else body


@pytest.mark.parametrize(
    "operation,method,path,good,bad,etype,reason",
    ES_CASES,
    ids=[c[0] for c in ES_CASES],
)
def test_elasticsearch_fake_rejects_what_the_specification_rejects(
    es_server, operation, method, path, good, bad, etype, reason
):
    es = es_server.reset()
    key_id = prepare_es(es, path)
    path = path.replace("KEYID", key_id)

    status, answer = es_call(es, method, path, substituted(good, key_id))
    assert es.rejected == [], (status, answer)

    status, answer = es_call(es, method, path, substituted(bad, key_id))
    assert status == 400
    assert answer["status"] == 400
    assert answer["error"]["type"] == etype
    assert reason in answer["error"]["reason"]
    assert answer["error"]["root_cause"][0]["type"] == etype
    assert [op for op, _violation in es.rejected] == [operation]


@pytest.mark.parametrize(
    "operation,method,path,good,bad,message",
    KIBANA_CASES,
    ids=[c[0] for c in KIBANA_CASES],
)
def test_kibana_fake_rejects_what_the_openapi_document_rejects(
    kibana_server, operation, method, path, good, bad, message
):
    kibana = kibana_server.reset()
    headers = {"kbn-xsrf": "true"}

    status, answer = call(kibana.url, method, path, good, headers)
    assert kibana.rejected == [], (status, answer)

    status, answer = call(kibana.url, method, path, bad, headers)
    assert (status, answer["statusCode"], answer["error"]) == (400, 400, "Bad Request")
    assert answer["message"].startswith(message), answer["message"]
    assert [op for op, _violation in kibana.rejected] == [operation]


def test_every_operation_of_the_contracts_has_a_case():
    assert sorted(c[0] for c in ES_CASES) == sorted(ES_SPEC.operations)
    assert sorted(c[0] for c in KIBANA_CASES) == sorted(KIBANA_SPEC.operations)


def test_the_elasticsearch_contract_names_its_source_and_version():
    data = json.loads((SPEC_DIR / "elasticsearch_requests.json").read_text(encoding="utf-8"))
    source = data["source"]
    assert source["repository"] == "https://github.com/elastic/elasticsearch-specification"
    assert len(source["commit"]) == 40
    assert source["license"] == "Apache-2.0"
    assert source["branch"] == ".".join(deployed_elasticsearch_version().split(".")[:2])


def deployed_elasticsearch_version() -> str:
    defaults = ROOT / "roles" / "elasticsearch" / "defaults" / "main.yml"
    return str(yaml.safe_load(defaults.read_text(encoding="utf-8"))["elasticsearch_version"])


def test_kibana_facts_each_say_where_they_were_read():
    for name, entry in KIBANA_SPEC.operations.items():
        assert entry.get("from", "").startswith("operationId "), name


# -- what a module reports when the fake rejects what it sent ------------------------------


def test_a_module_reports_the_400_with_the_reason(run_module):
    es = FakeElasticsearch().start()
    try:
        bad = with_(
            TEMPLATE,
            "template.mappings.properties.source.properties.ip.type",
            "ip_address",
        )
        failure = module_failure(
            run_module,
            elasticsearch_index_template,
            {"url": es.url, "name": "t", "body": bad, "retry_delay": 0},
        )
    finally:
        es.stop()
    assert "returned HTTP 400" in failure["msg"]
    assert "unknown type [ip_address]" in failure["msg"]
    assert "Traceback" not in failure["msg"]


# -- the bodies Vigil ships ---------------------------------------------------------------

GOLDEN_PIPELINES = sorted((ROOT / "tests" / "golden" / "ecs").glob("*.json"))


@pytest.mark.parametrize("path", GOLDEN_PIPELINES, ids=[p.stem for p in GOLDEN_PIPELINES])
def test_every_shipped_ecs_pipeline_is_a_body_the_specification_accepts(path):
    body = json.loads(path.read_text(encoding="utf-8"))

    assert ES_SPEC.check("PUT /_ingest/pipeline/{id}", body) is None
    # The check looks into every processor: one parameter the processor does not have is refused.
    broken = json.loads(json.dumps(body))
    first = broken["processors"][0]
    (kind,) = first
    first[kind]["vigil_unknown_option"] = True
    violation = ES_SPEC.check("PUT /_ingest/pipeline/{id}", broken)
    assert violation is not None and violation.where == "processors[0].%s" % kind
