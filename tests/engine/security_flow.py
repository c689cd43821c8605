# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pieces of the end-to-end security flow test (``test_security_flow.py``).

What is Vigil's own output, read from the roles exactly as a play resolves it:

- :func:`provisioned_c2_rule` and :func:`provisioned_log_rule`: the rules the opencti and
  kibana roles write to Kibana (their variables rendered by Ansible's templating from the
  roles' defaults and vars), with the Alertmanager webhook actions ``kibana_rule`` adds
  (``lifecycle_actions``, the module's own function).
- :func:`lab_alertmanager_config`: ``alertmanager.yml`` from ``alertmanager_routing`` on the
  lab's catalog and teams, every receiver URL pointed at a loopback recorder.

What stands in for Kibana (the engine runs Elasticsearch-compatible query DSL, not KQL, not
Kibana's rule executors):

- :func:`translate_kuery`: the KQL subset Vigil's rules use, to the query DSL Kibana's
  ``@kbn/es-query`` builds from it.
- :func:`translate_indicator_match_rule_to_searches`: Kibana's indicator match rule type,
  which the engine cannot run as such, as the two searches that do the same.
- :func:`es_query_rule_run`: the search Kibana's ``.es-query`` rule type sends (the rule's
  own DSL inside its time window) and its threshold.
- :class:`KibanaSchedulerStandIn`: runs the rule's searches at a given date, picks the actions
  Kibana would run, renders their webhook bodies with mustache as Kibana does
  (``tests/standins/kibana_actions.py``: pystache, JSON escaping, FormatDate) and POSTs them.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import re
import time
import urllib.parse
import urllib.request
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.vigil.monitoring.plugins.filter import alert_catalog as ac
from ansible_collections.vigil.monitoring.plugins.modules import kibana_rule

from alerting_support import effective_catalog, load_yaml  # tests/unit (pytest pythonpath)
from engine_control import EngineClient
from standins.kibana_actions import StackAlertSchedule, detection_due_actions, detection_variables, iso, render_body, stack_variables
from pipeline_harness import ROOT
from role_values import role_value  # tests/unit: the roles' variables as a play resolves them

LAB_ALERTING = ROOT / "inventories" / "lab" / "group_vars" / "all" / "alerting.yml"
# Kibana's defaults for a detection rule that does not set them (detection engine API).
DETECTION_DEFAULT_MAX_SIGNALS = 100
# The most indicators the translation reads in one search; more fails (Kibana pages through them).
MAX_INDICATORS = 1000


# --------------------------------------------------------------------------- Vigil's own output


def _actions(rule_type_id: str, interval: str, alertmanager: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The webhook actions ``kibana_rule`` adds for its ``alertmanager`` option (the module's code)."""
    return kibana_rule.lifecycle_actions(
        {"rule_type_id": rule_type_id, "interval": interval, "state": "present", "alertmanager": alertmanager})


def provisioned_c2_rule() -> Dict[str, Any]:
    """The indicator match rule of ``roles/opencti/tasks/correlation.yml``, as written to Kibana."""
    return copy.deepcopy(_provisioned_c2_rule())


@functools.lru_cache(maxsize=None)
def _provisioned_c2_rule() -> Dict[str, Any]:
    rule = role_value("opencti", "{{ opencti_c2_correlation_rule }}")
    detection = role_value("opencti", "{{ _opencti_c2_detection }}")
    connector = role_value("opencti", "{{ opencti_alertmanager_connector_id }}")
    annotations = {"summary": rule["summary"], "description": rule["description"]}
    if rule.get("runbook_url"):
        annotations["runbook_url"] = rule["runbook_url"]
    alertmanager = {
        "connector_id": connector,
        "labels": {"alertname": rule["alertname"], "severity": rule["severity"], "team": rule["owner"]},
        "annotations": annotations,
        "window": rule.get("alert_window", "1h"),
    }
    return {
        "id": rule["id"], "rule_id": rule["id"], "name": rule["name"], "tags": rule["tags"],
        "rule_type_id": "siem.indicatorRule", "interval": rule["interval"],
        "description": detection["description"], "severity": detection["severity"],
        "risk_score": detection["risk_score"], "detection": detection,
        "labels": alertmanager["labels"], "annotations": annotations,
        "actions": _actions("siem.indicatorRule", rule["interval"], alertmanager),
    }


def provisioned_log_rule(alertname: str) -> Dict[str, Any]:
    """The ``.es-query`` rule of ``roles/kibana/tasks/provision.yml`` with this alertname."""
    return copy.deepcopy(_provisioned_log_rule(alertname))


@functools.lru_cache(maxsize=None)
def _provisioned_log_rule(alertname: str) -> Dict[str, Any]:
    rules = role_value("kibana", "{{ _kibana_rules }}")
    rule = next(r for r in rules if r["labels"]["alertname"] == alertname)
    alertmanager = {
        "connector_id": role_value("kibana", "{{ kibana_alertmanager_connector_id }}"),
        "labels": rule["labels"],
        "annotations": {"summary": rule["summary"]},
        "hold_intervals": role_value("kibana", "{{ kibana_alert_hold_intervals }}"),
    }
    return dict(rule, rule_type_id=".es-query", actions=_actions(".es-query", rule["interval"], alertmanager))


def lab_alertmanager_config(recorder_url: str) -> Dict[str, Any]:
    """alertmanager.yml as the alertmanager role renders it for the lab (catalog, teams, triage,
    heartbeat), with every receiver URL moved to ``recorder_url`` (same paths)."""
    lab = load_yaml(LAB_ALERTING)

    def moved(channels: Any) -> Any:
        if isinstance(channels, list):
            return [moved(channel) for channel in channels]
        if isinstance(channels, dict):
            out = {key: moved(value) for key, value in channels.items()}
            if isinstance(out.get("url"), str):
                out["url"] = recorder_url + urllib.parse.urlsplit(out["url"]).path
            return out
        return channels

    routing = ac.alertmanager_routing(
        effective_catalog(lab["alert_catalog"]),
        moved(lab["alertmanager_teams"]),
        triage_channels=moved(lab["alertmanager_triage_channels"]),
        heartbeat=moved(lab["alertmanager_heartbeat"]),
        heartbeat_timing=lab["alertmanager_heartbeat_timing"],
    )
    config = {"global": dict(role_value("alertmanager", "{{ alertmanager_global }}"))}
    config.update(routing)
    return config


# --------------------------------------------------------------------------- KQL


_KQL_TOKEN = re.compile(r'\s*(?:(?P<paren>[()])|(?P<colon>:)|"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<word>[^\s():"]+))')
_KQL_KEYWORDS = ("and", "or", "not")


def _kql_tokens(query: str) -> List[Tuple[str, str]]:
    tokens, position = [], 0
    while position < len(query):
        match = _KQL_TOKEN.match(query, position)
        if not match or match.end() == position:
            if query[position:].strip() == "":
                break
            raise ValueError("KQL %r: cannot read from position %d" % (query, position))
        position = match.end()
        if match.group("paren"):
            tokens.append(("paren", match.group("paren")))
        elif match.group("colon"):
            tokens.append(("colon", ":"))
        elif match.group("quoted") is not None:
            tokens.append(("quoted", re.sub(r"\\(.)", r"\1", match.group("quoted"))))
        elif match.group("word").lower() in _KQL_KEYWORDS:
            tokens.append(("keyword", match.group("word").lower()))
        else:
            tokens.append(("word", match.group("word")))
    return tokens


class _KqlParser:
    def __init__(self, query: str):
        self.query = query
        self.tokens = _kql_tokens(query)
        self.at = 0

    def fail(self, what: str) -> ValueError:
        return ValueError("KQL %r: %s (token %d); only field:value, field:\"phrase\", field:*, field:(a or b), "
                          "and, or, not and parentheses are translated" % (self.query, what, self.at))

    def peek(self) -> Tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def take(self, kind: str, value: Optional[str] = None) -> str:
        token = self.peek()
        if token[0] != kind or (value is not None and token[1] != value):
            raise self.fail("expected %s, found %r" % (value or kind, token[1] or "the end"))
        self.at += 1
        return token[1]

    def parse(self) -> Dict[str, Any]:
        result = self.or_(self.clause)
        if self.peek()[0] != "end":
            raise self.fail("unexpected %r" % self.peek()[1])
        return result

    def or_(self, operand) -> Dict[str, Any]:
        parts = [self.and_(operand)]
        while self.peek() == ("keyword", "or"):
            self.at += 1
            parts.append(self.and_(operand))
        return parts[0] if len(parts) == 1 else {"bool": {"should": parts, "minimum_should_match": 1}}

    def and_(self, operand) -> Dict[str, Any]:
        parts = [self.not_(operand)]
        while self.peek() == ("keyword", "and"):
            self.at += 1
            parts.append(self.not_(operand))
        return parts[0] if len(parts) == 1 else {"bool": {"filter": parts}}

    def not_(self, operand) -> Dict[str, Any]:
        if self.peek() == ("keyword", "not"):
            self.at += 1
            return {"bool": {"must_not": [self.not_(operand)]}}
        if self.peek() == ("paren", "("):
            self.at += 1
            inner = self.or_(operand)
            self.take("paren", ")")
            return inner
        return operand()

    def clause(self) -> Dict[str, Any]:
        field = self.take("word")
        self.take("colon")
        return self.value(field)

    def value(self, field: str) -> Dict[str, Any]:
        kind, value = self.peek()
        if (kind, value) == ("paren", "("):  # field:(a or b): the operators apply to the values
            self.at += 1
            inner = self.or_(lambda: self.value(field))
            self.take("paren", ")")
            return inner
        self.at += 1
        if kind == "quoted":
            return {"match_phrase": {field: value}}
        if kind != "word":
            raise self.fail("a value after %s:" % field)
        if value == "*":
            return {"exists": {"field": field}}
        if "*" in value or "?" in value:
            raise self.fail("wildcard value %r" % value)
        return {"match": {field: value}}


def translate_kuery(query: str) -> Dict[str, Any]:
    """Translation of a KQL (``kuery``) query to the query DSL, as Kibana's ``@kbn/es-query`` builds it.

    Kibana sends Elasticsearch DSL, never KQL: ``field:value`` becomes ``match``,
    ``field:"a phrase"`` ``match_phrase``, ``field:*`` ``exists``, ``and`` a ``bool`` ``filter``,
    ``or`` a ``bool`` ``should`` with ``minimum_should_match: 1``, ``not`` ``must_not``, and
    ``field:(a or b)`` the same operators over the values. Kibana also wraps each clause in a
    one-clause ``bool.should``, which does not change what matches; it is left out here.
    Anything else (wildcards in values, ranges, nested queries) raises ValueError: it is not
    used by Vigil's rules and is not translated.
    """
    if not isinstance(query, str) or not query.strip():
        return {"match_all": {}}
    return _KqlParser(query).parse()


# --------------------------------------------------------------------------- rule runs


_DATE_MATH = re.compile(r"^now-([1-9][0-9]*)([smhd])$")


def _window_start(expression: str, now: dt.datetime) -> dt.datetime:
    match = _DATE_MATH.match(expression)
    if not match:
        raise ValueError("rule `from` %r is not now-<n><s|m|h|d>" % expression)
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return now - dt.timedelta(**{unit: int(match.group(1))})


def _indices(patterns: Sequence[str]) -> str:
    return urllib.parse.quote(",".join(patterns), safe=",*")


def _search(client: EngineClient, patterns: Sequence[str], body: Dict[str, Any]) -> Dict[str, Any]:
    # what Kibana sets on the searches of both rule types: absent indices are no error
    return client.request("POST", "/%s/_search?ignore_unavailable=true&allow_no_indices=true" % _indices(patterns),
                          body)


def translate_indicator_match_rule_to_searches(client: EngineClient, detection: Mapping[str, Any],
                                               now: dt.datetime) -> List[Dict[str, Any]]:
    """Translation of Kibana's indicator match rule (``siem.indicatorRule``, type ``threat_match``)
    into two searches the engine runs; returns the matching events (hits, ``matched_queries`` naming
    the indicator document and mapping item that matched: ``<index>/<id>#<item>``).

    Kibana's rule executor (1) reads the indicators: ``threat_index`` filtered by ``threat_query``;
    (2) searches ``index`` for events that match ``query``, fall in the rule's window
    (``@timestamp`` from ``from`` to the run date) and match at least one indicator by
    ``threat_mapping``: the items are OR-ed, the entries of an item AND-ed, each entry being
    "the event's ``field`` equals the indicator's ``value`` field". Here step 2 expresses each
    (indicator, item) pair as a ``bool.filter`` of ``terms`` lookups (the engine reads the value
    from the indicator document itself: ``{"terms": {field: {"index", "id", "path": value}}}``),
    one ``should`` clause per pair. Kibana builds a ``match`` per value it read instead; for the
    one-value arrays the OpenCTI connector writes (``threat.indicator.ip: ["..."]``) the two
    select the same events. ``query`` and ``threat_query`` go through :func:`translate_kuery`.
    Not translated: ``filters``/``threat_filters``, exceptions, ``timestamp_override``,
    alert suppression, and the enrichment of the alerts Kibana writes (``threat.enrichments``).
    """
    if detection.get("language", "kuery") != "kuery" or detection.get("threat_language", "kuery") != "kuery":
        raise ValueError("only KQL rules are translated (language and threat_language kuery)")
    for item in detection["threat_mapping"]:
        for entry in item["entries"]:
            if entry.get("type") != "mapping":
                raise ValueError("threat_mapping entry %r: only type mapping exists in Kibana" % (entry,))
    indicators = _search(client, detection["threat_index"], {
        "size": MAX_INDICATORS, "track_total_hits": True, "_source": False, "sort": ["_doc"],
        "query": {"bool": {"filter": [translate_kuery(detection["threat_query"])]}},
    })["hits"]
    if indicators["total"]["value"] > MAX_INDICATORS:
        raise ValueError("more than %d indicators: this translation reads one page" % MAX_INDICATORS)
    pairs = []
    for indicator in indicators["hits"]:
        for number, item in enumerate(detection["threat_mapping"]):
            lookups = [{"terms": {entry["field"]: {"index": indicator["_index"], "id": indicator["_id"],
                                                   "path": entry["value"]}}} for entry in item["entries"]]
            pairs.append({"bool": {"filter": lookups,
                                   "_name": "%s/%s#%d" % (indicator["_index"], indicator["_id"], number)}})
    if not pairs:
        return []
    window = {"range": {"@timestamp": {"gte": iso(_window_start(detection["from"], now)), "lte": iso(now),
                                       "format": "strict_date_optional_time"}}}
    events = _search(client, detection["index"], {
        "size": detection.get("max_signals", DETECTION_DEFAULT_MAX_SIGNALS),
        "sort": [{"@timestamp": {"order": "asc"}}],
        "query": {"bool": {"filter": [translate_kuery(detection["query"]), window,
                                      {"bool": {"should": pairs, "minimum_should_match": 1}}]}},
    })
    return events["hits"]["hits"]


_COMPARATORS = {
    ">": lambda value, t: value > t[0],
    ">=": lambda value, t: value >= t[0],
    "<": lambda value, t: value < t[0],
    "<=": lambda value, t: value <= t[0],
    "between": lambda value, t: t[0] <= value <= t[1],
    "notBetween": lambda value, t: not t[0] <= value <= t[1],
}
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def es_query_rule_run(client: EngineClient, params: Mapping[str, Any], now: dt.datetime,
                      latest_timestamp: Optional[str] = None) -> Tuple[int, bool, Optional[str]]:
    """One run of Kibana's ``.es-query`` rule (search type ``esQuery``) at ``now``: the rule's own
    query DSL, filtered to its time window on ``timeField`` (and, with
    ``excludeHitsFromPreviousRun``, to documents after the previous run's latest), counted with
    ``track_total_hits``; returns (count, whether ``thresholdComparator``/``threshold`` hold,
    the latest timestamp for the next run). This is the search Kibana sends, not a translation.
    """
    if params.get("searchType", "esQuery") != "esQuery":
        raise ValueError("only searchType esQuery is run here")
    time_field = params["timeField"]
    start = now - dt.timedelta(**{_UNITS[params["timeWindowUnit"]]: int(params["timeWindowSize"])})
    window = [{"range": {time_field: {"gte": iso(start), "lte": iso(now), "format": "strict_date_optional_time"}}}]
    if params.get("excludeHitsFromPreviousRun") and latest_timestamp and latest_timestamp > iso(start):
        window.append({"range": {time_field: {"gt": latest_timestamp, "format": "strict_date_optional_time"}}})
    query = json.loads(params["esQuery"])["query"]
    answer = _search(client, params["index"], {
        "size": params.get("size", 100), "track_total_hits": True,
        "sort": [{time_field: {"order": "desc"}}],  # Elasticsearch 7.13+ also takes a sort `format`; epoch ms here
        "query": {"bool": {"filter": [query, {"bool": {"filter": window}}]}},
    })
    count = answer["hits"]["total"]["value"]
    hits = answer["hits"]["hits"]
    latest = iso(dt.datetime.fromtimestamp(hits[0]["sort"][0] / 1000, dt.timezone.utc)) if hits else latest_timestamp
    return count, _COMPARATORS[params["thresholdComparator"]](count, params["threshold"]), latest


# --------------------------------------------------------------------------- the scheduler stand-in


def post_json(url: str, body: str, timeout: float = 10.0) -> int:
    """The webhook connector's request: POST, Content-Type application/json (Vigil's connector config)."""
    request = urllib.request.Request(url, data=body.encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback only)
        return response.status


class KibanaSchedulerStandIn:
    """Stands in for Kibana's task manager and rule executors, and nothing else.

    At each run (a date): runs the rule's search on the engine, decides which of the rule's
    actions Kibana runs (``kibana_actions``: detection summaries on runs with new alerts,
    stack per-alert actions by group and frequency), renders their webhook body with mustache
    as Kibana does and POSTs it to the connector URL (Alertmanager's ``/api/v2/alerts``).
    ``posts`` keeps (monotonic time, rendered body) of every POST.
    """

    def __init__(self, client: EngineClient, connector_url: str):
        self.client = client
        self.connector_url = connector_url
        self.posts: List[Tuple[float, str]] = []
        self._schedules: Dict[str, StackAlertSchedule] = {}
        self._latest: Dict[str, Optional[str]] = {}

    def _post(self, template: str, variables: Dict[str, Any]) -> None:
        body = render_body(template, variables)
        post_json(self.connector_url, body)
        self.posts.append((time.monotonic(), body))

    def run_detection_rule(self, rule: Mapping[str, Any], now: dt.datetime) -> List[Dict[str, Any]]:
        """One run of the indicator match rule; returns the events it matched."""
        hits = translate_indicator_match_rule_to_searches(self.client, rule["detection"], now)
        for action in detection_due_actions(rule["actions"], len(hits)):
            variables = detection_variables(dict(rule), now, len(hits))
            variables["context"]["alerts"] = [hit["_source"] for hit in hits]
            self._post(action["params"]["body"], variables)
        return hits

    def run_stack_rule(self, rule: Mapping[str, Any], now: dt.datetime) -> Tuple[int, bool]:
        """One run of an ``.es-query`` rule; returns (count, condition met)."""
        schedule = self._schedules.setdefault(rule["id"], StackAlertSchedule(rule["actions"], "query matched"))
        count, met, self._latest[rule["id"]] = es_query_rule_run(
            self.client, rule["params"], now, self._latest.get(rule["id"]))
        params = rule["params"]
        for action in schedule.run(now, met):
            variables = stack_variables(dict(rule), now, action["group"], "query matched", value=count,
                                        conditions="Number of matching documents is %s %s"
                                        % (params["thresholdComparator"], params["threshold"][0]))
            self._post(action["params"]["body"], variables)
        return count, met
