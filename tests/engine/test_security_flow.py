# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The seed's security flow, end to end: a firewall line to a page, on a real engine and a real Alertmanager.

The flow (docs/logs.md, "The security flow, end to end"):

1. a firewall line of each shipped firewall vendor (FortiGate, pfSense) is indexed through
   Vigil's ingest pipeline for that vendor (the body the ecs_pipelines role uploads, less
   only the harness's documented ``_meta`` translation) into its data stream
   ``logs-vigil.<vendor>-default``, created by Vigil's ``vigil-logs-vigil.<vendor>`` index
   template composing the dataset's ``logs-vigil.<vendor>@custom`` hook of the firewall
   retention (less what only Elasticsearch has: ILM, its built-in component templates);
2. the threat-intel indicators are written as the OpenCTI elastic-security-intel connector
   writes them (its index template facts, its ECS ``threat.indicator.*`` documents, into
   ``logs-ti_custom_opencti.indicator``);
3. the C2 correlation rule exactly as the opencti role provisions it (KQL query, threat
   query, threat mapping, lookback) runs on the engine through the translation of Kibana's
   indicator match into searches (``security_flow.translate_indicator_match_rule_to_searches``,
   tested on its own below) and finds the allowed connections to indicator addresses, and
   nothing else;
4. a stand-in for Kibana's task scheduler renders the rule's webhook action (the body
   template ``kibana_rule`` provisions) with mustache as Kibana does and POSTs it to a real
   Alertmanager (Debian's prometheus-alertmanager on loopback) configured with the routing
   Vigil renders for the lab's catalog and teams, whose receivers are a loopback recorder;
5. the security team's pager receives the alert, with the labels a user sees, within a
   measured time; a line to a clean address pages nobody. The same for "Firewall logs
   stopped" (an ``.es-query`` rule: its own DSL, its window, its threshold), which pages infra.

Real here: the pipelines, the engine's ingest, data streams, mappings and searches, the
rules' queries and thresholds, the action body templates, the Alertmanager configuration
and Alertmanager itself. Stood in: Kibana's scheduler and rule executors (which actions run
when, the KQL-to-DSL step, indicator match as two searches), Elastic Agent (the test
indexes each line with the pipeline the agent would name), Elasticsearch's built-in ECS
component templates (a small mapping with the same types for the fields the rules read),
the receivers' pagers (the recorder). Not proven: what Elasticsearch 8 or Kibana themselves
do with these (OpenSearch forked at 7.10; no Kibana runs here), the rule intervals
(the runs are driven by the test at chosen dates), TLS and authentication on the way.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import shutil
import time
import urllib.parse
import uuid

import pytest

from ansible_collections.vigil.monitoring.plugins.filter import ecs_pipeline as ep

from alerting.alertmanager_process import Recorder, running_alertmanager
from engine_control import SESSION_NOTES, EngineClient, EngineError, engine_required
from standins.kibana_actions import iso
from pipeline_harness import engine_body, load_field_map
from security_flow import (
    KibanaSchedulerStandIn,
    lab_alertmanager_config,
    provisioned_c2_rule,
    provisioned_log_rule,
    role_value,
    translate_indicator_match_rule_to_searches,
    translate_kuery,
)

FIREWALLS = ("fortinet_fortigate", "pfsense_filterlog")
TI_INDEX = "logs-ti_custom_opencti.indicator"
# addresses: documentation ranges (RFC 5737, RFC 3849)
C2_IPV4 = "203.0.113.66"
C2_IPV6_AS_LISTED = "2001:DB8:C2::66"  # as an analyst typed it into OpenCTI
C2_IPV6_AS_LOGGED = "2001:db8:c2::66"  # as pfSense logs it
CLEAN_IPV4 = "192.0.2.53"
INTERNAL_IPV4 = "198.51.100.20"
INTERNAL_IPV6 = "2001:db8:1::10"
# Alertmanager's pager group_wait in Vigil's routing is 10 s; the rest is margin for a loaded
# 2-core CI machine. The wait is bounded by this.
PAGE_WITHIN_S = 60.0
ENGINE_TIMEOUT_S = 120.0


# --------------------------------------------------------------------------- lines, as the firewalls send them


def fortigate_line(when: dt.datetime, dst: str, action: str = "accept") -> str:
    """A FortiOS 7 traffic log (0000000013, forward) sent by syslog, time in UTC."""
    when = when.astimezone(dt.timezone.utc)
    return ('<189>date=%s time=%s devname="FGT-EDGE-01" devid="FGT60FTK0000001" eventtime=%d tz="+0000" '
            'logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=%s srcport=51234 '
            'srcintf="internal" srcintfrole="lan" dstip=%s dstport=443 dstintf="wan1" dstintfrole="wan" '
            'sessionid=123456 proto=6 action="%s" policyid=%d policytype="policy" service="HTTPS" trandisp="snat" '
            'duration=12 sentbyte=1024 rcvdbyte=4096 sentpkt=10 rcvdpkt=12 appcat="unscanned"'
            % (when.strftime("%Y-%m-%d"), when.strftime("%H:%M:%S"), int(when.timestamp()) * 10**9,
               INTERNAL_IPV4, dst, action, 12 if action == "accept" else 0))


def pfsense_line(when: dt.datetime, dst: str, action: str = "pass") -> str:
    """A pfSense 2.6+ filterlog record in RFC 5424 syslog: outbound TCP (IPv6) or UDP (IPv4)."""
    stamp = when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    head = "<134>1 %s fw01 filterlog 4321 - - " % stamp
    if ":" in dst:
        return head + ("12,,,1000000110,igb0,match,%s,out,6,0x00,0x00000,64,tcp,6,40,%s,%s,40022,443,0,S,1234567,,"
                       "64800,,mss" % (action, INTERNAL_IPV6, dst))
    return head + ("7,,,1000000105,igb0,match,%s,out,4,0x0,,63,12345,0,none,17,udp,72,%s,%s,53000,53,52"
                   % (action, INTERNAL_IPV4, dst))


LINES = {"fortinet_fortigate": fortigate_line, "pfsense_filterlog": pfsense_line}


def stream(vendor: str) -> str:
    return "logs-vigil.%s-default" % vendor


# --------------------------------------------------------------------------- fixtures


# The lab's agents ship the firewall lines with Vigil's pipelines into logs-vigil.<vendor>-*:
# data streams Vigil owns, so the role writes an index template for each (and its @custom hook).
FIREWALL_AGENT_POLICIES = [{"id": "edge", "inputs": [{"id": v, "dataset": "vigil.%s" % v, "retention": "firewall"}
                                                     for v in FIREWALLS]}]


def firewall_templates() -> dict:
    """Vigil's retention for the firewall logs (elasticsearch role), for OpenSearch:
    {"components": {name: body}, "templates": {dataset: (name, body)}}."""
    retention = role_value("elasticsearch", "{{ _elasticsearch_retention }}",
                           {"groups": {}, "hostvars": {}, "elasticsearch_retention_agent_policies": FIREWALL_AGENT_POLICIES})
    components = {}
    for component in retention["component_templates"]:
        if component["retention"] == "firewall" and component["dataset"].startswith("vigil."):
            body = copy.deepcopy(component["body"])
            body["template"]["settings"].pop("index.lifecycle.name")  # ILM: Elasticsearch only (OpenSearch has ISM)
            components[component["name"]] = body
    templates = {}
    for template in retention["index_templates"]:
        if template["retention"] != "firewall":
            continue
        body = copy.deepcopy(template["body"])
        # Elasticsearch only: its built-in component templates (logs@mappings, ecs@mappings...), the type-wide
        # logs@custom hook nobody wrote here, and ignore_missing_component_templates (8.7+). The dataset's own
        # @custom hook stays: OpenSearch composes it as Elasticsearch does.
        body["composed_of"] = [c for c in body["composed_of"] if c in components]
        body.pop("ignore_missing_component_templates")
        # Stand-in for ecs@mappings / logs@mappings: the types they give the fields the rules read
        # (strings keyword, *.ip ip, @timestamp date).
        body["template"] = {"mappings": {
            "dynamic_templates": [
                # one pattern each: OpenSearch 2.19 takes no list in path_match (Elasticsearch 8.9+ does)
                {"ecs_ip": {"path_match": "*.ip", "match_mapping_type": "string", "mapping": {"type": "ip"}}},
                {"ecs_message": {"path_match": "message", "mapping": {"type": "text"}}},
                {"ecs_event_original": {"path_match": "event.original",
                                        "mapping": {"type": "keyword", "index": False, "doc_values": False}}},
                {"strings_as_keyword": {"match_mapping_type": "string",
                                        "mapping": {"type": "keyword", "ignore_above": 1024}}},
            ],
            "properties": {"@timestamp": {"type": "date"}},
        }}
        templates[template["dataset"]] = (template["name"], body)
    return {"components": components, "templates": templates}


# What the OpenCTI elastic-security-intel connector PUTs as _index_template/logs-ti_custom_opencti
# before writing (its setup_index_template): the settings and the mappings of the fields used here.
CONNECTOR_TEMPLATE = {
    "index_patterns": ["logs-ti_custom_opencti.*"],
    "data_stream": {},
    "priority": 500,
    "template": {
        "settings": {"index": {"number_of_shards": 1, "number_of_replicas": 1, "refresh_interval": "5s"}},
        "mappings": {"properties": {
            "@timestamp": {"type": "date"},
            "event": {"properties": {k: {"type": "keyword"} for k in ("kind", "category", "type", "module", "dataset")}},
            "threat": {"properties": {
                "indicator": {"properties": {
                    "type": {"type": "keyword"}, "name": {"type": "keyword"}, "ip": {"type": "ip"},
                    "confidence": {"type": "long"}, "first_seen": {"type": "date"}, "last_seen": {"type": "date"},
                    "modified_at": {"type": "date"}, "reference": {"type": "keyword"}, "provider": {"type": "keyword"},
                    "url": {"properties": {"domain": {"type": "keyword"}}},
                    "marking": {"properties": {"tlp": {"type": "keyword"}}}}},
                "feed": {"properties": {"name": {"type": "keyword"}, "reference": {"type": "keyword"}}}}},
            "related": {"properties": {"ip": {"type": "ip"}, "hosts": {"type": "keyword"}}},
        }},
    },
}


def connector_document(value: str, kind: str) -> dict:
    """An indicator as the connector writes it (its _convert_to_ecs_threat for an observable)."""
    opencti_id = "indicator--%s" % uuid.uuid5(uuid.NAMESPACE_URL, value)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat()  # the connector's utcnow().isoformat()
    indicator = {"type": kind, "name": value, "confidence": 90, "first_seen": now, "last_seen": now,
                 "modified_at": now, "sightings": 90, "reference": "https://opencti.example.org/dashboard/id/" + opencti_id,
                 "provider": ["OpenCTI"], "marking": {"tlp": "WHITE"}}
    document = {
        "@timestamp": now,
        "event": {"kind": "enrichment", "category": ["threat"], "type": ["indicator"], "created": now,
                  "module": "ti_opencti", "dataset": "ti_opencti.indicator", "ingested": now},
        "threat": {"indicator": indicator,
                   "feed": {"name": "OpenCTI", "reference": "https://github.com/OpenCTI-Platform/opencti"}},
        "data_stream": {"dataset": "ti_opencti.indicator", "namespace": "default", "type": "logs"},
        "opencti_doc_id": hashlib.sha256(opencti_id.encode()).hexdigest(),
    }
    if kind in ("ipv4-addr", "ipv6-addr"):
        indicator["ip"] = [value]
        document["related"] = {"ip": [value]}
    else:
        indicator["url"] = {"domain": value}
        document["related"] = {"hosts": [value]}
    return document


INDICATORS = ((C2_IPV4, "ipv4-addr"), (C2_IPV6_AS_LISTED, "ipv6-addr"), ("update-check.example.net", "domain-name"))


@pytest.fixture(scope="module")
def flow_engine(engine):
    """The session's engine, with a longer timeout: each test changes the cluster state (templates,
    pipelines, data streams), which a 2-core machine under a full CI run can take many seconds to write."""
    return EngineClient(engine.url, timeout=ENGINE_TIMEOUT_S)


@pytest.fixture(scope="module")
def engine_setup(flow_engine):
    """Vigil's firewall template and pipelines, and the connector's template, on the engine."""
    engine = flow_engine
    started = time.monotonic()
    retention = firewall_templates()
    for name, body in retention["components"].items():
        engine.request("PUT", "/_component_template/%s" % name, body)
    for name, body in retention["templates"].values():
        engine.request("PUT", "/_index_template/%s" % name, body)
    engine.request("PUT", "/_index_template/logs-ti_custom_opencti", CONNECTOR_TEMPLATE)
    pipelines = {}
    for vendor in FIREWALLS:
        pipeline, pipeline_body, _applied = engine_body(load_field_map(vendor))
        engine.put_pipeline(pipeline, pipeline_body)
        pipelines[vendor] = pipeline
    yield pipelines
    _drop_streams(engine)
    for pipeline in pipelines.values():
        engine.delete_pipeline(pipeline)
    for template in [name for name, _body in retention["templates"].values()] + ["logs-ti_custom_opencti"]:
        engine.request("DELETE", "/_index_template/%s" % template, expected=(200, 404))
    for component in retention["components"]:
        engine.request("DELETE", "/_component_template/%s" % component, expected=(200, 404))
    SESSION_NOTES.append("engine: security flow module ran in %.1f s" % (time.monotonic() - started))


def _drop_streams(engine) -> None:
    for pattern in ("logs-vigil.*", TI_INDEX + "*"):
        engine.request("DELETE", "/_data_stream/%s" % pattern, expected=(200, 404))


@pytest.fixture
def flow(flow_engine, engine_setup):
    """New data streams for each test (the engine has no _delete_by_query: no reindex module);
    returns a small API over the engine for the test."""
    _drop_streams(flow_engine)
    yield Flow(flow_engine, engine_setup)


class Flow:
    def __init__(self, engine, pipelines):
        self.engine = engine
        self.pipelines = pipelines

    def ship(self, vendor: str, line: str) -> dict:
        """What Elastic Agent does with a line: index it into the vendor's data stream through the
        pipeline its input names; returns the stored document."""
        field_map = load_field_map(vendor)
        source: dict = {}
        ep._put(source, str(field_map.get("source_field", ep.DEFAULT_SOURCE_FIELD)), line)  # pylint: disable=protected-access
        answer = self.engine.request(
            "POST", "/%s/_doc?refresh=true&pipeline=%s" % (stream(vendor), urllib.parse.quote(self.pipelines[vendor])),
            source, expected=(201,))
        stored = self.engine.request("GET", "/%s/_doc/%s" % (answer["_index"], answer["_id"]))
        assert answer["_index"].startswith(".ds-%s-" % stream(vendor)), answer  # a data stream's backing index
        return stored["_source"]

    def list_indicators(self) -> None:
        for value, kind in INDICATORS:
            self.engine.request("POST", "/%s/_doc?refresh=true" % TI_INDEX, connector_document(value, kind),
                                expected=(201,))


@pytest.fixture(scope="module")
def paging(tmp_path_factory):
    """A real Alertmanager on loopback with the lab's routing, its receivers a loopback recorder; one
    for the module (each test posts its own alertname and reads only what arrived after it started)."""
    if not (shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")) and engine_required():
        pytest.fail("Alertmanager is required here (CI or VIGIL_REQUIRE_ENGINE=1): apt-get install "
                    "prometheus-alertmanager (scripts/host-tools.sh)", pytrace=False)
    recorder = Recorder().start()
    try:
        with running_alertmanager(lab_alertmanager_config(recorder.url), tmp_path_factory.mktemp("am")) as alertmanager:
            yield alertmanager, recorder
    finally:
        recorder.stop()


def wait_for_page(recorder, path: str, alertname: str, since: float) -> dict:
    """The first notification of ``alertname`` on ``path`` (bounded by PAGE_WITHIN_S after ``since``)."""
    deadline = since + PAGE_WITHIN_S
    while time.monotonic() < deadline:
        found = recorder.notifications(path, alertname)
        if found:
            return found[0]
        time.sleep(0.2)
    seen = sorted({record["path"] for record in recorder.records})
    raise AssertionError("no %s notification on %s within %.0f s (receivers notified: %s)"
                         % (alertname, path, PAGE_WITHIN_S, seen or "none"))


def receivers_since(recorder, since: float) -> set:
    """The receiver paths notified since ``since`` (monotonic)."""
    with recorder.lock:
        return {record["path"] for record in recorder.records if record["time"] >= since}


# --------------------------------------------------------------------------- the translations, on their own


def test_kuery_translation_of_the_shipped_queries():
    rule = provisioned_c2_rule()["detection"]
    assert translate_kuery(rule["query"]) == {"bool": {"filter": [
        {"match": {"event.outcome": "success"}},
        {"match": {"event.type": "allowed"}},
        {"exists": {"field": "destination.ip"}},
    ]}}
    assert translate_kuery(rule["threat_query"]) == {"bool": {"should": [
        {"match_phrase": {"threat.indicator.type": "ipv4-addr"}},
        {"match_phrase": {"threat.indicator.type": "ipv6-addr"}},
    ], "minimum_should_match": 1}}
    assert translate_kuery('not (a:1 OR b:"x y") and c:*') == {"bool": {"filter": [
        {"bool": {"must_not": [{"bool": {"should": [{"match": {"a": "1"}}, {"match_phrase": {"b": "x y"}}],
                                         "minimum_should_match": 1}}]}},
        {"exists": {"field": "c"}},
    ]}}


@pytest.mark.parametrize("query", ["destination.ip:203.0.113.*", "a:1 and", "a:(1 or", "event.outcome"])
def test_kuery_translation_refuses_what_it_does_not_translate(query):
    with pytest.raises(ValueError, match="KQL"):
        translate_kuery(query)


def test_indicator_match_translation_on_its_own(flow_engine):
    """Items OR-ed, entries AND-ed, the rule's query and window applied, indicators filtered by
    the threat query; each match names the indicator document that matched."""
    engine = flow_engine
    now = dt.datetime.now(dt.timezone.utc)
    events, indicators = "vigil-translation-events", "vigil-translation-indicators"
    try:
        engine.request("PUT", "/" + events, {"mappings": {"properties": {
            "@timestamp": {"type": "date"}, "destination.ip": {"type": "ip"}, "destination.port": {"type": "long"},
            "event.outcome": {"type": "keyword"}, "event.type": {"type": "keyword"}}}})
        engine.request("PUT", "/" + indicators, {"mappings": {"properties": {
            "threat.indicator.ip": {"type": "ip"}, "threat.indicator.port": {"type": "long"},
            "threat.indicator.type": {"type": "keyword"}}}})
        docs = {
            "match": (now, "203.0.113.1", 443, "success", ["allowed"]),
            "denied": (now, "203.0.113.1", 443, "failure", ["denied"]),
            "too-old": (now - dt.timedelta(minutes=11), "203.0.113.1", 443, "success", ["allowed"]),
            "port-only": (now, "192.0.2.1", 8443, "success", ["allowed"]),
            "ip-and-port": (now, "192.0.2.2", 8443, "success", ["allowed"]),
            "domain-indicator-ip": (now, "192.0.2.3", 443, "success", ["allowed"]),
        }
        for doc_id, (when, ip, port, outcome, types) in docs.items():
            engine.request("PUT", "/%s/_doc/%s" % (events, doc_id), {
                "@timestamp": iso(when), "destination": {"ip": ip, "port": port},
                "event": {"outcome": outcome, "type": types}}, expected=(201,))
        for doc_id, indicator in {"ip1": {"type": "ipv4-addr", "ip": ["203.0.113.1"]},
                                  "ip-port": {"type": "ipv4-addr", "ip": ["192.0.2.2"], "port": [8443]},
                                  "domain": {"type": "domain-name", "ip": ["192.0.2.3"]}}.items():
            engine.request("PUT", "/%s/_doc/%s" % (indicators, doc_id), {"threat": {"indicator": indicator}},
                           expected=(201,))
        engine.request("POST", "/%s,%s/_refresh" % (events, indicators))
        detection = dict(provisioned_c2_rule()["detection"], index=[events], threat_index=[indicators])
        detection["threat_mapping"] = [
            {"entries": [{"field": "destination.ip", "type": "mapping", "value": "threat.indicator.ip"}]},
            {"entries": [{"field": "destination.ip", "type": "mapping", "value": "threat.indicator.ip"},
                         {"field": "destination.port", "type": "mapping", "value": "threat.indicator.port"}]},
        ]
        hits = translate_indicator_match_rule_to_searches(engine, detection, now)
        found = {hit["_id"]: sorted(hit.get("matched_queries", [])) for hit in hits}
        assert found == {
            "match": ["%s/ip1#0" % indicators],
            "ip-and-port": ["%s/ip-port#0" % indicators, "%s/ip-port#1" % indicators],
        }
        # the second item alone (both entries): the address matches, the port must too
        detection["threat_mapping"] = detection["threat_mapping"][1:]
        assert [hit["_id"] for hit in translate_indicator_match_rule_to_searches(engine, detection, now)] == ["ip-and-port"]
    finally:
        engine.request("DELETE", "/%s,%s" % (events, indicators), expected=(200, 404))


# --------------------------------------------------------------------------- the flow


def test_allowed_connection_to_a_c2_address_pages_the_security_team(flow, paging):
    alertmanager, recorder = paging
    since = time.monotonic()
    rule = provisioned_c2_rule()
    now = dt.datetime.now(dt.timezone.utc)
    flow.list_indicators()
    shipped = {
        ("fortinet_fortigate", "c2"): flow.ship("fortinet_fortigate", fortigate_line(now - dt.timedelta(minutes=2), C2_IPV4)),
        ("fortinet_fortigate", "denied-c2"): flow.ship(
            "fortinet_fortigate", fortigate_line(now - dt.timedelta(minutes=2), C2_IPV4, action="deny")),
        ("fortinet_fortigate", "clean"): flow.ship("fortinet_fortigate", fortigate_line(now - dt.timedelta(minutes=1), CLEAN_IPV4)),
        ("pfsense_filterlog", "c2"): flow.ship("pfsense_filterlog", pfsense_line(now - dt.timedelta(minutes=2), C2_IPV6_AS_LOGGED)),
        ("pfsense_filterlog", "clean"): flow.ship("pfsense_filterlog", pfsense_line(now - dt.timedelta(minutes=1), CLEAN_IPV4)),
    }
    # 1. each line went through the vendor's pipeline: ECS documents in the data streams
    for (vendor, kind), doc in shipped.items():
        assert doc.get("event", {}).get("kind") == "event", (vendor, kind, doc)
        allowed = kind != "denied-c2"
        assert doc["event"]["outcome"] == ("success" if allowed else "failure"), (vendor, kind, doc["event"])
        assert ("allowed" if allowed else "denied") in doc["event"]["type"], (vendor, kind, doc["event"])
    # 2. the rule run finds the allowed connections to C2 addresses, of both vendors, and nothing else
    scheduler = KibanaSchedulerStandIn(flow.engine, alertmanager.url + "/api/v2/alerts")
    # the run's date is when it starts (Kibana's {{date}}, the alert's startsAt): Alertmanager holds a
    # new group group_wait after startsAt, so an older date would be paged at once
    started, run_at = time.monotonic(), dt.datetime.now(dt.timezone.utc)
    hits = scheduler.run_detection_rule(rule, run_at)
    searched = time.monotonic()
    matched = sorted((next(v for v in FIREWALLS if stream(v) in hit["_index"]), hit["_source"]["destination"]["ip"])
                     for hit in hits)
    assert matched == [("fortinet_fortigate", C2_IPV4), ("pfsense_filterlog", C2_IPV6_AS_LOGGED)]
    # 3. one webhook POST (a detection rule's summary action), accepted by Alertmanager
    assert len(scheduler.posts) == 1
    posted = json.loads(scheduler.posts[0][1])
    assert posted[0]["labels"] == {"alertname": "ThreatIntelC2Connection", "severity": "critical",
                                   "team": "security", "source": "kibana"}
    # 4. Alertmanager pages the security team, and nobody else
    page = wait_for_page(recorder, "/security-pager", "ThreatIntelC2Connection", started)
    elapsed = page["time"] - started
    SESSION_NOTES.append("security flow: C2 line -> security pager in %.1f s (rule searches %.2f s; Alertmanager's "
                         "pager group_wait is 10 s)" % (elapsed, searched - started))
    print("C2 line to security pager: %.1f s" % elapsed)
    (alert,) = page["body"]["alerts"]
    assert alert["status"] == "firing"
    assert alert["labels"] == {"alertname": "ThreatIntelC2Connection", "severity": "critical", "team": "security",
                               "source": "kibana"}
    assert alert["annotations"]["summary"] == "Allowed connection to a C2 address listed in OpenCTI"
    assert alert["annotations"]["description"] == rule["annotations"]["description"]
    assert alert["generatorURL"].endswith("/app/security/detections/rules/id/%s" % rule["id"])
    # the webhook shows no endsAt for a firing alert; Alertmanager's API shows the one posted
    (stored,) = alertmanager.alerts("ThreatIntelC2Connection")
    ends = dt.datetime.fromisoformat(stored["endsAt"].replace("Z", "+00:00"))
    assert abs((ends - run_at).total_seconds() - 3600) < 1, stored["endsAt"]  # the rule's alert_window, 1h
    assert receivers_since(recorder, since) == {"/security-pager"}


def test_allowed_connections_to_clean_addresses_page_nobody(flow, paging):
    alertmanager, recorder = paging
    since = time.monotonic()
    now = dt.datetime.now(dt.timezone.utc)
    flow.list_indicators()
    for vendor in FIREWALLS:
        doc = flow.ship(vendor, LINES[vendor](now - dt.timedelta(minutes=1), CLEAN_IPV4))
        assert doc["event"]["outcome"] == "success" and doc["destination"]["ip"] == CLEAN_IPV4
    scheduler = KibanaSchedulerStandIn(flow.engine, alertmanager.url + "/api/v2/alerts")
    assert scheduler.run_detection_rule(provisioned_c2_rule(), now) == []
    assert scheduler.posts == []
    assert receivers_since(recorder, since) == set()


def test_firewall_logs_stopping_pages_infra(flow, paging):
    alertmanager, recorder = paging
    since = time.monotonic()
    rule = provisioned_log_rule("FirewallLogsStopped")
    now = dt.datetime.now(dt.timezone.utc)
    for vendor in FIREWALLS:  # both firewalls' last line, 45 minutes ago
        flow.ship(vendor, LINES[vendor](now - dt.timedelta(minutes=45), CLEAN_IPV4))
    scheduler = KibanaSchedulerStandIn(flow.engine, alertmanager.url + "/api/v2/alerts")
    # a run 40 minutes ago saw the lines in its 30-minute window: quiet
    assert scheduler.run_stack_rule(rule, now - dt.timedelta(minutes=40)) == (2, False)
    assert scheduler.posts == []
    # the run now sees nothing in its window: the threshold (< 1) holds, the action posts
    started, run_at = time.monotonic(), dt.datetime.now(dt.timezone.utc)
    assert scheduler.run_stack_rule(rule, run_at) == (0, True)
    assert len(scheduler.posts) == 1
    page = wait_for_page(recorder, "/infra-pager", "FirewallLogsStopped", started)
    elapsed = page["time"] - started
    SESSION_NOTES.append("security flow: firewall logs stopped -> infra pager in %.1f s" % elapsed)
    print("logs stopped to infra pager: %.1f s" % elapsed)
    (alert,) = page["body"]["alerts"]
    assert alert["status"] == "firing"
    assert alert["labels"] == {"alertname": "FirewallLogsStopped", "severity": "critical", "team": "infra",
                               "source": "kibana"}
    assert alert["annotations"] == {"summary": "No firewall log for 30 minutes; the correlation is blind"}
    (stored,) = alertmanager.alerts("FirewallLogsStopped")
    ends = dt.datetime.fromisoformat(stored["endsAt"].replace("Z", "+00:00"))
    assert abs((ends - run_at).total_seconds() - 3 * 5 * 60) < 1, stored["endsAt"]  # 3 intervals of 5m
    assert receivers_since(recorder, since) == {"/infra-pager"}


def test_firewall_logs_flowing_page_nobody(flow, paging):
    alertmanager, recorder = paging
    since = time.monotonic()
    rule = provisioned_log_rule("FirewallLogsStopped")
    now = dt.datetime.now(dt.timezone.utc)
    flow.ship("pfsense_filterlog", pfsense_line(now - dt.timedelta(minutes=29), CLEAN_IPV4))
    scheduler = KibanaSchedulerStandIn(flow.engine, alertmanager.url + "/api/v2/alerts")
    assert scheduler.run_stack_rule(rule, now) == (1, False)
    assert scheduler.posts == []
    assert receivers_since(recorder, since) == set()


def test_the_data_streams_use_vigil_templates(flow):
    """The lines land in data streams made by Vigil's template (and the indicators by the connector's)."""
    flow.list_indicators()
    flow.ship("fortinet_fortigate", fortigate_line(dt.datetime.now(dt.timezone.utc), CLEAN_IPV4))
    streams = {s["name"]: s for s in flow.engine.request("GET", "/_data_stream/*")["data_streams"]}
    assert streams[stream("fortinet_fortigate")]["template"] == "vigil-logs-vigil.fortinet_fortigate"
    # The dataset's @custom hook (the replicas the role sets) reached the backing index through composition.
    backing = streams[stream("fortinet_fortigate")]["indices"][0]["index_name"]
    settings = flow.engine.request("GET", "/%s/_settings" % backing)[backing]["settings"]["index"]
    assert settings["number_of_replicas"] == firewall_templates()["components"][
        "logs-vigil.fortinet_fortigate@custom"]["template"]["settings"]["index.number_of_replicas"]
    assert streams[TI_INDEX]["template"] == "logs-ti_custom_opencti"
    with pytest.raises(EngineError):  # a data stream takes no index request with an id (append-only)
        flow.engine.request("PUT", "/%s/_doc/1" % stream("fortinet_fortigate"), {"@timestamp": iso(dt.datetime.now())})
