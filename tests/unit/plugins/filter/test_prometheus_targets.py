"""Unit tests for the prometheus_targets filter family (file_sd entries, CIDR expansion, blackbox probes)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.filter.prometheus_targets import (
    FilterModule,
    blackbox_probe_targets,
    expand_cidr_targets,
    file_sd_entries,
    file_sd_entry,
    multi_target_relabel,
)

HOSTVARS = {
    "web1": {
        "ansible_host": "10.0.0.1",
        "vigil_environment": "production",
        "vigil_site": "par1",
        "ansible_facts": {"system": "Linux"},
    },
    "web2": {"ansible_host": "10.0.0.2", "vigil_metrics_address": "192.168.50.2", "vigil_os": "debian"},
    "v6": {"vigil_metrics_address": "2001:db8::6", "node_exporter_port": 9200},
    "bare": {},
    "win": {"ansible_host": "10.0.0.9", "ansible_facts": {"system": "Win32NT"}, "vigil_environment": ""},
    "bsd": {"ansible_system": "FreeBSD"},
    "custom": {"vigil_metrics_labels": {"role": "edge", "rack": 12}},
}


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {
        "file_sd_entries",
        "file_sd_entry",
        "expand_cidr_targets",
        "blackbox_probe_targets",
        "multi_target_relabel",
    }


# -- file_sd_entries / file_sd_entry ------------------------------------------------------


def test_entry_uses_ansible_host_and_environment_labels():
    assert file_sd_entry("web1", HOSTVARS, 9100) == {
        "targets": ["10.0.0.1:9100"],
        "labels": {"environment": "production", "instance": "web1", "os": "linux", "role": "node", "site": "par1"},
    }


def test_metrics_address_wins_over_ansible_host_and_vigil_os_over_facts():
    entry = file_sd_entry("web2", HOSTVARS, 9100, role="web")
    assert entry["targets"] == ["192.168.50.2:9100"]
    assert entry["labels"] == {"instance": "web2", "os": "debian", "role": "web"}


def test_inventory_name_is_the_fallback_address_and_linux_the_fallback_os():
    entry = file_sd_entry("bare", HOSTVARS, "9100")
    assert entry == {"targets": ["bare:9100"], "labels": {"instance": "bare", "os": "linux", "role": "node"}}


def test_ipv6_address_is_bracketed_and_port_var_overrides_port():
    entry = file_sd_entry("v6", HOSTVARS, 9100, port_var="node_exporter_port")
    assert entry["targets"] == ["[2001:db8::6]:9200"]
    # a host without the variable keeps the default port
    assert file_sd_entry("bare", HOSTVARS, 9100, port_var="node_exporter_port")["targets"] == ["bare:9100"]


def test_os_from_facts_is_lowercased_and_windows_is_named_windows():
    assert file_sd_entry("win", HOSTVARS, 9182)["labels"]["os"] == "windows"
    assert file_sd_entry("bsd", HOSTVARS, 9100)["labels"]["os"] == "freebsd"


def test_empty_environment_is_omitted():
    assert "environment" not in file_sd_entry("win", HOSTVARS, 9182)["labels"]


def test_instance_label_can_be_left_to_prometheus():
    assert "instance" not in file_sd_entry("web1", HOSTVARS, 9100, instance=False)["labels"]


def test_extra_labels_and_host_labels_override_in_order():
    entry = file_sd_entry("custom", HOSTVARS, 9100, labels={"role": "ignored", "team": "ops", "tier": 1})
    assert entry["labels"] == {
        "instance": "custom",
        "os": "linux",
        "rack": "12",
        "role": "edge",
        "team": "ops",
        "tier": "1",
    }


def test_entries_keep_host_order_and_skip_repeated_hosts():
    entries = file_sd_entries(["web2", "web1", "web2"], HOSTVARS, 9100)
    assert [e["targets"][0] for e in entries] == ["192.168.50.2:9100", "10.0.0.1:9100"]


def test_entries_accept_a_single_host_name_and_none():
    assert file_sd_entries("web1", HOSTVARS, 9100) == [file_sd_entry("web1", HOSTVARS, 9100)]
    assert file_sd_entries(None, HOSTVARS, 9100) == []


def test_entries_take_the_options_of_file_sd_entry_positionally_and_by_name():
    by_name = file_sd_entries(["web1"], HOSTVARS, 9100, role="web", labels={"team": "ops"}, instance=False)
    positional = file_sd_entries(["web1"], HOSTVARS, 9100, "web", {"team": "ops"}, None, False)
    assert by_name == positional == [file_sd_entry("web1", HOSTVARS, 9100, role="web", labels={"team": "ops"},
                                                   instance=False)]
    assert by_name[0]["labels"]["role"] == "web"
    assert "instance" not in by_name[0]["labels"]


def test_entries_refuse_an_unknown_option_even_without_hosts():
    with pytest.raises(AnsibleFilterError, match="file_sd_entries: .*colour"):
        file_sd_entries([], HOSTVARS, 9100, colour="red")


def test_two_hosts_with_the_same_target_are_refused():
    hostvars = {"a": {"ansible_host": "10.0.0.1"}, "b": {"vigil_metrics_address": "10.0.0.1"}}
    with pytest.raises(AnsibleFilterError, match=r"hosts 'a' and 'b' both resolve to target 10\.0\.0\.1:9100"):
        file_sd_entries(["a", "b"], hostvars, 9100)


@pytest.mark.parametrize(
    "host, hostvars, port, kwargs, fragment",
    [
        ("ghost", HOSTVARS, 9100, {}, "host 'ghost' is not in the inventory"),
        ("web1", HOSTVARS, 0, {}, "host 'web1': port 0 is out of range"),
        ("web1", HOSTVARS, "http", {}, "host 'web1': port must be a number"),
        ("web1", {"web1": {"p": 70000}}, 9100, {"port_var": "p"}, "host 'web1': p: port 70000 is out of range"),
        ("web1", {"web1": {"ansible_host": "bad host"}}, 9100, {}, "host 'web1': address 'bad host' is not usable"),
        ("web1", HOSTVARS, 9100, {"labels": {"__x": "y"}}, "labels argument: label name '__x' starts with '__'"),
        ("web1", {"web1": {"vigil_metrics_labels": {"a-b": "c"}}}, 9100, {}, "vigil_metrics_labels: label name 'a-b'"),
    ],
)
def test_entry_errors_name_the_host_and_the_problem(host, hostvars, port, kwargs, fragment):
    with pytest.raises(AnsibleFilterError) as exc:
        file_sd_entry(host, hostvars, port, **kwargs)
    assert fragment in str(exc.value)


# -- expand_cidr_targets ----------------------------------------------------------------


def test_ipv4_range_drops_network_and_broadcast():
    assert expand_cidr_targets(["192.0.2.0/29"]) == ["192.0.2.%d" % i for i in range(1, 7)]


def test_slash_31_and_32_keep_every_address():
    assert expand_cidr_targets(["192.0.2.0/31", "192.0.2.9/32"]) == ["192.0.2.0", "192.0.2.1", "192.0.2.9"]


def test_slash_30_has_two_hosts():
    assert expand_cidr_targets("192.0.2.4/30") == ["192.0.2.5", "192.0.2.6"]


def test_ipv6_range_drops_the_subnet_router_anycast_address():
    assert expand_cidr_targets(["2001:db8::/126"]) == ["2001:db8::1", "2001:db8::2", "2001:db8::3"]


def test_single_addresses_are_accepted_and_duplicates_dropped_in_order():
    result = expand_cidr_targets(["192.0.2.5", "192.0.2.4/30", "192.0.2.6", "2001:db8::9"])
    assert result == ["192.0.2.5", "192.0.2.6", "2001:db8::9"]


def test_limit_counts_unique_addresses():
    assert len(expand_cidr_targets(["192.0.2.0/30", "192.0.2.0/30"], limit=2)) == 2


def test_over_the_limit_names_the_range_and_the_variable():
    with pytest.raises(AnsibleFilterError) as exc:
        expand_cidr_targets(["192.0.2.1", "10.0.0.0/8"], limit=256)
    message = str(exc.value)
    assert "'10.0.0.0/8' (16777214 addresses)" in message
    assert "limit of 256" in message
    assert "blackbox_exporter_cidr_limit" in message


@pytest.mark.parametrize(
    "cidrs, limit, fragment",
    [
        (["10.0.0.0/33"], 256, "'10.0.0.0/33' is not a CIDR range"),
        (["web1"], 256, "'web1' is not a CIDR range"),
        ([42], 256, "42 is not a CIDR range"),
        (["10.0.0.5/24"], 256, "has host bits set; did you mean '10.0.0.0/24'"),
        (["10.0.0.0/30"], 0, "limit (blackbox_exporter_cidr_limit) must be at least 1"),
        (["10.0.0.0/30"], "many", "must be a positive whole number"),
        ({"a": 1}, 256, "expects a list of CIDR ranges"),
    ],
)
def test_bad_ranges_and_limits_are_refused(cidrs, limit, fragment):
    with pytest.raises(AnsibleFilterError) as exc:
        expand_cidr_targets(cidrs, limit=limit)
    assert fragment in str(exc.value)


# -- blackbox_probe_targets ---------------------------------------------------------------


def test_strings_get_the_default_module_and_share_a_group():
    assert blackbox_probe_targets(["https://example.org/health", "192.0.2.1"], module="http_2xx") == [
        {"targets": ["https://example.org/health", "192.0.2.1"], "labels": {"module": "http_2xx"}}
    ]


def test_cidr_strings_are_expanded():
    assert blackbox_probe_targets(["192.0.2.0/30"]) == [
        {"targets": ["192.0.2.1", "192.0.2.2"], "labels": {"module": "icmp"}}
    ]


def test_mappings_choose_module_labels_and_port_per_probe():
    probes = [
        {"target": "db1:5432", "module": "tcp_connect", "labels": {"service": "postgres"}},
        {"cidr": ["192.0.2.0/30", "2001:db8::5"], "module": "ssh_banner", "port": 22},
        "192.0.2.9",
    ]
    result = blackbox_probe_targets(probes, labels={"site": "par1"})
    assert result == [
        {"targets": ["db1:5432"], "labels": {"module": "tcp_connect", "service": "postgres", "site": "par1"}},
        {
            "targets": ["192.0.2.1:22", "192.0.2.2:22", "[2001:db8::5]:22"],
            "labels": {"module": "ssh_banner", "site": "par1"},
        },
        {"targets": ["192.0.2.9"], "labels": {"module": "icmp", "site": "par1"}},
    ]


def test_same_target_with_two_modules_is_two_probes_and_repeats_are_dropped():
    result = blackbox_probe_targets(["192.0.2.1", {"target": "192.0.2.1", "module": "tcp_connect"}, "192.0.2.1"])
    assert result == [
        {"targets": ["192.0.2.1"], "labels": {"module": "icmp"}},
        {"targets": ["192.0.2.1"], "labels": {"module": "tcp_connect"}},
    ]


def test_same_target_and_module_with_different_labels_is_refused():
    with pytest.raises(AnsibleFilterError, match="target '192.0.2.1' with module 'icmp' is already listed"):
        blackbox_probe_targets(["192.0.2.1", {"target": "192.0.2.1", "labels": {"team": "b"}}])


def test_cidr_limit_applies_to_the_total_over_all_probes():
    probes = [{"cidr": "192.0.2.0/29"}, {"cidr": "198.51.100.0/29", "module": "tcp_connect", "port": 22}]
    assert sum(len(g["targets"]) for g in blackbox_probe_targets(probes, limit=12)) == 12
    with pytest.raises(AnsibleFilterError) as exc:
        blackbox_probe_targets(probes, limit=11)
    assert "'198.51.100.0/29'" in str(exc.value) and "blackbox_exporter_cidr_limit" in str(exc.value)


@pytest.mark.parametrize(
    "probes, kwargs, fragment",
    [
        ([{"target": "a", "cidr": "192.0.2.0/30"}], {}, "probe #1 must have exactly one of 'target' or 'cidr'"),
        ([{"module": "icmp"}], {}, "probe #1 must have exactly one of 'target' or 'cidr'"),
        (["ok", {"target": "b", "modul": "icmp"}], {}, "probe #2 has unknown keys ['modul']"),
        ([{"target": "a:1", "port": 22}], {}, "'port' applies to 'cidr' only"),
        ([{"cidr": "192.0.2.0/30", "port": 0}], {}, "probe #1: port 0 is out of range"),
        ([{"target": "a", "labels": {"module": "x"}}], {}, "do not set a 'module' label"),
        ([{"target": "a", "module": "bad name"}], {}, "module 'bad name' is not a blackbox module name"),
        ([{"cidr": "192.0.2.1/24"}], {}, "has host bits set"),
        ([{"cidr": []}], {}, "cidr must be a CIDR range or a non-empty list"),
        ([""], {}, "probe #1 is an empty string"),
        ([3], {}, "probe #1 is a int"),
        ("192.0.2.1", {}, "expects a list of probes"),
        (["a"], {"labels": {"9": "x"}}, "labels argument: label name '9' is invalid"),
    ],
)
def test_bad_probes_are_refused_with_their_position(probes, kwargs, fragment):
    with pytest.raises(AnsibleFilterError) as exc:
        blackbox_probe_targets(probes, **kwargs)
    assert fragment in str(exc.value)


# -- hostile probe targets and ranges (issue 13) ----------------------------------------------


@pytest.mark.parametrize(
    "probe, fragment",
    [
        ("a.example\n- targets: [evil]", "contains whitespace ('\\n')"),
        ({"target": "a.example\n- targets: [evil]"}, "contains whitespace ('\\n')"),
        ({"target": "db1 db2:5432"}, "contains whitespace (' ')"),
        ({"target": "https://example.org/\ttab"}, "contains whitespace ('\\t')"),
        ({"target": "https://example.org/\x1b[31m"}, "contains the control character '\\x1b'"),
        ({"target": "https://example.org/a\u2028b"}, "contains whitespace"),
        ({"target": "https://example.org/<script>alert(1)</script>"}, "contains '<'"),
        ({"target": 'https://example.org/"onmouseover=x'}, "contains '\"'"),
        ({"target": "{{ lookup('pipe', 'id') }}"}, "contains '{'"),
        ({"target": "https://example.org/" + "a" * 2100}, "at most 2048"),
        ({"cidr": "192.0.2.0/30\n"}, None),  # surrounding blanks are trimmed, as before
        ({"cidr": "192.0.2.0/30\n- evil"}, "contains whitespace"),
    ],
)
def test_probe_targets_with_whitespace_control_characters_or_markup_are_refused(probe, fragment):
    if fragment is None:
        assert blackbox_probe_targets([probe])[0]["targets"] == ["192.0.2.1", "192.0.2.2"]
        return
    with pytest.raises(AnsibleFilterError) as exc:
        blackbox_probe_targets([probe])
    assert "probe #1" in str(exc.value) and fragment in str(exc.value)


def test_ordinary_targets_still_pass():
    probes = ["https://example.org/health?x=1&y=%20z", "db1.example.org:5432", "[2001:db8::1]:443",
              {"target": "http://203.0.113.66/it's/beacon.bin", "module": "http_2xx"}, "bücher.example"]
    targets = [t for g in blackbox_probe_targets(probes) for t in g["targets"]]
    assert targets == ["https://example.org/health?x=1&y=%20z", "db1.example.org:5432", "[2001:db8::1]:443",
                       "bücher.example", "http://203.0.113.66/it's/beacon.bin"]


def test_the_cidr_limit_cannot_be_raised_past_the_documented_maximum():
    from ansible_collections.vigil.monitoring.plugins.filter.prometheus_targets import CIDR_LIMIT_MAX

    assert CIDR_LIMIT_MAX == 4096
    assert len(expand_cidr_targets(["10.0.0.0/20"], limit=CIDR_LIMIT_MAX)) == 4094
    for call in (lambda: expand_cidr_targets(["10.0.0.0/12"], limit=1048576),
                 lambda: blackbox_probe_targets([{"cidr": "10.0.0.0/12"}], limit=4097)):
        with pytest.raises(AnsibleFilterError) as exc:
            call()
        assert "blackbox_exporter_cidr_limit" in str(exc.value) and "maximum of 4096" in str(exc.value)


def test_a_huge_range_fails_fast_without_expanding_it():
    with pytest.raises(AnsibleFilterError, match="limit of 4096"):
        expand_cidr_targets(["2001:db8::/32"], limit=4096)


# -- multi_target_relabel ----------------------------------------------------------------------

# What roles/prometheus/vars/main.yml held for the blackbox probes before the filter (the
# parameter now needs a non-empty label, which the blackbox role always writes).
BLACKBOX_RELABEL_BEFORE = [
    {"source_labels": ["__address__"], "target_label": "__param_target"},
    {"source_labels": ["module"], "target_label": "__param_module"},
    {"source_labels": ["__param_target"], "target_label": "instance"},
    {"source_labels": ["blackbox_address"], "regex": "(.+)", "target_label": "__address__"},
    {"source_labels": ["scheme"], "regex": "(https?)", "target_label": "__scheme__"},
    {"action": "labeldrop", "regex": "blackbox_address|scheme"},
]


def test_blackbox_probes_relabel_as_before():
    relabel = multi_target_relabel("blackbox_address", {"module": "module"}, keep=["module"])
    expected = [dict(step) for step in BLACKBOX_RELABEL_BEFORE]
    expected[1]["regex"] = "(.+)"
    assert relabel == expected


def test_snmp_devices_keep_their_instance_and_drop_the_routing_labels():
    relabel = multi_target_relabel("snmp_address", {"module": "snmp_module", "auth": "snmp_auth"},
                                   instance_from_target=False)
    assert relabel == [
        {"source_labels": ["__address__"], "target_label": "__param_target"},
        {"source_labels": ["snmp_module"], "regex": "(.+)", "target_label": "__param_module"},
        {"source_labels": ["snmp_auth"], "regex": "(.+)", "target_label": "__param_auth"},
        {"source_labels": ["snmp_address"], "regex": "(.+)", "target_label": "__address__"},
        {"source_labels": ["scheme"], "regex": "(https?)", "target_label": "__scheme__"},
        {"action": "labeldrop", "regex": "snmp_address|scheme|snmp_module|snmp_auth"},
    ]
    assert not any(step.get("target_label") == "instance" for step in relabel)


@pytest.mark.parametrize("args", [("__address__",), ("exporter-address",), ("a", {"module": "__meta"}),
                                  ("a", {"bad name": "module"})])
def test_multi_target_relabel_refuses_labels_a_target_cannot_carry(args):
    with pytest.raises(AnsibleFilterError, match="multi_target_relabel"):
        multi_target_relabel(*args)
