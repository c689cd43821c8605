"""Which inventory hosts the responder never blocks, with the role's default groups.

The role's variable files are loaded by ansible-playbook on an inventory where each host
sits in one group only; the members the role allowlists are written to a file and read back.
"""

from __future__ import annotations

import json

import yaml

from local_playbook import ROOT, find_ansible_playbook, role_render_playbook, run_local_playbook

# One host per group; 'app1' is only a node_exporter host: an ordinary server, blockable.
GROUPS = {
    "prometheus": "prom1", "alertmanager": "am1", "grafana": "graf1", "elasticsearch": "es1",
    "kibana": "kib1", "opencti": "cti1", "fleet_server": "fleet1", "responder": "fw1",
    "blackbox_exporter": "probe1", "snmp_exporter": "snmp1", "custom_exporter": "biz1",
    "elasticsearch_exporter": "esx1", "node_exporter": "app1",
}
PLAY = role_render_playbook(
    "Allowlisted members", ROOT / "roles" / "responder",
    """\
    - name: Write the members the role allowlists
      ansible.builtin.copy:
        content: "{{ _responder_allowlist_members | to_json }}"
        dest: "{{ out_dir }}/members.json"
        mode: "0644"
""")


def _members(tmp_path, extra_vars=None):
    inventory = {"all": {"children": {group: {"hosts": {host: {"ansible_connection": "local"}}}
                                      for group, host in GROUPS.items()}}}
    result = run_local_playbook(tmp_path, find_ansible_playbook(), PLAY, dict(out_dir=str(tmp_path), **(extra_vars or {})),
                                inventory=yaml.safe_dump(inventory))
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads((tmp_path / "members.json").read_text())


def test_monitoring_hosts_and_scraped_exporters_are_never_blocked_ordinary_servers_are(tmp_path):
    members = _members(tmp_path)
    expected = sorted(host for group, host in GROUPS.items() if group != "node_exporter")
    assert members == expected
    assert "app1" not in members


def test_an_operator_list_replaces_the_default_and_unknown_groups_are_ignored(tmp_path):
    members = _members(tmp_path, {"responder_allowlist_groups": ["prometheus", "no_such_group"]})
    assert members == ["prom1"]
