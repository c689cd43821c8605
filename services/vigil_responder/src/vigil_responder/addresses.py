"""Addresses an alert asks to block, checked strictly, and the allowlist that is never blocked.

An address comes from an alert label, so it is untrusted text: only the characters of an
IPv4 or IPv6 address (and ``/prefix``) are accepted, no zone index, no spaces, no host bits
set in a network. An IPv4-mapped IPv6 address (``::ffff:192.0.2.1``) stands for its IPv4
address. Networks wider than a host are refused unless the configuration lowers the
minimum prefix length. Addresses that can never be an attacker (unspecified, loopback,
link-local, multicast, reserved) are refused whatever the allowlist says.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Iterable, List, Optional, Sequence, Union

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

MAX_ADDRESS_CHARS = 64
_ADDRESS_CHARS = re.compile(r"^[0-9A-Fa-f.:]+(?:/[0-9]{1,3})?$")
_RANGE = re.compile(r"^([0-9A-Fa-f.:]+)\s*-\s*([0-9A-Fa-f.:]+)$")

# Never blockable: blocking them cuts the host off from itself or its link, or means nothing.
SPECIAL_NETWORKS: Sequence[Network] = tuple(
    ipaddress.ip_network(text)
    for text in (
        "0.0.0.0/8",        # "this network", unspecified
        "127.0.0.0/8",      # loopback
        "169.254.0.0/16",   # link-local
        "224.0.0.0/4",      # multicast
        "240.0.0.0/4",      # reserved, broadcast
        "::/128",           # unspecified
        "::1/128",          # loopback
        "fe80::/10",        # link-local
        "ff00::/8",         # multicast
    )
)


class AddressError(ValueError):
    """An address the responder will not block; ``reason`` is a short code for metrics and the audit log."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _unmapped(network: Network) -> Network:
    """An IPv4-mapped IPv6 network (::ffff:a.b.c.d/96+n) as the IPv4 network it stands for."""
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            return ipaddress.ip_network("%s/%d" % (mapped, network.prefixlen - 96))
    return network


def display(network: Network) -> str:
    """A host as its bare address, a wider network in CIDR notation."""
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return network.with_prefixlen


def parse_target(text: object, min_prefix_ipv4: int = 32, min_prefix_ipv6: int = 128) -> Network:
    """The network an alert label names, or AddressError saying why it is refused."""
    if not isinstance(text, str) or not text:
        raise AddressError("invalid_address", "the address label is empty or not text")
    shown = text if len(text) <= MAX_ADDRESS_CHARS else text[:MAX_ADDRESS_CHARS] + "..."
    if len(text) > MAX_ADDRESS_CHARS or not _ADDRESS_CHARS.match(text):
        raise AddressError("invalid_address", "%r is not an IPv4 or IPv6 address" % shown)
    try:
        network = _unmapped(ipaddress.ip_network(text, strict=True))
    except ValueError as exc:
        raise AddressError("invalid_address", "%r is not an address or network: %s" % (shown, exc)) from None
    minimum = min_prefix_ipv4 if network.version == 4 else min_prefix_ipv6
    if network.prefixlen < minimum:
        raise AddressError(
            "network_too_wide",
            "%s is wider than the configured limit (/%d for IPv%d)" % (network.with_prefixlen, minimum, network.version),
        )
    for special in SPECIAL_NETWORKS:
        if special.version == network.version and network.overlaps(special):
            raise AddressError("special_address", "%s is in %s, which is never blocked" % (display(network), special))
    return network


def parse_allowlist_entry(text: object) -> List[Network]:
    """One allowlist entry: an address, a CIDR network, or a range ``first-last``; ValueError otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("an allowlist entry must be an address, a CIDR network or a range first-last, got %r" % (text,))
    text = text.strip()
    match = _RANGE.match(text)
    if match:
        first = ipaddress.ip_address(match.group(1))
        last = ipaddress.ip_address(match.group(2))
        if first.version != last.version or int(last) < int(first):
            raise ValueError("range %r: both ends must be of one IP version, the first not after the last" % text)
        return [_unmapped(n) for n in ipaddress.summarize_address_range(first, last)]
    try:
        return [_unmapped(ipaddress.ip_network(text, strict=True))]
    except ValueError as exc:
        raise ValueError("%r is not an address, a CIDR network (no host bits) or a range: %s" % (text, exc)) from None


class Allowlist:
    """Networks that are never blocked: an address overlapping any of them is refused."""

    def __init__(self, networks: Iterable[Network]) -> None:
        self.networks = tuple(ipaddress.collapse_addresses([n for n in networks if n.version == 4])) + tuple(
            ipaddress.collapse_addresses([n for n in networks if n.version == 6])
        )

    def match(self, network: Network) -> Optional[Network]:
        """The allowlisted network that overlaps ``network``, or None."""
        for allowed in self.networks:
            if allowed.version == network.version and allowed.overlaps(network):
                return allowed
        return None

    def __len__(self) -> int:
        return len(self.networks)
