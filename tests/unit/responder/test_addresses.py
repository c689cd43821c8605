"""Strict address parsing and the allowlist."""

from __future__ import annotations

import ipaddress

import pytest

# Importing it puts the package on sys.path.
from responder import conftest  # noqa: F401  # pylint: disable=unused-import
from vigil_responder import addresses


@pytest.mark.parametrize("text,expected", [
    ("203.0.113.7", "203.0.113.7/32"),
    ("2001:db8::7", "2001:db8::7/128"),
    ("2001:DB8::7", "2001:db8::7/128"),
    ("::ffff:203.0.113.7", "203.0.113.7/32"),   # IPv4-mapped: the IPv4 address it stands for
    ("203.0.113.7/32", "203.0.113.7/32"),
])
def test_an_address_becomes_its_host_network(text, expected):
    assert addresses.parse_target(text).with_prefixlen == expected


@pytest.mark.parametrize("text", [
    "", " 203.0.113.7", "203.0.113.7 ", "203.0.113.7\n", "fe80::1%eth0", "203.0.113.7;rm -rf /", "host.example.org",
    "203.0.113", "203.0.113.256", "010.0.0.1", "[2001:db8::1]", "203.0.113.7/24", "2001:db8::1/64", "1" * 80,
])
def test_anything_but_one_clean_address_is_refused_as_invalid(text):
    with pytest.raises(addresses.AddressError) as error:
        addresses.parse_target(text, min_prefix_ipv4=8, min_prefix_ipv6=16)
    assert error.value.reason == "invalid_address"


def test_a_label_that_is_not_text_is_invalid():
    with pytest.raises(addresses.AddressError):
        addresses.parse_target(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["127.0.0.1", "0.0.0.0", "169.254.10.1", "224.0.0.251", "255.255.255.255",
                                  "::1", "::", "fe80::1", "ff02::1", "::ffff:127.0.0.1"])
def test_addresses_that_are_never_an_attacker_are_refused(text):
    with pytest.raises(addresses.AddressError) as error:
        addresses.parse_target(text)
    assert error.value.reason == "special_address"


def test_a_network_wider_than_a_host_is_refused_unless_configured():
    with pytest.raises(addresses.AddressError) as error:
        addresses.parse_target("203.0.113.0/24")
    assert error.value.reason == "network_too_wide"
    assert addresses.parse_target("203.0.113.0/24", min_prefix_ipv4=24).prefixlen == 24
    with pytest.raises(addresses.AddressError):
        addresses.parse_target("203.0.112.0/23", min_prefix_ipv4=24)
    assert addresses.parse_target("2001:db8:1::/48", min_prefix_ipv6=48).prefixlen == 48
    # A wide network that contains a special range is refused for that.
    with pytest.raises(addresses.AddressError) as error:
        addresses.parse_target("127.0.0.0/24", min_prefix_ipv4=8)
    assert error.value.reason == "special_address"


def test_display_shows_hosts_bare_and_networks_in_cidr():
    assert addresses.display(ipaddress.ip_network("203.0.113.7/32")) == "203.0.113.7"
    assert addresses.display(ipaddress.ip_network("203.0.113.0/24")) == "203.0.113.0/24"


@pytest.mark.parametrize("entry,networks", [
    ("192.0.2.10", ["192.0.2.10/32"]),
    ("10.0.0.0/8", ["10.0.0.0/8"]),
    ("192.0.2.10-192.0.2.13", ["192.0.2.10/31", "192.0.2.12/31"]),
    ("2001:db8::/32", ["2001:db8::/32"]),
])
def test_allowlist_entries_are_addresses_networks_or_ranges(entry, networks):
    assert [n.with_prefixlen for n in addresses.parse_allowlist_entry(entry)] == networks


@pytest.mark.parametrize("entry", ["", "10.0.0.1/8", "192.0.2.13-192.0.2.10", "192.0.2.1-2001:db8::1", "lab", 7])
def test_bad_allowlist_entries_are_refused(entry):
    with pytest.raises(ValueError):
        addresses.parse_allowlist_entry(entry)


def test_the_allowlist_matches_any_overlap():
    allow = addresses.Allowlist(addresses.parse_allowlist_entry("10.0.0.0/8")
                                + addresses.parse_allowlist_entry("192.0.2.10-192.0.2.13"))
    assert str(allow.match(ipaddress.ip_network("10.1.2.3/32"))) == "10.0.0.0/8"
    assert allow.match(ipaddress.ip_network("192.0.2.12/32")) is not None
    assert allow.match(ipaddress.ip_network("192.0.2.14/32")) is None
    # A network that merely contains an allowlisted address is refused too.
    assert allow.match(ipaddress.ip_network("192.0.2.0/24")) is not None
    assert allow.match(ipaddress.ip_network("2001:db8::1/128")) is None
