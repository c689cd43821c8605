"""responder_allowlist: the operator's ranges, the monitoring hosts and the controller, as networks."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.filter.responder import FilterModule, responder_allowlist


def test_the_filter_is_exposed():
    assert FilterModule().filters() == {"responder_allowlist": responder_allowlist}


def test_ranges_hosts_and_controller_are_joined_and_collapsed():
    got = responder_allowlist(
        ["10.0.0.0/8", "192.0.2.10-192.0.2.13", "2001:db8::/48"],
        hosts={"mon1": ["10.1.2.3", "192.0.2.50"], "mon2": ["192.0.2.51", "fe80::1%eth0", "2001:db8:1::5"]},
        extra=["198.51.100.1"],
    )
    assert got == ["10.0.0.0/8", "192.0.2.10/31", "192.0.2.12/31", "192.0.2.50/31", "198.51.100.1/32",
                   "2001:db8::/48", "2001:db8:1::5/128", "fe80::1/128"]


def test_empty_is_empty():
    assert responder_allowlist([]) == []
    assert responder_allowlist(None, hosts={}) == []


@pytest.mark.parametrize("ranges,message", [
    (["10.0.0.1/8"], "responder_allowlist[0] is '10.0.0.1/8'"),
    (["10.0.0.0/8", "lab-net"], "responder_allowlist[1] is 'lab-net'"),
    (["192.0.2.13-192.0.2.10"], "the first not after the last"),
    ([""], "responder_allowlist[0] is ''"),
    ("10.0.0.0/8", "responder_allowlist must be a list"),
])
def test_bad_ranges_are_refused_naming_the_entry(ranges, message):
    with pytest.raises(AnsibleFilterError) as error:
        responder_allowlist(ranges)
    assert message in str(error.value)


def test_a_monitoring_host_without_any_address_stops_the_role():
    with pytest.raises(AnsibleFilterError) as error:
        responder_allowlist([], hosts={"mon1": ["192.0.2.5"], "mon3": []})
    assert "monitoring host mon3 has no address" in str(error.value)
    assert "set ansible_host to its IP address" in str(error.value)
