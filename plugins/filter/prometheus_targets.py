# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that build Prometheus file_sd entries from the inventory and from address ranges.

file_sd_entries(hosts, hostvars, port, role='node', labels=None, port_var=None, instance=True)
    Inventory hosts -> list of file_sd groups, one per host, in host order:
    [{"targets": ["<address>:<port>"], "labels": {...}}]. Used by the prometheus role to
    template a static file_sd file, e.g.
    ``groups['node'] | vigil.monitoring.file_sd_entries(hostvars, 9100, port_var='node_exporter_port')``.

file_sd_entry(host, hostvars, port, role='node', labels=None, port_var=None, instance=True)
    The same for one host -> one group. Feeds the prometheus_target module from an
    exporter role (``target: "{{ entry.targets[0] }}"``, ``labels: "{{ entry.labels }}"``).

expand_cidr_targets(cidrs, limit=256)
    CIDR ranges and single addresses -> list of host addresses (strings), deduplicated,
    in input order. Refuses more than ``limit`` addresses in total.

blackbox_probe_targets(probes, module='icmp', limit=256, labels=None)
    Probe definitions -> file_sd groups for the blackbox exporter, each target labelled
    with ``module`` (the blackbox module that should probe it).

multi_target_relabel(address_label, params=None, instance_from_target=True, keep=None)
    The relabel_configs of a multi-target job (blackbox probes, SNMP devices): the target
    becomes the exporter's ``target`` URL parameter, labels become the other parameters,
    the exporter named in ``address_label`` is scraped instead of the target.

All of them raise AnsibleFilterError with a message naming the offending host, range or
entry. Label names follow the rules of the prometheus_target module (no leading ``__``)
and label values are converted to strings the same way (booleans become 'true'/'false').
"""

from __future__ import annotations

import re
from inspect import signature
from collections import OrderedDict
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from ansible.errors import AnsibleFilterError
from ansible_collections.vigil.monitoring.plugins.module_utils.hosts import metrics_address as _address
from ansible_collections.vigil.monitoring.plugins.module_utils.file_sd import (
    FileSdError,
    join_target,
    normalize_labels,
)

try:
    import netaddr

    HAS_NETADDR = True
except ImportError:  # pragma: no cover - netaddr is pinned in requirements.txt
    netaddr = None
    HAS_NETADDR = False

CIDR_LIMIT_VARIABLE = "blackbox_exporter_cidr_limit"
# The most addresses CIDR ranges may expand to, whatever the limit says: every address is a
# probe on every scrape interval (4096 probes every 15 s is some 270 probes a second from
# one exporter), and a /12 by mistake must not become a million targets. Documented in the
# blackbox_exporter role (README, argument specs).
CIDR_LIMIT_MAX = 4096
# Characters refused in a probe target: whitespace and control characters (a newline would
# start another line in the file_sd file and in every message), and those RFC 3986 never
# allows unencoded in a URI: they have no place in a host:port or a URL, and < > " ` { }
# are markup.
TARGET_FORBIDDEN = frozenset('<>"`{}|\\^')
TARGET_MAX_LENGTH = 2048
CIDR_LIKE_RE = re.compile(r"^[0-9A-Fa-f:.]+/[0-9]{1,3}$")
MODULE_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
PROBE_KEYS = frozenset(("target", "cidr", "module", "labels", "port"))
OS_NAMES = {"win32nt": "windows"}

DOCUMENTATION_FILE_SD_ENTRIES = """
file_sd_entries(hosts, hostvars, port, role='node', labels=None, port_var=None, instance=True)
  hosts:    inventory host names (a list, e.g. groups['node_exporter'], or one name)
  hostvars: the hostvars magic variable
  port:     default port (1..65535)
  role:     value of the 'role' label
  labels:   extra labels for every host (override the computed ones)
  port_var: name of a host variable holding the host's own port (e.g. 'node_exporter_port');
            used instead of port when the host defines it
  instance: true: label 'instance' = inventory host name (friendly names in dashboards);
            false: no 'instance' label, Prometheus uses the address
  returns   [{targets: ['<address>:<port>'], labels: {...}}], one group per host, in host order.

  address:  vigil_metrics_address if set, else ansible_host, else the inventory name;
            IPv6 addresses are bracketed ('[2001:db8::5]:9100').
  labels:   role; environment from vigil_environment and site from vigil_site (omitted when
            undefined or empty); os from vigil_os, else ansible_facts.system lowercased
            ('Win32NT' becomes 'windows'), else 'linux'; instance (see above). Then the
            'labels' argument, then the host's own vigil_metrics_labels mapping, later ones win.
  errors:   unknown host, invalid address or port, invalid label, two hosts with the same target.
"""

DOCUMENTATION_EXPAND_CIDR_TARGETS = """
expand_cidr_targets(cidrs, limit=256)
  cidrs:   list of CIDR ranges ('10.0.0.0/28', '2001:db8::/124') or single addresses, or one string
  limit:   maximum number of addresses in total (the blackbox role passes blackbox_exporter_cidr_limit);
           at most CIDR_LIMIT_MAX (4096), whatever the caller asks
  returns  list of address strings, deduplicated, in input order.
  IPv4 ranges of /30 and larger lose their network and broadcast addresses; /31 and /32
  keep both. IPv6 ranges lose the subnet-router anycast address (the first one) unless
  they are /127 or /128. A range with host bits set ('10.0.0.5/24') is refused, as it is
  probably a typo.
"""

DOCUMENTATION_BLACKBOX_PROBE_TARGETS = """
blackbox_probe_targets(probes, module='icmp', limit=256, labels=None)
  probes:  list of probe definitions, each one of
           - a string: a target as the blackbox module expects it ('https://example.org/health',
             'db1:5432', '10.0.0.1'), or a CIDR range ('10.0.0.0/28') that is expanded;
           - a mapping with exactly one of
               target: one target string
               cidr:   a CIDR range or single address, or a list of them
             and optionally
               module: blackbox module for this probe (default: the module argument)
               labels: extra labels for this probe
               port:   port appended to every address expanded from cidr (for tcp_connect)
  module:  default blackbox module name
  limit:   maximum number of probes produced from CIDR ranges in total
           (pass blackbox_exporter_cidr_limit); at most CIDR_LIMIT_MAX (4096)
  labels:  labels for every probe (per-probe labels win)
  targets: no whitespace or control characters, none of < > " ` { } | \\ ^ (RFC 3986 never
           allows them unencoded), at most 2048 characters
  returns  file_sd groups [{targets: [...], labels: {module: <name>, ...}}]; probes with the
           same labels share a group; groups and targets keep input order. The same target
           with the same module twice is kept once; with different labels it is an error.

  Prometheus routes them with a relabel config such as
    - source_labels: [module]      -> target_label: __param_module
    - source_labels: [__address__] -> target_label: __param_target
    - source_labels: [__param_target] -> target_label: instance
    - replacement: <blackbox exporter host:port> -> target_label: __address__
"""


# -- shared helpers -------------------------------------------------------------


def _labels(labels: Any, where: str) -> Dict[str, str]:
    try:
        return normalize_labels(labels)
    except FileSdError as exc:
        raise AnsibleFilterError("%s: %s" % (where, exc)) from None


def _port(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise AnsibleFilterError("%s: port must be a number between 1 and 65535, got %r" % (where, value))
    try:
        port = int(str(value).strip())
    except (TypeError, ValueError):
        raise AnsibleFilterError("%s: port must be a number between 1 and 65535, got %r" % (where, value)) from None
    if not 1 <= port <= 65535:
        raise AnsibleFilterError("%s: port %d is out of range, use 1..65535" % (where, port))
    return port


def _is_set(value: Any) -> bool:
    return value is not None and str(value).strip() != ""


# -- inventory hosts ------------------------------------------------------------


def _host_vars(hostvars: Any, host: str) -> Mapping[str, Any]:
    if not isinstance(host, str) or not host:
        raise AnsibleFilterError("file_sd_entries: host names must be non-empty strings, got %r" % (host,))
    try:
        found = host in hostvars
    except TypeError:
        raise AnsibleFilterError("file_sd_entries: pass the hostvars variable as second argument") from None
    if not found:
        raise AnsibleFilterError("file_sd_entries: host '%s' is not in the inventory (not found in hostvars)" % host)
    return hostvars[host]


def _os_label(hv: Mapping[str, Any]) -> str:
    if _is_set(hv.get("vigil_os")):
        return str(hv.get("vigil_os")).strip()
    facts = hv.get("ansible_facts") or {}
    system = facts.get("system") if isinstance(facts, Mapping) else None
    if not _is_set(system):
        system = hv.get("ansible_system")
    if _is_set(system):
        lowered = str(system).strip().lower()
        return OS_NAMES.get(lowered, lowered)
    return "linux"


def file_sd_entry(
    host: str,
    hostvars: Any,
    port: Any,
    role: str = "node",
    labels: Optional[Mapping[str, Any]] = None,
    port_var: Optional[str] = None,
    instance: bool = True,
) -> Dict[str, Any]:
    """One inventory host -> one file_sd group (see DOCUMENTATION_FILE_SD_ENTRIES)."""
    hv = _host_vars(hostvars, host)
    where = "file_sd_entries: host '%s'" % host
    chosen = port
    if port_var and _is_set(hv.get(port_var)):
        chosen = hv.get(port_var)
        where_port = "%s: %s" % (where, port_var)
    else:
        where_port = where
    port_number = _port(chosen, where_port)
    address = _address(host, hv)
    try:
        target = join_target(address, port_number)
    except FileSdError as exc:
        raise AnsibleFilterError("%s: address '%s' is not usable: %s" % (where, address, exc)) from None
    computed: Dict[str, Any] = {"role": role, "os": _os_label(hv)}
    for label, variable in (("environment", "vigil_environment"), ("site", "vigil_site")):
        if _is_set(hv.get(variable)):
            computed[label] = hv.get(variable)
    if instance:
        computed["instance"] = host
    computed.update(_labels(labels, "%s: labels argument" % where))
    computed.update(_labels(hv.get("vigil_metrics_labels"), "%s: vigil_metrics_labels" % where))
    return {"targets": [target], "labels": _labels(computed, where)}


def file_sd_entries(hosts: Any, hostvars: Any, port: Any, *options: Any, **keywords: Any) -> List[Dict[str, Any]]:
    """Inventory hosts -> file_sd groups, one per host (see DOCUMENTATION_FILE_SD_ENTRIES).

    ``options`` and ``keywords`` are file_sd_entry's (role, labels, port_var, instance), checked
    against its signature before any host is read, so that both filters take the same arguments.
    """
    try:
        signature(file_sd_entry).bind("", hostvars, port, *options, **keywords)
    except TypeError as exc:
        raise AnsibleFilterError("file_sd_entries: %s (it takes hostvars, port, role, labels, port_var, instance)"
                                 % exc) from None
    if hosts is None:
        return []
    if isinstance(hosts, str):
        hosts = [hosts]
    if not isinstance(hosts, Sequence):
        raise AnsibleFilterError("file_sd_entries expects a list of host names, got %s" % type(hosts).__name__)
    entries: List[Dict[str, Any]] = []
    owners: Dict[str, str] = {}
    for host in hosts:
        entry = file_sd_entry(host, hostvars, port, *options, **keywords)
        target = entry["targets"][0]
        if target in owners and owners[target] != host:
            raise AnsibleFilterError(
                "file_sd_entries: hosts '%s' and '%s' both resolve to target %s, so Prometheus would scrape it "
                "twice; fix vigil_metrics_address / ansible_host of one of them" % (owners[target], host, target)
            )
        if target not in owners:
            owners[target] = host
            entries.append(entry)
    return entries


# -- address ranges --------------------------------------------------------------


def _require_netaddr() -> None:
    if not HAS_NETADDR:
        raise AnsibleFilterError(
            "CIDR expansion needs the Python 'netaddr' package on the controller: pip install netaddr"
        )


def _check_limit(limit: Any, caller: str) -> int:
    if isinstance(limit, bool) or not isinstance(limit, (int, str)) or not str(limit).strip().isdigit():
        raise AnsibleFilterError(
            "%s: limit (%s) must be a positive whole number, got %r" % (caller, CIDR_LIMIT_VARIABLE, limit)
        )
    value = int(str(limit).strip())
    if value < 1:
        raise AnsibleFilterError("%s: limit (%s) must be at least 1, got %d" % (caller, CIDR_LIMIT_VARIABLE, value))
    if value > CIDR_LIMIT_MAX:
        raise AnsibleFilterError(
            "%s: limit (%s) is %d, above the maximum of %d addresses; CIDR ranges are for small networks "
            "(each address is probed every scrape interval): split the ranges over several blackbox exporters, "
            "or list the targets that matter" % (caller, CIDR_LIMIT_VARIABLE, value, CIDR_LIMIT_MAX)
        )
    return value


def _target_problem(text: str) -> Optional[str]:
    """Why a probe target or CIDR string is unusable (None when it is fine)."""
    if len(text) > TARGET_MAX_LENGTH:
        return "is %d characters long (at most %d)" % (len(text), TARGET_MAX_LENGTH)
    for char in text:
        if char.isspace():
            return "contains whitespace (%r)" % char
        if not char.isprintable():
            return "contains the control character %r" % char
        if char in TARGET_FORBIDDEN:
            return "contains %r, which has no place in a host, host:port or URL (encode it in a URL: %%%02X)" % (
                char, ord(char))
    return None


def _clean_target(value: Any, where: str, what: str = "target") -> str:
    """A probe target or CIDR string, stripped of surrounding blanks, with nothing that could inject."""
    if not isinstance(value, str) or not value.strip():
        raise AnsibleFilterError("%s: %s must be a non-empty string, got %r" % (where, what, value))
    text = value.strip()
    problem = _target_problem(text)
    if problem:
        raise AnsibleFilterError("%s: %s %r %s" % (where, what, text, problem))
    return text


def _network(text: Any, caller: str) -> Any:
    if not isinstance(text, str) or not text.strip():
        raise AnsibleFilterError("%s: %r is not a CIDR range or an IP address" % (caller, text))
    text = _clean_target(text, caller, "range")
    try:
        network = netaddr.IPNetwork(text)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise AnsibleFilterError(
            "%s: '%s' is not a CIDR range or an IP address (expected e.g. '10.0.0.0/28' or '10.0.0.7')" % (caller, text)
        ) from None
    if "/" in text and network.ip != network.network:
        raise AnsibleFilterError("%s: '%s' has host bits set; did you mean '%s'?" % (caller, text, network.cidr))
    return network


def _host_count(network: Any) -> int:
    if network.version == 4:
        return network.size - 2 if network.prefixlen <= 30 else network.size
    return network.size - 1 if network.prefixlen <= 126 else network.size


def _addresses(network: Any) -> Iterator[str]:
    """Host addresses of a network, lazily (a /8 is never materialised)."""
    for address in network.iter_hosts():
        yield str(address)


def _too_many(caller: str, text: str, network: Any, limit: int) -> AnsibleFilterError:
    return AnsibleFilterError(
        "%s: range '%s' (%d addresses) takes the total over the limit of %d; "
        "raise %s or probe smaller ranges" % (caller, text, _host_count(network), limit, CIDR_LIMIT_VARIABLE)
    )


def expand_cidr_targets(cidrs: Any, limit: Any = 256) -> List[str]:
    """CIDR ranges and addresses -> host addresses (see DOCUMENTATION_EXPAND_CIDR_TARGETS)."""
    caller = "expand_cidr_targets"
    _require_netaddr()
    maximum = _check_limit(limit, caller)
    if cidrs is None:
        return []
    if isinstance(cidrs, str):
        cidrs = [cidrs]
    if not isinstance(cidrs, Sequence):
        raise AnsibleFilterError("%s expects a list of CIDR ranges, got %s" % (caller, type(cidrs).__name__))
    seen: "OrderedDict[str, None]" = OrderedDict()
    for text in cidrs:
        network = _network(text, caller)
        for address in _addresses(network):
            if address in seen:
                continue
            if len(seen) >= maximum:
                raise _too_many(caller, text.strip(), network, maximum)
            seen[address] = None
    return list(seen)


# -- blackbox probes ---------------------------------------------------------------


def _module_name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not MODULE_NAME_RE.match(value.strip()):
        raise AnsibleFilterError(
            "%s: module %r is not a blackbox module name (letters, digits, '_', '-', '.')" % (where, value)
        )
    return value.strip()


def _probe_parts(probe: Any, index: int) -> Tuple[str, Any, Any, Mapping[str, Any], Any]:
    """Return (kind, value, module, labels, port) for one probe definition."""
    where = "blackbox_probe_targets: probe #%d" % (index + 1)
    if isinstance(probe, str):
        if not probe.strip():
            raise AnsibleFilterError("%s is an empty string" % where)
        text = _clean_target(probe, where)
        return ("cidr" if CIDR_LIKE_RE.match(text) else "target"), text, None, {}, None
    if not isinstance(probe, Mapping):
        raise AnsibleFilterError(
            "%s is a %s; give a string or a mapping with target or cidr" % (where, type(probe).__name__)
        )
    unknown = sorted(str(k) for k in probe if k not in PROBE_KEYS)
    if unknown:
        raise AnsibleFilterError("%s has unknown keys %s; allowed: %s" % (where, unknown, sorted(PROBE_KEYS)))
    if ("target" in probe) == ("cidr" in probe):
        raise AnsibleFilterError("%s must have exactly one of 'target' or 'cidr': %r" % (where, dict(probe)))
    if "target" in probe:
        if "port" in probe:
            raise AnsibleFilterError("%s: 'port' applies to 'cidr' only; write the port in the target itself" % where)
        value = _clean_target(probe["target"], where)
        return "target", value, probe.get("module"), probe.get("labels") or {}, None
    return "cidr", probe["cidr"], probe.get("module"), probe.get("labels") or {}, probe.get("port")


class _ProbeSet:
    """Collects (target, labels) pairs, deduplicating per (target, module) and counting CIDR probes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.from_cidr = 0
        self.labels_of: Dict[Tuple[str, str], Dict[str, str]] = {}
        self.groups: "OrderedDict[Tuple[Tuple[str, str], ...], List[str]]" = OrderedDict()

    def add(self, target: str, labels: Dict[str, str], where: str) -> bool:
        key = (target, labels["module"])
        if key in self.labels_of:
            if self.labels_of[key] != labels:
                raise AnsibleFilterError(
                    "%s: target '%s' with module '%s' is already listed with other labels (%s vs %s); "
                    "list it once" % (where, target, labels["module"], self.labels_of[key], labels)
                )
            return False
        self.labels_of[key] = labels
        self.groups.setdefault(tuple(sorted(labels.items())), []).append(target)
        return True

    def add_cidr(self, text: str, network: Any, port: Optional[int], labels: Dict[str, str], where: str) -> None:
        for address in _addresses(network):
            target = join_target(address, port) if port else address
            if self.from_cidr >= self.limit and (target, labels["module"]) not in self.labels_of:
                raise _too_many("blackbox_probe_targets", text, network, self.limit)
            if self.add(target, labels, where):
                self.from_cidr += 1

    def entries(self) -> List[Dict[str, Any]]:
        return [{"targets": targets, "labels": dict(key)} for key, targets in self.groups.items()]


def blackbox_probe_targets(
    probes: Any, module: str = "icmp", limit: Any = 256, labels: Optional[Mapping[str, Any]] = None
) -> List[Dict[str, Any]]:
    """Probe definitions -> file_sd groups labelled with 'module' (see DOCUMENTATION_BLACKBOX_PROBE_TARGETS)."""
    caller = "blackbox_probe_targets"
    maximum = _check_limit(limit, caller)
    default_module = _module_name(module, caller)
    common = _labels(labels, "%s: labels argument" % caller)
    if probes is None:
        return []
    if isinstance(probes, (str, Mapping)) or not isinstance(probes, Sequence):
        raise AnsibleFilterError("%s expects a list of probes, got %s" % (caller, type(probes).__name__))
    collected = _ProbeSet(maximum)
    for index, probe in enumerate(probes):
        where = "%s: probe #%d" % (caller, index + 1)
        kind, value, probe_module, probe_labels, port = _probe_parts(probe, index)
        merged = dict(common)
        merged.update(_labels(probe_labels, where))
        if "module" in merged:
            raise AnsibleFilterError("%s: do not set a 'module' label, use the module key or argument" % where)
        merged["module"] = _module_name(probe_module, where) if probe_module is not None else default_module
        if kind == "target":
            collected.add(value, merged, where)
            continue
        _require_netaddr()
        port_number = _port(port, where) if port is not None else None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, Sequence) or not value:
            raise AnsibleFilterError(
                "%s: cidr must be a CIDR range or a non-empty list of them, got %r" % (where, value)
            )
        for text in value:
            network = _network(text, where)
            collected.add_cidr(text.strip(), network, port_number, merged, where)
    return collected.entries()


# -- multi-target jobs ------------------------------------------------------------

DOCUMENTATION_MULTI_TARGET_RELABEL = """
multi_target_relabel(address_label, params=None, instance_from_target=True, keep=None)
  address_label: label holding the exporter's host:port (e.g. blackbox_address, snmp_address);
                 becomes __address__, the address Prometheus scrapes
  params:        URL parameter -> label holding its value, e.g. {module: module}; a label that
                 is missing or empty sets no parameter
  instance_from_target: true: instance = the target (blackbox); false: the target keeps the
                 instance label it was registered with (SNMP devices, named by the inventory)
  keep:          parameter labels kept on the series (the others are dropped)
  returns        relabel_configs: __param_target from __address__, one __param_<name> per
                 parameter, instance, __address__ from address_label, __scheme__ from the
                 label 'scheme', then address_label, scheme and the parameter labels not kept
                 dropped.
"""


def multi_target_relabel(
    address_label: str,
    params: Optional[Mapping[str, str]] = None,
    instance_from_target: bool = True,
    keep: Optional[Sequence[str]] = None,
) -> List[Dict[str, Any]]:
    """relabel_configs of a multi-target job (see DOCUMENTATION_MULTI_TARGET_RELABEL)."""
    names = [address_label] + list((params or {}).values()) + list(keep or [])
    for name in names:
        if not isinstance(name, str) or not re.match(r"^[a-zA-Z_][a-zA-Z0-9_]*$", name) or name.startswith("__"):
            raise AnsibleFilterError("multi_target_relabel: %r is not a label a target can carry" % (name,))
    for param in params or {}:
        if not isinstance(param, str) or not re.match(r"^[a-zA-Z_][a-zA-Z0-9_]*$", param):
            raise AnsibleFilterError("multi_target_relabel: %r is not a URL parameter name" % (param,))
    configs: List[Dict[str, Any]] = [{"source_labels": ["__address__"], "target_label": "__param_target"}]
    for param, label in (params or {}).items():
        configs.append({"source_labels": [label], "regex": "(.+)", "target_label": "__param_" + param})
    if instance_from_target:
        configs.append({"source_labels": ["__param_target"], "target_label": "instance"})
    configs.append({"source_labels": [address_label], "regex": "(.+)", "target_label": "__address__"})
    configs.append({"source_labels": ["scheme"], "regex": "(https?)", "target_label": "__scheme__"})
    dropped = [address_label, "scheme"] + [label for label in (params or {}).values() if label not in (keep or [])]
    configs.append({"action": "labeldrop", "regex": "|".join(dict.fromkeys(dropped))})
    return configs


class FilterModule:
    """Prometheus file_sd target filters."""

    def filters(self) -> Dict[str, Any]:
        return {
            "file_sd_entries": file_sd_entries,
            "file_sd_entry": file_sd_entry,
            "expand_cidr_targets": expand_cidr_targets,
            "blackbox_probe_targets": blackbox_probe_targets,
            "multi_target_relabel": multi_target_relabel,
        }
