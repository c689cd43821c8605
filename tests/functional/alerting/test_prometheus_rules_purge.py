"""The prometheus role's rule purge never removes the alert catalog's rule file.

The role's rule tasks (``tasks_from: rules``) run on the controller against a temporary
rules directory, with ``prometheus_rules_purge: true``, after the catalog's one loading
point (``alert_catalog`` ``tasks_from: load``, as the role's preflight calls it): the stale
file goes, the catalog's file (rewritten from the catalog) and the managed one stay. Real promtool validates what is written. The reload handler is
turned off (``__prometheus_restarted`` defined): no Prometheus runs here.
"""

from __future__ import annotations

import grp
import os
import pwd

from alerting_support import promtool  # noqa: F401  (fixture)  # pylint: disable=unused-import
from local_playbook import find_ansible_playbook, run_local_playbook

PLAY = """---
- name: The prometheus role's rule files, on the controller
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Load the alert catalog, as the role's preflight does
      ansible.builtin.include_role:
        name: vigil.monitoring.alert_catalog
        tasks_from: load

    - name: Write and purge the rule files
      ansible.builtin.include_role:
        name: vigil.monitoring.prometheus
        tasks_from: rules
"""
CATALOG_FILE = "vigil-alert-catalog.yml"
CATALOG_RULES = "groups:\n  - name: host\n    rules:\n      - alert: HostDown\n        expr: up == 0\n"


def test_purge_keeps_the_catalog_file(tmp_path, promtool):  # noqa: F811
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / CATALOG_FILE).write_text(CATALOG_RULES, encoding="utf-8")
    (rules / "stale.yml").write_text("groups: []\n", encoding="utf-8")
    (rules / "notes.txt").write_text("not a rule file\n", encoding="utf-8")
    extra = {
        "_prometheus_rules_dir": str(rules),
        "_prometheus_promtool": promtool,
        "_prometheus_owner": pwd.getpwuid(os.getuid()).pw_name,
        "_prometheus_group": grp.getgrgid(os.getgid()).gr_name,
        "__prometheus_restarted": True,
        "prometheus_rules_purge": True,
        "prometheus_rules": {"team.yml": {"groups": [{"name": "team", "rules": [{"record": "x", "expr": "vector(1)"}]}]}},
    }
    result = run_local_playbook(tmp_path / "run", find_ansible_playbook(), PLAY, extra)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert sorted(p.name for p in rules.iterdir()) == sorted([CATALOG_FILE, "notes.txt", "team.yml"])
    written = (rules / CATALOG_FILE).read_text(encoding="utf-8")
    assert written != CATALOG_RULES and written.startswith("# Generated from the Vigil alert catalog")
    assert "alert: Watchdog" in written
    assert "stale.yml" in result.stdout  # the purge ran, and removed only that file
