# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The opencti role's connectors as the compose project gets them, on the controller.

The role's variables are evaluated by ansible-playbook: the enabled connectors, sorted, the
Elastic connector with the key the role keeps when none is in the vault. Each scenario is
also kept whole in tests/golden/role_vars/ (see role_vars_render.py).
"""

from __future__ import annotations

from typing import Any, Dict

import pytest

from role_vars_render import golden_test, render_scenarios

NAMES = ["_opencti_connectors", "_opencti_elastic_key_managed"]
ELASTIC = {"opencti_elasticsearch_url": "https://logs.example.org:9200"}
KEPT = "cmVuZGVyLXRlc3Qta2V5LWlkOnJlbmRlci10ZXN0LWtleQ=="

SCENARIOS: Dict[str, Dict[str, Any]] = {
    "defaults": {},
    "managed_key": dict(ELASTIC, opencti_connector_alienvault_api_key="render-test-otx",
                        elasticsearch_opencti_password="render-test-issuer-password", __opencti_elastic_connector_key=KEPT),
    "vault_key": dict(ELASTIC, opencti_connector_elastic_security_intel_api_key="render-test-vault-key",
                      elasticsearch_opencti_password="render-test-issuer-password", __opencti_elastic_connector_key=KEPT,
                      opencti_connector_mitre_enabled=False),
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Dict[str, Dict[str, Any]]]:
    return render_scenarios(tmp_path_factory, "opencti", SCENARIOS, NAMES)


test_scenario_matches_golden_file = golden_test("opencti", SCENARIOS)


def _by_name(rendered, scenario):
    return {c["name"]: c for c in rendered[scenario]["localhost"]["_opencti_connectors"]}


def test_the_elastic_connector_gets_the_kept_key_only_when_the_vault_has_none(rendered):
    assert rendered["managed_key"]["localhost"]["_opencti_elastic_key_managed"] is True
    assert _by_name(rendered, "managed_key")["elastic-security-intel"]["api_key"] == KEPT
    assert rendered["vault_key"]["localhost"]["_opencti_elastic_key_managed"] is False
    assert _by_name(rendered, "vault_key")["elastic-security-intel"]["api_key"] == "render-test-vault-key"


def test_enabled_connectors_sorted_by_name(rendered):
    names = [c["name"] for c in rendered["managed_key"]["localhost"]["_opencti_connectors"]]
    assert names == sorted(names) and "alienvault" in names and "mitre" in names
    assert "mitre" not in _by_name(rendered, "vault_key")
    assert "elastic-security-intel" not in _by_name(rendered, "defaults")
