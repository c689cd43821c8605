"""The internal roles as their callers use them, on the controller (no host is changed).

- elasticsearch, kibana and elastic_agent take their version from the one Elastic Stack
  version of _elastic_common, and each still overrides it;
- the one supported-OS table of _vigil_common stops an unsupported system, naming the role;
- _elastic_common's preflight names the calling role's own variables.
"""

from __future__ import annotations

import pytest

from local_playbook import find_ansible_playbook, run_local_playbook

FACTS = {"os_family": "Debian", "distribution": "Debian", "distribution_major_version": "12",
         "distribution_version": "12.5", "architecture": "x86_64"}


def _versions(tmp_path, extra):
    playbook = (
        "- hosts: localhost\n  gather_facts: false\n  roles: [vigil.monitoring.elasticsearch, vigil.monitoring.kibana,"
        " vigil.monitoring.elastic_agent]\n  post_tasks:\n    - ansible.builtin.debug:\n"
        "        msg: \"VERSIONS {{ [elasticsearch_version, kibana_version, elastic_agent_version, kibana_repository_url]"
        " | join(' ') }}\"\n      tags: [always]\n"
    )
    result = run_local_playbook(tmp_path, find_ansible_playbook(), playbook, dict({"ansible_facts": FACTS}, **extra),
                                args=["--tags", "nothing"])
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.split("VERSIONS ", 1)[1].split('"', 1)[0].split()


def test_the_three_elastic_roles_follow_one_stack_version(tmp_path):
    assert _versions(tmp_path / "default", {})[:3] == ["8.17.4"] * 3
    moved = _versions(tmp_path / "moved", {"_elastic_common_stack_version": "9.0.1"})
    assert moved == ["9.0.1", "9.0.1", "9.0.1", "https://artifacts.elastic.co/packages/9.x/apt"]


def test_each_role_still_overrides_the_stack_version(tmp_path):
    assert _versions(tmp_path, {"kibana_version": "8.16.0"})[:3] == ["8.17.4", "8.16.0", "8.17.4"]


def _call(tmp_path, role, entry, facts, extra):
    playbook = (
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - ansible.builtin.include_role:\n"
        "        name: vigil.monitoring.%s\n        tasks_from: %s\n" % (role, entry)
    )
    return run_local_playbook(tmp_path, find_ansible_playbook(), playbook, dict({"ansible_facts": facts}, **extra))


@pytest.mark.parametrize("windows,expected", [(False, 2), (True, 0)])
def test_one_os_table_stops_an_unsupported_system_naming_the_role(tmp_path, windows, expected):
    gentoo = dict(FACTS, distribution="Gentoo", distribution_version="2.15", distribution_major_version="2")
    result = _call(tmp_path / "gentoo", "_vigil_common", "supported_os", gentoo,
                   {"_vigil_common_role": "kibana", "_vigil_common_windows": windows})
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Gentoo 2.15 is not supported by the kibana role. Supported: " in output
    assert ("Supported: Windows, Debian 12/13" in output) is windows
    assert "Debian 12/13, Ubuntu 22/24, RedHat 9" in output
    result = _call(tmp_path / "win", "_vigil_common", "supported_os", dict(FACTS, os_family="Windows", distribution="Windows"),
                   {"_vigil_common_role": "elastic_agent", "_vigil_common_windows": windows})
    assert result.returncode == expected, result.stdout
    result = _call(tmp_path / "debian", "_vigil_common", "supported_os", FACTS, {"_vigil_common_role": "kibana"})
    assert result.returncode == 0, result.stdout


def test_the_elastic_preflight_names_the_calling_roles_variables(tmp_path):
    result = _call(tmp_path, "_elastic_common", "preflight", FACTS,
                   {"_elastic_common_role": "kibana", "kibana_install_method": "package_file",
                    "kibana_version": "8.17.4", "kibana_package_file": str(tmp_path / "missing.deb")})
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "kibana_install_method must be repository, package_file, mirror, none" in output
    assert "package_file needs kibana_package_file: an existing .deb file on the controller" in output
    ok = tmp_path / "kibana-8.17.4-amd64.deb"
    ok.write_text("not a real package")
    result = _call(tmp_path / "ok", "_elastic_common", "preflight", FACTS,
                   {"_elastic_common_role": "kibana", "kibana_install_method": "package_file",
                    "kibana_version": "8.17.4", "kibana_package_file": str(ok)})
    assert result.returncode == 0, result.stdout + result.stderr
