# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the snmp_exporter role: network devices from the inventory, the exporter's
snmp.yml, and the file_sd groups Prometheus scrapes the devices through.

snmp_exporter_config_format(version)
  The snmp.yml layout an exporter version reads: 'legacy' (up to 0.22: the credentials
  inside every module, one module per scrape; Debian 12 ships 0.21) or 'current' (0.24 and
  later: an ``auths`` section apart from ``modules``, several modules per scrape; Debian 13
  ships 0.28). 0.23 is refused: it has the new layout but one module per scrape.

snmp_exporter_modules(modules)
  Vigil's module definitions -> the exporter's module format (see MODULE FORMAT below);
  raises on a malformed module, naming it and the fix.

snmp_devices(names, hostvars, devices=None, modules=None, default_modules=None,
             config_format='current', labels=None)
  Network devices -> their public description (no credential in it): name, address,
  port, target, modules, uplinks, labels, version, the exporter's URL parameters
  (``params``: module and, in the current layout, auth). Devices come from inventory
  hosts (``names``, e.g. groups['network_devices'], read through ``hostvars``: the
  snmp_device_* host variables) and from an explicit list (``devices``, the
  snmp_exporter_devices role variable, same keys without the prefix). Every problem
  raises AnsibleFilterError naming the device and the variable; no message ever holds a
  credential's value.

snmp_exporter_config(names, hostvars, devices=None, modules=None, default_modules=None,
                     config_format='current', walk_params=None)
  The whole snmp.yml as data, credentials included (write it with no_log, mode 0640).

snmp_device_targets(devices, exporter, address, scheme='http', labels=None)
  The public devices of snmp_devices -> file_sd groups, one per device: the target is the
  device's address:port; labels: instance (the device's name), exporter (the exporter's
  inventory name), snmp_address (the exporter's host:port), scheme, snmp_module and
  snmp_auth (the URL parameters), environment/site and the device's labels. The
  prometheus role's job 'snmp' turns them into __param_target, __param_module,
  __param_auth and __address__ (see multi_target_relabel) and drops the routing labels.

MODULE FORMAT
  A Vigil module is the exporter's module without walk/get, which are derived:
    indexes:  default indexes of the metrics that set none (a table's index)
    lookups:  default lookups of the metrics that set none
    metrics:  [{name, oid (numeric), type, help, indexes, lookups, enum_values,
               regex_extracts}]; a metric with ``indexes: []`` is a scalar, fetched
              with a GET of <oid>.0; the others are walked, with their lookup columns.
    description: what it is for and where the OIDs come from (not written to snmp.yml)
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ansible.errors import AnsibleFilterError
from ansible_collections.vigil.monitoring.plugins.module_utils.alert_labels import LABEL_NAME_RE

try:  # ansible-core 2.19: a vaulted value that was not templated yet
    from ansible.parsing.vault import EncryptedString
except ImportError:  # pragma: no cover - older ansible-core decrypts when templating
    EncryptedString = ()  # type: ignore[assignment,misc]

from ansible_collections.vigil.monitoring.plugins.module_utils.file_sd import (
    FileSdError,
    join_target,
    normalize_labels,
)

# -- constants ------------------------------------------------------------------

DEVICE_VAR_PREFIX = "snmp_device_"
DEVICE_LIST_VARIABLE = "snmp_exporter_devices"
DEVICE_KEYS = (
    "name",
    "address",
    "port",
    "modules",
    "version",
    "community",
    "username",
    "security_level",
    "auth_protocol",
    "auth_password",
    "priv_protocol",
    "priv_password",
    "context_name",
    "labels",
    "uplinks",
)
SECRET_KEYS = ("community", "auth_password", "priv_password")
SECURITY_LEVELS = ("noAuthNoPriv", "authNoPriv", "authPriv")
# The exporter's own lists (config/config.go, 0.21 and 0.28 alike).
AUTH_PROTOCOLS = ("MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512")
PRIV_PROTOCOLS = ("DES", "AES", "AES192", "AES256", "AES192C", "AES256C")
# RFC 3414 (USM) keys are made from passphrases of at least 8 characters; net-snmp refuses shorter.
MIN_PASSPHRASE = 8
DEFAULT_PORT = 161
DEFAULT_VERSION = 2
DEFAULT_SECURITY_LEVEL = "authPriv"
DEFAULT_AUTH_PROTOCOL = "SHA"
DEFAULT_PRIV_PROTOCOL = "AES"
# Labels of a device's target that the scrape job sets or uses itself.
RESERVED_LABELS = frozenset(("instance", "job", "exporter", "scheme", "snmp_address", "snmp_module", "snmp_auth"))

MODULE_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
OID_RE = re.compile(r"^1(\.(0|[1-9][0-9]*))+$")
MODULE_KEYS = frozenset(("description", "indexes", "lookups", "metrics"))
METRIC_KEYS = frozenset(("name", "oid", "type", "help", "indexes", "lookups", "enum_values", "regex_extracts"))
# Value types the exporter renders (collector.go of 0.21; later versions add more).
METRIC_TYPES = frozenset((
    "gauge", "counter", "Float", "Double", "DateAndTime", "EnumAsInfo", "EnumAsStateSet", "Bits",
    "OctetString", "DisplayString", "PhysAddress48", "InetAddress", "InetAddressMissingSize",
    "IpAddr", "LldpPortId",
))
INDEX_TYPES = frozenset(("gauge", "OctetString", "DisplayString", "PhysAddress48", "InetAddress",
                         "InetAddressMissingSize", "IpAddr", "LldpPortId"))

# The per-device module that marks the interfaces listed in snmp_device_uplinks.
UPLINK_MODULE_PREFIX = "uplinks@"
UPLINK_METRIC = "vigil_snmp_uplink_info"
IF_INDEX = {"labelname": "ifIndex", "type": "gauge"}
IF_NAME_OID = "1.3.6.1.2.1.31.1.1.1.1"  # IF-MIB::ifName (RFC 2863)
WALK_PARAM_KEYS = ("max_repetitions", "retries", "timeout")

DOCUMENTATION_DEVICES = """
A device (inventory host variables snmp_device_<key>, or an entry of snmp_exporter_devices):
  name:            the device's name, its 'instance' label (inventory: the inventory name)
  address:         what the exporter sends SNMP to (default: ansible_host, else the name)
  port:            UDP port (161)
  modules:         snmp_exporter modules to poll (default: the exporter's snmp_exporter_device_modules)
  version:         1, 2 (v2c, the default) or 3
  community:       v1/v2c community (vault)
  username, security_level (noAuthNoPriv, authNoPriv, authPriv: the default),
  auth_protocol (SHA), auth_password (vault), priv_protocol (AES), priv_password (vault),
  context_name:    SNMPv3 credentials
  labels:          extra labels on every series of the device
  uplinks:         interface names (ifName) whose ifOperStatus the SnmpUplinkDown alert watches
"""


# -- small helpers ---------------------------------------------------------------


def _fail(where: str, problem: str, fix: str = "") -> AnsibleFilterError:
    return AnsibleFilterError("%s: %s%s" % (where, problem, ("; " + fix) if fix else ""))


def _is_set(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and value.strip() == "")


def _plain(value: Any) -> Any:
    """Ansible's wrapped strings (tagged and unsafe text, vault values) as plain Python values."""
    if isinstance(value, str) or (EncryptedString and isinstance(value, EncryptedString)):
        return str(value)
    if isinstance(value, Mapping):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# -- version and layout ----------------------------------------------------------


def _version_tuple(version: Any) -> Tuple[int, int, int]:
    text = str(version or "").strip()
    match = re.match(r"^v?(?:\d+:)?(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        raise AnsibleFilterError(
            "snmp_exporter_config_format: cannot read an snmp_exporter version from %r; expected e.g. 0.28.0 "
            "(snmp_exporter_version for the binary method, the package's version otherwise)" % (text,)
        )
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def snmp_exporter_config_format(version: Any) -> str:
    """'legacy' (< 0.23) or 'current' (>= 0.24); 0.23 is refused (see the module docstring)."""
    parsed = _version_tuple(version)
    if parsed < (0, 23, 0):
        return "legacy"
    if parsed < (0, 24, 0):
        raise AnsibleFilterError(
            "snmp_exporter %d.%d.%d reads the 'auths'/'modules' layout but scrapes one module at a time, which "
            "Vigil does not render; use 0.24 or later (snmp_exporter_version) or the Debian 12 package (0.21)"
            % parsed
        )
    return "current"


# -- modules ---------------------------------------------------------------------


def _check_oid(value: Any, where: str) -> str:
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if text.startswith("."):
        text = text[1:]
    if not OID_RE.match(text):
        raise _fail(where, "oid %r is not a numeric OID" % (value,), "write it as 1.3.6.1.2.1... (no MIB names)")
    return text


def _check_indexes(indexes: Any, where: str) -> List[Dict[str, Any]]:
    if not isinstance(indexes, Sequence) or isinstance(indexes, (str, bytes)):
        raise _fail(where, "indexes must be a list of {labelname, type}")
    out = []
    for index in indexes:
        if not isinstance(index, Mapping) or not LABEL_NAME_RE.match(str(index.get("labelname", ""))):
            raise _fail(where, "index %r needs a labelname (a Prometheus label name)" % (index,))
        if index.get("type", "gauge") not in INDEX_TYPES:
            raise _fail(where, "index %s has type %r" % (index["labelname"], index.get("type")),
                        "use one of %s" % ", ".join(sorted(INDEX_TYPES)))
        out.append(_plain(dict(index)))
    return out


def _check_lookups(lookups: Any, labels: Iterable[str], where: str) -> List[Dict[str, Any]]:
    if not isinstance(lookups, Sequence) or isinstance(lookups, (str, bytes)):
        raise _fail(where, "lookups must be a list of {labels, labelname, oid, type}")
    known = set(labels)
    out = []
    for lookup in lookups:
        if not isinstance(lookup, Mapping) or not LABEL_NAME_RE.match(str(lookup.get("labelname", ""))):
            raise _fail(where, "lookup %r needs a labelname" % (lookup,))
        missing = [label for label in lookup.get("labels") or [] if label not in known]
        if not lookup.get("labels") or missing:
            raise _fail(where, "lookup %s must name the index labels it looks up by (labels: [...]); %s %s"
                        % (lookup["labelname"], "unknown:" if missing else "none given", missing or ""),
                        "known index labels: %s" % ", ".join(sorted(known)))
        entry = _plain(dict(lookup))
        entry["oid"] = _check_oid(lookup.get("oid"), "%s: lookup %s" % (where, lookup["labelname"]))
        entry.setdefault("type", "DisplayString")
        out.append(entry)
    return out


def _metric(module: str, raw: Any, position: int, defaults: Mapping[str, Any]) -> Dict[str, Any]:
    where = "snmp_exporter_modules: module '%s' metric #%d" % (module, position + 1)
    if not isinstance(raw, Mapping):
        raise _fail(where, "is a %s, expected a mapping" % type(raw).__name__)
    unknown = sorted(str(k) for k in raw if k not in METRIC_KEYS)
    if unknown:
        raise _fail(where, "unknown keys %s" % unknown, "allowed: %s" % ", ".join(sorted(METRIC_KEYS)))
    name = str(raw.get("name", ""))
    if not METRIC_NAME_RE.match(name):
        raise _fail(where, "name %r is not a Prometheus metric name" % (raw.get("name"),))
    where = "snmp_exporter_modules: module '%s' metric %s" % (module, name)
    if raw.get("type") not in METRIC_TYPES:
        raise _fail(where, "type %r is not one the exporter renders" % (raw.get("type"),),
                    "use one of %s" % ", ".join(sorted(METRIC_TYPES)))
    if not isinstance(raw.get("help"), str) or not raw["help"].strip():
        raise _fail(where, "help is missing", "say what it measures and name the MIB object it reads")
    metric: Dict[str, Any] = {
        "name": name,
        "oid": _check_oid(raw.get("oid"), where),
        "type": str(raw["type"]),
        "help": " ".join(str(raw["help"]).split()),
    }
    indexes = _check_indexes(raw.get("indexes", defaults.get("indexes", [])), where)
    if indexes:
        metric["indexes"] = indexes
        lookups = _check_lookups(raw.get("lookups", defaults.get("lookups", [])), [i["labelname"] for i in indexes],
                                 where)
        if lookups:
            metric["lookups"] = lookups
    elif raw.get("lookups"):
        raise _fail(where, "a scalar (indexes: []) cannot have lookups")
    if raw.get("enum_values") is not None:
        values = raw["enum_values"]
        if not isinstance(values, Mapping) or not all(str(k).lstrip("-").isdigit() for k in values):
            raise _fail(where, "enum_values must map integers to names")
        metric["enum_values"] = {int(k): str(v) for k, v in values.items()}
    if raw.get("regex_extracts") is not None:
        metric["regex_extracts"] = _plain(raw["regex_extracts"])
    return metric


def _render_module(name: str, raw: Any) -> Dict[str, Any]:
    where = "snmp_exporter_modules: module '%s'" % name
    if not MODULE_NAME_RE.match(str(name)):
        raise _fail(where, "the name must be lower case letters, digits and '_', starting with a letter")
    if not isinstance(raw, Mapping):
        raise _fail(where, "is a %s, expected a mapping with metrics" % type(raw).__name__)
    unknown = sorted(str(k) for k in raw if k not in MODULE_KEYS)
    if unknown:
        raise _fail(where, "unknown keys %s" % unknown,
                    "allowed: %s (walk and get are derived from the metrics)" % ", ".join(sorted(MODULE_KEYS)))
    raw_metrics = raw.get("metrics")
    if not isinstance(raw_metrics, Sequence) or isinstance(raw_metrics, (str, bytes)) or not raw_metrics:
        raise _fail(where, "needs a non-empty list of metrics")
    metrics = [_metric(name, m, i, raw) for i, m in enumerate(raw_metrics)]
    names = [m["name"] for m in metrics]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise _fail(where, "metrics %s are defined twice" % twice)
    return _assemble(metrics)


def _assemble(metrics: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Derive walk (table columns and their lookups) and get (scalars, <oid>.0) from the metrics."""
    walk: "OrderedDict[str, None]" = OrderedDict()
    get: "OrderedDict[str, None]" = OrderedDict()
    for metric in metrics:
        if metric.get("indexes"):
            walk[metric["oid"]] = None
            for lookup in metric.get("lookups", []):
                walk[lookup["oid"]] = None
        else:
            get[metric["oid"] + ".0"] = None
    module: Dict[str, Any] = {}
    if walk:
        module["walk"] = _prune(walk)
    if get:
        module["get"] = list(get)
    module["metrics"] = metrics
    return module


def _prune(oids: Iterable[str]) -> List[str]:
    """Drop OIDs inside another walked subtree (one walk covers them), keep the order."""
    kept: List[str] = []
    for oid in oids:
        if any(oid == other or oid.startswith(other + ".") for other in kept):
            continue
        kept = [other for other in kept if not other.startswith(oid + ".")] + [oid]
    return kept


def snmp_exporter_modules(modules: Any) -> Dict[str, Dict[str, Any]]:
    """Vigil's module definitions -> the exporter's modules (see MODULE FORMAT)."""
    if not isinstance(modules, Mapping):
        raise AnsibleFilterError("snmp_exporter_modules: expected a mapping of module name to module, got %s"
                                 % type(modules).__name__)
    if not modules:
        raise AnsibleFilterError("snmp_exporter_modules: no module is left (every shipped one set to null?); "
                                 "keep at least the modules your devices use")
    return {str(name): _render_module(str(name), raw) for name, raw in sorted(modules.items(), key=lambda i: str(i[0]))}


def _uplink_module(uplinks: Sequence[str]) -> Dict[str, Any]:
    """The module that emits vigil_snmp_uplink_info 1 for the interfaces named in ``uplinks``."""
    pattern = "|".join(re.escape(name) for name in uplinks)
    metric = {
        "name": UPLINK_METRIC,
        "oid": IF_NAME_OID,
        "type": "DisplayString",
        "help": "Interfaces listed as uplinks of the device in Vigil's inventory (snmp_device_uplinks), matched on "
                "IF-MIB::ifName (RFC 2863) - 1.3.6.1.2.1.31.1.1.1.1",
        "indexes": [dict(IF_INDEX)],
        "lookups": [{"labels": ["ifIndex"], "labelname": "ifName", "oid": IF_NAME_OID, "type": "DisplayString"}],
        # The exporter anchors the expression; only matching interfaces produce a sample.
        "regex_extracts": {"": [{"regex": "(?:%s)" % pattern, "value": "1"}]},
    }
    return _assemble([metric])


# -- devices ---------------------------------------------------------------------


class _Source:
    """Where one device's settings come from, for messages: an inventory host or a list entry."""

    def __init__(self, name: str, values: Mapping[str, Any], inventory: bool, position: int = 0) -> None:
        self.name = name
        self.values = values
        self.inventory = inventory
        self.position = position

    def var(self, key: str) -> str:
        if self.inventory:
            return DEVICE_VAR_PREFIX + key
        return "%s[%d].%s" % (DEVICE_LIST_VARIABLE, self.position, key)

    @property
    def where(self) -> str:
        if self.inventory:
            return "network device '%s' (inventory host)" % self.name
        return "network device '%s' (%s[%d])" % (self.name, DEVICE_LIST_VARIABLE, self.position)

    def fail(self, key: str, problem: str, fix: str = "") -> AnsibleFilterError:
        return _fail(self.where, "%s %s" % (self.var(key), problem), fix)

    def get(self, key: str, default: Any = None) -> Any:
        value = self.values.get(key)
        return value if _is_set(value) else default


def _read_host(name: str, hostvars: Any) -> Dict[str, Any]:
    """The snmp_device_* variables of one inventory host, templated (vault values decrypted)."""
    try:
        found = name in hostvars
    except TypeError:
        raise AnsibleFilterError("snmp_devices: pass the hostvars variable as second argument") from None
    if not found:
        raise AnsibleFilterError("snmp_devices: network device '%s' is not in the inventory" % name)
    host = hostvars[name]
    values: Dict[str, Any] = {}
    for key in DEVICE_KEYS[1:]:
        try:
            value = host.get(DEVICE_VAR_PREFIX + key)
        except Exception as exc:  # an undefined variable in a template, a vault that does not open
            raise _fail("network device '%s' (inventory host)" % name,
                        "%s%s cannot be read: %s" % (DEVICE_VAR_PREFIX, key, type(exc).__name__),
                        "check the variables it refers to (a vault variable that is not defined?)") from None
        values[key] = _plain(value)
    try:
        values["ansible_host"] = _plain(host.get("ansible_host"))
        values["vigil_environment"] = _plain(host.get("vigil_environment"))
        values["vigil_site"] = _plain(host.get("vigil_site"))
    except Exception:  # pragma: no cover - only templating errors of unrelated variables
        pass
    return values


def _secret(source: _Source, key: str) -> Optional[str]:
    value = source.values.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise source.fail(key, "must be a string (a %s was given)" % type(value).__name__,
                          'quote it or take it from the vault: %s: "{{ vault_... }}"' % source.var(key))
    return value


def _text(source: _Source, key: str, default: Optional[str] = None) -> Optional[str]:
    value = source.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise source.fail(key, "must be a string, got %r" % (value,))
    return value.strip()


def _choice(source: _Source, key: str, choices: Sequence[str], default: str) -> str:
    value = _text(source, key, default) or default
    if value not in choices:
        raise source.fail(key, "is %r" % value, "use one of %s" % ", ".join(choices))
    return value


def _version(source: _Source) -> int:
    value = source.get("version", DEFAULT_VERSION)
    text = str(value).strip().lower()
    if isinstance(value, bool) or text not in ("1", "2", "3"):
        hint = " (write 2 for v2c)" if text in ("2c", "v2c", "v2") else ""
        raise source.fail("version", "is %r%s" % (value, hint), "use 1, 2 (v2c) or 3")
    return int(text)


def _port(source: _Source) -> int:
    value = source.get("port", DEFAULT_PORT)
    if isinstance(value, bool) or not str(value).strip().isdigit() or not 1 <= int(str(value).strip()) <= 65535:
        raise source.fail("port", "is %r" % (value,), "use a UDP port between 1 and 65535 (161)")
    return int(str(value).strip())


def _credentials(source: _Source, version: int) -> Dict[str, Any]:
    """The exporter's auth block for this device (secrets included), checked against the version."""
    if version in (1, 2):
        community = _secret(source, "community")
        if community is None:
            raise source.fail("community", "is missing: SNMP version %d needs a community" % version,
                              'set it from the vault, e.g. %s: "{{ vault_snmp_community }}"' % source.var("community"))
        return {"version": version, "community": community}
    username = _text(source, "username")
    if not username:
        raise source.fail("username", "is missing: SNMPv3 needs a user name")
    level = _choice(source, "security_level", SECURITY_LEVELS, DEFAULT_SECURITY_LEVEL)
    auth: Dict[str, Any] = {"version": 3, "username": username, "security_level": level}
    auth_password = _secret(source, "auth_password")
    priv_password = _secret(source, "priv_password")
    if level == "noAuthNoPriv" and (auth_password or priv_password):
        raise source.fail("security_level", "is noAuthNoPriv but passwords are given",
                          "use authNoPriv or authPriv, or remove %s/%s"
                          % (source.var("auth_password"), source.var("priv_password")))
    if level == "authNoPriv" and priv_password:
        raise source.fail("security_level", "is authNoPriv but %s is given" % source.var("priv_password"),
                          "use authPriv to encrypt, or remove the privacy password")
    if level in ("authNoPriv", "authPriv"):
        auth["password"] = _passphrase(source, "auth_password", auth_password, level)
        auth["auth_protocol"] = _choice(source, "auth_protocol", AUTH_PROTOCOLS, DEFAULT_AUTH_PROTOCOL)
    if level == "authPriv":
        auth["priv_password"] = _passphrase(source, "priv_password", priv_password, level)
        auth["priv_protocol"] = _choice(source, "priv_protocol", PRIV_PROTOCOLS, DEFAULT_PRIV_PROTOCOL)
    context = _text(source, "context_name")
    if context:
        auth["context_name"] = context
    return auth


def _passphrase(source: _Source, key: str, value: Optional[str], level: str) -> str:
    if value is None:
        raise source.fail(key, "is missing: security level %s needs it" % level,
                          'set it from the vault, e.g. %s: "{{ vault_snmp_%s }}"' % (source.var(key), key))
    if len(value) < MIN_PASSPHRASE:
        raise source.fail(key, "is shorter than %d characters, which SNMPv3 (RFC 3414) refuses" % MIN_PASSPHRASE)
    return value


def _string_list(source: _Source, key: str, default: Sequence[str]) -> List[str]:
    value = source.values.get(key)
    if value is None:
        return list(default)
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise source.fail(key, "must be a list, got %r" % (value,))
    out: List[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip() or any(not c.isprintable() for c in item):
            raise source.fail(key, "has an entry %r that is not a non-empty printable string" % (item,))
        if item.strip() not in out:
            out.append(item.strip())
    return out


def _device(source: _Source, known_modules: Sequence[str], default_modules: Sequence[str],
            common_labels: Mapping[str, Any], with_credentials: bool) -> Dict[str, Any]:
    name = source.name
    if not isinstance(name, str) or not name.strip() or any(c.isspace() or not c.isprintable() for c in name):
        raise _fail(source.where, "the name must be a non-empty string without spaces")
    address = _text(source, "address") or (source.values.get("ansible_host") or name)
    port = _port(source)
    try:
        target = join_target(str(address), port)
    except FileSdError as exc:
        raise source.fail("address", "%r is not usable: %s" % (address, exc)) from None
    modules = _string_list(source, "modules", default_modules)
    if not modules:
        raise source.fail("modules", "is empty", "list at least one module, e.g. [if_mib, system]")
    unknown = [m for m in modules if m not in known_modules]
    if unknown:
        raise source.fail("modules", "names unknown module(s) %s" % ", ".join(unknown),
                          "known: %s (add your own with snmp_exporter_modules)" % ", ".join(sorted(known_modules)))
    version = _version(source)
    credentials = _credentials(source, version)
    labels: Dict[str, Any] = {}
    for label, variable in (("environment", "vigil_environment"), ("site", "vigil_site")):
        if _is_set(source.values.get(variable)):
            labels[label] = source.values[variable]
    labels.update(common_labels)
    extra = source.values.get("labels") or {}
    if not isinstance(extra, Mapping):
        raise source.fail("labels", "must be a mapping of label name to value")
    reserved = sorted(RESERVED_LABELS & set(extra))
    if reserved:
        raise source.fail("labels", "sets %s, which the scrape job sets itself" % ", ".join(reserved))
    labels.update(extra)
    try:
        labels = normalize_labels(labels)
    except FileSdError as exc:
        raise source.fail("labels", str(exc)) from None
    device = {
        "name": name,
        "address": str(address),
        "port": port,
        "target": target,
        "modules": modules,
        "uplinks": _string_list(source, "uplinks", []),
        "labels": labels,
        "version": version,
    }
    if version == 3:
        device["security_level"] = credentials["security_level"]
    if with_credentials:
        device["credentials"] = credentials
    return device


def _sources(names: Any, hostvars: Any, devices: Any, exporter_vars: Mapping[str, Any]) -> List[_Source]:
    if names is None:
        names = []
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, Sequence):
        raise AnsibleFilterError("snmp_devices expects a list of inventory host names, got %s" % type(names).__name__)
    sources = [_Source(str(name), _read_host(str(name), hostvars), True) for name in names]
    if devices is None:
        devices = []
    if isinstance(devices, (str, Mapping)) or not isinstance(devices, Sequence):
        raise AnsibleFilterError("%s must be a list of devices, got %s" % (DEVICE_LIST_VARIABLE, type(devices).__name__))
    for position, entry in enumerate(devices):
        if not isinstance(entry, Mapping) or not _is_set(entry.get("name")):
            raise AnsibleFilterError("%s[%d] must be a mapping with at least a name" % (DEVICE_LIST_VARIABLE, position))
        unknown = sorted(str(k) for k in entry if k not in DEVICE_KEYS)
        if unknown:
            raise AnsibleFilterError("%s[%d] '%s': unknown keys %s; allowed: %s"
                                     % (DEVICE_LIST_VARIABLE, position, entry["name"], unknown, ", ".join(DEVICE_KEYS)))
        values = _plain(dict(entry))
        for variable in ("vigil_environment", "vigil_site"):
            values.setdefault(variable, _plain(exporter_vars.get(variable)))
        sources.append(_Source(str(entry["name"]), values, False, position))
    return sources


def _collect(names: Any, hostvars: Any, devices: Any, modules: Any, default_modules: Any, labels: Any,
             exporter_vars: Optional[Mapping[str, Any]], with_credentials: bool) -> List[Dict[str, Any]]:
    known = sorted(str(k) for k in (modules or {}))
    defaults = list(default_modules) if default_modules is not None else ["if_mib", "system"]
    common = dict(labels or {})
    reserved = sorted(RESERVED_LABELS & set(common))
    if reserved:
        raise AnsibleFilterError("snmp_exporter_device_labels sets %s, which the scrape job sets itself"
                                 % ", ".join(reserved))
    result: List[Dict[str, Any]] = []
    by_name: Dict[str, _Source] = {}
    by_target: Dict[str, str] = {}
    for source in _sources(names, hostvars, devices, exporter_vars or {}):
        if source.name in by_name:
            raise _fail(source.where, "another device has the same name (%s)" % by_name[source.name].where,
                        "give each device its own name")
        device = _device(source, known, defaults, common, with_credentials)
        if device["target"] in by_target:
            raise _fail(source.where, "polls %s, as device '%s' does" % (device["target"], by_target[device["target"]]),
                        "one device, one entry: remove one, or fix its address")
        by_name[source.name] = source
        by_target[device["target"]] = source.name
        result.append(device)
    return result


def _module_param(device: Mapping[str, Any], config_format: str) -> str:
    if config_format == "legacy":
        return device["name"]
    modules = list(device["modules"])
    if device["uplinks"]:
        modules.append(UPLINK_MODULE_PREFIX + device["name"])
    return ",".join(modules)


def _check_format(config_format: Any) -> str:
    if config_format not in ("legacy", "current"):
        raise AnsibleFilterError("config_format must be 'legacy' or 'current' (see snmp_exporter_config_format), "
                                 "got %r" % (config_format,))
    return str(config_format)


def snmp_devices(
    names: Any,
    hostvars: Any,
    devices: Any = None,
    modules: Any = None,
    default_modules: Any = None,
    config_format: str = "current",
    labels: Any = None,
    exporter_vars: Optional[Mapping[str, Any]] = None,
) -> List[Dict[str, Any]]:
    """Network devices, checked, without their credentials (see DOCUMENTATION_DEVICES)."""
    fmt = _check_format(config_format)
    found = _collect(names, hostvars, devices, modules, default_modules, labels, exporter_vars, False)
    for device in found:
        device["params"] = {"module": _module_param(device, fmt)}
        if fmt == "current":
            device["params"]["auth"] = device["name"]
    return found


def _walk_params(walk_params: Any) -> Dict[str, Any]:
    params = dict(walk_params or {})
    unknown = sorted(str(k) for k in params if k not in WALK_PARAM_KEYS)
    if unknown:
        raise AnsibleFilterError("walk parameters: unknown keys %s; allowed: %s" % (unknown, ", ".join(WALK_PARAM_KEYS)))
    out: Dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        if key == "timeout":
            out[key] = str(value)
            continue
        if isinstance(value, bool) or not str(value).strip().isdigit():
            raise AnsibleFilterError("walk parameters: %s must be a whole number, got %r" % (key, value))
        out[key] = int(str(value).strip())
    return out


def _merge_modules(parts: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """One module made of several (the legacy layout scrapes one module at a time)."""
    walk: List[str] = []
    get: List[str] = []
    metrics: List[Dict[str, Any]] = []
    for part in parts:
        walk += [oid for oid in part.get("walk", []) if oid not in walk]
        get += [oid for oid in part.get("get", []) if oid not in get]
        metrics += [dict(m) for m in part["metrics"] if m["name"] not in {x["name"] for x in metrics}]
    merged: Dict[str, Any] = {}
    if walk:
        merged["walk"] = _prune(walk)
    if get:
        merged["get"] = get
    merged["metrics"] = metrics
    return merged


def snmp_exporter_config(
    names: Any,
    hostvars: Any,
    devices: Any = None,
    modules: Any = None,
    default_modules: Any = None,
    config_format: str = "current",
    walk_params: Any = None,
    exporter_vars: Optional[Mapping[str, Any]] = None,
) -> Dict[str, Any]:
    """The exporter's whole snmp.yml as data, credentials included."""
    fmt = _check_format(config_format)
    rendered = snmp_exporter_modules(modules)
    params = _walk_params(walk_params)
    found = _collect(names, hostvars, devices, modules, default_modules, None, exporter_vars, True)
    if fmt == "legacy":
        config: Dict[str, Any] = {}
        for device in found:
            parts = [rendered[m] for m in device["modules"]]
            if device["uplinks"]:
                parts.append(_uplink_module(device["uplinks"]))
            module = _merge_modules(parts)
            module.update(params)
            credentials = dict(device["credentials"])
            module["version"] = credentials.pop("version")
            module["auth"] = credentials
            config[device["name"]] = module
        return config
    out_modules = {name: dict(module, **params) for name, module in rendered.items()}
    auths: Dict[str, Any] = {}
    for device in found:
        auths[device["name"]] = device["credentials"]
        if device["uplinks"]:
            out_modules[UPLINK_MODULE_PREFIX + device["name"]] = dict(_uplink_module(device["uplinks"]), **params)
    return {"auths": auths, "modules": out_modules}


def snmp_device_targets(
    devices: Any, exporter: str, address: str, scheme: str = "http", labels: Any = None
) -> List[Dict[str, Any]]:
    """Public devices (snmp_devices) -> file_sd groups for the prometheus role's job 'snmp'."""
    if not isinstance(devices, Sequence) or isinstance(devices, (str, Mapping)):
        raise AnsibleFilterError("snmp_device_targets expects the list snmp_devices returns")
    if scheme not in ("http", "https"):
        raise AnsibleFilterError("snmp_device_targets: scheme must be http or https, got %r" % (scheme,))
    routing = {"exporter": exporter, "snmp_address": address, "scheme": scheme}
    groups = []
    for device in devices:
        merged = dict(labels or {})
        merged.update(device["labels"])
        merged.update(routing)
        merged["instance"] = device["name"]
        merged["snmp_module"] = device["params"]["module"]
        if device["params"].get("auth"):
            merged["snmp_auth"] = device["params"]["auth"]
        try:
            groups.append({"targets": [device["target"]], "labels": normalize_labels(merged)})
        except FileSdError as exc:
            raise AnsibleFilterError("snmp_device_targets: device '%s': %s" % (device["name"], exc)) from None
    return groups


class FilterModule:
    """snmp_exporter filters."""

    def filters(self) -> Dict[str, Any]:
        return {
            "snmp_exporter_config_format": snmp_exporter_config_format,
            "snmp_exporter_modules": snmp_exporter_modules,
            "snmp_devices": snmp_devices,
            "snmp_exporter_config": snmp_exporter_config,
            "snmp_device_targets": snmp_device_targets,
        }
