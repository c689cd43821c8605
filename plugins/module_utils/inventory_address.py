# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a role reaches another inventory host: its address, and that address in a URL.

The rule the roles share (Elasticsearch outputs and seeds, Grafana datasources,
Alertmanager peers): the first of the host's variables that is defined (by default
``ansible_host``), else its inventory name; an IPv6 address is written in brackets
when a port follows. A variable set to an empty value counts as set, as Jinja's
``default()`` filter treats it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Sequence

__all__ = ["bracketed", "host_address", "host_value", "host_endpoint", "host_vars"]


class HostNotFound(KeyError):
    """The host is not in hostvars (not in the inventory)."""


def host_vars(hostvars: Any, host: str) -> Mapping:
    """The variables of `host` from Ansible's ``hostvars``; HostNotFound when it has none."""
    try:
        found = hostvars[host]
    except (KeyError, TypeError):
        raise HostNotFound(host) from None
    if not isinstance(found, Mapping):
        raise HostNotFound(host)
    return found


def host_value(hostvars: Any, host: str, name: str, default: Any = None) -> Any:
    """``hostvars[host][name] | default(default)``: the host's variable when defined."""
    variables = host_vars(hostvars, host)
    return variables[name] if name in variables else default


def bracketed(address: Any) -> str:
    """An address as written before ``:port``: an IPv6 address in brackets (once)."""
    text = str(address)
    return "[%s]" % text if ":" in text and not text.startswith("[") else text


def host_address(hostvars: Any, host: str, names: Sequence[str] = ("ansible_host",)) -> str:
    """The first of the host's variables `names` that is defined, else the inventory name, as text."""
    variables = host_vars(hostvars, host)
    for name in names:
        if name in variables:
            return str(variables[name])
    return str(host)


def host_endpoint(address: Any, port: Any, scheme: str = "") -> str:
    """``[scheme://]address:port`` with an IPv6 address bracketed."""
    prefix = "%s://" % scheme if scheme else ""
    return "%s%s:%s" % (prefix, bracketed(address), port)
