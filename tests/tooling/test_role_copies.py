"""scripts/role_copies.py finds blocks copied between roles, with role prefixes normalised."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("role_copies", ROOT / "scripts" / "role_copies.py")
role_copies = importlib.util.module_from_spec(SPEC)
sys.modules["role_copies"] = role_copies
SPEC.loader.exec_module(role_copies)

TASK = """---
- name: Look for the installed binary
  ansible.builtin.stat:
    path: "{{{{ _{role}_binary }}}}"
  register: __{role}_binary_stat

- name: Enable and start the service
  ansible.builtin.systemd_service:
    name: "{{{{ _{role}_service }}}}"
    enabled: true
    state: started
  when: __{role}_binary_stat.stat.exists
"""


def _roles(tmp_path, files):
    for path, text in files.items():
        target = tmp_path / "roles" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return tmp_path / "roles"


def _run(tmp_path, roles, allow=None):
    argv = ["--roles", str(roles), "--allow", str(allow or tmp_path / "none.yml")]
    return role_copies.main(argv)


def test_a_planted_copy_with_renamed_prefixes_is_found(tmp_path, capsys):
    roles = _roles(tmp_path, {"alpha/tasks/run.yml": TASK.format(role="alpha"),
                              "beta_exporter/tasks/start.yml": "---\n- name: First\n  ansible.builtin.debug:\n"
                              "    msg: hi\n\n" + TASK.format(role="beta_exporter")[4:]})
    assert _run(tmp_path, roles) == 1
    out = capsys.readouterr().out
    assert "roles/alpha/tasks/run.yml:2-12 ~ roles/beta_exporter/tasks/start.yml:6-16 (10 lines)" in out
    assert "1 copies between roles" in out


def test_prefixes_are_normalised_but_other_names_are_not(tmp_path):
    lines = role_copies.significant_lines(
        'x: "{{ kibana_a }} {{ _kibana_b }} {{ __kibana_c }} {{ elastic_agent_d }} [kibana restart]"', "kibana")
    assert lines[0].text == 'x: "{{ <role>_a }} {{ _<role>_b }} {{ __<role>_c }} {{ elastic_agent_d }} [<role> restart]"'
    # the role name inside another name (elasticsearch in elasticsearch_exporter) is left alone
    text = role_copies.significant_lines("a: elasticsearch_exporter_port", "elasticsearch")[0].text
    assert text == "a: <role>_exporter_port"
    assert role_copies.significant_lines("a: elasticsearch_exporter_port", "elasticsearch_exporter")[0].text == "a: <role>_port"


def test_the_same_block_in_one_role_or_shorter_than_six_lines_is_no_finding(tmp_path, capsys):
    roles = _roles(tmp_path, {"alpha/tasks/a.yml": TASK.format(role="alpha"),
                              "alpha/tasks/b.yml": TASK.format(role="alpha"),
                              "beta/tasks/c.yml": "\n".join(TASK.format(role="beta").splitlines()[:6])})
    assert _run(tmp_path, roles) == 0, capsys.readouterr().out


def test_a_call_of_an_internal_role_counts_by_its_arguments_only(tmp_path, capsys):
    call = ("---\n- name: Start it\n  ansible.builtin.include_role:\n    name: vigil.monitoring._prometheus_common\n"
            "    tasks_from: run\n  vars:\n    _prometheus_common_role: {role}\n")
    roles = _roles(tmp_path, {"alpha/tasks/run.yml": call.format(role="alpha"),
                              "beta/tasks/run.yml": call.format(role="beta")})
    assert _run(tmp_path, roles) == 0, capsys.readouterr().out
    many = call + "".join("    _prometheus_common_x%d: \"{{{{ {role}_x%d }}}}\"\n" % (n, n) for n in range(5))
    roles = _roles(tmp_path / "two", {"alpha/tasks/run.yml": many.format(role="alpha"),
                                      "beta/tasks/run.yml": many.format(role="beta")})
    assert _run(tmp_path, roles) == 1
    assert "roles/alpha/tasks/run.yml:2-12 ~ roles/beta/tasks/run.yml:2-12 (7 lines)" in capsys.readouterr().out


def test_the_allowlist_allows_with_a_reason_and_reports_stale_entries(tmp_path, capsys):
    roles = _roles(tmp_path, {"alpha/tasks/run.yml": TASK.format(role="alpha"),
                              "beta/tasks/run.yml": TASK.format(role="beta")})
    allow = tmp_path / "allow.yml"
    allow.write_text("- files: [roles/*/tasks/run.yml, roles/*/tasks/run.yml]\n  reason: the same by design\n")
    assert _run(tmp_path, roles, allow) == 0, capsys.readouterr().out
    allow.write_text(allow.read_text() + "- files: [roles/alpha/tasks/x.yml, roles/beta/tasks/y.yml]\n  reason: gone\n")
    assert _run(tmp_path, roles, allow) == 1
    assert "allowlist entry roles/alpha/tasks/x.yml ~ roles/beta/tasks/y.yml matches no copy any more" in capsys.readouterr().out
    allow.write_text("- files: [roles/alpha/tasks/run.yml, roles/beta/tasks/run.yml]\n")
    try:
        _run(tmp_path, roles, allow)
    except SystemExit as exc:
        assert "needs files: [two role files] and a reason" in str(exc)
    else:
        raise AssertionError("an entry without a reason must be refused")


def test_the_tree_has_no_copy_outside_the_allowlist(capsys):
    assert role_copies.main([]) == 0, capsys.readouterr().out
