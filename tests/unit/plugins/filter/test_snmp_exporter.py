"""Unit tests for the snmp_exporter filters: layouts per version, modules, devices, file_sd groups."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.filter.snmp_exporter import (
    FilterModule,
    snmp_device_targets,
    snmp_devices,
    snmp_exporter_config,
    snmp_exporter_config_format,
    snmp_exporter_modules,
)

ROOT = Path(__file__).resolve().parents[4]
DEFAULTS = yaml.safe_load((ROOT / "roles" / "snmp_exporter" / "defaults" / "main.yml").read_text())
MODULES = DEFAULTS["snmp_exporter_default_modules"]
COMMUNITY = "VIGIL-MARKER-community"
AUTH_PW = "VIGIL-MARKER-auth-pass"
PRIV_PW = "VIGIL-MARKER-priv-pass"
SECRETS = (COMMUNITY, AUTH_PW, PRIV_PW)

HOSTVARS = {
    "sw1": {
        "ansible_host": "192.0.2.10",
        "vigil_environment": "production",
        "snmp_device_community": COMMUNITY,
        "snmp_device_uplinks": ["Gi1/0/48", "Gi1/0/47"],
        "snmp_device_labels": {"rack": "r12"},
    },
    "fw1": {
        "snmp_device_address": "2001:db8::1",
        "snmp_device_version": 3,
        "snmp_device_username": "vigil",
        "snmp_device_auth_password": AUTH_PW,
        "snmp_device_priv_password": PRIV_PW,
        "snmp_device_modules": ["if_mib", "system", "host_resources"],
    },
}


def devices(names=("sw1", "fw1"), hostvars=None, **kwargs):
    kwargs.setdefault("modules", MODULES)
    return snmp_devices(list(names), hostvars if hostvars is not None else HOSTVARS, **kwargs)


def config(names=("sw1", "fw1"), hostvars=None, **kwargs):
    kwargs.setdefault("modules", MODULES)
    kwargs.setdefault("walk_params", {"timeout": "3s", "retries": 2, "max_repetitions": 25})
    return snmp_exporter_config(list(names), hostvars if hostvars is not None else HOSTVARS, **kwargs)


def with_vars(host, **changes):
    hostvars = copy.deepcopy(HOSTVARS)
    for key, value in changes.items():
        if value is None:
            hostvars[host].pop("snmp_device_" + key, None)
        else:
            hostvars[host]["snmp_device_" + key] = value
    return hostvars


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {
        "snmp_exporter_config_format", "snmp_exporter_modules", "snmp_devices", "snmp_exporter_config",
        "snmp_device_targets"}


# -- versions ------------------------------------------------------------------------------


@pytest.mark.parametrize("version,layout", [
    ("0.21.0", "legacy"), ("0.21.0-1+b5", "legacy"), ("0.22.0", "legacy"), ("0.19.0", "legacy"),
    ("0.24.1", "current"), ("0.28.0-1+b5", "current"), ("v0.30.1", "current"), ("1:0.28.0-1", "current"),
])
def test_the_layout_follows_the_version(version, layout):
    assert snmp_exporter_config_format(version) == layout


def test_0_23_is_refused_with_the_way_out():
    with pytest.raises(AnsibleFilterError, match=r"0\.23\.1 .*one module at a time.*0\.24 or later"):
        snmp_exporter_config_format("0.23.1")


def test_an_unreadable_version_is_refused():
    with pytest.raises(AnsibleFilterError, match="cannot read an snmp_exporter version from '\\(none\\)'"):
        snmp_exporter_config_format("(none)")


# -- modules ---------------------------------------------------------------------------------


def test_shipped_modules_render_with_walk_and_get_derived():
    rendered = snmp_exporter_modules(MODULES)
    assert set(rendered) == {"if_mib", "system", "host_resources", "cisco_cpu_mem"}
    if_mib = rendered["if_mib"]
    # Every metric column and every lookup column is walked, nothing else.
    assert "1.3.6.1.2.1.2.2.1.8" in if_mib["walk"] and "1.3.6.1.2.1.31.1.1.1.1" in if_mib["walk"]
    assert "get" not in if_mib
    oper = next(m for m in if_mib["metrics"] if m["name"] == "ifOperStatus")
    assert oper["indexes"] == [{"labelname": "ifIndex", "type": "gauge"}]
    assert [lookup["labelname"] for lookup in oper["lookups"]] == ["ifName", "ifAlias", "ifDescr"]
    assert oper["enum_values"][2] == "down"
    # Scalars are fetched with GET <oid>.0 and have no indexes.
    assert rendered["system"]["get"] == ["1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.5.0",
                                         "1.3.6.1.2.1.1.6.0"]
    assert "walk" not in rendered["system"]
    assert "1.3.6.1.2.1.25.1.1.0" in rendered["host_resources"]["get"]
    assert "description" not in if_mib


def test_every_shipped_metric_names_its_mib_object_and_oid():
    for module, data in MODULES.items():
        assert data["description"].strip()
        for metric in data["metrics"]:
            assert "::" in metric["help"] and metric["oid"] in metric["help"], (module, metric["name"])


@pytest.mark.parametrize("change,message", [
    ({"oid": "IF-MIB::ifOperStatus"}, "is not a numeric OID"),
    ({"type": "string"}, "type 'string' is not one the exporter renders"),
    ({"help": ""}, "help is missing"),
    ({"name": "if-oper"}, "is not a Prometheus metric name"),
    ({"lookups": [{"labels": ["port"], "labelname": "ifName", "oid": "1.3.6.1.2.1.31.1.1.1.1"}]},
     "must name the index labels it looks up by"),
    ({"color": "red"}, "unknown keys \\['color'\\]"),
])
def test_a_malformed_metric_is_refused_naming_module_and_metric(change, message):
    modules = copy.deepcopy(MODULES)
    modules["if_mib"]["metrics"][0].update(change)
    with pytest.raises(AnsibleFilterError, match="module 'if_mib' metric .*" + message):
        snmp_exporter_modules(modules)


def test_a_module_name_the_url_cannot_carry_is_refused():
    with pytest.raises(AnsibleFilterError, match="module 'My-Module': the name must be lower case"):
        snmp_exporter_modules({"My-Module": MODULES["system"]})


def test_a_scalar_cannot_have_lookups():
    modules = {"x": {"indexes": [], "metrics": [dict(MODULES["system"]["metrics"][0],
                                                     lookups=MODULES["if_mib"]["lookups"])]}}
    with pytest.raises(AnsibleFilterError, match="a scalar .* cannot have lookups"):
        snmp_exporter_modules(modules)


# -- devices -----------------------------------------------------------------------------------


def test_devices_from_the_inventory_carry_no_credential():
    found = devices()
    assert [d["name"] for d in found] == ["sw1", "fw1"]
    sw1, fw1 = found
    assert sw1["target"] == "192.0.2.10:161" and fw1["target"] == "[2001:db8::1]:161"
    assert sw1["modules"] == ["if_mib", "system"] and fw1["modules"] == ["if_mib", "system", "host_resources"]
    assert sw1["labels"] == {"environment": "production", "rack": "r12"}
    assert sw1["version"] == 2 and fw1["version"] == 3 and fw1["security_level"] == "authPriv"
    text = repr(found)
    assert not [secret for secret in SECRETS if secret in text]


def test_url_parameters_per_layout():
    current = {d["name"]: d["params"] for d in devices()}
    assert current == {"sw1": {"module": "if_mib,system,uplinks@sw1", "auth": "sw1"},
                       "fw1": {"module": "if_mib,system,host_resources", "auth": "fw1"}}
    legacy = {d["name"]: d["params"] for d in devices(config_format="legacy")}
    assert legacy == {"sw1": {"module": "sw1"}, "fw1": {"module": "fw1"}}


def test_address_falls_back_to_the_inventory_name():
    hostvars = {"core1": {"snmp_device_community": COMMUNITY}}
    assert devices(["core1"], hostvars)[0]["target"] == "core1:161"


@pytest.mark.parametrize("host,changes,message", [
    ("sw1", {"community": None}, "snmp_device_community is missing: SNMP version 2 needs a community"),
    ("sw1", {"community": 12345}, "snmp_device_community must be a string \\(a int was given\\)"),
    ("sw1", {"version": "2c"}, "snmp_device_version is '2c' \\(write 2 for v2c\\)"),
    ("sw1", {"modules": ["if_mib", "lldp"]}, "snmp_device_modules names unknown module\\(s\\) lldp"),
    ("sw1", {"port": 70000}, "snmp_device_port is 70000"),
    ("sw1", {"labels": {"instance": "x"}}, "snmp_device_labels sets instance"),
    ("sw1", {"address": "sw 1"}, "snmp_device_address 'sw 1' is not usable"),
    ("fw1", {"username": None}, "snmp_device_username is missing: SNMPv3 needs a user name"),
    ("fw1", {"priv_password": None}, "snmp_device_priv_password is missing: security level authPriv needs it"),
    ("fw1", {"auth_password": "short"}, "snmp_device_auth_password is shorter than 8 characters"),
    ("fw1", {"security_level": "authNoPriv"}, "snmp_device_security_level is authNoPriv but "
                                              "snmp_device_priv_password is given"),
    ("fw1", {"security_level": "noAuthNoPriv", "priv_password": None},
     "snmp_device_security_level is noAuthNoPriv but passwords are given"),
    ("fw1", {"security_level": "authpriv"}, "snmp_device_security_level is 'authpriv'; use one of noAuthNoPriv"),
    ("fw1", {"auth_protocol": "SHA1"}, "snmp_device_auth_protocol is 'SHA1'; use one of MD5, SHA,"),
    ("fw1", {"priv_password": {"value": PRIV_PW}}, "snmp_device_priv_password must be a string \\(a dict"),
])
def test_a_bad_device_is_refused_naming_device_and_variable_never_the_secret(host, changes, message):
    with pytest.raises(AnsibleFilterError) as error:
        devices(hostvars=with_vars(host, **changes))
    text = str(error.value)
    assert text.startswith("network device '%s' (inventory host): " % host)
    assert re.search(message, text), text
    assert not [secret for secret in SECRETS if secret in text]


def test_two_devices_with_the_same_address_are_refused():
    hostvars = with_vars("fw1", address="192.0.2.10", version=2, community=COMMUNITY, username=None,
                         auth_password=None, priv_password=None)
    with pytest.raises(AnsibleFilterError, match="device 'fw1' .*polls 192.0.2.10:161, as device 'sw1' does"):
        devices(hostvars=hostvars)


def test_an_inventory_name_that_is_not_a_host_is_refused():
    with pytest.raises(AnsibleFilterError, match="network device 'ghost' is not in the inventory"):
        devices(["ghost"])


def test_a_variable_that_cannot_be_templated_is_named():
    class Broken(dict):
        def get(self, key, default=None):
            if key == "snmp_device_community":
                raise RuntimeError("undefined vault_sw9_community")
            return super().get(key, default)

    with pytest.raises(AnsibleFilterError, match="'sw9' .*snmp_device_community cannot be read: RuntimeError"):
        devices(["sw9"], {"sw9": Broken()})


def test_devices_listed_on_the_exporter_use_the_same_checks():
    listed = [{"name": "ups1", "address": "192.0.2.50", "community": COMMUNITY, "modules": ["system"]},
              {"name": "ups2", "address": "192.0.2.51"}]
    with pytest.raises(AnsibleFilterError, match=r"network device 'ups2' \(snmp_exporter_devices\[1\]\): "
                                                 r"snmp_exporter_devices\[1\]\.community is missing"):
        devices([], devices=listed)
    found = devices([], devices=listed[:1], exporter_vars={"vigil_site": "par1"})
    assert found[0]["target"] == "192.0.2.50:161" and found[0]["labels"] == {"site": "par1"}


def test_a_device_in_both_lists_is_refused():
    with pytest.raises(AnsibleFilterError, match="another device has the same name"):
        devices(["sw1"], devices=[{"name": "sw1", "address": "192.0.2.99", "community": COMMUNITY}])


def test_role_argument_defaults_do_not_change_a_listed_v2c_device():
    """Ansible's argument validation fills suboption defaults (None, authPriv, SHA): still a v2c device."""
    entry = {"name": "sw9", "address": "192.0.2.9", "port": 161, "modules": None, "version": 2,
             "community": COMMUNITY, "username": None, "security_level": "authPriv", "auth_protocol": "SHA",
             "auth_password": None, "priv_protocol": "AES", "priv_password": None, "context_name": None,
             "labels": None, "uplinks": None}
    found = config([], devices=[entry])
    assert found["auths"]["sw9"] == {"version": 2, "community": COMMUNITY}


# -- the exporter's configuration ------------------------------------------------------------


def test_current_layout_has_one_auth_per_device_and_the_uplink_module():
    rendered = config()
    assert set(rendered) == {"auths", "modules"}
    assert rendered["auths"]["sw1"] == {"version": 2, "community": COMMUNITY}
    assert rendered["auths"]["fw1"] == {"version": 3, "username": "vigil", "security_level": "authPriv",
                                        "password": AUTH_PW, "auth_protocol": "SHA", "priv_password": PRIV_PW,
                                        "priv_protocol": "AES"}
    assert set(rendered["modules"]) == {"if_mib", "system", "host_resources", "cisco_cpu_mem", "uplinks@sw1"}
    assert rendered["modules"]["if_mib"]["timeout"] == "3s" and rendered["modules"]["if_mib"]["retries"] == 2
    uplink = rendered["modules"]["uplinks@sw1"]["metrics"][0]
    assert uplink["name"] == "vigil_snmp_uplink_info"
    # Interface names are regex-escaped: '/' and '.' match themselves only.
    assert uplink["regex_extracts"] == {"": [{"regex": "(?:Gi1/0/48|Gi1/0/47)", "value": "1"}]}


def test_legacy_layout_has_one_module_per_device_with_its_credentials():
    rendered = config(config_format="legacy")
    assert set(rendered) == {"sw1", "fw1"}
    sw1 = rendered["sw1"]
    assert sw1["version"] == 2 and sw1["auth"] == {"community": COMMUNITY}
    assert {m["name"] for m in sw1["metrics"]} >= {"ifOperStatus", "sysUpTime", "vigil_snmp_uplink_info"}
    assert "hrStorageUsed" not in {m["name"] for m in sw1["metrics"]}
    assert sw1["get"] == snmp_exporter_modules(MODULES)["system"]["get"]
    fw1 = rendered["fw1"]
    assert fw1["version"] == 3 and fw1["auth"]["username"] == "vigil" and "hrStorageUsed" in {
        m["name"] for m in fw1["metrics"]}
    assert fw1["max_repetitions"] == 25


def test_walk_parameters_are_typed_and_checked():
    rendered = config(walk_params={"timeout": "3s", "retries": "2", "max_repetitions": "25"})
    assert rendered["modules"]["system"]["retries"] == 2 and rendered["modules"]["system"]["max_repetitions"] == 25
    with pytest.raises(AnsibleFilterError, match="unknown keys \\['version'\\]"):
        config(walk_params={"version": 2})


# -- file_sd groups --------------------------------------------------------------------------


def test_targets_name_the_device_the_exporter_and_the_parameters():
    groups = snmp_device_targets(devices(), "mon1", "10.0.8.11:9116", scheme="https")
    assert groups[0] == {"targets": ["192.0.2.10:161"], "labels": {
        "environment": "production", "exporter": "mon1", "instance": "sw1", "rack": "r12", "scheme": "https",
        "snmp_address": "10.0.8.11:9116", "snmp_auth": "sw1", "snmp_module": "if_mib,system,uplinks@sw1"}}
    assert groups[1]["targets"] == ["[2001:db8::1]:161"]
    legacy = snmp_device_targets(devices(config_format="legacy"), "mon1", "10.0.8.11:9116")
    assert legacy[0]["labels"]["snmp_module"] == "sw1" and "snmp_auth" not in legacy[0]["labels"]
    assert not [secret for secret in SECRETS if secret in repr(groups + legacy)]


def test_no_devices_is_an_empty_file():
    assert snmp_device_targets(devices([]), "mon1", "mon1:9116") == []
