"""Active response in the alerting pipeline: the catalog's response field, the label it adds,
the responder's route (continue: true) and, with the real promtool and amtool, that an alert
declaring a response reaches the responder AND its team while every other alert reaches only
its team.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from ansible.errors import AnsibleFilterError

from alerting_support import PROMTOOL_TESTS, RULE_FILE_NAME, alertmanager_config, dump_yaml, effective_catalog
from alerting_support import load_sample_teams
from alerting_support import amtool, promtool  # noqa: F401  (fixtures)  # pylint: disable=unused-import
from ansible_collections.vigil.monitoring.plugins.filter import alert_catalog as ac

RESPONDER = [{"type": "webhook", "url": "https://fw1.example.org:9095/webhook",
              "http_config": {"basic_auth": {"username": "alertmanager", "password": "VIGIL-MARKER-responder"}}}]
ENABLED = [{"name": "BruteForceSource", "enabled": True}]


def routing(catalog, responder=tuple(RESPONDER), **kwargs):
    """The sample teams with the heartbeat (main's Watchdog route) and the responder, side by side."""
    teams = load_sample_teams()
    kwargs.setdefault("heartbeat", teams["alertmanager_heartbeat"])
    return ac.alertmanager_routing(catalog, teams["alertmanager_teams"],
                                   triage_channels=teams["alertmanager_triage_channels"], responder=responder, **kwargs)


def entry(**response):
    base = {"name": "Scan", "expr": "x > 1", "for": "1m", "severity": "warning", "owner": "security",
            "summary": "s", "description": "d", "runbook_url": "https://r.example.org/scan"}
    base["response"] = response or {"action": "block_ip", "label": "src_ip"}
    return base


# ---------------------------------------------------------------- the catalog


def test_the_example_is_off_by_default_and_declares_a_block():
    assert "BruteForceSource" not in [e["name"] for e in effective_catalog()]
    enabled = {e["name"]: e for e in effective_catalog(ENABLED)}["BruteForceSource"]
    assert enabled["response"] == {"action": "block_ip", "label": "src_ip", "ttl": "1h"}
    rule = [r for g in ac.alert_catalog_rules([enabled])["groups"] for r in g["rules"]][0]
    assert rule["labels"] == {"severity": "critical", "team": "security", "vigil_response": "block_ip"}


@pytest.mark.parametrize("response,message", [
    ({"action": "shutdown", "label": "src_ip"}, "response action 'shutdown' is not known"),
    ({"action": "block_ip"}, "response label None"),
    ({"action": "block_ip", "label": "team"}, "response label 'team'"),
    ({"action": "block_ip", "label": "src_ip", "ttl": "soon"}, "response ttl 'soon' is not a Prometheus duration"),
    ({"action": "block_ip", "label": "src_ip", "port": 22}, "response has unknown key(s) port"),
])
def test_a_wrong_response_names_the_entry_and_the_fix(response, message):
    with pytest.raises(AnsibleFilterError) as error:
        ac.alert_catalog_merge([], [entry(**response)])
    assert "alert_catalog entry 'Scan'" in str(error.value) and message in str(error.value)


def test_the_response_label_is_the_catalog_s_own():
    bad = dict(entry(), labels={"vigil_response": "block_ip"})
    with pytest.raises(AnsibleFilterError, match="label 'vigil_response' is set by the catalog"):
        ac.alert_catalog_merge([], [bad])
    static = dict(entry(), labels={"src_ip": "192.0.2.1"})
    with pytest.raises(AnsibleFilterError, match="is a static label of the entry"):
        ac.alert_catalog_merge([], [static])


# ---------------------------------------------------------------- the route tree


def test_the_responder_route_continues_and_comes_before_any_route_that_stops():
    tree = routing(effective_catalog(ENABLED))
    # The Watchdog's heartbeat route stays first: it takes that one alert only.
    heartbeat, responder_route, info = tree["route"]["routes"][:3]
    assert heartbeat["receiver"] == "heartbeat" and heartbeat["matchers"] == ['alertname="Watchdog"']
    assert responder_route == {"receiver": "vigil-responder", "matchers": ['vigil_response=~".+"'], "group_by": ["..."],
                               "group_wait": "5s", "group_interval": "1m", "repeat_interval": "1h", "continue": True}
    assert info["matchers"] == ['severity="info"']
    # Without it a response alert that no team route takes would reach the responder alone.
    assert tree["route"]["routes"][-1] == {"receiver": "triage", "matchers": ['vigil_response=~".+"'],
                                           "continue": False}
    responder = [r for r in tree["receivers"] if r["name"] == "vigil-responder"]
    assert responder == [{"name": "vigil-responder", "webhook_configs": [
        {"url": RESPONDER[0]["url"], "http_config": RESPONDER[0]["http_config"]}]}]


def test_without_responder_channels_there_is_no_responder_route():
    tree = routing(effective_catalog(ENABLED), responder=None)
    assert "vigil-responder" not in [r["name"] for r in tree["receivers"]]
    assert all(r.get("receiver") != "vigil-responder" for r in tree["route"]["routes"])


@pytest.mark.parametrize("channels,message", [
    ([{"type": "slack", "api_url": "https://hooks.example.org/x"}], "reached by a webhook channel"),
    ([{"type": "webhook", "url": "https://fw1.example.org:9095/webhook"}], "has no credentials"),
    ({"type": "webhook"}, "must be a list of webhook channels"),
])
def test_responder_channels_must_be_authenticated_webhooks(channels, message):
    with pytest.raises(AnsibleFilterError) as error:
        routing(effective_catalog(ENABLED), responder=channels)
    assert "alertmanager_responder_channels" in str(error.value) and message in str(error.value)


@pytest.mark.parametrize("name,what", [("vigil-responder", "responder"), ("heartbeat", "heartbeat")])
def test_the_responder_and_heartbeat_receivers_keep_their_own_names(name, what):
    with pytest.raises(AnsibleFilterError) as error:
        routing(effective_catalog(ENABLED), triage_receiver=name)
    assert "%s receiver name '%s' is taken" % (what, name) in str(error.value)


def test_the_generated_cases_expect_the_responder_then_the_team():
    catalog = effective_catalog(ENABLED)
    cases = {c["labels"]["alertname"]: c["receivers"] for c in ac.alertmanager_route_tests(catalog, routing(catalog))}
    assert cases["BruteForceSource"] == ["vigil-responder", "security-pager"]
    assert cases["HostDown"] == ["infra-pager"]
    assert cases["Watchdog"] == ["heartbeat"]


def test_the_heartbeat_alert_cannot_declare_a_response():
    """Its route stops before the responder's: the response would never run, and an
    always-firing alert must not block anything."""
    catalog = effective_catalog(ENABLED + [{"name": "Watchdog", "response": {"action": "block_ip", "label": "src_ip"}}])
    with pytest.raises(AnsibleFilterError) as error:
        routing(catalog)
    assert "alert_catalog entry 'Watchdog'" in str(error.value) and "declares a response" in str(error.value)


# ---------------------------------------------------------------- the real tools


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "alertmanager.yml"
    path.write_text(dump_yaml(alertmanager_config(routing(effective_catalog(ENABLED)))), encoding="utf-8")
    return path


def _route(amtool, config_file, labels):
    args = [amtool, "config", "routes", "test", "--config.file=%s" % config_file]
    args += ["%s=%s" % item for item in sorted(labels.items())]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def test_amtool_accepts_the_config_with_the_responder(amtool, config_file):
    result = subprocess.run([amtool, "check-config", str(config_file)], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("labels,receivers", [
    # The catalog's example: the responder and the security team's pager.
    ({"alertname": "BruteForceSource", "severity": "critical", "team": "security", "vigil_response": "block_ip",
      "src_ip": "203.0.113.7"}, "vigil-responder,security-pager"),
    # A response on an info alert still reaches the responder (the info route stops only after it).
    ({"alertname": "ScanSeen", "severity": "info", "team": "security", "vigil_response": "block_ip"},
     "vigil-responder,blackhole"),
    # Nobody owns it: people still see it (triage), not only the responder.
    ({"alertname": "Odd", "severity": "critical", "team": "nobody", "vigil_response": "block_ip"},
     "vigil-responder,triage"),
    ({"alertname": "Odd", "severity": "page", "team": "security", "vigil_response": "block_ip"},
     "vigil-responder,triage"),
    # Alerts without a response: their team only.
    ({"alertname": "HostDown", "severity": "critical", "team": "infra", "instance": "db1:9100"}, "infra-pager"),
    ({"alertname": "ManyFailedLogons", "severity": "warning", "team": "security", "src_ip": "203.0.113.7"},
     "triage"),
    ({"alertname": "DiskAlmostFull", "severity": "warning", "team": "infra"}, "infra-digest"),
    # The heartbeat route comes first and stops, whatever labels the Watchdog carries.
    ({"alertname": "Watchdog", "severity": "info", "team": "platform"}, "heartbeat"),
    ({"alertname": "Watchdog", "severity": "info", "team": "platform", "vigil_response": "block_ip"}, "heartbeat"),
])
def test_amtool_routes_response_alerts_to_the_responder_and_their_team(amtool, config_file, labels, receivers):
    assert _route(amtool, config_file, labels) == receivers


def test_every_generated_case_passes_amtool(amtool, config_file):
    catalog = effective_catalog(ENABLED)
    for case in ac.alertmanager_route_tests(catalog, routing(catalog)):
        assert _route(amtool, config_file, case["labels"]) == ",".join(case["receivers"]), case


def test_the_example_fires_per_address_with_its_response_label(promtool, tmp_path):
    (tmp_path / RULE_FILE_NAME).write_text(dump_yaml(ac.alert_catalog_rules(effective_catalog(ENABLED))),
                                           encoding="utf-8")
    source = PROMTOOL_TESTS / "response" / "bruteforcesource.yml"
    shutil.copy(source, tmp_path / source.name)
    result = subprocess.run([promtool, "test", "rules", str(tmp_path / source.name)], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
