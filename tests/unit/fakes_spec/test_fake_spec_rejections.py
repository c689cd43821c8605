"""The Elasticsearch and Kibana fakes reject the bodies the vendors' published contracts reject.

One case per endpoint Vigil sends a body to (docs/elastic-modules.md, "What the fakes
enforce"): a body the contract accepts passes the fake's check, the same body with one
defect is answered 400 the way the vendor answers it. The contracts are the data under
tests/standins/spec/ (Elasticsearch: elastic/elasticsearch-specification 8.17;
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
    kibana_rule,
)
from standins.elastic import (
    ES_SPEC,
    KIBANA_SPEC,
    FakeElasticsearch,
    FakeKibana,
    module_failure,
)
from standins.spec_check import SPEC_DIR
from role_values import role_tasks, role_value, task_module_args

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
COMPONENT = {
    "template": {"settings": {"index.lifecycle.name": "p"}, "mappings": {"properties": {"x": {"type": "keyword"}}}},
    "_meta": {"managed_by": "vigil"},
}
REPOSITORY = {"type": "fs", "settings": {"location": "/srv/snapshots/vigil", "compress": True}}
SLM = {
    "name": "<vigil-{now/d}>",
    "schedule": "0 30 1 * * ?",
    "repository": "vigil-snapshots",
    "config": {"indices": ["logs-*"], "include_global_state": False},
    "retention": {"expire_after": "30d", "min_count": 5, "max_count": 50},
}
ROLE = {
    "cluster": ["monitor"],
    "indices": [{"names": ["logs-*"], "privileges": ["read"]}],
}


def with_(body: Dict[str, Any], path: str, value: Any) -> Dict[str, Any]:
    """A copy of ``body`` with ``path`` (dotted; ``[n]`` for a list item: ``a.[0].b``) set to ``value``
    (left out when ``value`` is ``ABSENT``)."""
    out = json.loads(json.dumps(body))
    node: Any = out
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    last = parts[-1]
    key = int(last[1:-1]) if last.startswith("[") else last
    if value is ABSENT:
        del node[key]
    else:
        node[key] = value
    return out


ABSENT = object()


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
        "PUT /_component_template/{name}",
        "PUT",
        "/_component_template/logs-vigil.test@custom",
        COMPONENT,
        dict(COMPONENT, priority=200),  # priority belongs to index templates
        "x_content_parse_exception",
        "unknown field [priority]",
    ),
    (
        "PUT /_snapshot/{repository}",
        "PUT",
        "/_snapshot/vigil-snapshots",
        REPOSITORY,
        {"type": "fs", "settings": {"compress": True}},  # a shared file system repository needs its location
        "x_content_parse_exception",
        "required property [location] is missing",
    ),
    (
        "PUT /_slm/policy/{policy_id}",
        "PUT",
        "/_slm/policy/vigil-nightly",
        SLM,
        with_(SLM, "retention.max_count", "fifty"),
        "x_content_parse_exception",
        "[retention.max_count] expected number, got string",
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
CONNECTOR_ID = "2b7c3a10-9a7e-4a55-8d8e-0f5b7d1c2e33"
# An indicator match rule as kibana_rule sends it (POST creates, PUT replaces; rule_id names it).
DETECTION_RULE = {
    "rule_id": "vigil-spec-c2",
    "type": "threat_match",
    "name": "Allowed connection to a known C2 address",
    "description": "d",
    "severity": "critical",
    "risk_score": 99,
    "index": ["logs-vigil.pfsense_filterlog-*"],
    "query": "event.outcome:success and destination.ip:*",
    "language": "kuery",
    "threat_index": ["logs-ti_custom_opencti.indicator*"],
    "threat_query": "threat.indicator.type:ipv4-addr",
    "threat_language": "kuery",
    "threat_mapping": [{"entries": [{"field": "destination.ip", "type": "mapping", "value": "threat.indicator.ip"}]}],
    "threat_indicator_path": "threat.indicator",
    "from": "now-10m",
    "interval": "5m",
    "tags": ["vigil"],
    "enabled": True,
    "actions": [
        {
            "group": "default",
            "id": CONNECTOR_ID,
            "params": {"body": "[]"},
            "action_type_id": ".webhook",
            "frequency": {"summary": False, "notifyWhen": "onActiveAlert", "throttle": None},
        }
    ],
}
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
    (
        "POST /api/detection_engine/rules",
        "POST",
        "/api/detection_engine/rules",
        DETECTION_RULE,
        dict(DETECTION_RULE, risk_score=101),
        "[request body]: risk_score: Number must be less than or equal to 100",
    ),
    (
        "PUT /api/detection_engine/rules",
        "PUT",
        "/api/detection_engine/rules",
        DETECTION_RULE,
        with_(DETECTION_RULE, "threat_mapping.[0].entries.[0].type", "equals"),
        '[request body]: threat_mapping.0.entries.0.type: Invalid literal value, expected "mapping"',
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
    """Create what the call needs (a user, an API key, path.repo, a repository); the key's id replaces KEYID."""
    es.path_repo = ["/srv/snapshots"]
    if path.startswith("/_slm/"):
        assert es_call(es, "PUT", "/_snapshot/vigil-snapshots", REPOSITORY)[0] == 200
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
    if operation == "PUT /api/detection_engine/rules":
        assert call(kibana.url, "POST", path, good, headers)[0] == 200

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
    """elasticsearch_version as the role resolves it (from _elastic_common's one stack version)."""
    common = ROOT / "roles" / "_elastic_common" / "defaults" / "main.yml"
    stack = yaml.safe_load(common.read_text(encoding="utf-8"))
    return str(role_value("elasticsearch", "{{ elasticsearch_version }}", stack))


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


# -- detection engine rules (POST creates, PUT replaces) ----------------------------------------

DETECTION_PATH = "/api/detection_engine/rules"
KBN = {"kbn-xsrf": "true"}
DETECTION_TYPES = ("eql", "query", "saved_query", "threshold", "threat_match", "machine_learning", "new_terms", "esql")
RULE_TYPES = " | ".join("'%s'" % t for t in DETECTION_TYPES)
# (where, value or ABSENT, Kibana's answer): one defect each in DETECTION_RULE.
DETECTION_DEFECTS = [
    ("type", "indicator_match", "type: Invalid discriminator value. Expected " + RULE_TYPES),
    ("type", ABSENT, "type: Invalid discriminator value. Expected " + RULE_TYPES),
    ("name", "", "name: String must contain at least 1 character(s)"),
    ("description", ABSENT, "description: Required"),
    (
        "severity",
        "urgent",
        "severity: Invalid enum value. Expected 'low' | 'medium' | 'high' | 'critical', received 'urgent'",
    ),
    ("risk_score", -1, "risk_score: Number must be greater than or equal to 0"),
    ("risk_score", 99.5, "risk_score: Expected integer, received float"),
    ("risk_score", "99", "risk_score: Expected integer, received string"),
    ("max_signals", 0, "max_signals: Number must be greater than or equal to 1"),
    ("language", "kql", "language: Invalid enum value. Expected 'kuery' | 'lucene', received 'kql'"),
    ("threat_query", ABSENT, "threat_query: Required"),
    ("threat_index", "logs-ti*", "threat_index: Expected array, received string"),
    ("threat_mapping", [], "threat_mapping: Array must contain at least 1 element(s)"),
    ("threat_mapping.[0].entries.[0].value", " ", "threat_mapping.0.entries.0.value: No empty strings allowed"),
    ("actions.[0].action_type_id", ABSENT, "actions.0.action_type_id: Required"),
    (
        "actions.[0].frequency.notifyWhen",
        "onEveryRun",
        "actions.0.frequency.notifyWhen: Invalid enum value. Expected 'onActiveAlert' | 'onThrottleInterval' | "
        "'onActionGroupChange', received 'onEveryRun'",
    ),
    ("actions.[0].frequency.throttle", ABSENT, "actions.0.frequency.throttle: Required"),
]


@pytest.mark.parametrize("method", ["POST", "PUT"])
@pytest.mark.parametrize(
    "where,value,message",
    DETECTION_DEFECTS,
    ids=["%s=%s" % (d[0], "absent" if d[1] is ABSENT else d[1]) for d in DETECTION_DEFECTS],
)
def test_detection_rule_with_one_defect_is_refused_as_kibana_refuses_it(kibana_server, method, where, value, message):
    kibana = kibana_server.reset()
    assert call(kibana.url, "POST", DETECTION_PATH, DETECTION_RULE, KBN)[0] == 200  # the good body, created
    if method == "POST":
        kibana.reset()

    status, answer = call(kibana.url, method, DETECTION_PATH, with_(DETECTION_RULE, where, value), KBN)

    kibana_400 = {"statusCode": 400, "error": "Bad Request", "message": "[request body]: " + message}
    assert (status, answer) == (400, kibana_400)
    assert [op for op, _violation in kibana.rejected] == ["%s %s" % (method, DETECTION_PATH)]


def test_detection_rule_update_by_id_keeps_the_rule_and_an_id_must_be_a_uuid(kibana_server):
    kibana = kibana_server.reset()
    status, created = call(kibana.url, "POST", DETECTION_PATH, DETECTION_RULE, KBN)
    assert status == 200
    by_id = dict({k: v for k, v in DETECTION_RULE.items() if k != "rule_id"}, id=created["id"], severity="high")

    status, updated = call(kibana.url, "PUT", DETECTION_PATH, by_id, KBN)

    assert status == 200, updated
    assert (updated["rule_id"], updated["severity"], updated["revision"]) == ("vigil-spec-c2", "high", 1)
    status, answer = call(kibana.url, "PUT", DETECTION_PATH, dict(by_id, id="vigil-spec-c2"), KBN)
    assert (status, answer["message"]) == (400, "[request body]: id: Invalid uuid")


@pytest.mark.parametrize(
    "ids,reason",
    [
        ({}, 'either "id" or "rule_id" must be set'),
        ({"id": "0d4e5a3c-93a6-4a4e-8a3b-2f9c3e3b6a11", "rule_id": "vigil-spec-c2"},
         'both "id" and "rule_id" cannot exist, choose one or the other'),
    ],
    ids=["neither", "both"],
)
def test_detection_rule_update_needs_exactly_one_of_rule_id_and_id(kibana_server, ids, reason):
    kibana = kibana_server.reset()
    assert call(kibana.url, "POST", DETECTION_PATH, DETECTION_RULE, KBN)[0] == 200
    body = dict({k: v for k, v in DETECTION_RULE.items() if k != "rule_id"}, **ids)

    status, answer = call(kibana.url, "PUT", DETECTION_PATH, body, KBN)

    # The update route's own check after validation: Kibana's security solution error shape.
    assert (status, answer) == (400, {"message": [reason], "status_code": 400})
    assert kibana.detection[("default", "vigil-spec-c2")]["revision"] == 0


BASE = {"name": "n", "description": "d", "severity": "low", "risk_score": 21}
# The smallest body of each rule type the contract accepts, and one it refuses.
RULE_TYPE_BODIES = [
    ({"type": "query"}, {"type": "query", "language": "eql"}),
    ({"type": "saved_query", "saved_id": "s"}, {"type": "saved_query"}),
    ({"type": "eql", "query": "any where true", "language": "eql"}, {"type": "eql", "query": "q", "language": "kuery"}),
    ({"type": "esql", "query": "FROM logs-* | LIMIT 1", "language": "esql"}, {"type": "esql", "query": "FROM x"}),
    (
        {"type": "threshold", "query": "*", "threshold": {"field": ["source.ip"], "value": 10}},
        {"type": "threshold", "query": "*", "threshold": {"field": "source.ip", "value": 0}},
    ),
    (
        {"type": "machine_learning", "machine_learning_job_id": ["j"], "anomaly_threshold": 75},
        {"type": "machine_learning", "machine_learning_job_id": [], "anomaly_threshold": 75},
    ),
    (
        {"type": "new_terms", "query": "*", "new_terms_fields": ["host.name"], "history_window_start": "now-7d"},
        {"type": "new_terms", "query": "*", "new_terms_fields": ["a", "b", "c", "d"], "history_window_start": "now-7d"},
    ),
]


@pytest.mark.parametrize("good,bad", RULE_TYPE_BODIES, ids=[g["type"] for g, _b in RULE_TYPE_BODIES])
def test_every_detection_rule_type_has_its_contract(good, bad):
    for operation in ("POST /api/detection_engine/rules", "PUT /api/detection_engine/rules"):
        assert KIBANA_SPEC.check(operation, dict(BASE, rule_id="r", **good)) is None
        assert KIBANA_SPEC.check(operation, dict(BASE, rule_id="r", **bad)) is not None


# -- the detection rules Vigil ships ----------------------------------------------------------

C2_RULE_TASK = ("opencti", "correlation.yml", "Write the indicator match rule (allowed traffic to a known C2 address)")


def test_the_c2_rule_is_the_only_detection_rule_vigil_ships():
    """A new siem.* kibana_rule task in a role must get its own body check below."""
    found = []
    for role in sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "tasks").is_dir()):
        for tasks_file, task, _scope in role_tasks(role):
            rule_type = str((task.get("vigil.monitoring.kibana_rule") or {}).get("rule_type_id", ""))
            if rule_type.startswith("siem.") or "{{" in rule_type:
                found.append((role, tasks_file, task["name"]))
    assert found == [C2_RULE_TASK]


def test_the_c2_indicator_match_rule_vigil_sends_is_a_body_the_contract_accepts(run_module, kibana_server):
    kibana = kibana_server.reset()
    connector = role_value("opencti", "{{ opencti_alertmanager_connector_id }}")
    kibana.store_connector(("default", connector), ".webhook",
                           {"name": "Vigil Alertmanager", "config": {"url": "http://127.0.0.1:9093/api/v2/alerts"}})
    # The task's arguments as the play passes them (role defaults and vars, block vars).
    role, tasks_file, task_name = C2_RULE_TASK
    args = task_module_args(role, tasks_file, task_name, "vigil.monitoring.kibana_rule",
                            {"opencti_kibana_url": kibana.url, "opencti_kibana_api_key": "VIGIL-MARKER-spec-key"})
    assert args["rule_type_id"] == "siem.indicatorRule"

    created = run_module(kibana_rule, dict(args, retry_delay=0))
    updated = run_module(kibana_rule, dict(args, enabled=not args["enabled"], retry_delay=0))

    assert created["changed"] and updated["changed"]
    writes = kibana.writes()
    assert [(r.method, r.path) for r in writes] == [("POST", DETECTION_PATH), ("PUT", DETECTION_PATH)]
    assert kibana.rejected == []
    for request in writes:
        operation = "%s %s" % (request.method, DETECTION_PATH)
        assert request.body["type"] == "threat_match" and request.body["actions"]
        assert KIBANA_SPEC.check(operation, request.body) is None
        # The check reaches into what Vigil sends: its own threat mapping, one defect, is refused.
        broken = with_(request.body, "threat_mapping.[0].entries.[0].type", "match")
        assert KIBANA_SPEC.check(operation, broken).where == "threat_mapping[0].entries[0].type"
