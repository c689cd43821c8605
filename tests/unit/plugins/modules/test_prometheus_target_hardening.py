"""prometheus_target against a hostile file system and against two hosts claiming one target."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

from ansible_collections.vigil.monitoring.plugins.module_utils import file_sd
from ansible_collections.vigil.monitoring.plugins.modules import prometheus_target


def failure_of(run_module, args: Dict[str, Any], **kwargs: Any) -> Dict[str, Any]:
    try:
        result = run_module(prometheus_target, args, **kwargs)
    except Exception as exc:  # ModuleFail, recognised by name (see test_prometheus_target.py)
        if type(exc).__name__ == "ModuleFail":
            return exc.result
        raise
    raise AssertionError("the module did not fail: %r" % (result,))


def node(instance: str, **extra: str) -> Dict[str, str]:
    return dict({"role": "node", "instance": instance, "os": "linux"}, **extra)


def targets(path: Path) -> Dict[str, Dict[str, str]]:
    return {g["targets"][0]: g["labels"] for g in yaml.safe_load(path.read_text()) or []}


# -- lock file ----------------------------------------------------------------------


def test_a_symlinked_lock_file_is_refused_and_not_written_through(run_module, tmp_path):
    victim = tmp_path / "victim.conf"
    victim.write_bytes(b"precious first bytes\n")
    (tmp_path / "node.yml.lock").symlink_to(victim)

    failure = failure_of(run_module, {"path": str(tmp_path / "node.yml"), "target": "10.0.0.5:9100",
                                      "labels": node("node1")})

    assert "node.yml.lock is a symbolic link" in failure["msg"]
    assert victim.read_bytes() == b"precious first bytes\n"
    assert not (tmp_path / "node.yml").exists()


def test_a_lock_file_that_is_not_a_regular_file_is_refused(run_module, tmp_path):
    os.mkfifo(tmp_path / "node.yml.lock")
    failure = failure_of(run_module, {"path": str(tmp_path / "node.yml"), "target": "10.0.0.5:9100"})
    assert "is not a regular file" in failure["msg"]


# -- temporary files of dead writers ------------------------------------------------------


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_temporary_file_of_a_killed_writer_is_removed_on_the_next_run(run_module, tmp_path):
    path = tmp_path / "node.yml"
    run_module(prometheus_target, {"path": str(path), "target": "10.0.0.5:9100", "labels": node("node1")})
    # A writer killed between writing its temporary file and renaming it:
    leftover = tmp_path / (".node.yml.%d.k3j9x0qa.tmp" % dead_pid())
    leftover.write_text("- targets: [half-written")

    result = run_module(prometheus_target, {"path": str(path), "target": "10.0.0.5:9100", "labels": node("node1")})

    assert result["removed_stale_files"] == [str(leftover)]
    assert result["changed"] is True
    assert not leftover.exists()
    again = run_module(prometheus_target, {"path": str(path), "target": "10.0.0.5:9100", "labels": node("node1")})
    assert again["changed"] is False and again["removed_stale_files"] == []


def test_only_our_own_stale_temporary_files_are_removed(tmp_path):
    path = tmp_path / "node.yml"
    now = time.time()
    old = now - file_sd.STALE_TMP_AGE - 60
    live_writer = tmp_path / (".node.yml.%d.abcdefgh.tmp" % os.getppid())  # a process that exists
    old_legacy = tmp_path / ".node.yml.zz9x0q1w.tmp"  # an older release's name (no pid), old
    fresh_legacy = tmp_path / ".node.yml.aa1b2c3d.tmp"  # no pid, recent: maybe alive, kept
    other_file = tmp_path / (".alertmanager.yml.%d.abcdefgh.tmp" % dead_pid())  # another file_sd file's
    look_alike = tmp_path / ".node.yml.notes.tmp"  # not our pattern
    user_file = tmp_path / "node.yml.tmp"
    for item in (live_writer, old_legacy, fresh_legacy, other_file, look_alike, user_file):
        item.write_text("x")
    os.utime(old_legacy, (old, old))
    os.utime(look_alike, (old, old))
    target_of_link = tmp_path / "keep-me"
    target_of_link.write_text("x")
    link = tmp_path / (".node.yml.%d.linklink.tmp" % dead_pid())
    link.symlink_to(target_of_link)

    removed = file_sd.remove_stale_tmp_files(str(path), now=now)

    assert removed == [str(old_legacy)]
    for kept in (live_writer, fresh_legacy, other_file, look_alike, user_file, link, target_of_link):
        assert os.path.lexists(kept), kept


def test_an_old_temporary_file_is_stale_even_if_its_pid_was_reused(tmp_path):
    reused = tmp_path / (".node.yml.%d.abcdefgh.tmp" % os.getppid())
    reused.write_text("x")
    old = time.time() - file_sd.STALE_TMP_AGE - 1
    os.utime(reused, (old, old))
    assert file_sd.remove_stale_tmp_files(str(tmp_path / "node.yml")) == [str(reused)]


def test_temporary_files_carry_the_writer_pid(tmp_path, monkeypatch):
    seen = []
    original = file_sd.tempfile.mkstemp

    def spy(*args, **kwargs):
        fd, name = original(*args, **kwargs)
        seen.append(os.path.basename(name))
        return fd, name

    monkeypatch.setattr(file_sd.tempfile, "mkstemp", spy)
    file_sd.register(str(tmp_path / "node.yml"), "10.0.0.5:9100", node("node1"))
    assert seen and seen[0].startswith(".node.yml.%d." % os.getpid()) and seen[0].endswith(".tmp")
    assert file_sd._tmp_name_re(str(tmp_path / "node.yml")).match(seen[0])


# -- one target, one host -------------------------------------------------------------------


def test_two_hosts_registering_the_same_target_stop_with_both_names(run_module, tmp_path):
    path = tmp_path / "node.yml"
    first = {"path": str(path), "target": "10.0.0.5:9100", "labels": node("web1")}
    second = {"path": str(path), "target": "10.0.0.5:9100", "labels": node("web2")}
    run_module(prometheus_target, first)
    before = path.read_bytes()

    failure = failure_of(run_module, second)

    assert "'10.0.0.5:9100'" in failure["msg"]
    assert "registered by host 'web1'" in failure["msg"] and "host 'web2' registers the same target" in failure["msg"]
    assert path.read_bytes() == before
    # The next run of the first host changes nothing: they no longer replace each other.
    assert run_module(prometheus_target, first)["changed"] is False
    assert targets(path)["10.0.0.5:9100"]["instance"] == "web1"
    # Check mode shows the conflict too, before any run.
    assert "registered by host 'web1'" in failure_of(run_module, second, check_mode=True)["msg"]


def test_the_same_host_may_change_its_labels(run_module, tmp_path):
    path = tmp_path / "node.yml"
    run_module(prometheus_target, {"path": str(path), "target": "10.0.0.5:9100", "labels": node("web1")})
    result = run_module(prometheus_target, {"path": str(path), "target": "10.0.0.5:9100",
                                            "labels": node("web1", site="par1")})
    assert result["changed"] is True and targets(path)["10.0.0.5:9100"]["site"] == "par1"


def test_an_entry_without_an_owner_is_adopted(run_module, tmp_path):
    path = tmp_path / "node.yml"
    path.write_text("- targets: ['10.0.0.5:9100']\n  labels: {role: node}\n")
    result = run_module(prometheus_target, {"path": str(path), "target": "10.0.0.5:9100", "labels": node("web1")})
    assert result["changed"] is True and targets(path)["10.0.0.5:9100"]["instance"] == "web1"


def test_removing_does_not_take_another_hosts_registration(run_module, tmp_path, monkeypatch):
    path = tmp_path / "node.yml"
    run_module(prometheus_target, {"path": str(path), "target": "10.0.0.5:9100", "labels": node("web1")})
    warnings = []
    monkeypatch.setattr(prometheus_target.AnsibleModule, "warn", lambda self, w, **kw: warnings.append(w))

    result = run_module(prometheus_target, {"path": str(path), "target": "10.0.0.5:9100", "labels": node("web2"),
                                            "state": "absent"})

    assert result["changed"] is False and "10.0.0.5:9100" in targets(path)
    assert "registered by host 'web1'" in warnings[0]
    # The owner itself (or a removal without an owner) does remove it.
    assert run_module(prometheus_target, {"path": str(path), "target": "10.0.0.5:9100", "labels": node("web1"),
                                          "state": "absent"})["changed"] is True


def test_the_check_can_be_turned_off(run_module, tmp_path):
    path = tmp_path / "node.yml"
    run_module(prometheus_target, {"path": str(path), "target": "10.0.0.5:9100", "labels": node("web1")})
    result = run_module(prometheus_target, {"path": str(path), "target": "10.0.0.5:9100", "labels": node("web2"),
                                            "identity_label": ""})
    assert result["changed"] is True and targets(path)["10.0.0.5:9100"]["instance"] == "web2"


@pytest.mark.parametrize("label", ["bad-name", "1x"])
def test_a_bad_identity_label_is_refused(run_module, tmp_path, label):
    failure = failure_of(run_module, {"path": str(tmp_path / "node.yml"), "target": "10.0.0.5:9100",
                                      "identity_label": label})
    assert "identity_label" in failure["msg"]
