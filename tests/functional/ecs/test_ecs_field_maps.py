# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shipped field maps: conformant, rendered as the golden pipelines, categorised as the correlation needs.

Regenerate the golden pipelines after a deliberate change with
``VIGIL_UPDATE_GOLDEN=1 python -m pytest tests/functional/ecs`` and review the diff.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, Dict, List

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.filter import ecs_pipeline as ep
from ecs_support import (
    BAD_FIELD_MAP,
    FIELD_MAP_DIR,
    GOLDEN_DIR,
    ROOT,
    UPDATE_GOLDEN,
    field_map_names,
    golden_text,
    load_field_map,
    load_yaml,
)

SHIPPED = ["cisco_ios", "fortinet_fortigate", "generic_edr", "linux_auth", "pfsense_filterlog", "windows_security"]
FIREWALLS = ["fortinet_fortigate", "pfsense_filterlog"]
ALLOWED = {"event.outcome": "success", "event.type": ["allowed", "connection"]}
DENIED = {"event.outcome": "failure", "event.type": ["denied", "connection"]}


def test_the_six_vendor_maps_are_shipped():
    assert field_map_names() == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_map_conforms_to_ecs(name):
    field_map = load_field_map(name)
    assert ep.field_map_problems(field_map) == []
    assert ep.ecs_conformance(field_map) is field_map


@pytest.mark.parametrize("name", SHIPPED)
def test_pipeline_matches_its_golden_file(name):
    body = ep.ecs_pipeline(load_field_map(name))
    golden = GOLDEN_DIR / ("%s.json" % name)
    if UPDATE_GOLDEN:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(golden_text(body), encoding="utf-8")
    assert golden.is_file(), "no golden file %s: run with VIGIL_UPDATE_GOLDEN=1" % golden
    assert json.loads(golden.read_text(encoding="utf-8")) == body, (
        "pipeline of %s changed; if intended, regenerate with VIGIL_UPDATE_GOLDEN=1 and review the diff" % name)
    assert golden.read_text(encoding="utf-8") == golden_text(body)


def test_no_stale_golden_files():
    assert sorted(p.stem for p in GOLDEN_DIR.glob("*.json")) == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_golden_pipeline_keeps_the_ingest_templates_and_its_hash(name):
    text = (GOLDEN_DIR / ("%s.json" % name)).read_text(encoding="utf-8")
    assert "{{{_ingest.on_failure_message}}}" in text
    body = json.loads(text)
    assert body["_meta"]["vigil_hash"] == ep.pipeline_hash(body)
    assert body["_meta"]["managed_by"] == "vigil"
    assert body["version"] == load_field_map(name)["version"]


@pytest.mark.parametrize("name", SHIPPED)
def test_pipeline_names_are_stable_and_distinct(name):
    field_map = load_field_map(name)
    assert ep.ecs_pipeline_name(field_map) == field_map["name"]
    assert field_map["name"].startswith("vigil-ecs-")


def test_pipeline_names_do_not_collide():
    names = [ep.ecs_pipeline_name(load_field_map(n)) for n in SHIPPED]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_map_ships_samples_for_the_simulate_check(name):
    field_map = load_field_map(name)
    samples = ep.simulate_samples(field_map)
    assert len(samples) >= 2
    for sample in samples:
        assert sample["document"] and sample["expected"]


def outcome_rules(field_map: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [r for r in field_map["categorisation"]["rules"] if "event.outcome" in r["set"]]


@pytest.mark.parametrize("name", FIREWALLS)
def test_firewall_allowed_and_denied_traffic_is_categorised_for_the_correlation(name):
    field_map = load_field_map(name)
    categorisation = field_map["categorisation"]
    # nothing else adds event.type, so the conditional values are the whole list
    assert "event.type" not in categorisation and "event.type" not in (field_map.get("constants") or {})
    # traffic is network: in the base categorisation, or in every rule that sets an outcome
    # (FortiGate: its event logs share the pipeline and are no network events)
    assert categorisation.get("event.category") == ["network"] or all(
        rule["set"].get("event.category") == ["network"] for rule in outcome_rules(field_map))
    outcomes = {r["set"]["event.outcome"]: r["set"] for r in outcome_rules(field_map)}
    assert set(outcomes) == {"success", "failure"}
    assert outcomes["success"]["event.type"] == ALLOWED["event.type"]
    assert outcomes["failure"]["event.type"] == DENIED["event.type"]
    expected = [s["expected"] for s in field_map["samples"]]
    assert any(all(e.get(k) == v for k, v in ALLOWED.items()) for e in expected)
    assert any(all(e.get(k) == v for k, v in DENIED.items()) for e in expected)


@pytest.mark.parametrize("name", FIREWALLS)
def test_firewall_pipeline_sets_outcome_and_type_under_the_same_condition(name):
    body = ep.ecs_pipeline(load_field_map(name))
    by_condition: Dict[str, Dict[str, Any]] = {}
    for processor in body["processors"]:
        (kind, options), = processor.items()
        if options.get("field") in ("event.outcome", "event.type") and "if" in options:
            by_condition.setdefault(options["if"], {})[options["field"]] = options["value"]
    assert {"event.outcome": "success", "event.type": ["allowed", "connection"]} in by_condition.values()
    assert {"event.outcome": "failure", "event.type": ["denied", "connection"]} in by_condition.values()


def test_windows_map_covers_logon_success_failure_and_process_creation():
    rules = load_field_map("windows_security")["categorisation"]["rules"]
    by_event = {r["when"]["winlog.event_id"]: r["set"] for r in rules}
    assert by_event["4624"]["event.outcome"] == "success"
    assert by_event["4625"]["event.outcome"] == "failure"
    assert by_event["4688"]["event.category"] == ["process"]


def test_bad_field_map_fails_with_every_problem_and_useful_suggestions():
    bad = load_yaml(BAD_FIELD_MAP)
    problems = ep.field_map_problems(bad)
    assert len(problems) == 4, problems
    text = "\n".join(problems)
    assert ("fields[0] (from: example.fw.src, to: source.adress): `source.adress` is not an ECS 9.4.0 field "
            "and not under the declared namespace `example.fw`; did you mean source.address") in text
    assert "fields[1] (from: example.fw.sport, to: source.port): type `ip` does not match ECS type `long`" in text
    assert "fields[2] (from: example.fw.policy, to: acme.policy_id): `acme.policy_id` is not an ECS 9.4.0 field " \
           "and not under the declared namespace `example.fw`" in text
    assert "categorisation.rules[0].set.event.outcome: event.outcome value `allowed` is not allowed; " \
           "ECS 9.4.0 allows failure, success, unknown" in text
    heading = r"Example Broken Firewall does not conform to ECS 9\.4\.0 \(4 problems\)"
    with pytest.raises(AnsibleFilterError, match=heading):
        ep.ecs_conformance(bad)


def run_cli(*paths: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "ecs_check.py"), *paths],
                          capture_output=True, text=True, check=False)


def test_cli_passes_the_shipped_maps():
    result = run_cli(*[str(FIELD_MAP_DIR / ("%s.yml" % n)) for n in SHIPPED])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": ok") == len(SHIPPED)


def test_cli_prints_every_problem_and_exits_non_zero():
    result = run_cli(str(FIELD_MAP_DIR / "linux_auth.yml"), str(BAD_FIELD_MAP))
    assert result.returncode == 1
    assert "linux_auth.yml: ok" in result.stdout
    assert "bad_fieldmap.yml: 4 problems" in result.stdout
    assert "did you mean source.address" in result.stdout


def test_cli_reports_unreadable_files(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("vendor: [unclosed\n", encoding="utf-8")
    result = run_cli(str(broken), str(tmp_path / "missing.yml"))
    assert result.returncode == 2
    assert "broken.yml: cannot read" in result.stderr and "missing.yml: cannot read" in result.stderr
