"""Helpers and fixtures shared by the alerting tests (tests/unit/alerting, tests/functional/alerting,
tests/engine), imported as ``alerting_support`` (tests/unit is on pytest's ``pythonpath``).

No conftest.py here on purpose: other test packages import their helpers with
``from conftest import ...``, which a second conftest module on sys.path would shadow.
Test modules import the fixtures they use from this module.

The shipped catalog is read from roles/alert_catalog/defaults/main.yml the way Ansible
reads it: ``!unsafe`` values are plain strings that go to Prometheus untouched.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from ansible_collections.vigil.monitoring.plugins.filter import alert_catalog as ac
from local_playbook import load_yaml  # noqa: F401  (re-exported for the alerting tests)

ROOT = Path(__file__).resolve().parents[2]
DEFAULTS = ROOT / "roles" / "alert_catalog" / "defaults" / "main.yml"
HERE = Path(__file__).resolve().parent / "alerting"
PROMTOOL_TESTS = ROOT / "tests" / "functional" / "alerting" / "promtool"
GOLDEN = ROOT / "tests" / "golden" / "alerting"
RULE_FILE_NAME = "vigil-rules.yml"  # the name the promtool test files reference
# global section added to alertmanager_routing's output to make a complete alertmanager.yml
AM_GLOBAL = {"resolve_timeout": "5m", "smtp_smarthost": "smtp.example.org:587", "smtp_from": "alertmanager@example.org"}


def load_defaults():
    return load_yaml(DEFAULTS)


# Inventories whose alert_catalog adds alerts, and the file that holds it; each has a
# promtool test file tests/functional/alerting/promtool/inventories/<name>.yml.
INVENTORY_CATALOGS = {
    "example": ROOT / "inventories" / "example" / "group_vars" / "all" / "vars.yml",
    "lab": ROOT / "inventories" / "lab" / "group_vars" / "all" / "alerting.yml",
}


def load_sample_teams():
    with (HERE / "sample_teams.yml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


# The values the lab's inventory gives the inventory-derived catalog parameters
# (three Alertmanagers, roles/alert_catalog/defaults/main.yml); the promtool cases use them.
INVENTORY_PARAMETERS = {"alertmanager_cluster_size": 3, "prometheus_alertmanagers": 3}


def catalog_parameters(defaults=None):
    """The catalog parameters as the role resolves them (roles/alert_catalog/vars/main.yml)."""
    defaults = defaults or load_defaults()
    parameters = {
        "log_streams": defaults["alert_catalog_log_streams"],
        "log_quiet_period": defaults["alert_catalog_log_quiet_period"],
        "log_lookback": defaults["alert_catalog_log_lookback"],
    }
    parameters.update(INVENTORY_PARAMETERS)
    parameters.update(defaults["alert_catalog_parameters"])
    return parameters


def effective_catalog(user=None):
    defaults = load_defaults()
    return ac.alert_catalog_merge(
        defaults["alert_catalog_builtin"],
        defaults["alert_catalog"] if user is None else user,
        default_owner=defaults["alert_catalog_default_owner"] or None,
        runbook_base_url=defaults["alert_catalog_runbook_base_url"],
        parameters=catalog_parameters(defaults),
    )


def sample_routing(catalog):
    teams = load_sample_teams()
    return ac.alertmanager_routing(
        catalog,
        teams["alertmanager_teams"],
        triage_channels=teams["alertmanager_triage_channels"],
        heartbeat=teams["alertmanager_heartbeat"],
    )


class _GoldenDumper(yaml.SafeDumper):
    """Block style, indented sequences, multi-line strings as literal blocks (yamllint-clean)."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def _represent_str(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_GoldenDumper.add_representer(str, _represent_str)


def dump_yaml(data) -> str:
    """The YAML layout of the golden files."""
    return yaml.dump(
        data, Dumper=_GoldenDumper, explicit_start=True, sort_keys=False, default_flow_style=False, width=120
    )


def alertmanager_config(routing):
    config = {"global": dict(AM_GLOBAL)}
    config.update(routing)
    return config


@pytest.fixture(scope="session")
def catalog():
    return effective_catalog()


@pytest.fixture(scope="session")
def routing(catalog):  # pylint: disable=redefined-outer-name
    return sample_routing(catalog)


@pytest.fixture
def promtool():
    path = shutil.which("promtool")
    if not path:
        pytest.skip("promtool not installed: apt-get install prometheus")
    return path


@pytest.fixture
def amtool():
    path = shutil.which("amtool")
    if not path:
        pytest.skip("amtool not installed: apt-get install prometheus-alertmanager")
    return path
