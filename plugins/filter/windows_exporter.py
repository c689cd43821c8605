# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the windows_exporter role: collector list, config flags, firewall addresses.

windows_exporter_collectors(enabled, disabled=None, defaults=DEFAULT_COLLECTORS)
    Collector names -> the comma-separated value of windows_exporter's
    ``collectors.enabled`` setting: the defaults plus ``enabled`` minus ``disabled``,
    sorted, each name checked against the collectors of windows_exporter 0.30.

windows_exporter_flags(flags)
    Extra settings {flag name: scalar} -> the same mapping, checked, for the top level
    of config.yml (windows_exporter reads a dotted key such as ``scrape.timeout-margin``
    as the flag of that name). Settings the role writes itself are refused.

windows_exporter_firewall_addresses(hosts, hostvars, allow_names=False, extra=None)
    Inventory hosts (the Prometheus servers) -> the remote addresses the Windows
    Firewall rule admits: IP addresses and CIDR ranges, deduplicated, in input order.

All of them are pure functions and raise AnsibleFilterError naming the offending
collector, flag, host or address.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections import OrderedDict
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Tuple

from ansible.errors import AnsibleFilterError
from ansible_collections.vigil.monitoring.plugins.module_utils.hosts import HOSTNAME_RE, METRICS_ADDRESS_VARIABLES
from ansible_collections.vigil.monitoring.plugins.module_utils.hosts import is_set as _is_set

# Every collector windows_exporter 0.30.x registers (pkg/collector/map.go of the v0.30
# releases; the same 48 names from 0.30.0 to 0.30.9). Keep in step with the choices of
# windows_exporter_enabled_collectors in roles/windows_exporter/meta/argument_specs.yml
# (a unit test compares them).
KNOWN_COLLECTORS: Tuple[str, ...] = (
    "ad",
    "adcs",
    "adfs",
    "cache",
    "container",
    "cpu",
    "cpu_info",
    "cs",
    "dfsr",
    "dhcp",
    "diskdrive",
    "dns",
    "exchange",
    "filetime",
    "fsrmquota",
    "hyperv",
    "iis",
    "license",
    "logical_disk",
    "logon",
    "memory",
    "mscluster",
    "msmq",
    "mssql",
    "net",
    "netframework",
    "nps",
    "os",
    "pagefile",
    "performancecounter",
    "physical_disk",
    "printer",
    "process",
    "remote_fx",
    "scheduled_task",
    "service",
    "smb",
    "smbclient",
    "smtp",
    "system",
    "tcp",
    "terminal_services",
    "textfile",
    "thermalzone",
    "time",
    "udp",
    "update",
    "vmware",
)

# What windows_exporter 0.30 enables when collectors.enabled is not set.
DEFAULT_COLLECTORS: Tuple[str, ...] = (
    "cpu",
    "cs",
    "logical_disk",
    "memory",
    "net",
    "os",
    "physical_disk",
    "service",
    "system",
)

# Flags the role sets itself (config.yml or the service command line) -> the role
# variable to use instead.
MANAGED_FLAGS: Dict[str, str] = {
    "collectors.enabled": "windows_exporter_enabled_collectors / windows_exporter_disabled_collectors",
    "collector.textfile.directories": "windows_exporter_textfile_dir",
    "collector.textfile.directory": "windows_exporter_textfile_dir",
    "web.listen-address": "windows_exporter_listen_address / windows_exporter_listen_port",
    "web.config.file": "windows_exporter_tls_server_config / windows_exporter_basic_auth_users",
    "telemetry.path": "windows_exporter_telemetry_path",
    "log.level": "windows_exporter_log_level",
    "config.file": "(nothing: the role points the service at its own config.yml)",
}
FLAG_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$")

# Keywords the Windows Firewall accepts in a remote address list; each of them admits
# far more than the Prometheus servers.
FIREWALL_KEYWORDS = frozenset(
    (
        "any",
        "localsubnet",
        "dns",
        "dhcp",
        "wins",
        "defaultgateway",
        "internet",
        "intranet",
        "intranetremoteaccess",
        "playtodevice",
        "localsubnet4",
        "localsubnet6",
    )
)
ADDRESS_VARIABLES = ("vigil_scrape_source_address",) + METRICS_ADDRESS_VARIABLES

DOCUMENTATION_COLLECTORS = """
windows_exporter_collectors(enabled, disabled=None, defaults=DEFAULT_COLLECTORS)
  enabled:  collectors to enable on top of the defaults (list, or one comma-separated string)
  disabled: collectors to remove from the result (default: none)
  defaults: the base set (default: what windows_exporter 0.30 enables on its own:
            cpu, cs, logical_disk, memory, net, os, physical_disk, service, system);
            pass [] to enable exactly 'enabled'
  returns   'name,name,...', sorted and deduplicated.
  errors:   an unknown collector (the message lists the known ones and a close match),
            a collector both enabled and disabled, an empty result.
"""

DOCUMENTATION_FLAGS = """
windows_exporter_flags(flags)
  flags:    {flag name without the leading dashes: value}, e.g.
            {'scrape.timeout-margin': 1, 'collector.service.include': 'windows_exporter|W32Time'}
  returns   the same mapping with names stripped, values as strings (booleans 'true'/'false').
  errors:   a name with dashes in front or odd characters, a flag the role manages
            (the message names the role variable to use), a value that is a list,
            a mapping or null.
"""

DOCUMENTATION_FIREWALL = """
windows_exporter_firewall_addresses(hosts, hostvars, allow_names=False, extra=None)
  hosts:       inventory names of the Prometheus servers (a list, e.g.
               groups['prometheus'], or one name; missing group -> [])
  hostvars:    the hostvars magic variable
  allow_names: keep host names that are not IP addresses (the role resolves them on the
               Windows host); false: such a host is an error
  extra:       more IP addresses or CIDR ranges (windows_exporter_firewall_extra_addresses)
  returns      ['192.0.2.5', '10.0.8.0/24', '2001:db8::5', 'prom-a.example.org', ...]:
               IPs in canonical form, CIDR ranges as network/prefix (a /32 or /128 becomes
               the plain address), names lower-cased; deduplicated, in input order.

  A server's address is its vigil_scrape_source_address (a string or a list: the
  address(es) its scrapes come from, for NAT or several interfaces), else
  vigil_metrics_address, else ansible_host, else its inventory name.
  errors:      unknown host; an address that is neither an IP, a CIDR range nor a host
               name; a range with host bits set; a range that admits everything
               (0.0.0.0/0, ::/0) or a firewall keyword such as 'any' (use
               windows_exporter_firewall_allow_any); a host name without allow_names.
"""


# -- collectors -----------------------------------------------------------------------


def _names(value: Any, what: str) -> List[str]:
    """A list of collector names (list, tuple or comma-separated string) -> stripped names."""
    if value is None:
        return []
    if isinstance(value, str):
        items: Iterable[Any] = value.split(",")
    elif isinstance(value, Sequence) and not isinstance(value, (bytes, Mapping)):
        items = value
    else:
        raise AnsibleFilterError(
            "windows_exporter_collectors: %s must be a list of collector names, got %s" % (what, type(value).__name__)
        )
    names: List[str] = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            if isinstance(value, str):
                continue  # 'cpu,,os' or a trailing comma
            raise AnsibleFilterError(
                "windows_exporter_collectors: %s holds %r, which is not a collector name" % (what, item)
            )
        names.append(item.strip())
    return names


def _check_known(names: Sequence[str], what: str) -> None:
    for name in names:
        if name in KNOWN_COLLECTORS:
            continue
        close = difflib.get_close_matches(name.lower(), KNOWN_COLLECTORS, n=1)
        hint = " (did you mean '%s'?)" % close[0] if close else ""
        raise AnsibleFilterError(
            "windows_exporter_collectors: unknown collector '%s' in %s%s; windows_exporter 0.30 knows: %s"
            % (name, what, hint, ", ".join(KNOWN_COLLECTORS))
        )


def windows_exporter_collectors(enabled: Any, disabled: Any = None, defaults: Any = DEFAULT_COLLECTORS) -> str:
    """Collector names -> the collectors.enabled value (see DOCUMENTATION_COLLECTORS)."""
    wanted = _names(enabled, "enabled")
    unwanted = _names(disabled, "disabled")
    base = _names(defaults, "defaults")
    _check_known(wanted, "enabled")
    _check_known(unwanted, "disabled")
    _check_known(base, "defaults")
    both = sorted(set(wanted) & set(unwanted))
    if both:
        raise AnsibleFilterError(
            "windows_exporter_collectors: %s both enabled and disabled; remove %s from one of the two lists"
            % (", ".join("'%s'" % n for n in both), "it" if len(both) == 1 else "them")
        )
    result = sorted((set(base) | set(wanted)) - set(unwanted))
    if not result:
        raise AnsibleFilterError(
            "windows_exporter_collectors: no collector left enabled (defaults %s + enabled %s - disabled %s)"
            % (base, wanted, unwanted)
        )
    return ",".join(result)


# -- extra flags ----------------------------------------------------------------------


def windows_exporter_flags(flags: Any) -> Dict[str, str]:
    """Extra config.yml settings -> checked {flag: value} (see DOCUMENTATION_FLAGS)."""
    if flags is None:
        return {}
    if not isinstance(flags, Mapping):
        raise AnsibleFilterError(
            "windows_exporter_flags: windows_exporter_extra_flags must be a mapping of flag name to value, got %s"
            % type(flags).__name__
        )
    result: Dict[str, str] = {}
    for raw_name, value in flags.items():
        name = str(raw_name).strip()
        where = "windows_exporter_flags: flag '%s'" % name
        if name.startswith("-"):
            raise AnsibleFilterError(
                "%s: write the flag name without the leading dashes ('%s')" % (where, name.lstrip("-"))
            )
        if not FLAG_NAME_RE.match(name):
            raise AnsibleFilterError(
                "%s is not a windows_exporter flag name (lower-case words joined by dots, e.g. 'scrape.timeout-margin')"
                % where
            )
        if name in MANAGED_FLAGS:
            raise AnsibleFilterError("%s is set by the role; use %s" % (where, MANAGED_FLAGS[name]))
        if value is None or isinstance(value, (Mapping, list, tuple, set)):
            raise AnsibleFilterError(
                "%s: the value must be a string, number or boolean (lists are written comma-separated, "
                "e.g. 'a,b'), got %s" % (where, "null" if value is None else type(value).__name__)
            )
        if isinstance(value, bool):
            result[name] = "true" if value else "false"
        else:
            result[name] = str(value)
    return result


# -- firewall addresses ---------------------------------------------------------------


def _host_vars(hostvars: Any, host: Any) -> Mapping[str, Any]:
    if not isinstance(host, str) or not host:
        raise AnsibleFilterError(
            "windows_exporter_firewall_addresses: host names must be non-empty strings, got %r" % (host,)
        )
    try:
        found = host in hostvars
    except TypeError:
        raise AnsibleFilterError(
            "windows_exporter_firewall_addresses: pass the hostvars variable as second argument"
        ) from None
    if not found:
        raise AnsibleFilterError(
            "windows_exporter_firewall_addresses: Prometheus host '%s' is not in the inventory (not found in hostvars)"
            % host
        )
    return hostvars[host]


def _host_addresses(host: str, hv: Mapping[str, Any]) -> Tuple[List[Any], str]:
    """The candidate addresses of one Prometheus host and the variable they come from."""
    for variable in ADDRESS_VARIABLES:
        value = hv.get(variable)
        if _is_set(value):
            values = list(value) if isinstance(value, (list, tuple)) else [value]
            return values, variable
    return [host], "the inventory name"


def _address(value: Any, where: str, allow_names: bool, fix: str) -> str:
    """One IP / CIDR / name -> its canonical form for the firewall rule."""
    if not isinstance(value, str) or not value.strip():
        raise AnsibleFilterError("%s: %r is not an IP address, a CIDR range or a host name" % (where, value))
    text = value.strip()
    if text.lower() in FIREWALL_KEYWORDS:
        raise AnsibleFilterError(
            "%s: '%s' is a Windows Firewall keyword that admits far more than the Prometheus servers; "
            "list their addresses, or set windows_exporter_firewall_allow_any: true if every address "
            "really may scrape" % (where, text)
        )
    if "/" in text:
        try:
            network = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            if "host bits set" in str(exc):
                loose = ipaddress.ip_network(text, strict=False)
                raise AnsibleFilterError(
                    "%s: '%s' has host bits set; did you mean '%s'?" % (where, text, loose)
                ) from None
            raise AnsibleFilterError(
                "%s: '%s' is not a CIDR range (expected e.g. '10.0.8.0/24' or '2001:db8::/64')" % (where, text)
            ) from None
        if network.prefixlen == 0:
            raise AnsibleFilterError(
                "%s: '%s' admits every address; set windows_exporter_firewall_allow_any: true instead if you mean it"
                % (where, text)
            )
        if network.prefixlen == network.max_prefixlen:
            return str(network.network_address)
        return str(network)
    try:
        return str(ipaddress.ip_address(text.split("%", 1)[0] if ":" in text else text))
    except ValueError:
        pass
    if not HOSTNAME_RE.match(text) or re.match(r"^[0-9.]+$", text):
        raise AnsibleFilterError("%s: '%s' is not an IP address, a CIDR range or a host name" % (where, text))
    if not allow_names:
        raise AnsibleFilterError(
            "%s: '%s' is a host name, but the firewall rule needs IP addresses; %s, or set "
            "windows_exporter_firewall_allow_names: true to resolve names on the Windows host" % (where, text, fix)
        )
    return text.rstrip(".").lower()


def windows_exporter_firewall_addresses(
    hosts: Any, hostvars: Any, allow_names: bool = False, extra: Any = None
) -> List[str]:
    """Prometheus servers -> remote addresses for the firewall rule (see DOCUMENTATION_FIREWALL)."""
    caller = "windows_exporter_firewall_addresses"
    if hosts is None:
        hosts = []
    if isinstance(hosts, str):
        hosts = [hosts]
    if not isinstance(hosts, Sequence):
        raise AnsibleFilterError("%s expects a list of host names, got %s" % (caller, type(hosts).__name__))
    if extra is None:
        extra = []
    if isinstance(extra, str):
        extra = [extra]
    if not isinstance(extra, Sequence):
        raise AnsibleFilterError(
            "%s: windows_exporter_firewall_extra_addresses must be a list of IPs or CIDR ranges, got %s"
            % (caller, type(extra).__name__)
        )
    seen: "OrderedDict[str, None]" = OrderedDict()
    for host in hosts:
        hv = _host_vars(hostvars, host)
        values, source = _host_addresses(host, hv)
        for value in values:
            where = "%s: Prometheus host '%s' (address from %s)" % (caller, host, source)
            fix = (
                "set vigil_metrics_address (or vigil_scrape_source_address, the address its scrapes come from) "
                "to an IP for '%s'" % host
            )
            seen.setdefault(_address(value, where, bool(allow_names), fix), None)
    for index, value in enumerate(extra):
        where = "%s: windows_exporter_firewall_extra_addresses #%d" % (caller, index + 1)
        seen.setdefault(_address(value, where, bool(allow_names), "list an IP address or a CIDR range"), None)
    return list(seen)


class FilterModule:
    """windows_exporter filters."""

    def filters(self) -> Dict[str, Any]:
        return {
            "windows_exporter_collectors": windows_exporter_collectors,
            "windows_exporter_flags": windows_exporter_flags,
            "windows_exporter_firewall_addresses": windows_exporter_firewall_addresses,
        }
