# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Elastic's integration packages that Vigil's agent inputs can use under Fleet (the ``integration`` key of an input).

Facts about each package, read from its manifests in elastic/integrations (``packages/<name>/manifest.yml`` and
``data_stream/<stream>/manifest.yml``): the policy template, the data stream, the agent input types of that stream
and the variables Vigil sets. In Fleet's simplified package policy format an input is keyed
``<policy template>-<input type>`` and a stream ``<package>.<data stream>``. Vigil's own field maps then attach to
the data stream as its ``<type>-<dataset>@custom`` ingest pipeline, which the integration's pipeline calls last.

Shared by the filters that check a policy and build its Fleet package policies, and by the tests.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

# How Vigil's input types map to the packages' input types.
AGENT_INPUT = {"udp": "udp", "tcp": "tcp", "filestream": "logfile", "journald": "journald", "winlog": "winlog"}

# name -> package, policy template, data stream (the stream key), Vigil input types it takes, the inputs of the
# package that Vigil switches off so that the package collects nothing else (each read in the package manifest).
INTEGRATIONS: Dict[str, Dict[str, Any]] = {
    "fortinet_fortigate": {
        "package": "fortinet_fortigate", "template": "fortinet_fortigate", "dataset": "fortinet_fortigate.log",
        "types": ("udp", "tcp"), "package_inputs": ("logfile", "tcp", "udp"),
    },
    "pfsense": {
        "package": "pfsense", "template": "pfsense", "dataset": "pfsense.log",
        "types": ("udp", "tcp"), "package_inputs": ("udp", "tcp"),
    },
    "cisco_ios": {
        "package": "cisco_ios", "template": "cisco_ios", "dataset": "cisco_ios.log",
        "types": ("udp", "tcp"), "package_inputs": ("tcp", "udp", "logfile"),
    },
    "system_auth": {
        "package": "system", "template": "system", "dataset": "system.auth",
        "types": ("filestream", "journald"), "package_inputs": ("logfile", "winlog", "system/metrics", "httpjson", "journald"),
    },
    "system_syslog": {
        "package": "system", "template": "system", "dataset": "system.syslog",
        "types": ("filestream", "journald"), "package_inputs": ("logfile", "winlog", "system/metrics", "httpjson", "journald"),
    },
    "system_security": {
        "package": "system", "template": "system", "dataset": "system.security",
        "types": ("winlog",), "package_inputs": ("logfile", "winlog", "system/metrics", "httpjson", "journald"),
    },
    "system_system": {
        "package": "system", "template": "system", "dataset": "system.system",
        "types": ("winlog",), "package_inputs": ("logfile", "winlog", "system/metrics", "httpjson", "journald"),
    },
    "windows_sysmon": {
        "package": "windows", "template": "windows", "dataset": "windows.sysmon_operational",
        "types": ("winlog",), "package_inputs": ("winlog",),
    },
}

# The syslog facilities of the authentication log (auth 4, authpriv 10), as rsyslog's auth.log and the System
# integration's journald auth stream select them; the system log takes every other facility, so that no journal
# entry is read twice.
AUTH_FACILITIES = (4, 10)
SYSLOG_FACILITIES = tuple(f for f in range(24) if f not in AUTH_FACILITIES)


def integration(name: Any) -> Dict[str, Any]:
    """The catalogue entry (KeyError for an unknown name)."""
    return INTEGRATIONS[name]


def package_input_key(entry: Dict[str, Any], vigil_type: str) -> str:
    """``<policy template>-<package input type>``, the simplified format's input key."""
    return "%s-%s" % (entry["template"], AGENT_INPUT[vigil_type])


def custom_pipeline(entry: Dict[str, Any]) -> str:
    """The ``@custom`` pipeline the integration's pipeline calls for its data stream."""
    return "logs-%s@custom" % entry["dataset"]


def data_stream(entry: Dict[str, Any], namespace: str) -> str:
    return "logs-%s-%s" % (entry["dataset"], namespace)


def known() -> Tuple[str, ...]:
    return tuple(sorted(INTEGRATIONS))
