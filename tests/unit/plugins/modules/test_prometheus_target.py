"""Unit tests for vigil.monitoring.prometheus_target (file_sd self-registration)."""

from __future__ import annotations

import fcntl
import json
import os
import stat
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import yaml
from ansible.module_utils import basic

from ansible_collections.vigil.monitoring.plugins.modules import prometheus_target

OLD_MTIME_NS = 1_600_000_000 * 10**9


def groups(path: Path) -> List[Dict[str, Any]]:
    text = path.read_text()
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def as_map(path: Path) -> Dict[str, Dict[str, str]]:
    """{target: labels} from a file the module wrote (one target per group)."""
    result = {}
    for group in groups(path):
        assert len(group["targets"]) == 1, group
        result[group["targets"][0]] = group["labels"]
    return result


def age(path: Path) -> int:
    """Put the file's mtime in the past so that a rewrite is visible even within one clock tick."""
    os.utime(path, ns=(OLD_MTIME_NS, OLD_MTIME_NS))
    return path.stat().st_mtime_ns


@contextmanager
def module_fails() -> Iterator[Dict[str, Any]]:
    """Expect the module to call fail_json; the yielded dict receives fail_json's arguments.

    The exception is conftest's ModuleFail, recognised by name: ``from conftest import``
    would get tests/integration/conftest.py when both folders run in one session.
    """
    failure: Dict[str, Any] = {}
    with pytest.raises(Exception) as caught:
        yield failure
    if type(caught.value).__name__ != "ModuleFail":
        raise caught.value
    failure.update(caught.value.result)


@pytest.fixture
def register(run_module, tmp_path):
    def _register(target: str, labels=None, path: Path = None, check_mode=False, diff=False, **extra):
        args = dict(path=str(path or tmp_path / "node.json"), target=target, **extra)
        if labels is not None:
            args["labels"] = labels
        return run_module(prometheus_target, args, check_mode=check_mode, diff=diff)

    return _register


@pytest.fixture
def populated(register, tmp_path):
    """A JSON file with three targets, aged so that rewrites are detectable."""
    path = tmp_path / "node.json"
    register("10.0.0.2:9100", {"role": "node", "site": "par1"})
    register("10.0.0.10:9100", {"role": "node"})
    register("db1.example.org:9100", {"role": "db"})
    age(path)
    return path


# -- present ---------------------------------------------------------------------


def test_present_creates_file_with_one_group(register, tmp_path):
    result = register("10.0.0.5:9100", {"environment": "prod", "role": "node"})
    path = tmp_path / "node.json"
    assert result["changed"] is True
    assert result["targets_count"] == 1
    assert result["path"] == str(path)
    assert groups(path) == [{"targets": ["10.0.0.5:9100"], "labels": {"environment": "prod", "role": "node"}}]
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_non_string_label_values_are_stringified(register, tmp_path):
    result = register("10.0.0.5:9100", {"critical": True, "port": 9100, "weight": 0.5, "muted": False})
    expected = {"critical": "true", "port": "9100", "weight": "0.5", "muted": "false"}
    assert result["labels"] == expected
    assert as_map(tmp_path / "node.json") == {"10.0.0.5:9100": expected}


def test_same_labels_again_is_unchanged_and_file_not_rewritten(register, populated):
    inode = populated.stat().st_ino
    mtime = populated.stat().st_mtime_ns
    result = register("10.0.0.2:9100", {"site": "par1", "role": "node"})
    assert result["changed"] is False
    assert result["targets_count"] == 3
    assert populated.stat().st_mtime_ns == mtime
    assert populated.stat().st_ino == inode


def test_different_labels_update_only_that_target(register, populated):
    result = register("10.0.0.2:9100", {"role": "node", "site": "fra1"})
    assert result["changed"] is True
    assert as_map(populated) == {
        "10.0.0.2:9100": {"role": "node", "site": "fra1"},
        "10.0.0.10:9100": {"role": "node"},
        "db1.example.org:9100": {"role": "db"},
    }
    assert populated.stat().st_mtime_ns != OLD_MTIME_NS


def test_groups_are_sorted_whatever_the_registration_order(register, tmp_path):
    for target in ["web.example.org:9100", "10.0.0.10:9100", "[2001:db8::1]:9100", "10.0.0.2:9100", "10.0.0.2:8080"]:
        register(target, {"role": "node"})
    order = [g["targets"][0] for g in groups(tmp_path / "node.json")]
    assert order == ["10.0.0.2:8080", "10.0.0.2:9100", "10.0.0.10:9100", "[2001:db8::1]:9100", "web.example.org:9100"]


def test_yaml_file_round_trips_ipv6_and_numeric_looking_values(register, tmp_path):
    path = tmp_path / "node.yml"
    register("[2001:db8::5]:9100", {"replica": 2, "enabled": True}, path=path)
    register("10.0.0.1:9100", {"replica": "1"}, path=path)
    assert as_map(path) == {
        "10.0.0.1:9100": {"replica": "1"},
        "[2001:db8::5]:9100": {"enabled": "true", "replica": "2"},
    }
    age(path)
    assert register("10.0.0.1:9100", {"replica": 1}, path=path)["changed"] is False
    assert path.stat().st_mtime_ns == OLD_MTIME_NS


def test_hand_written_yaml_scalars_are_kept_as_prometheus_reads_them(register, tmp_path):
    path = tmp_path / "node.yml"
    path.write_text(
        "- targets: ['db1:9187']\n  labels:\n    replica: 2\n    primary: yes\n- targets: ['db2:9187']\n  labels:\n"
    )
    age(path)
    assert register("db1:9187", {"replica": "2", "primary": "yes"}, path=path)["changed"] is False
    assert path.stat().st_mtime_ns == OLD_MTIME_NS
    register("db3:9187", {"replica": "3"}, path=path)
    assert as_map(path) == {
        "db1:9187": {"primary": "yes", "replica": "2"},
        "db2:9187": {},
        "db3:9187": {"replica": "3"},
    }


def test_yaml_extension_is_also_accepted(register, tmp_path):
    path = tmp_path / "node.yaml"
    register("10.0.0.1:9100", {"role": "node"}, path=path)
    assert yaml.safe_load(path.read_text()) == [{"targets": ["10.0.0.1:9100"], "labels": {"role": "node"}}]


def test_empty_existing_file_counts_as_empty(register, tmp_path):
    path = tmp_path / "node.json"
    path.write_text("")
    result = register("10.0.0.1:9100", {"role": "node"})
    assert result["changed"] is True
    assert as_map(path) == {"10.0.0.1:9100": {"role": "node"}}


def test_hand_written_groups_are_kept_and_not_rewritten_when_unchanged(register, tmp_path):
    path = tmp_path / "node.json"
    original = json.dumps([{"targets": ["b:9100", "a:9100"], "labels": {"role": "x"}}])
    path.write_text(original)
    age(path)
    assert register("a:9100", {"role": "x"})["changed"] is False
    assert path.read_text() == original
    result = register("c:9100", {"role": "y"})
    assert result["changed"] is True
    assert result["targets_count"] == 3
    assert as_map(path) == {"a:9100": {"role": "x"}, "b:9100": {"role": "x"}, "c:9100": {"role": "y"}}


def test_symlinked_path_updates_the_link_target(register, tmp_path):
    real = tmp_path / "real.json"
    link = tmp_path / "link.json"
    link.symlink_to(real)
    result = register("10.0.0.1:9100", {"role": "node"}, path=link)
    assert link.is_symlink()
    assert result["path"] == str(real)
    assert as_map(real) == {"10.0.0.1:9100": {"role": "node"}}


# -- absent ---------------------------------------------------------------------


def test_absent_removes_target_and_returns_its_old_labels(register, populated):
    result = register("10.0.0.10:9100", state="absent")
    assert result["changed"] is True
    assert result["labels"] == {"role": "node"}
    assert result["targets_count"] == 2
    assert set(as_map(populated)) == {"10.0.0.2:9100", "db1.example.org:9100"}


def test_absent_for_unknown_target_leaves_file_alone(register, populated):
    result = register("10.9.9.9:9100", state="absent")
    assert result["changed"] is False
    assert result["labels"] == {}
    assert populated.stat().st_mtime_ns == OLD_MTIME_NS


def test_absent_on_missing_file_creates_nothing(register, tmp_path):
    result = register("10.0.0.1:9100", state="absent")
    assert result["changed"] is False
    assert result["targets_count"] == 0
    assert list(tmp_path.iterdir()) == []


def test_absent_last_target_leaves_a_valid_empty_list(register, tmp_path):
    register("10.0.0.1:9100", {"role": "node"})
    register("10.0.0.1:9100", state="absent")
    assert groups(tmp_path / "node.json") == []


def test_absent_with_missing_directory_is_ok(register, tmp_path):
    result = register("10.0.0.1:9100", path=tmp_path / "nope" / "node.json", state="absent")
    assert result["changed"] is False
    assert not (tmp_path / "nope").exists()


# -- check mode and diff ------------------------------------------------------------


def test_check_mode_reports_change_and_writes_nothing(register, tmp_path):
    result = register("10.0.0.1:9100", {"role": "node"}, check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["targets_count"] == 1
    assert json.loads(result["diff"]["after"]) == [{"targets": ["10.0.0.1:9100"], "labels": {"role": "node"}}]
    assert result["diff"]["before"] == ""
    assert list(tmp_path.iterdir()) == []  # neither the file nor the lock file


def test_check_mode_on_existing_file_keeps_content_and_mtime(register, populated):
    before = populated.read_text()
    result = register("10.0.0.2:9100", state="absent", check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["targets_count"] == 2
    assert populated.read_text() == before
    assert populated.stat().st_mtime_ns == OLD_MTIME_NS
    assert "10.0.0.2:9100" in result["diff"]["before"]
    assert "10.0.0.2:9100" not in result["diff"]["after"]


def test_check_mode_predicts_idempotent_run(register, populated):
    result = register("db1.example.org:9100", {"role": "db"}, check_mode=True, diff=True)
    assert result["changed"] is False
    assert result["diff"]["before"] == result["diff"]["after"]


def test_diff_shows_before_and_after_text(register, populated):
    before = populated.read_text()
    result = register("10.0.0.10:9100", {"role": "edge"}, diff=True)
    assert result["diff"]["before"] == before
    assert result["diff"]["after"] == populated.read_text()
    assert '"edge"' in result["diff"]["after"] and '"edge"' not in before
    assert result["diff"]["before_header"] == str(populated)


def test_check_mode_with_missing_directory_warns_instead_of_failing(register, tmp_path, monkeypatch):
    warnings: List[str] = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, warning, **kw: warnings.append(warning))
    missing = tmp_path / "file_sd" / "node.json"
    result = register("10.0.0.1:9100", {"role": "node"}, path=missing, check_mode=True)
    assert result["changed"] is True
    assert len(warnings) == 1 and "does not exist" in warnings[0]
    assert not missing.parent.exists()


# -- file attributes ----------------------------------------------------------------


def test_mode_is_applied_to_new_file(register, tmp_path):
    register("10.0.0.1:9100", {"role": "node"}, mode="0640")
    assert stat.S_IMODE((tmp_path / "node.json").stat().st_mode) == 0o640


def test_mode_only_change_is_reported_without_rewriting(register, populated):
    inode = populated.stat().st_ino
    content = populated.read_text()
    check = register("10.0.0.2:9100", {"role": "node", "site": "par1"}, mode="0600", check_mode=True, diff=True)
    assert check["changed"] is True
    assert stat.S_IMODE(populated.stat().st_mode) == 0o644
    assert "0600" in check["diff"]["after_header"] and "0644" in check["diff"]["before_header"]
    real = register("10.0.0.2:9100", {"role": "node", "site": "par1"}, mode="0600")
    assert real["changed"] is True
    assert stat.S_IMODE(populated.stat().st_mode) == 0o600
    assert populated.stat().st_ino == inode
    assert populated.read_text() == content
    assert register("10.0.0.2:9100", {"role": "node", "site": "par1"}, mode="0600")["changed"] is False


def test_rewrite_applies_mode_to_the_new_file(register, populated):
    register("10.0.0.99:9100", {"role": "node"}, mode="u=rw,g=r,o=")
    assert stat.S_IMODE(populated.stat().st_mode) == 0o640


@pytest.mark.skipif(os.geteuid() != 0, reason="changing file ownership needs root")
def test_rewrite_keeps_existing_owner_when_owner_not_given(register, populated):
    os.chown(populated, 65534, 65534)
    register("10.0.0.99:9100", {"role": "node"})
    assert (populated.stat().st_uid, populated.stat().st_gid) == (65534, 65534)
    register("10.0.0.98:9100", {"role": "node"}, owner="0", group="0")
    assert (populated.stat().st_uid, populated.stat().st_gid) == (0, 0)


def test_no_temporary_files_are_left_behind(register, populated):
    register("10.0.0.99:9100", {"role": "node"})
    register("10.0.0.99:9100", state="absent")
    assert sorted(p.name for p in populated.parent.iterdir()) == ["node.json", "node.json.lock"]


# -- validation: fail and change nothing ----------------------------------------------


@pytest.mark.parametrize(
    "target, fragment",
    [
        ("10.0.0.1", "has no port"),
        ("10.0.0.1:0", "out of range"),
        ("10.0.0.1:65536", "out of range"),
        ("10.0.0.1:http", "not a number"),
        (":9100", "empty host"),
        ("::1:9100", "without brackets"),
        ("[::1]", "has no port"),
        ("[not-v6]:9100", "not an IPv6 address"),
        ("http://host:9100", "without a scheme or path"),
        ("host/metrics:9100", "without a scheme or path"),
        ("host name:9100", "not a valid host name"),
        ("", "non-empty"),
    ],
)
def test_bad_target_fails_and_leaves_file_untouched(register, populated, target, fragment):
    before = populated.read_text()
    with module_fails() as failure:
        register(target, {"role": "node"})
    assert fragment in failure["msg"]
    assert populated.read_text() == before
    assert populated.stat().st_mtime_ns == OLD_MTIME_NS


@pytest.mark.parametrize(
    "labels, fragment",
    [
        ({"1st": "x"}, "label name '1st' is invalid"),
        ({"team-name": "x"}, "label name 'team-name' is invalid"),
        ({"__metrics_path__": "/x"}, "'__metrics_path__' starts with '__'"),
        ({"role": None}, "label 'role' has no value"),
        ({"role": ["a", "b"]}, "label 'role' has a list value"),
        ({"role": {"a": 1}}, "label 'role' has a dict value"),
    ],
)
def test_bad_labels_fail_and_leave_file_untouched(register, populated, labels, fragment):
    before = populated.read_text()
    with module_fails() as failure:
        register("10.0.0.2:9100", labels)
    assert fragment in failure["msg"]
    assert populated.read_text() == before


def test_unsupported_extension_fails_naming_path(register, tmp_path):
    with module_fails() as failure:
        register("10.0.0.1:9100", {"role": "node"}, path=tmp_path / "node.txt")
    assert "must end in .json, .yml or .yaml" in failure["msg"]
    assert list(tmp_path.iterdir()) == []


def test_missing_directory_fails_with_hint(register, tmp_path):
    with module_fails() as failure:
        register("10.0.0.1:9100", {"role": "node"}, path=tmp_path / "file_sd" / "node.json")
    message = failure["msg"]
    assert "does not exist" in message and "prometheus role" in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("{not json", "is not valid JSON"),
        ('{"targets": ["a:1"]}', "must contain a list of target groups"),
        ('[{"targets": ["a:1"], "labels": {}, "extra": 1}]', "unknown keys ['extra']"),
        ('[{"labels": {"a": "b"}}]', "'targets' must be a list of non-empty strings"),
        ('[{"targets": ["a:1"], "labels": {"port": 9100}}]', "is not a string"),
        ('["a:1"]', "group #1 is a str"),
    ],
)
def test_invalid_existing_file_fails_and_is_not_overwritten(register, tmp_path, content, fragment):
    path = tmp_path / "node.json"
    path.write_text(content)
    with module_fails() as failure:
        register("10.0.0.1:9100", {"role": "node"})
    assert fragment in failure["msg"]
    assert str(path) in failure["msg"]
    assert path.read_text() == content


def test_invalid_yaml_file_fails_and_is_not_overwritten(register, tmp_path):
    path = tmp_path / "node.yml"
    path.write_text("- targets: [a:1\n")
    with module_fails() as failure:
        register("10.0.0.1:9100", {"role": "node"}, path=path)
    assert "is not valid YAML" in failure["msg"]
    assert path.read_text() == "- targets: [a:1\n"


@pytest.mark.parametrize(
    "extra, fragment",
    [
        ({"mode": "rw-r--r--"}, "neither octal"),
        ({"mode": "0999"}, "neither octal"),
        ({"owner": "no-such-user-vigil"}, "owner 'no-such-user-vigil' does not exist"),
        ({"group": "no-such-group-vigil"}, "group 'no-such-group-vigil' does not exist"),
        ({"lock_timeout": 601}, "lock_timeout must be between 0 and 600"),
        ({"lock_timeout": -1}, "lock_timeout must be between 0 and 600"),
    ],
)
def test_bad_attribute_options_fail_before_writing(register, tmp_path, extra, fragment):
    with module_fails() as failure:
        register("10.0.0.1:9100", {"role": "node"}, **extra)
    assert fragment in failure["msg"]
    assert list(tmp_path.iterdir()) == []


# -- locking ------------------------------------------------------------------------


def test_lock_timeout_fails_with_holder_and_leaves_file_untouched(register, populated):
    before = populated.read_text()
    with open(str(populated) + ".lock", "r+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lock.truncate(0)
        lock.write("%d\n" % os.getpid())
        lock.flush()
        started = time.monotonic()
        with module_fails() as failure:
            register("10.0.0.99:9100", {"role": "node"}, lock_timeout=0.3)
        waited = time.monotonic() - started
    message = failure["msg"]
    assert "timed out after 0.3 s" in message
    assert "process %d" % os.getpid() in message
    assert "lock_timeout" in message
    assert 0.3 <= waited < 3
    assert populated.read_text() == before


def test_lock_released_by_another_writer_is_acquired(register, populated):
    """A writer waiting on the lock proceeds as soon as the holder lets go."""
    import threading

    lock = open(str(populated) + ".lock", "r+")
    fcntl.flock(lock, fcntl.LOCK_EX)
    threading.Timer(0.2, lock.close).start()
    result = register("10.0.0.99:9100", {"role": "node"}, lock_timeout=5)
    assert result["changed"] is True
    assert "10.0.0.99:9100" in as_map(populated)


def test_check_mode_does_not_wait_for_the_lock(register, populated):
    with open(str(populated) + ".lock", "r+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = register("10.0.0.99:9100", {"role": "node"}, lock_timeout=0, check_mode=True)
    assert result["changed"] is True
