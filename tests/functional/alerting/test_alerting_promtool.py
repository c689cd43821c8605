"""The generated Prometheus rule file, checked and unit-tested with the real promtool.

promtool (Prometheus 2.42) resolves a test file's rule_files relative to the test file,
so each run copies tests/functional/alerting/promtool/*.yml next to a freshly generated
vigil-rules.yml in a temporary directory.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from alerting_support import (
    INVENTORY_CATALOGS,
    PROMTOOL_TESTS,
    RULE_FILE_NAME,
    catalog_parameters,
    dump_yaml,
    effective_catalog,
    load_defaults,
    load_yaml,
)
from alerting_support import catalog, promtool  # noqa: F401  (fixtures)  # pylint: disable=unused-import
from ansible_collections.vigil.monitoring.plugins.filter import alert_catalog as ac

TEST_FILES = sorted(PROMTOOL_TESTS.glob("*.yml"))


def _run(*args):
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def _write_rules(tmp_path, catalog):
    path = tmp_path / RULE_FILE_NAME
    path.write_text(dump_yaml(ac.alert_catalog_rules(catalog)), encoding="utf-8")
    return path


def test_generated_rule_file_passes_promtool_check(promtool, tmp_path, catalog):
    path = _write_rules(tmp_path, catalog)
    result = _run(promtool, "check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: %d rules found" % len(catalog) in result.stdout


def test_promtool_check_catches_a_broken_user_expression(promtool, tmp_path):
    defaults = load_defaults()
    broken = {
        "name": "QueueStuck",
        "expr": 'queue_depth{job="custom" > 100',
        "for": "5m",
        "severity": "warning",
        "owner": "app",
        "summary": "Queue stuck",
        "description": "The queue on {{ $labels.instance }} does not drain.",
        "runbook_url": "https://runbooks.example.org/queue-stuck",
    }
    catalog = ac.alert_catalog_merge(
        defaults["alert_catalog_builtin"],
        [broken],
        runbook_base_url=defaults["alert_catalog_runbook_base_url"],
        parameters=catalog_parameters(defaults),
    )
    result = _run(promtool, "check", "rules", str(_write_rules(tmp_path, catalog)))
    assert result.returncode != 0
    assert '"QueueStuck": could not parse expression' in result.stdout + result.stderr


def test_default_catalog_unit_tests_pass(promtool, tmp_path, catalog):
    _write_rules(tmp_path, catalog)
    for source in TEST_FILES:
        shutil.copy(source, tmp_path / source.name)
    result = _run(promtool, "test", "rules", *[str(tmp_path / source.name) for source in TEST_FILES])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(TEST_FILES)


def test_unit_tests_fail_when_an_alert_changes(promtool, tmp_path, catalog):
    """The promtool cases pin the rules: a changed threshold is caught."""
    changed = [dict(entry) for entry in catalog]
    for entry in changed:
        if entry["name"] == "MemoryPressure":
            entry["expr"] = entry["expr"].replace("< 0.10", "< 0.05")
    _write_rules(tmp_path, changed)
    shutil.copy(PROMTOOL_TESTS / "host.yml", tmp_path / "host.yml")
    result = _run(promtool, "test", "rules", str(tmp_path / "host.yml"))
    assert result.returncode != 0
    assert "MemoryPressure" in result.stdout + result.stderr


def _cases(files=TEST_FILES):
    """{alertname: (firing cases, silent cases)} over the promtool test files."""
    found = {}
    for source in files:
        with source.open(encoding="utf-8") as handle:
            doc = yaml.safe_load(handle)
        assert doc["rule_files"] == [RULE_FILE_NAME], "%s must test %s" % (source.name, RULE_FILE_NAME)
        for test in doc["tests"]:
            for case in test.get("alert_rule_test", []):
                counts = found.setdefault(case["alertname"], [0, 0])
                counts[0 if case.get("exp_alerts") else 1] += 1
    return found


# The dead man's switch fires at every evaluation by design: it has no silent case.
ALWAYS_FIRING = {"Watchdog"}


def test_every_default_alert_has_a_firing_and_a_silent_case(catalog):
    cases = _cases()
    names = [entry["name"] for entry in catalog]
    missing = [name for name in names if cases.get(name, [0, 0])[0] == 0]
    assert not missing, "no promtool case where these alerts fire: %s" % ", ".join(missing)
    assert all(cases.get(name, [0, 0])[1] == 0 for name in ALWAYS_FIRING), "an always-firing alert cannot be silent"
    missing = [name for name in names if name not in ALWAYS_FIRING and cases.get(name, [0, 0])[1] == 0]
    assert not missing, "no promtool case where these alerts stay silent: %s" % ", ".join(missing)
    unknown = sorted(set(cases) - set(names))
    assert not unknown, "promtool cases for alerts not in the catalog: %s" % ", ".join(unknown)


@pytest.mark.parametrize("inventory", sorted(INVENTORY_CATALOGS))
def test_alerts_an_inventory_adds_fire_and_stay_silent(promtool, tmp_path, inventory):
    """The catalog entries of the example and lab inventories, merged as the role merges
    them, pass their own promtool cases, and each has a firing and a silent case."""
    user = load_yaml(INVENTORY_CATALOGS[inventory])["alert_catalog"]
    added = sorted({entry["name"] for entry in user} - {e["name"] for e in load_defaults()["alert_catalog_builtin"]})
    assert added, "%s adds no alert to the catalog" % inventory
    _write_rules(tmp_path, effective_catalog(user))
    source = PROMTOOL_TESTS / "inventories" / ("%s.yml" % inventory)
    shutil.copy(source, tmp_path / source.name)
    result = _run(promtool, "test", "rules", str(tmp_path / source.name))
    assert result.returncode == 0, result.stdout + result.stderr
    cases = _cases([source])
    assert sorted(cases) == added
    assert all(firing and silent for firing, silent in cases.values()), cases
