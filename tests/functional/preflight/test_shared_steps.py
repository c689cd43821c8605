"""The internal roles' file-writing entry points, run on localhost into a temporary directory.

The steps the roles used to copy are entry points now; these runs show that each writes
what the role's own task wrote (the calling role's template, the same mode), notifies the
calling role's handler only on a change, changes nothing on a second run, reports the
change in check mode without writing, and that a refused file keeps the one in use:

- ``_prometheus_common`` ``unit``: node_exporter's unit from node_exporter's template;
- ``_prometheus_common`` ``service_config``: a configuration the service's checker refuses
  names the checker, what to fix and the checker's words, and the file stays as it was;
- ``_elastic_common`` ``settings_file``: kibana.yml from kibana's template, checked first;
- ``_elastic_common`` ``client_config``: the directories, and the CA read on the first
  Elasticsearch node (here: localhost) installed on the client.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from local_playbook import ROOT, find_ansible_playbook, recap_changed, role_render_playbook, run_local_playbook

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the steps write files owned by root: run as root")

FACTS = {"os_family": "Debian", "distribution": "Debian", "distribution_major_version": "12",
         "distribution_version": "12.5", "architecture": "x86_64", "system": "Linux"}
ROLES = ROOT / "roles"


def _play(role: str, vars_files, call: str, reference: str, listen: str) -> str:
    tasks = call + reference
    play = role_render_playbook("Shared step of " + role, ROLES / role, tasks, vars_files)
    return play + ("  handlers:\n    - name: Notified\n      ansible.builtin.debug:\n        msg: NOTIFIED-%s\n"
                   "      listen: %s\n" % (listen.replace(" ", "-"), listen))


def _run(tmp_path: Path, name: str, playbook: str, extra=None, args=()):
    variables = dict({"ansible_facts": FACTS}, **(extra or {}))
    return run_local_playbook(tmp_path / name, find_ansible_playbook(), playbook, variables, args=list(args))


def _mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def test_the_unit_entry_point_writes_the_calling_roles_unit(tmp_path: Path):
    units = tmp_path / "units"
    units.mkdir()
    call = """\
    - name: The shared step
      ansible.builtin.include_role:
        name: vigil.monitoring._prometheus_common
        tasks_from: unit
      vars:
        _prometheus_common_role: node_exporter
        _prometheus_common_unit_dir: %s
        _prometheus_common_service: vigil-test-node-exporter
""" % units
    reference = """\
    - name: What the role's own task rendered
      ansible.builtin.template:
        src: %s/node_exporter/templates/node_exporter.service.j2
        dest: %s/reference.service
        mode: "0600"
      check_mode: false
""" % (ROLES, tmp_path)
    playbook = _play("node_exporter", ("defaults/main.yml", "vars/main.yml", "vars/Debian.yml"), call, reference,
                     "node_exporter restart")
    unit = units / "vigil-test-node-exporter.service"

    checked = _run(tmp_path, "check", playbook, args=["--check"])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert not unit.exists() and "NOTIFIED-node_exporter-restart" in checked.stdout

    first = _run(tmp_path, "first", playbook)
    assert first.returncode == 0, first.stdout + first.stderr
    assert unit.read_text() == (tmp_path / "reference.service").read_text()
    assert "ExecStart=" in unit.read_text() and _mode(unit) == "0o644"
    assert "NOTIFIED-node_exporter-restart" in first.stdout

    again = _run(tmp_path, "again", playbook)
    assert again.returncode == 0 and "NOTIFIED" not in again.stdout, again.stdout
    assert recap_changed(again.stdout) == 0, again.stdout


def test_a_refused_service_configuration_keeps_the_file_and_says_why(tmp_path: Path):
    checker = tmp_path / "vigil-test-checker"
    checker.write_text("#!/bin/sh\necho 'config error in /tmp/x.yml: sources[0] (firewall).metrics: empty' >&2\nexit 1\n")
    checker.chmod(0o755)
    config = tmp_path / "config.yml"
    config.write_text("the file in use\n")
    call = """\
    - name: The shared step
      ansible.builtin.include_role:
        name: vigil.monitoring._prometheus_common
        tasks_from: service_config
      vars:
        _prometheus_common_role: custom_exporter
        _prometheus_common_program: %s
        _prometheus_common_config_file: %s
        _prometheus_common_group: root
        _prometheus_common_config_hint: Fix custom_exporter_sources
""" % (checker, config)
    playbook = _play("custom_exporter", ("defaults/main.yml", "vars/main.yml", "vars/Debian.yml"), call, "",
                     "custom_exporter restart")
    result = _run(tmp_path, "refused", playbook, extra={"custom_exporter_sources": [], "vigil_no_log": False})
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "refused by vigil-test-checker --config.check" in output, output[-3000:]
    assert "Fix custom_exporter_sources: config error: sources[0] (firewall).metrics: empty" in output, output[-3000:]
    assert config.read_text() == "the file in use\n"
    assert "NOTIFIED" not in result.stdout


ELASTIC_VARS = ("defaults/main.yml", "vars/main.yml", "vars/Debian.yml", "../_elastic_common/defaults/main.yml")


def test_the_settings_file_entry_point_writes_the_roles_settings_checked_first(tmp_path: Path):
    settings = tmp_path / "kibana.yml"
    call = """\
    - name: The shared step
      ansible.builtin.include_role:
        name: vigil.monitoring._elastic_common
        tasks_from: settings_file
      vars:
        _elastic_common_role: kibana
        _elastic_common_settings_file: %s
        _elastic_common_group: root
""" % settings
    reference = """\
    - name: What the role's own task rendered
      ansible.builtin.template:
        src: %s/kibana/templates/kibana.yml.j2
        dest: %s/reference.yml
        mode: "0600"
      check_mode: false
""" % (ROLES, tmp_path)
    playbook = _play("kibana", ELASTIC_VARS, call, reference, "kibana restart")
    extra = {"kibana_elasticsearch_hosts": ["https://es1.example:9200"]}
    first = _run(tmp_path, "first", playbook, extra=extra)
    assert first.returncode == 0, first.stdout + first.stderr
    assert settings.read_text() == (tmp_path / "reference.yml").read_text() and _mode(settings) == "0o640"
    assert "NOTIFIED-kibana-restart" in first.stdout
    again = _run(tmp_path, "again", playbook, extra=extra)
    assert again.returncode == 0 and recap_changed(again.stdout) == 0 and "NOTIFIED" not in again.stdout, again.stdout

    written = settings.read_text()
    refused = _run(tmp_path, "refused", playbook, extra=dict(extra, _elastic_common_settings_validate="/bin/false %s",
                                                             kibana_server_port=5602))
    assert refused.returncode == 2, refused.stdout
    assert settings.read_text() == written


def test_the_client_config_entry_point_makes_the_directories_and_copies_the_ca(tmp_path: Path):
    source = tmp_path / "es" / "ca.crt"
    source.parent.mkdir()
    source.write_text("-----BEGIN CERTIFICATE-----\nVIGIL-TEST\n-----END CERTIFICATE-----\n")
    config_dir, certs = tmp_path / "etc-kibana", tmp_path / "etc-kibana" / "certs"
    call = """\
    - name: The shared step
      ansible.builtin.include_role:
        name: vigil.monitoring._elastic_common
        tasks_from: client_config
      vars:
        _elastic_common_role: kibana
        _elastic_common_group: root
        _elastic_common_config_dirs:
          - {path: %s, mode: "02750"}
          - {path: %s, mode: "0750"}
        _elastic_common_es_hosts: [localhost]
        _elastic_common_es_ca_source: %s
        _elastic_common_es_ca_copy: %s/es-ca.crt
""" % (config_dir, certs, source, certs)
    playbook = _play("kibana", ELASTIC_VARS, call, "", "kibana restart")
    first = _run(tmp_path, "first", playbook)
    assert first.returncode == 0, first.stdout + first.stderr
    assert _mode(config_dir) == "0o2750" and _mode(certs) == "0o750"
    assert (certs / "es-ca.crt").read_text() == source.read_text() and _mode(certs / "es-ca.crt") == "0o644"
    assert "NOTIFIED-kibana-restart" in first.stdout
    again = _run(tmp_path, "again", playbook)
    assert again.returncode == 0 and recap_changed(again.stdout) == 0, again.stdout

    source.unlink()
    (certs / "es-ca.crt").unlink()
    missing = _run(tmp_path, "missing", playbook)
    assert missing.returncode == 2
    assert "run the elasticsearch role there first), or set kibana_elasticsearch_ca_file" in missing.stdout
