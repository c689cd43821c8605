"""Rules that filters and modules must agree on live once in module_utils; the filters use those very objects."""

from __future__ import annotations

import pytest
from ansible_collections.vigil.monitoring.plugins.filter import alert_catalog, ecs_pipeline, prometheus_targets
from ansible_collections.vigil.monitoring.plugins.filter import snmp_exporter, windows_exporter
from ansible_collections.vigil.monitoring.plugins.module_utils import alert_labels, canonical, durations, elastic, file_sd
from ansible_collections.vigil.monitoring.plugins.module_utils import hosts


def test_the_filters_and_modules_import_one_rule_each():
    assert ecs_pipeline.pipeline_hash is canonical.pipeline_hash
    assert alert_catalog.DURATION_RE is durations.DURATION_RE
    assert alert_catalog.RESERVED_LABELS is alert_labels.ALERT_LABELS is elastic.REQUIRED_ALERT_LABELS
    assert alert_catalog.LABEL_RE is snmp_exporter.LABEL_NAME_RE is file_sd.LABEL_NAME_RE
    assert windows_exporter.HOSTNAME_RE is hosts.HOSTNAME_RE
    assert prometheus_targets._address is hosts.metrics_address  # pylint: disable=protected-access


@pytest.mark.parametrize("text,ms", [("0", 0), ("90s", 90000), ("1h30m", 5400000), ("5ms", 5), ("1m5ms", 60005),
                                     ("2w", 14 * 86400000), ("1y", 365 * 86400000)])
def test_durations(text, ms):
    assert durations.duration_ms(text) == ms
    assert durations.DURATION_RE.match(text)


@pytest.mark.parametrize("text", ["", "00", "5", "1m1h", "1.5h", "-1s", "1 m", "h"])
def test_not_durations(text):
    assert durations.duration_ms(text) is None
    assert not durations.DURATION_RE.match(text)


def test_canonical_duration_is_what_grafana_prints():
    assert durations.canonical_duration("90s") == "1m30s"
    assert durations.canonical_duration("24h") == "1d" and durations.canonical_duration(0) == "0s"
    assert durations.canonical_duration("soon") == "soon"


@pytest.mark.parametrize("name,strict,target", [
    ("prom1", True, True),
    ("prom1.example.org", True, True),
    ("prom1.example.org.", True, True),
    ("10.0.8.1", True, True),
    ("vigil_mon1", False, True),  # container names: a scrape target, not a DNS name
    ("-prom", False, False),
    ("prom-", False, False),
    ("a..b", False, False),
    ("a" * 64, False, False),
    (".".join(["a" * 63] * 4), False, False),  # 255 characters
    ("prom 1", False, False),
])
def test_host_names(name, strict, target):
    assert bool(hosts.HOSTNAME_RE.match(name)) is strict
    assert bool(hosts.TARGET_HOST_RE.match(name)) is target


def test_metrics_address_choice():
    assert hosts.metrics_address("web1", {"vigil_metrics_address": " 10.0.0.5 ", "ansible_host": "x"}) == "10.0.0.5"
    assert hosts.metrics_address("web1", {"vigil_metrics_address": "", "ansible_host": "192.0.2.1"}) == "192.0.2.1"
    assert hosts.metrics_address("web1", {}) == "web1"


def test_content_hash_ignores_its_own_field_and_key_order():
    body = {"processors": [{"set": {"field": "a", "value": "é"}}], "_meta": {"owner": "x"}}
    hashed = canonical.with_content_hash(body)
    assert hashed["_meta"]["vigil_hash"] == canonical.pipeline_hash(hashed) == canonical.pipeline_hash(body)
    assert canonical.pipeline_hash({"_meta": {"vigil_hash": "old"}, "b": 1}) == canonical.sha256_of({"b": 1})
    assert canonical.canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'
