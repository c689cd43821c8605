# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The responder's responses and monitoring-host addresses; the OpenCTI connector with the kept key."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.filter import opencti_connector_key as opencti
from ansible_collections.vigil.monitoring.plugins.filter import responder_host_addresses as addresses
from ansible_collections.vigil.monitoring.plugins.filter import responder_responses as responses


def test_the_filters_are_exposed():
    assert responses.FilterModule().filters() == {"responder_responses": responses.responder_responses}
    assert addresses.FilterModule().filters() == {"responder_host_addresses": addresses.responder_host_addresses}
    assert opencti.FilterModule().filters() == {"opencti_connector_key": opencti.opencti_connector_key}


def test_responses_of_the_catalog_then_the_inventory():
    catalog = [{"name": "SshBruteForce", "response": {"action": "block_ip", "label": "source_ip", "ttl": "1h"}},
               {"name": "HostDown"}]
    assert responses.responder_responses(catalog, [{"alertname": "Manual", "action": "block_ip", "label": "ip"}]) == [
        {"alertname": "SshBruteForce", "action": "block_ip", "label": "source_ip", "ttl": "1h"},
        {"alertname": "Manual", "action": "block_ip", "label": "ip"}]
    assert responses.responder_responses(None, None) == []


def test_a_response_must_be_a_mapping_of_a_named_alert():
    with pytest.raises(AnsibleFilterError, match="the response of alert X must be a mapping, got str"):
        responses.responder_responses([{"name": "X", "response": "block"}])
    with pytest.raises(AnsibleFilterError, match="an alert with a response has no name"):
        responses.responder_responses([{"response": {}}])


def test_every_address_a_monitoring_host_may_use():
    hostvars = {"mon1": {"ansible_host": "192.0.2.5", "ansible_facts": {"all_ipv4_addresses": ["10.1.0.5"],
                                                                        "all_ipv6_addresses": ["2001:db8::5"]}},
                "mon2": {}, "am1": {"ansible_host": "am1.example.org", "ansible_facts": None}}
    resolved = {"mon1": ["192.0.2.5"], "192.0.2.5": ["192.0.2.5"], "mon2": ["192.0.2.6"], "am1.example.org": ["198.51.100.7"]}
    assert addresses.responder_host_addresses(["mon1", "mon2", "am1"], hostvars, resolved) == {
        "mon1": ["192.0.2.5", "192.0.2.5", "10.1.0.5", "2001:db8::5"],
        "mon2": ["192.0.2.6", "192.0.2.6"],
        "am1": ["198.51.100.7"]}
    with pytest.raises(AnsibleFilterError, match="host mon9 is not in the inventory"):
        addresses.responder_host_addresses(["mon9"], hostvars, resolved)


CONNECTORS = [{"name": "alienvault", "api_key": "otx"}, {"name": "elastic-security-intel", "api_key": ""}]


def test_the_named_connector_gets_the_key_others_are_untouched():
    found = opencti.opencti_connector_key(CONNECTORS, "elastic-security-intel", "kept-key")
    assert found == [{"name": "alienvault", "api_key": "otx"}, {"name": "elastic-security-intel", "api_key": "kept-key"}]
    assert CONNECTORS[1]["api_key"] == ""
    with pytest.raises(AnsibleFilterError, match=r"opencti_connectors\[0\] needs a name"):
        opencti.opencti_connector_key([{"image": "x"}], "x", "k")
