"""Golden files: what the default catalog renders to, reviewed in diffs.

A change to the catalog or the filters changes tests/golden/alerting/; rewrite the files
with ``VIGIL_UPDATE_GOLDEN=1 python -m pytest tests/unit/alerting`` and review the diff.
"""

from __future__ import annotations

import os

import pytest
import yaml

from alerting_support import GOLDEN, dump_yaml
from alerting_support import catalog, routing  # noqa: F401  (fixtures)  # pylint: disable=unused-import
from ansible_collections.vigil.monitoring.plugins.filter import alert_catalog as ac

UPDATE = os.environ.get("VIGIL_UPDATE_GOLDEN") == "1"

RENDERINGS = {
    "prometheus-rules.yml": lambda catalog, routing: ac.alert_catalog_rules(catalog),
    "alertmanager-routing.yml": lambda catalog, routing: routing,
    "alertmanager-route-tests.yml": lambda catalog, routing: ac.alertmanager_route_tests(catalog, routing),
    "grafana-alert-rules.yml": lambda catalog, routing: ac.alert_catalog_grafana(catalog, "vigil-prometheus"),
}


@pytest.mark.parametrize("name", sorted(RENDERINGS))
def test_rendering_matches_golden_file(name, catalog, routing):
    rendered = dump_yaml(RENDERINGS[name](catalog, routing))
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
    assert path.exists(), "%s is missing: run with VIGIL_UPDATE_GOLDEN=1 to write it" % path
    expected = path.read_text(encoding="utf-8")
    assert rendered == expected, (
        "%s differs from what the catalog renders to; if the change is intended, "
        "rewrite it with VIGIL_UPDATE_GOLDEN=1 and review the diff" % path
    )
    # The file is YAML that loads back to the same data (no lossy dump).
    assert yaml.safe_load(expected) == RENDERINGS[name](catalog, routing)
