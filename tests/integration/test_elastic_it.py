"""Elasticsearch and Kibana modules against a real cluster.

Elasticsearch (pipeline, ILM, index template) tests run when VIGIL_IT_ELASTICSEARCH_URL
and either VIGIL_IT_ELASTICSEARCH_API_KEY or VIGIL_IT_ELASTICSEARCH_USERNAME +
VIGIL_IT_ELASTICSEARCH_PASSWORD are set; Kibana (connector, rules, Fleet) tests when
VIGIL_IT_KIBANA_URL is set, with VIGIL_IT_KIBANA_API_KEY or
VIGIL_IT_KIBANA_USERNAME/PASSWORD (falling back to the Elasticsearch credentials).
VIGIL_IT_CA_PATH names a CA bundle; TLS verification stays on. Every object gets a
unique name and is removed at the end, also when the test fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes
from ansible_collections.vigil.monitoring.plugins.modules import (
    elasticsearch_ilm_policy,
    elasticsearch_index_template,
    elasticsearch_ingest_pipeline,
    kibana_connector,
    kibana_fleet_agent_policy,
    kibana_fleet_enrollment_token,
    kibana_rule,
)

pytestmark = pytest.mark.integration


def _load_require_env() -> Callable[..., Dict[str, str]]:
    """require_env from this directory's conftest.py, loaded by path: when unit and
    integration tests run together, ``import conftest`` may find tests/unit/conftest.py."""
    spec = importlib.util.spec_from_file_location("vigil_integration_conftest", Path(__file__).with_name("conftest.py"))
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded.require_env


require_env = _load_require_env()


class Exited(Exception):
    def __init__(self, result: Dict[str, Any]):
        super().__init__(result.get("msg"))
        self.result = result


class Failed(Exited):
    pass


@pytest.fixture
def run(monkeypatch) -> Callable[..., Dict[str, Any]]:
    """Run a module's main() for real; return its result, raise Failed on fail_json."""

    def _exit(self, **kwargs):
        kwargs.setdefault("changed", False)
        raise Exited(kwargs)

    def _fail(self, **kwargs):
        kwargs["failed"] = True
        raise Failed(kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", _exit)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", _fail)

    def _run(module, args: Dict[str, Any], check_mode: bool = False) -> Dict[str, Any]:
        payload = dict(
            args,
            _ansible_check_mode=check_mode,
            _ansible_diff=True,
            _ansible_remote_tmp="/tmp",
            _ansible_keep_remote_files=False,
        )
        monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": payload})))
        monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
        try:
            module.main()
        except Failed:
            raise
        except Exited as done:
            return done.result
        raise AssertionError("module returned without exit_json or fail_json")

    return _run


def credentials(prefix: str, fallback: str = "") -> Dict[str, Any]:
    env = os.environ
    for name in (prefix, fallback):
        if not name:
            continue
        if env.get(name + "_API_KEY"):
            return {"api_key": env[name + "_API_KEY"]}
        if env.get(name + "_USERNAME") and env.get(name + "_PASSWORD"):
            return {"url_username": env[name + "_USERNAME"], "url_password": env[name + "_PASSWORD"]}
    require_env(prefix + "_API_KEY")  # skips, naming the variable
    return {}


def connection(url_var: str, prefix: str, fallback: str = "") -> Dict[str, Any]:
    url = require_env(url_var)[url_var]
    conn: Dict[str, Any] = {"url": url, "retries": 3, "retry_delay": 2.0}
    conn.update(credentials(prefix, fallback))
    if os.environ.get("VIGIL_IT_CA_PATH"):
        conn["ca_path"] = os.environ["VIGIL_IT_CA_PATH"]
    return conn


@pytest.fixture
def es() -> Dict[str, Any]:
    return connection("VIGIL_IT_ELASTICSEARCH_URL", "VIGIL_IT_ELASTICSEARCH")


@pytest.fixture
def kibana() -> Dict[str, Any]:
    return connection("VIGIL_IT_KIBANA_URL", "VIGIL_IT_KIBANA", "VIGIL_IT_ELASTICSEARCH")


@pytest.fixture
def unique() -> str:
    return "vigil-it-%s" % uuid.uuid4().hex[:10]


def absent(run, module, args: Dict[str, Any]) -> None:
    """Best-effort clean-up that never hides the test's own failure."""
    try:
        run(module, dict(args, state="absent"))
    except Failed:
        pass


# -- Elasticsearch ------------------------------------------------------------------------


def test_ingest_pipeline_create_noop_refuse_update_delete(run, es, unique):
    body = {
        "description": "Vigil integration test",
        "version": 1,
        "processors": [
            {"rename": {"field": "src", "target_field": "source.ip", "ignore_missing": True}},
            {"lowercase": {"field": "event.outcome", "ignore_missing": True}},
        ],
    }
    sample = {
        "document": {"src": "198.51.100.7", "event": {"outcome": "SUCCESS"}},
        "expected": {"source": {"ip": "198.51.100.7"}, "event": {"outcome": "success"}, "src": None},
    }
    args = dict(es, name=unique, body=body, simulate_samples=[sample])
    try:
        assert run(elasticsearch_ingest_pipeline, args, check_mode=True)["changed"] is True
        created = run(elasticsearch_ingest_pipeline, args)
        assert created["changed"] is True and created["simulate_results"][0]["ok"] is True
        assert run(elasticsearch_ingest_pipeline, args)["changed"] is False

        wrong = dict(sample, expected={"event": {"outcome": "SUCCESS"}})
        with pytest.raises(Failed) as refused:
            run(elasticsearch_ingest_pipeline, dict(args, body=dict(body, version=2), simulate_samples=[wrong]))
        assert "sample 1: field event.outcome" in refused.value.result["msg"]
        assert run(elasticsearch_ingest_pipeline, args)["changed"] is False  # nothing was uploaded

        updated = run(elasticsearch_ingest_pipeline, dict(args, body=dict(body, version=2)))
        assert updated["changed"] is True and "version" in updated["changed_fields"]
        assert run(elasticsearch_ingest_pipeline, dict(es, name=unique, state="absent"))["changed"] is True
        assert run(elasticsearch_ingest_pipeline, dict(es, name=unique, state="absent"))["changed"] is False
    finally:
        absent(run, elasticsearch_ingest_pipeline, dict(es, name=unique))


def test_ilm_policy_and_index_template(run, es, unique):
    policy = {
        "phases": {
            "hot": {"actions": {"rollover": {"max_age": "1d", "max_primary_shard_size": "10gb"}}},
            "delete": {"min_age": "7d", "actions": {"delete": {}}},
        }
    }
    template = {
        "index_patterns": ["%s-*" % unique],
        "data_stream": {},
        "priority": 500,
        "template": {"settings": {"index.lifecycle.name": unique, "number_of_replicas": 0}},
        "_meta": {"managed_by": "vigil-it"},
    }
    ilm = dict(es, name=unique, policy=policy)
    tpl = dict(es, name=unique, body=template)
    try:
        assert run(elasticsearch_ilm_policy, ilm)["changed"] is True
        assert run(elasticsearch_ilm_policy, ilm)["changed"] is False
        longer = dict(policy, phases=dict(policy["phases"], delete={"min_age": "365d", "actions": {"delete": {}}}))
        assert run(elasticsearch_ilm_policy, dict(ilm, policy=longer))["changed_fields"] == ["phases.delete.min_age"]

        assert run(elasticsearch_index_template, tpl)["changed"] is True
        assert run(elasticsearch_index_template, tpl)["changed"] is False
        assert run(elasticsearch_index_template, dict(tpl, body=dict(template, priority=501)))["changed_fields"] == [
            "priority"
        ]
        assert run(elasticsearch_index_template, dict(tpl, state="absent"))["changed"] is True
        assert run(elasticsearch_ilm_policy, dict(ilm, state="absent"))["changed"] is True
    finally:
        absent(run, elasticsearch_index_template, tpl)
        absent(run, elasticsearch_ilm_policy, ilm)


# -- Kibana -------------------------------------------------------------------------------


@pytest.fixture
def connector(run, kibana) -> Iterator[Dict[str, Any]]:
    args = dict(
        kibana,
        id=str(uuid.uuid4()),
        name="vigil-it alertmanager",
        config={"url": "http://127.0.0.1:9093/api/v2/alerts", "hasAuth": False},
    )
    try:
        yield args
    finally:
        absent(run, kibana_connector, args)


def test_connector_create_noop_update_delete(run, connector):
    assert run(kibana_connector, connector)["changed"] is True
    assert run(kibana_connector, connector)["changed"] is False
    changed = run(
        kibana_connector, dict(connector, config=dict(connector["config"], url="http://127.0.0.2:9093/api/v2/alerts"))
    )
    assert changed["changed_fields"] == ["config.url"]
    assert run(kibana_connector, dict(connector, state="absent"))["changed"] is True


def test_es_query_rule(run, kibana, connector):
    run(kibana_connector, connector)
    body = '[{"labels": {"alertname": "VigilIT", "severity": "info", "team": "vigil", "source": "kibana"}}]'
    args = dict(
        kibana,
        id=str(uuid.uuid4()),
        rule_type_id=".es-query",
        name="vigil-it es-query",
        interval="5m",
        enabled=False,
        params={
            "searchType": "esQuery",
            "index": [".kibana"],
            "timeField": "updated_at",
            "esQuery": '{"query": {"match_all": {}}}',
            "size": 1,
            "threshold": [1000000],
            "thresholdComparator": ">",
            "timeWindowSize": 5,
            "timeWindowUnit": "m",
        },
        actions=[{"connector_id": connector["id"], "params": {"body": body}}],
    )
    try:
        assert run(kibana_rule, args)["changed"] is True
        assert run(kibana_rule, args)["changed"] is False
        assert run(kibana_rule, dict(args, tags=["vigil-it"]))["changed_fields"] == ["tags"]
        assert run(kibana_rule, dict(args, tags=["vigil-it"], state="absent"))["changed"] is True
    finally:
        absent(run, kibana_rule, args)


def test_indicator_match_rule(run, kibana, connector, unique):
    run(kibana_connector, connector)
    args = dict(
        kibana,
        id=unique,
        rule_type_id="siem.indicatorRule",
        name="vigil-it indicator match",
        interval="5m",
        enabled=False,
        detection={
            "description": "Vigil integration test",
            "severity": "critical",
            "risk_score": 99,
            "index": ["logs-vigil-it-*"],
            "query": "event.outcome:success and event.type:allowed",
            "threat_index": ["logs-ti_vigil-it*"],
            "threat_query": "*:*",
            "threat_mapping": [
                {"entries": [{"field": "destination.ip", "type": "mapping", "value": "threat.indicator.ip"}]}
            ],
        },
        actions=[
            {
                "connector_id": connector["id"],
                "params": {"body": "[]"},
                "frequency": {"summary": True, "notifyWhen": "onActiveAlert", "throttle": None},
            }
        ],
    )
    try:
        created = run(kibana_rule, args)
        assert created["changed"] is True and created["rule"]["type"] == "threat_match"
        assert run(kibana_rule, args)["changed"] is False
        assert run(kibana_rule, dict(args, state="absent"))["changed"] is True
    finally:
        absent(run, kibana_rule, args)


def test_fleet_agent_policy_and_enrollment_token(run, kibana, unique):
    policy = dict(kibana, name=unique, namespace="default", description="Vigil integration test")
    try:
        created = run(kibana_fleet_agent_policy, policy)
        assert created["changed"] is True
        assert run(kibana_fleet_agent_policy, policy)["changed"] is False
        assert run(kibana_fleet_agent_policy, dict(policy, description="changed"))["changed_fields"] == ["description"]

        token_args = dict(kibana, policy_id=created["id"], name="vigil-it", _ansible_no_log=True)
        first = run(kibana_fleet_enrollment_token, token_args)
        second = run(kibana_fleet_enrollment_token, token_args)
        assert first["changed"] is True and first["enrollment_token"]
        assert second["changed"] is False and second["enrollment_token"] == first["enrollment_token"]
        assert run(kibana_fleet_enrollment_token, dict(token_args, state="absent"))["changed"] is True
        assert run(kibana_fleet_agent_policy, dict(policy, state="absent"))["changed"] is True
    finally:
        absent(run, kibana_fleet_agent_policy, policy)
