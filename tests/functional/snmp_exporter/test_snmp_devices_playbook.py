"""The snmp_exporter role's device step through real Ansible: vaulted credentials read
through hostvars, a bad device stopping the play with the device and the variable named,
and no credential in the output either way.
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import yaml

from local_playbook import find_ansible_playbook, run_local_playbook

COMMUNITY = "VIGIL-MARKER-vaulted-community"
AUTH_PW = "VIGIL-MARKER-v3-auth-pass"
VAULT_PASSWORD = "unit-test-vault-password"

PLAY = textwrap.dedent("""\
    ---
    - name: The devices of an SNMP exporter
      hosts: snmp_exporter
      gather_facts: false
      tasks:
        - name: Check the devices (the role's own step)
          ansible.builtin.include_role:
            name: vigil.monitoring.snmp_exporter
            tasks_from: devices
            public: true
          vars:
            __snmp_exporter_format: current

        - name: Write what the role registers in Prometheus
          ansible.builtin.copy:
            content: "{{ __snmp_exporter_devices | to_nice_yaml }}"
            dest: "{{ out_dir }}/devices.yml"
            mode: "0600"

        - name: Render snmp.yml as the role does (credentials included)
          ansible.builtin.copy:
            content: >-
              {{ _snmp_exporter_device_hosts | vigil.monitoring.snmp_exporter_config(hostvars,
                 modules=_snmp_exporter_modules, default_modules=snmp_exporter_device_modules,
                 walk_params=_snmp_exporter_walk_params) | to_nice_yaml }}
            dest: "{{ out_dir }}/snmp.yml"
            mode: "0600"
          no_log: true
    """)


def vault(ansible_playbook: Path, workdir: Path, value: str) -> str:
    """An inline vault value (!vault |...) encrypted with the test's password."""
    password_file = workdir / "vault-password"
    password_file.write_text(VAULT_PASSWORD)
    result = subprocess.run(
        [str(ansible_playbook.with_name("ansible-vault")), "encrypt_string", "--vault-password-file",
         str(password_file), value], capture_output=True, text=True, check=True, timeout=60)
    return result.stdout.strip()


def inventory(secret_community: str, v3: dict) -> str:
    lines = ["all:", "  children:", "    snmp_exporter:", "      hosts:", "        localhost:",
             "          ansible_connection: local", "    network_devices:", "      hosts:", "        sw1:",
             "          ansible_host: 192.0.2.10", "          snmp_device_community: " + secret_community.replace(
                 "\n", "\n" + " " * 12), "          snmp_device_uplinks: [Gi1/0/48]", "        fw1:"]
    lines += ["          %s: %s" % (key, value) for key, value in v3.items()]
    return "\n".join(lines) + "\n"


def run(tmp_path: Path, v3: dict):
    ansible_playbook = find_ansible_playbook()
    tmp_path.mkdir(parents=True, exist_ok=True)
    community = vault(ansible_playbook, tmp_path, COMMUNITY)
    result = run_local_playbook(
        tmp_path / "run", ansible_playbook, PLAY, {"out_dir": str(tmp_path)}, inventory=inventory(community, v3),
        args=["--vault-password-file", str(tmp_path / "vault-password")])
    return result


V3_OK = {"snmp_device_address": "192.0.2.20", "snmp_device_version": 3, "snmp_device_username": "vigil",
         "snmp_device_auth_password": AUTH_PW, "snmp_device_priv_password": AUTH_PW + "-priv"}


def test_vaulted_credentials_reach_snmp_yml_and_nothing_else(tmp_path):
    result = run(tmp_path, V3_OK)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "VIGIL-MARKER" not in output
    devices = yaml.safe_load((tmp_path / "devices.yml").read_text())
    assert [(d["name"], d["target"], d["params"]["module"]) for d in devices] == [
        ("sw1", "192.0.2.10:161", "if_mib,system,uplinks@sw1"), ("fw1", "192.0.2.20:161", "if_mib,system")]
    assert "VIGIL-MARKER" not in (tmp_path / "devices.yml").read_text()
    config = yaml.safe_load((tmp_path / "snmp.yml").read_text())
    assert config["auths"]["sw1"] == {"version": 2, "community": COMMUNITY}
    assert config["auths"]["fw1"]["password"] == AUTH_PW


def test_a_bad_device_stops_the_play_naming_it_and_its_variable(tmp_path):
    v3 = dict(V3_OK, snmp_device_security_level="authNoPriv")
    result = run(tmp_path, v3)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert ("network device 'fw1' (inventory host): snmp_device_security_level is authNoPriv but "
            "snmp_device_priv_password is given") in " ".join(output.split())
    assert "VIGIL-MARKER" not in output
    assert not (tmp_path / "snmp.yml").exists()
