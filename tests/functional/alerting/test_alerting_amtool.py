"""The generated Alertmanager configuration, checked with the real amtool (0.25).

alertmanager_routing's output plus a global section is a complete alertmanager.yml:
`amtool check-config` validates it and `amtool config routes test` proves where each
alert goes, for every generated case and for hand-written ones.
"""

from __future__ import annotations

import subprocess

import pytest

from alerting_support import alertmanager_config, dump_yaml, effective_catalog, sample_routing
from alerting_support import amtool, catalog, routing  # noqa: F401  (fixtures)  # pylint: disable=unused-import
from ansible_collections.vigil.monitoring.plugins.filter import alert_catalog as ac

_CATALOG = effective_catalog()
GENERATED_CASES = ac.alertmanager_route_tests(_CATALOG, sample_routing(_CATALOG))

HAND_WRITTEN_CASES = [
    ({"alertname": "HostDown", "severity": "critical", "team": "infra"}, "infra-pager"),
    ({"alertname": "DiskAlmostFull", "severity": "warning", "team": "infra", "instance": "db1:9100"}, "infra-digest"),
    # app has no pager channels: its critical alerts go to its digest receiver.
    ({"alertname": "HttpStatusWrong", "severity": "critical", "team": "app"}, "app-digest"),
    ({"alertname": "ProbeSlow", "severity": "warning", "team": "network"}, "network-digest"),
    # A team that owns no catalog alert still gets its alerts (e.g. from Grafana).
    ({"alertname": "IntrusionDetected", "severity": "critical", "team": "security"}, "security-pager"),
    # Nobody owns it: triage.
    ({"alertname": "SomethingNew", "severity": "critical", "team": "unknown-team"}, "triage"),
    ({"alertname": "SomethingNew", "severity": "warning"}, "triage"),
    # A known team with a severity the policy does not know: triage, not silence.
    ({"alertname": "Odd", "severity": "page", "team": "infra"}, "triage"),
    # security has no digest: its warnings are nobody's and go to triage.
    ({"alertname": "ScanSeen", "severity": "warning", "team": "security"}, "triage"),
    # The dead man's switch goes to the heartbeat receiver, whatever else it carries.
    ({"alertname": "Watchdog", "severity": "info", "team": "platform"}, "heartbeat"),
    ({"alertname": "Watchdog", "severity": "critical", "team": "infra", "instance": "prom1:9090"}, "heartbeat"),
    # info never notifies, whoever owns it.
    ({"alertname": "HostRebooted", "severity": "info", "team": "infra"}, "blackhole"),
    ({"alertname": "Whatever", "severity": "info", "team": "unknown-team"}, "blackhole"),
]


@pytest.fixture
def config_file(tmp_path, routing):
    path = tmp_path / "alertmanager.yml"
    path.write_text(dump_yaml(alertmanager_config(routing)), encoding="utf-8")
    return path


def _routes_test(amtool, config_file, labels, receiver):
    args = [amtool, "config", "routes", "test", "--config.file=%s" % config_file, "--verify.receivers=%s" % receiver]
    args += ["%s=%s" % item for item in sorted(labels.items())]
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def test_amtool_check_config_accepts_the_generated_config(amtool, config_file, catalog):
    result = subprocess.run(
        [amtool, "check-config", str(config_file)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    # 1 triage + 1 null + 1 heartbeat + the teams' pager/digest receivers of sample_teams.yml
    assert " - 11 receivers" in result.stdout
    # HostDown silences its instance, critical silences warning, one rule per entry with inhibits
    assert " - %d inhibit rules" % (2 + sum(1 for entry in catalog if entry["inhibits"])) in result.stdout


@pytest.mark.parametrize(
    "case",
    GENERATED_CASES,
    ids=["%s-%s" % (c["labels"]["alertname"], c["labels"]["severity"]) for c in GENERATED_CASES],
)
def test_generated_route_case(amtool, config_file, case):
    assert len(case["receivers"]) == 1
    result = _routes_test(amtool, config_file, case["labels"], case["receivers"][0])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "labels,receiver", HAND_WRITTEN_CASES, ids=["%s-%s" % (c[0]["alertname"], c[1]) for c in HAND_WRITTEN_CASES]
)
def test_hand_written_route_case(amtool, config_file, labels, receiver):
    result = _routes_test(amtool, config_file, labels, receiver)
    assert result.returncode == 0, result.stdout + result.stderr


def test_route_test_detects_a_wrong_expectation(amtool, config_file):
    """The harness can fail: a critical infra alert does not go to infra's digest."""
    result = _routes_test(
        amtool, config_file, {"alertname": "HostDown", "severity": "critical", "team": "infra"}, "infra-digest"
    )
    assert result.returncode != 0
    assert "infra-pager" in result.stdout + result.stderr


def test_every_catalog_alert_has_a_generated_case():
    assert [case["labels"]["alertname"] for case in GENERATED_CASES] == [entry["name"] for entry in _CATALOG]
