"""kibana_rule against the Kibana fake: .es-query via the alerting API, indicator match via the detection engine."""

from __future__ import annotations

import copy

import pytest
from ansible_collections.vigil.monitoring.plugins.modules import kibana_rule as module
from standins.elastic import FakeKibana, module_failure

RULE_ID = "6f0f7f3e-2d4b-4c55-9a51-3c1de1c6f1a2"
CONNECTOR = "2b7c3a10-9a7e-4a55-8d8e-0f5b7d1c2e33"
ES_QUERY_PARAMS = {
    "searchType": "esQuery",
    "index": ["logs-firewall-*"],
    "timeField": "@timestamp",
    "esQuery": '{"query": {"term": {"event.outcome": "failure"}}}',
    "size": 100,
    "threshold": [10],
    "thresholdComparator": ">",
    "timeWindowSize": 5,
    "timeWindowUnit": "m",
}
WEBHOOK_BODY = (
    '[{"labels": {"alertname": "FirewallDenies", "severity": "warning", "team": "netops", "source": "kibana"}}]'
)
DETECTION = {
    "description": "Allowed connection to an IP listed by OpenCTI",
    "severity": "critical",
    "risk_score": 99,
    "index": ["logs-firewall-*"],
    "query": "event.outcome:success and event.type:allowed",
    "threat_index": ["logs-ti_opencti*"],
    "threat_query": '@timestamp >= "now-30d/d"',
    "threat_mapping": [{"entries": [{"field": "destination.ip", "type": "mapping", "value": "threat.indicator.ip"}]}],
}
DETECTION_RULE_ID = "vigil-ioc-destination-ip"


@pytest.fixture(scope="module")
def server():
    fake = FakeKibana().start()
    yield fake
    fake.stop()


@pytest.fixture
def kibana(server):
    fake = server.reset()
    fake.store_connector(
        ("default", CONNECTOR),
        ".webhook",
        {"name": "Alertmanager", "config": {"url": "http://am:9093/api/v2/alerts", "hasAuth": False}},
    )
    return fake


def es_query_args(kibana, **extra):
    values = {
        "url": kibana.url,
        "id": RULE_ID,
        "rule_type_id": ".es-query",
        "name": "Firewall denies",
        "tags": ["vigil"],
        "interval": "1m",
        "params": ES_QUERY_PARAMS,
        "retry_delay": 0,
        "actions": [{"connector_id": CONNECTOR, "params": {"body": WEBHOOK_BODY}}],
    }
    values.update(extra)
    return values


def detection_args(kibana, **extra):
    values = {
        "url": kibana.url,
        "id": DETECTION_RULE_ID,
        "rule_type_id": "siem.indicatorRule",
        "name": "Allowed connection to a threat IP",
        "interval": "5m",
        "detection": DETECTION,
        "retry_delay": 0,
        "actions": [
            {
                "connector_id": CONNECTOR,
                "params": {"body": WEBHOOK_BODY},
                "frequency": {"summary": True, "notifyWhen": "onActiveAlert", "throttle": None},
            }
        ],
    }
    values.update(extra)
    return values


# -- .es-query through the alerting API ---------------------------------------------------


def test_es_query_rule_is_created_with_the_given_id(run_module, kibana):
    result = run_module(module, es_query_args(kibana), diff=True)

    (post,) = kibana.writes()
    assert (post.method, post.path) == ("POST", "/api/alerting/rule/%s" % RULE_ID)
    assert post.body == {
        "rule_type_id": ".es-query",
        "consumer": "stackAlerts",
        "name": "Firewall denies",
        "tags": ["vigil"],
        "enabled": True,
        "schedule": {"interval": "1m"},
        "params": ES_QUERY_PARAMS,
        "actions": [
            {
                "group": "query matched",
                "id": CONNECTOR,
                "params": {"body": WEBHOOK_BODY},
                "frequency": {"summary": False, "notify_when": "onActionGroupChange", "throttle": None},
            }
        ],
    }
    assert result["changed"] is True
    assert result["api"] == "alerting"
    assert result["rule"]["execution_status"]["status"] == "pending"
    assert result["diff"]["before"] == {}


def test_second_run_ignores_server_fields_and_param_defaults(run_module, kibana):
    run_module(module, es_query_args(kibana))
    kibana.requests.clear()

    result = run_module(module, es_query_args(kibana))

    stored = kibana.rules[("default", RULE_ID)]
    assert stored["params"]["aggType"] == "count" and "uuid" in stored["actions"][0]  # added by Kibana
    assert result["changed"] is False
    assert result["changed_fields"] == []
    assert kibana.writes() == []


def test_update_sends_only_updatable_fields(run_module, kibana):
    run_module(module, es_query_args(kibana))
    kibana.requests.clear()
    params = dict(ES_QUERY_PARAMS, threshold=[50])

    result = run_module(module, es_query_args(kibana, params=params, tags=["vigil", "firewall"]), diff=True)

    (put,) = kibana.writes()
    assert (put.method, put.path) == ("PUT", "/api/alerting/rule/%s" % RULE_ID)
    assert sorted(put.body) == ["actions", "name", "params", "schedule", "tags"]
    assert put.body["params"]["threshold"] == [50]
    assert result["changed_fields"] == ["params.threshold[0]", "tags"]
    assert result["diff"]["before"]["params"]["threshold"] == [10]
    assert result["diff"]["after"]["params"]["threshold"] == [50]
    assert kibana.rules[("default", RULE_ID)]["revision"] == 1


def test_disabling_uses_the_disable_endpoint_only(run_module, kibana):
    run_module(module, es_query_args(kibana))
    kibana.requests.clear()

    result = run_module(module, es_query_args(kibana, enabled=False))

    assert result["changed_fields"] == ["enabled"]
    assert [(r.method, r.path) for r in kibana.writes()] == [("POST", "/api/alerting/rule/%s/_disable" % RULE_ID)]
    assert kibana.rules[("default", RULE_ID)]["enabled"] is False


def test_action_change_is_detected(run_module, kibana):
    run_module(module, es_query_args(kibana))
    kibana.requests.clear()
    actions = [
        {
            "connector_id": CONNECTOR,
            "params": {"body": "[]"},
            "frequency": {"summary": True, "notify_when": "onActiveAlert", "throttle": None},
        }
    ]

    result = run_module(module, es_query_args(kibana, actions=actions))

    assert result["changed"] is True
    assert "actions[0].params.body" in result["changed_fields"]
    assert "actions[0].frequency.summary" in result["changed_fields"]


def test_check_mode_create_and_update_write_nothing(run_module, kibana):
    created = run_module(module, es_query_args(kibana), check_mode=True)
    assert created["changed"] is True
    assert kibana.writes() == []

    run_module(module, es_query_args(kibana))
    kibana.requests.clear()
    updated = run_module(module, es_query_args(kibana, name="Renamed", enabled=False), check_mode=True)
    assert updated["changed"] is True
    assert kibana.writes() == []
    assert kibana.rules[("default", RULE_ID)]["name"] == "Firewall denies"


def test_consumer_cannot_be_changed(run_module, kibana):
    run_module(module, es_query_args(kibana))
    kibana.requests.clear()

    failure = module_failure(run_module, module, es_query_args(kibana, consumer="alerts"))

    assert "cannot change consumer" in failure["msg"]
    assert kibana.writes() == []


def test_delete_without_rule_type_finds_the_alerting_rule(run_module, kibana):
    run_module(module, es_query_args(kibana))
    kibana.requests.clear()

    checked = run_module(module, {"url": kibana.url, "id": RULE_ID, "state": "absent"}, check_mode=True)
    deleted = run_module(module, {"url": kibana.url, "id": RULE_ID, "state": "absent"})
    again = run_module(module, {"url": kibana.url, "id": RULE_ID, "state": "absent"})

    assert checked["changed"] is True
    assert deleted["changed"] is True and deleted["api"] == "alerting"
    assert again["changed"] is False
    assert [(r.method, r.path) for r in kibana.writes()] == [("DELETE", "/api/alerting/rule/%s" % RULE_ID)]


def test_non_uuid_rule_id_refused_by_older_kibana_comes_with_a_hint(run_module, kibana):
    failure = module_failure(run_module, module, es_query_args(kibana, id="firewall-denies"))

    assert failure["status"] == 400
    assert "8.17" in failure["hint"]


def test_server_error_on_read_is_not_taken_for_absence(run_module, kibana):
    kibana.fail_next(1, status=500)

    failure = module_failure(run_module, module, es_query_args(kibana, retries=0))

    assert failure["status"] == 500
    assert kibana.writes() == []


@pytest.mark.parametrize(
    "extra, fragment",
    [
        ({"params": None}, "params is required for rule_type_id .es-query"),
        ({"detection": DETECTION}, "detection applies only to siem.* rule types"),
        ({"rule_type_id": ".index-threshold"}, "actions[0].group is required for rule_type_id .index-threshold"),
        ({"rule_type_id": None}, "rule_type_id"),
    ],
)
def test_alerting_argument_errors_name_the_argument(run_module, kibana, extra, fragment):
    failure = module_failure(run_module, module, es_query_args(kibana, **extra))

    assert fragment in failure["msg"]
    assert kibana.requests == []


# -- indicator match through the detection engine ----------------------------------------


def test_indicator_match_rule_is_created_through_the_detection_engine(run_module, kibana):
    result = run_module(module, detection_args(kibana), diff=True)

    assert [(r.method, r.path) for r in kibana.writes()] == [("POST", "/api/detection_engine/rules")]
    body = kibana.writes()[0].body
    assert body["rule_id"] == DETECTION_RULE_ID
    assert body["type"] == "threat_match"
    assert body["threat_mapping"] == DETECTION["threat_mapping"]
    assert body["query"] == "event.outcome:success and event.type:allowed"
    assert body["severity"] == "critical"
    # the connector type was read from the connector
    assert body["actions"] == [
        {
            "group": "default",
            "id": CONNECTOR,
            "action_type_id": ".webhook",
            "params": {"body": WEBHOOK_BODY},
            "frequency": {"summary": True, "notifyWhen": "onActiveAlert", "throttle": None},
        }
    ]
    assert result["api"] == "detection_engine"
    assert result["rule"]["threat_indicator_path"] == "threat.indicator"


def test_indicator_match_second_run_is_a_no_op(run_module, kibana):
    run_module(module, detection_args(kibana))
    kibana.requests.clear()

    result = run_module(module, detection_args(kibana))

    stored = kibana.detection[("default", DETECTION_RULE_ID)]
    assert stored["max_signals"] == 100 and stored["revision"] == 0  # server defaults and fields
    assert result["changed"] is False
    assert kibana.writes() == []
    assert kibana.calls("GET")[0].query == {"rule_id": [DETECTION_RULE_ID]}


def test_indicator_match_update_replaces_the_rule(run_module, kibana):
    run_module(module, detection_args(kibana))
    kibana.requests.clear()
    detection = dict(DETECTION, severity="high", risk_score=73)

    result = run_module(module, detection_args(kibana, detection=detection), diff=True)

    (put,) = kibana.writes()
    assert (put.method, put.path) == ("PUT", "/api/detection_engine/rules")
    assert put.body["rule_id"] == DETECTION_RULE_ID
    assert put.body["severity"] == "high" and put.body["threat_index"] == DETECTION["threat_index"]
    assert result["changed_fields"] == ["risk_score", "severity"]
    assert result["diff"]["before"]["severity"] == "critical"
    assert kibana.detection[("default", DETECTION_RULE_ID)]["revision"] == 1


def test_indicator_match_check_mode_writes_nothing(run_module, kibana):
    created = run_module(module, detection_args(kibana), check_mode=True)
    assert created["changed"] is True
    assert kibana.writes() == []

    run_module(module, detection_args(kibana))
    kibana.requests.clear()
    updated = run_module(module, detection_args(kibana, enabled=False), check_mode=True)
    assert updated["changed_fields"] == ["enabled"]
    assert kibana.writes() == []


def test_indicator_match_delete(run_module, kibana):
    run_module(module, detection_args(kibana))
    kibana.requests.clear()

    deleted = run_module(module, {"url": kibana.url, "id": DETECTION_RULE_ID, "state": "absent"})
    again = run_module(
        module, {"url": kibana.url, "id": DETECTION_RULE_ID, "rule_type_id": "siem.indicatorRule", "state": "absent"}
    )

    assert deleted["changed"] is True and deleted["api"] == "detection_engine"
    assert again["changed"] is False
    (delete,) = kibana.writes()
    assert (delete.method, delete.path, delete.query) == (
        "DELETE",
        "/api/detection_engine/rules",
        {"rule_id": [DETECTION_RULE_ID]},
    )


def test_missing_connector_fails_before_writing(run_module, kibana):
    actions = [{"connector_id": "00000000-0000-4000-8000-000000000000", "params": {}}]

    failure = module_failure(run_module, module, detection_args(kibana, actions=actions))

    assert "actions[0].connector_id 00000000-0000-4000-8000-000000000000: no such connector" in failure["msg"]
    assert kibana.writes() == []


def without(values, key):
    out = copy.deepcopy(values)
    del out[key]
    return out


@pytest.mark.parametrize(
    "detection, fragment",
    [
        (without(DETECTION, "threat_mapping"), "detection.threat_mapping is required"),
        (without(DETECTION, "index"), "detection.index (list of index patterns) or detection.data_view_id is required"),
        (dict(DETECTION, severity="urgent"), "detection.severity must be one of low, medium, high, critical"),
        (dict(DETECTION, risk_score=101), "detection.risk_score must be an integer from 0 to 100"),
        (
            dict(DETECTION, threat_mapping=[{"entries": [{"field": "destination.ip"}]}]),
            "detection.threat_mapping must be a non-empty list",
        ),
        (dict(DETECTION, name="x"), "detection.name is set by the top-level option name"),
    ],
)
def test_detection_argument_errors_name_the_field(run_module, kibana, detection, fragment):
    failure = module_failure(run_module, module, detection_args(kibana, detection=detection))

    assert fragment in failure["msg"]
    assert kibana.requests == []


# -- the alertmanager option: the alert lifecycle ---------------------------------------------

LIFECYCLE = {"connector_id": CONNECTOR, "labels": {"alertname": "FirewallDenies", "severity": "warning", "team": "netops"}}


def test_alertmanager_option_adds_an_every_run_action_and_a_recovered_action(run_module, kibana):
    result = run_module(module, es_query_args(kibana, actions=[], alertmanager=LIFECYCLE))

    (post,) = kibana.writes()
    groups = [(a["group"], a["frequency"]["notify_when"]) for a in post.body["actions"]]
    assert groups == [("query matched", "onActiveAlert"), ("recovered", "onActionGroupChange")]
    assert "[-00:03]" in post.body["actions"][0]["params"]["body"]  # endsAt = run date + 3 x 1m
    assert '"endsAt": "{{date}}"' in post.body["actions"][1]["params"]["body"]
    assert all(a["id"] == CONNECTOR for a in post.body["actions"])
    assert result["changed"]
    # Idempotent: the same option a second time writes nothing.
    again = run_module(module, es_query_args(kibana, actions=[], alertmanager=LIFECYCLE))
    assert again["changed"] is False
    assert len(kibana.writes()) == 1


def test_alertmanager_option_keeps_the_other_actions(run_module, kibana):
    run_module(module, es_query_args(kibana, alertmanager=LIFECYCLE))

    (post,) = kibana.writes()
    assert [a["group"] for a in post.body["actions"]] == ["query matched", "query matched", "recovered"]
    assert post.body["actions"][0]["params"] == {"body": WEBHOOK_BODY}


def test_alertmanager_option_on_a_detection_rule_expires_after_the_window(run_module, kibana):
    run_module(module, detection_args(kibana, actions=[], alertmanager=dict(LIFECYCLE, window="2h")))

    (post,) = [w for w in kibana.writes() if w.method == "POST"]
    (action,) = post.body["actions"]
    assert action["action_type_id"] == ".webhook"
    assert action["frequency"] == {"summary": True, "notifyWhen": "onActiveAlert", "throttle": None}
    assert "[-02:00]" in action["params"]["body"]


@pytest.mark.parametrize(
    "args,fragment",
    [
        ({"rule_type_id": ".index-threshold"}, "alertmanager: group is required"),
        ({"alertmanager": dict(LIFECYCLE, hold_intervals=1)}, "alertmanager: hold_intervals must be"),
        ({"alertmanager": dict(LIFECYCLE, window="1h")}, "alertmanager: window applies to detection rules"),
        ({"alertmanager": dict(LIFECYCLE, labels={"alertname": "X"})}, "missing: severity, team"),
        ({"interval": "1 minute"}, "alertmanager: interval '1 minute' is not a Kibana interval"),
    ],
)
def test_alertmanager_option_errors_fail_before_any_request(run_module, kibana, args, fragment):
    values = dict({"actions": [], "alertmanager": LIFECYCLE}, **args)
    failure = module_failure(run_module, module, es_query_args(kibana, **values))

    assert fragment in failure["msg"]
    assert kibana.requests == []
