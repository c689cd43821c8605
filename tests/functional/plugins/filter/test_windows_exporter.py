# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the windows_exporter filter family, and the role's input checks.

The last section runs ansible-playbook against localhost: the role's argument specs
and preflight asserts run on the controller, before anything would connect to a
Windows host, so bad input is refused here without one.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml
from local_playbook import find_ansible_playbook, role_render_playbook, run_local_playbook
from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.filter.windows_exporter import (
    DEFAULT_COLLECTORS,
    KNOWN_COLLECTORS,
    FilterModule,
    windows_exporter_collectors,
    windows_exporter_firewall_addresses,
    windows_exporter_flags,
)

ROOT = Path(__file__).resolve().parents[4]
ROLE = ROOT / "roles" / "windows_exporter"

HOSTVARS: Dict[str, Dict[str, Any]] = {
    "prom-a": {"ansible_host": "10.0.0.5", "vigil_metrics_address": "192.0.2.5"},
    "prom-b": {"ansible_host": "10.0.0.6"},
    "prom-v6": {"vigil_metrics_address": "2001:DB8::0:7"},
    "prom-nat": {"vigil_scrape_source_address": ["198.51.100.0/28", "198.51.100.20"], "ansible_host": "10.9.9.9"},
    "prom-name": {"ansible_host": "Prom-C.example.org"},
    "prom.example.org": {},
    "prom-empty": {"vigil_metrics_address": "", "ansible_host": "10.0.0.8"},
    "prom-dup": {"ansible_host": "192.0.2.5"},
}


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {
        "windows_exporter_collectors",
        "windows_exporter_flags",
        "windows_exporter_firewall_addresses",
    }


# -- windows_exporter_collectors --------------------------------------------------------


def test_known_collectors_are_the_48_of_windows_exporter_0_30():
    assert len(KNOWN_COLLECTORS) == 48
    assert list(KNOWN_COLLECTORS) == sorted(KNOWN_COLLECTORS)
    assert {"cs", "logon", "filetime", "textfile", "process", "scheduled_task"} <= set(KNOWN_COLLECTORS)
    assert set(DEFAULT_COLLECTORS) <= set(KNOWN_COLLECTORS)


def test_defaults_plus_enabled_sorted():
    assert windows_exporter_collectors(["textfile", "process"]) == (
        "cpu,cs,logical_disk,memory,net,os,physical_disk,process,service,system,textfile"
    )


def test_disabled_removes_a_default_and_duplicates_collapse():
    assert windows_exporter_collectors(["iis", "iis", "cpu"], ["cs", "physical_disk"]) == (
        "cpu,iis,logical_disk,memory,net,os,service,system"
    )


def test_empty_defaults_enable_exactly_the_list_and_strings_are_split():
    assert windows_exporter_collectors("os, cpu,,", None, []) == "cpu,os"
    assert windows_exporter_collectors(None, defaults="cpu") == "cpu"


def test_unknown_collector_is_named_with_a_suggestion_and_the_known_list():
    with pytest.raises(AnsibleFilterError) as err:
        windows_exporter_collectors(["cpu", "logicaldisk"])
    message = str(err.value)
    assert "unknown collector 'logicaldisk' in enabled" in message
    assert "did you mean 'logical_disk'?" in message
    assert "ad, adcs, adfs, cache" in message and "vmware" in message


def test_unknown_disabled_collector_and_names_are_case_sensitive():
    with pytest.raises(AnsibleFilterError, match="unknown collector 'CPU' in disabled .*did you mean 'cpu'"):
        windows_exporter_collectors([], ["CPU"])


def test_collector_from_another_version_is_refused():
    # 'gpu' arrived after 0.30; the role pins 0.30.x.
    with pytest.raises(AnsibleFilterError, match="unknown collector 'gpu' in enabled"):
        windows_exporter_collectors(["gpu"])


def test_enabled_and_disabled_at_once_is_an_error():
    with pytest.raises(AnsibleFilterError, match="'process' both enabled and disabled; remove it from one"):
        windows_exporter_collectors(["process", "textfile"], ["process"])


def test_nothing_left_is_an_error():
    with pytest.raises(AnsibleFilterError, match="no collector left enabled"):
        windows_exporter_collectors([], ["cpu"], ["cpu"])


@pytest.mark.parametrize("bad", [{"cpu": True}, 42, ["cpu", None], ["cpu", ""]])
def test_not_a_list_of_names(bad):
    with pytest.raises(AnsibleFilterError, match="windows_exporter_collectors: enabled"):
        windows_exporter_collectors(bad)


# -- windows_exporter_flags --------------------------------------------------------------


def test_flags_become_strings():
    assert windows_exporter_flags(
        {
            "scrape.timeout-margin": 1.5,
            "collector.service.include": "windows_exporter|W32Time",
            "web.disable-exporter-metrics": True,
            " process.priority ": "high",
        }
    ) == {
        "scrape.timeout-margin": "1.5",
        "collector.service.include": "windows_exporter|W32Time",
        "web.disable-exporter-metrics": "true",
        "process.priority": "high",
    }
    assert windows_exporter_flags(None) == {}
    assert windows_exporter_flags({}) == {}


@pytest.mark.parametrize(
    "name, variable",
    [
        ("collectors.enabled", "windows_exporter_enabled_collectors"),
        ("web.listen-address", "windows_exporter_listen_port"),
        ("collector.textfile.directories", "windows_exporter_textfile_dir"),
        ("log.level", "windows_exporter_log_level"),
        ("web.config.file", "windows_exporter_basic_auth_users"),
    ],
)
def test_managed_flags_are_refused_with_the_variable_to_use(name, variable):
    with pytest.raises(AnsibleFilterError) as err:
        windows_exporter_flags({name: "x"})
    assert "flag '%s' is set by the role; use" % name in str(err.value)
    assert variable in str(err.value)


def test_dashes_odd_names_and_structured_values_are_refused():
    with pytest.raises(
        AnsibleFilterError, match="flag '--scrape.timeout-margin': write the flag name without the leading dashes"
    ):
        windows_exporter_flags({"--scrape.timeout-margin": 1})
    with pytest.raises(AnsibleFilterError, match="flag 'Scrape Timeout' is not a windows_exporter flag name"):
        windows_exporter_flags({"Scrape Timeout": 1})
    with pytest.raises(AnsibleFilterError, match="flag 'collector.process.include': the value must be .* got list"):
        windows_exporter_flags({"collector.process.include": ["a", "b"]})
    with pytest.raises(AnsibleFilterError, match="flag 'x.y': the value must be .* got null"):
        windows_exporter_flags({"x.y": None})
    with pytest.raises(AnsibleFilterError, match="must be a mapping of flag name to value, got list"):
        windows_exporter_flags(["scrape.timeout-margin=1"])


# -- windows_exporter_firewall_addresses -------------------------------------------------


def test_address_order_metrics_address_then_ansible_host_and_canonical_forms():
    assert windows_exporter_firewall_addresses(["prom-a", "prom-b", "prom-v6", "prom-empty"], HOSTVARS) == [
        "192.0.2.5",
        "10.0.0.6",
        "2001:db8::7",
        "10.0.0.8",
    ]


def test_scrape_source_address_wins_and_may_list_ranges():
    assert windows_exporter_firewall_addresses("prom-nat", HOSTVARS) == ["198.51.100.0/28", "198.51.100.20"]


def test_duplicates_collapse_and_extra_addresses_follow():
    result = windows_exporter_firewall_addresses(
        ["prom-a", "prom-dup"], HOSTVARS, extra=["10.20.0.0/16", "192.0.2.5/32", "2001:db8::/64", "192.0.2.5"]
    )
    assert result == ["192.0.2.5", "10.20.0.0/16", "2001:db8::/64"]


def test_missing_group_gives_an_empty_list():
    assert windows_exporter_firewall_addresses(None, HOSTVARS) == []
    assert windows_exporter_firewall_addresses([], HOSTVARS, extra=None) == []


def test_host_name_without_allow_names_tells_to_set_vigil_metrics_address():
    with pytest.raises(AnsibleFilterError) as err:
        windows_exporter_firewall_addresses(["prom-a", "prom-name"], HOSTVARS)
    message = str(err.value)
    assert "Prometheus host 'prom-name' (address from ansible_host)" in message
    assert "'Prom-C.example.org' is a host name" in message
    assert "set vigil_metrics_address" in message and "windows_exporter_firewall_allow_names: true" in message


def test_inventory_name_is_the_last_resort_and_names_are_kept_with_allow_names():
    with pytest.raises(AnsibleFilterError, match="'prom.example.org' \\(address from the inventory name\\)"):
        windows_exporter_firewall_addresses(["prom.example.org"], HOSTVARS)
    assert windows_exporter_firewall_addresses(["prom-name", "prom.example.org", "prom-b"], HOSTVARS, True) == [
        "prom-c.example.org",
        "prom.example.org",
        "10.0.0.6",
    ]


def test_extra_name_without_allow_names_asks_for_an_ip():
    with pytest.raises(
        AnsibleFilterError, match="extra_addresses #2: 'scraper.example.org' is a host name.*list an IP"
    ):
        windows_exporter_firewall_addresses([], HOSTVARS, extra=["10.0.0.1", "scraper.example.org"])


@pytest.mark.parametrize("keyword", ["any", "LocalSubnet", "internet"])
def test_firewall_keywords_are_refused(keyword):
    with pytest.raises(
        AnsibleFilterError, match="'%s' is a Windows Firewall keyword.*windows_exporter_firewall_allow_any" % keyword
    ):
        windows_exporter_firewall_addresses([], HOSTVARS, True, [keyword])


@pytest.mark.parametrize("everything", ["0.0.0.0/0", "::/0"])
def test_ranges_that_admit_everything_are_refused(everything):
    with pytest.raises(AnsibleFilterError, match="admits every address; set windows_exporter_firewall_allow_any"):
        windows_exporter_firewall_addresses([], HOSTVARS, extra=[everything])


def test_range_with_host_bits_and_garbage_are_refused():
    with pytest.raises(AnsibleFilterError, match="'10.0.0.5/24' has host bits set; did you mean '10.0.0.0/24'"):
        windows_exporter_firewall_addresses([], HOSTVARS, extra=["10.0.0.5/24"])
    with pytest.raises(AnsibleFilterError, match="'10.0.0.0/33' is not a CIDR range"):
        windows_exporter_firewall_addresses([], HOSTVARS, extra=["10.0.0.0/33"])
    with pytest.raises(AnsibleFilterError, match="'10.0.0.256' is not an IP address, a CIDR range or a host name"):
        windows_exporter_firewall_addresses([], HOSTVARS, True, ["10.0.0.256"])
    with pytest.raises(AnsibleFilterError, match="'bad_name!' is not an IP address"):
        windows_exporter_firewall_addresses([], HOSTVARS, True, ["bad_name!"])


def test_unknown_host_and_bad_arguments():
    with pytest.raises(AnsibleFilterError, match="Prometheus host 'ghost' is not in the inventory"):
        windows_exporter_firewall_addresses(["ghost"], HOSTVARS)
    with pytest.raises(AnsibleFilterError, match="pass the hostvars variable"):
        windows_exporter_firewall_addresses(["prom-a"], None)
    with pytest.raises(AnsibleFilterError, match="extra_addresses must be a list"):
        windows_exporter_firewall_addresses([], HOSTVARS, extra={"a": 1})


# -- the role's argument specs agree with the filter ------------------------------------


def _role_specs() -> Dict[str, Any]:
    return yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))["argument_specs"]


def test_argument_spec_choices_are_the_known_collectors():
    options = _role_specs()["main"]["options"]
    for name in ("windows_exporter_enabled_collectors", "windows_exporter_disabled_collectors"):
        assert options[name]["choices"] == list(KNOWN_COLLECTORS), name


def test_argument_specs_document_every_default_and_the_register_entry_point_is_a_subset():
    specs = _role_specs()
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text(encoding="utf-8"))
    main = specs["main"]["options"]
    assert set(main) == set(defaults)
    for name, option in main.items():
        assert option.get("description"), name
    assert set(specs["register"]["options"]) <= set(main)


# -- the role's input checks, for real (ansible-playbook on localhost) ------------------

PLAYBOOK = """\
---
- name: Apply the windows_exporter role (stops in argument validation or preflight)
  hosts: localhost
  gather_facts: false
  roles:
    - role: vigil.monitoring.windows_exporter
"""


@pytest.fixture(scope="module")
def ansible_playbook() -> Path:
    return find_ansible_playbook()


def run_role(tmp_path: Path, ansible_playbook: Path, extra_vars: Dict[str, Any]) -> subprocess.CompletedProcess:
    return run_local_playbook(tmp_path, ansible_playbook, PLAYBOOK, extra_vars)


def test_argument_specs_refuse_an_unknown_collector(tmp_path, ansible_playbook):
    result = run_role(tmp_path, ansible_playbook, {"windows_exporter_enabled_collectors": ["textfile", "logicaldisk"]})
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Validating arguments against arg spec 'main'" in output, output
    assert "value of windows_exporter_enabled_collectors must be one or more of: ad, adcs" in output, output
    assert "Got no match for: logicaldisk" in output, output


def test_preflight_refuses_a_port_out_of_range_naming_the_variable(tmp_path, ansible_playbook):
    result = run_role(tmp_path, ansible_playbook, {"windows_exporter_listen_port": 70000})
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "windows_exporter_listen_port 70000 is out of range: use a port in 1-65535" in output, output


def test_preflight_refuses_a_missing_checksum_and_an_empty_firewall_list(tmp_path, ansible_playbook):
    result = run_role(tmp_path, ansible_playbook, {})
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Set windows_exporter_msi_checksum to the sha256 of windows_exporter-0.30.9-amd64.msi" in output, output

    result = run_role(tmp_path, ansible_playbook, {"windows_exporter_msi_checksum": "ab" * 32})
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert (
        "no Prometheus server address to admit" in output and "windows_exporter_firewall_allow_any: true" in output
    ), output


# -- what the role renders, on the controller (templates and computed variables) --------

RENDER_TASKS = """\
    - name: Render config.yml as the role would
      ansible.builtin.template:
        src: {role}/templates/config.yml.j2
        dest: "{{{{ out_dir }}}}/config.yml"
        mode: "0644"
    - name: Render web-config.yml as the role would
      ansible.builtin.template:
        src: {role}/templates/web-config.yml.j2
        dest: "{{{{ out_dir }}}}/web-config.yml"
        mode: "0644"
      vars:
        __windows_exporter_users: "{{{{ windows_exporter_basic_auth_users | vigil.monitoring.bcrypt_users('') }}}}"
        __windows_exporter_web_config: >-
          {{{{ {{'tls_server_config': windows_exporter_tls_server_config}}
             | combine({{'basic_auth_users': __windows_exporter_users}}) }}}}
    - name: Write the computed values
      ansible.builtin.copy:
        content: "{{{{ computed | to_json }}}}"
        dest: "{{{{ out_dir }}}}/computed.json"
        mode: "0644"
      vars:
        computed:
          service_path: "{{{{ _windows_exporter_service_path }}}}"
          firewall_addresses: "{{{{ _windows_exporter_firewall_addresses }}}}"
          firewall_names: "{{{{ _windows_exporter_firewall_names }}}}"
          msi_url: "{{{{ windows_exporter_msi_url }}}}"
          msi_local: "{{{{ _windows_exporter_msi_local }}}}"
          file_version: "{{{{ _windows_exporter_file_version }}}}"
"""
RENDER_PLAYBOOK = role_render_playbook(
    "Render the windows_exporter role's files on the controller", ROLE, RENDER_TASKS.format(role=ROLE)
)

INVENTORY = """\
all:
  hosts:
    localhost:
      ansible_connection: local
  children:
    prometheus:
      hosts:
        prom-a:
          vigil_metrics_address: 10.0.8.11
        prom-b:
          ansible_host: prom-b.example.org
"""


def _flatten(data: Any, prefix: str = "") -> Dict[str, str]:
    """Flag names windows_exporter derives from config.yml (nested keys joined by dots)."""
    result: Dict[str, str] = {}
    for key, value in data.items():
        name = "%s.%s" % (prefix, key) if prefix else str(key)
        if isinstance(value, dict):
            result.update(_flatten(value, name))
        else:
            assert not isinstance(value, list), "%s: windows_exporter cannot read a YAML list as a flag" % name
            result[name] = value if isinstance(value, str) else str(value)
    return result


def test_role_renders_config_web_config_and_service_path(tmp_path, ansible_playbook):
    import bcrypt

    extra = {
        "out_dir": str(tmp_path),
        "windows_exporter_listen_port": 9200,
        "windows_exporter_enabled_collectors": ["textfile", "process"],
        "windows_exporter_disabled_collectors": ["cs"],
        "windows_exporter_extra_flags": {
            "collector.service.include": "windows_exporter|W32Time",
            "scrape.timeout-margin": 1,
        },
        "windows_exporter_tls_server_config": {"cert_file": "C:\\tls\\host.crt", "key_file": "C:\\tls\\host.key"},
        "windows_exporter_basic_auth_users": {"prometheus": "s3cret"},
        "windows_exporter_firewall_allow_names": True,
        "windows_exporter_firewall_extra_addresses": ["10.0.9.0/24"],
    }
    result = run_local_playbook(tmp_path, ansible_playbook, RENDER_PLAYBOOK, extra, inventory=INVENTORY)
    assert result.returncode == 0, result.stdout + result.stderr

    config_text = (tmp_path / "config.yml").read_text(encoding="utf-8")
    assert config_text.startswith("#")
    assert _flatten(yaml.safe_load(config_text)) == {
        "collectors.enabled": "cpu,logical_disk,memory,net,os,physical_disk,process,service,system,textfile",
        "collector.textfile.directories": "C:\\Program Files\\windows_exporter\\textfile_inputs",
        "web.listen-address": ":9200",
        "telemetry.path": "/metrics",
        "log.level": "info",
        "collector.service.include": "windows_exporter|W32Time",
        "scrape.timeout-margin": "1",
    }

    web = yaml.safe_load((tmp_path / "web-config.yml").read_text(encoding="utf-8"))
    assert web["tls_server_config"] == {"cert_file": "C:\\tls\\host.crt", "key_file": "C:\\tls\\host.key"}
    hashed = web["basic_auth_users"]["prometheus"]
    assert hashed.startswith("$2") and bcrypt.checkpw(b"s3cret", hashed.encode())

    computed = json.loads((tmp_path / "computed.json").read_text(encoding="utf-8"))
    assert computed["service_path"] == (
        '"C:\\Program Files\\windows_exporter\\windows_exporter.exe"'
        ' --config.file="C:\\ProgramData\\vigil\\windows_exporter\\config.yml"'
        ' --web.config.file="C:\\ProgramData\\vigil\\windows_exporter\\web-config.yml"'
    )
    assert computed["firewall_addresses"] == ["10.0.8.11", "prom-b.example.org", "10.0.9.0/24"]
    assert computed["firewall_names"] == ["prom-b.example.org"]
    assert computed["msi_url"] == (
        "https://github.com/prometheus-community/windows_exporter/releases/download/"
        "v0.30.9/windows_exporter-0.30.9-amd64.msi"
    )
    assert computed["msi_local"] == "C:\\ProgramData\\vigil\\downloads\\windows_exporter-0.30.9-amd64.msi"
    assert computed["file_version"] == "0.30.9.0"


# -- the register step alone, by tag: no connection to the Windows host -----------------

TAG_PLAYBOOK = """\
---
- name: The whole role, as a site playbook applies it
  hosts: windows
  gather_facts: false
  roles:
    - role: vigil.monitoring.windows_exporter
"""

TAG_INVENTORY = """\
all:
  children:
    prometheus:
      hosts:
        localhost:
          ansible_connection: local
    windows:
      vars:
        # Never contacted: 192.0.2.0/24 is a documentation range and WinRM is not set up.
        ansible_connection: winrm
        ansible_port: 5986
        vigil_environment: test
      hosts:
        win-tag-1:
          vigil_metrics_address: 192.0.2.21
          vigil_site: site-a
"""


def test_register_tag_runs_only_the_delegated_registration(tmp_path, ansible_playbook):
    result = run_local_playbook(
        tmp_path, ansible_playbook, TAG_PLAYBOOK, {"windows_exporter_file_sd_dir": str(tmp_path)},
        inventory=TAG_INVENTORY, args=["--tags", "windows_exporter_register"],
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # No MSI checksum was asked for, and nothing but the registration ran.
    assert "win_" not in output and "Install windows_exporter" not in output, output
    assert yaml.safe_load((tmp_path / "windows.yml").read_text(encoding="utf-8")) == [
        {
            "targets": ["192.0.2.21:9182"],
            "labels": {
                "environment": "test",
                "instance": "win-tag-1",
                "os": "windows",
                "role": "windows",
                "scheme": "http",
                "site": "site-a",
            },
        }
    ]
