"""Every alert Vigil ships reaches a team that has receivers, never the triage catch-all.

Owners live in four places: the alert catalog (Prometheus and Grafana rules), the
Kibana log-side rules, and the OpenCTI C2 correlation rule. The routing tree has a
route per team of alertmanager_teams; an owner missing there silently lands in triage.
The example and lab inventories are what operators copy, so they must cover them all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from alerting_support import effective_catalog, load_yaml

ROOT = Path(__file__).resolve().parents[3]


def _yaml(*parts: str):
    # As Ansible reads it: the inventories tag Prometheus templates with !unsafe.
    return load_yaml(ROOT.joinpath(*parts))


def shipped_owners() -> dict:
    """owner -> names of the shipped alerts it owns."""
    owners: dict = {}
    for alert in effective_catalog():
        owners.setdefault(alert["owner"], []).append(alert["name"])
    for rule in _yaml("roles", "kibana", "defaults", "main.yml")["kibana_log_rules"]:
        owners.setdefault(rule["labels"]["team"], []).append(rule["labels"]["alertname"])
    c2 = _yaml("roles", "opencti", "defaults", "main.yml")["opencti_c2_correlation_rule"]
    owners.setdefault(c2["owner"], []).append(c2["alertname"])
    return owners


def test_shipped_rules_name_their_owners():
    owners = shipped_owners()
    assert "" not in owners and None not in owners, owners
    # The four sources all contributed (a renamed variable would silently shrink this).
    names = {n for alerts in owners.values() for n in alerts}
    assert {"HostDown", "ManyFailedLogons", "ThreatIntelC2Connection"} <= names


@pytest.mark.parametrize(
    "teams_file",
    [
        ("inventories", "example", "group_vars", "all", "vars.yml"),
        ("inventories", "lab", "group_vars", "all", "alerting.yml"),
    ],
    ids=["example", "lab"],
)
def test_every_shipped_owner_has_a_pager_or_digest_in_the_inventory(teams_file):
    teams = _yaml(*teams_file)["alertmanager_teams"]
    missing = {owner: alerts for owner, alerts in shipped_owners().items() if owner not in teams}
    assert not missing, "owners without receivers (their alerts would go to triage): %s" % missing
    for owner in shipped_owners():
        channels = teams[owner].get("pager", []) + teams[owner].get("digest", [])
        assert channels, "team %s has no channel" % owner
