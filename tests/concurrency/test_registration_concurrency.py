"""50 hosts registering into one file_sd file at the same time must lose no target.

Two ways:

* 50 forked processes call the module's core function (``file_sd.register``) at the same
  instant, released together by an event (also: the same 50 again change nothing, and a
  mix of removals, relabels and additions);
* a real ``ansible-playbook`` run with ``forks=50`` on a generated inventory of 50 local
  hosts, each running ``vigil.monitoring.prometheus_target`` (the AnsiballZ-packaged
  module, the way roles use it) into the same file.

In both, a reader thread parses the file continuously while the writers run: every
version it sees must be a complete, valid file_sd list, in JSON and in YAML (the
format the roles write).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest
from file_watch import FileWatcher, parse

from ansible_collections.vigil.monitoring.plugins.module_utils.file_sd import register

WRITERS = 50
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def watcher() -> Iterator:
    """Start a FileWatcher on a path; every watcher is stopped at the end of the test."""
    started: List[FileWatcher] = []

    def _start(path: Path) -> FileWatcher:
        watch = FileWatcher(path)
        watch.start()
        started.append(watch)
        return watch

    yield _start
    for watch in started:
        watch.stop()


def target_of(index: int) -> str:
    return "10.1.%d.%d:9100" % (index // 200, index % 200 + 1)


def read_map(path: Path) -> Dict[str, Dict[str, str]]:
    result: Dict[str, Dict[str, str]] = {}
    for group in parse(path, path.read_text()):
        for target in group["targets"]:
            assert target not in result, "target %s listed twice" % target
            result[target] = group["labels"]
    return result


def _writer(index: int, path: str, target: str, labels: Dict[str, str], state: str, go, results) -> None:
    if not go.wait(30):
        raise SystemExit(3)
    outcome = register(path, target, labels, state=state, lock_timeout=60)
    results.put((index, outcome.changed, outcome.targets_count))


def run_writers(jobs: List[tuple]) -> Dict[int, Tuple[bool, int]]:
    """Fork one process per job, release them together; return {job index: (changed, targets_count)}."""
    ctx = multiprocessing.get_context("fork")
    go = ctx.Event()
    results = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(index,) + job + (go, results)) for index, job in enumerate(jobs)]
    for proc in procs:
        proc.start()
    time.sleep(0.2)  # let every process reach go.wait()
    go.set()
    reported = dict((index, (changed, count)) for index, changed, count in (results.get(timeout=60) for dummy in jobs))
    for proc in procs:
        proc.join(60)
    assert [proc.exitcode for proc in procs] == [0] * len(jobs)
    return reported


def assert_always_valid(watch) -> None:
    assert watch.errors == [], "the reader saw an invalid file: %s" % watch.errors[:3]
    assert watch.reads > 10, "the reader did not run while writers were writing"


@pytest.mark.parametrize("name", ["node.json", "node.yml"])
def test_fifty_processes_register_without_losing_a_target(tmp_path, watcher, name):
    path = tmp_path / name
    watch = watcher(path)
    jobs = [(str(path), target_of(i), {"role": "node", "writer": str(i)}, "present") for i in range(WRITERS)]
    first = run_writers(jobs)
    watch.stop()

    assert read_map(path) == {target_of(i): {"role": "node", "writer": str(i)} for i in range(WRITERS)}
    assert all(changed for changed, dummy in first.values())
    # Writers are serialised: each one saw exactly one target more than the one before it.
    assert sorted(count for dummy, count in first.values()) == list(range(1, WRITERS + 1))
    assert_always_valid(watch)
    # Hosts only register here, so the number of targets may only grow; a lost update
    # (a writer saving a stale copy) would show as a drop.
    assert watch.counts == sorted(watch.counts), watch.counts
    assert len(watch.counts) >= 2, "the reader saw no intermediate state: %s" % watch.counts
    assert watch.counts[-1] == WRITERS

    # The same 50 registrations again, all at once: nothing changes and the file is not rewritten.
    before = path.stat()
    second = run_writers(jobs)
    after = path.stat()
    assert second == {i: (False, WRITERS) for i in range(WRITERS)}
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_fifty_processes_adding_removing_and_relabelling_at_once(tmp_path, watcher):
    path = tmp_path / "node.json"
    for i in range(20):
        register(str(path), target_of(i), {"role": "old"})
    watch = watcher(path)
    jobs = []
    for i in range(WRITERS):
        if i < 10:  # decommissioned hosts
            jobs.append((str(path), target_of(i), {}, "absent"))
        elif i < 20:  # relabelled hosts
            jobs.append((str(path), target_of(i), {"role": "new"}, "present"))
        else:  # new hosts
            jobs.append((str(path), target_of(i), {"role": "new"}, "present"))
    results = run_writers(jobs)
    watch.stop()

    assert read_map(path) == {target_of(i): {"role": "new"} for i in range(10, WRITERS)}
    assert all(results[i][0] for i in range(WRITERS)), "every job had something to do"
    assert_always_valid(watch)


INVENTORY_HEADER = """\
[exporters:vars]
ansible_connection=local
ansible_python_interpreter={python}
"""

PLAYBOOK = """\
- name: Every exporter host registers itself at once
  hosts: exporters
  gather_facts: false
  tasks:
    - name: Register in file_sd
      vigil.monitoring.prometheus_target:
        path: "{{ file_sd_path }}"
        target: "{{ entry.targets[0] }}"
        labels: "{{ entry.labels }}"
        lock_timeout: 60
      vars:
        entry: "{{ inventory_hostname | vigil.monitoring.file_sd_entry(hostvars, 9100, role='node') }}"
"""


def write_inventory(directory: Path) -> Path:
    lines = ["[exporters]"]
    for i in range(WRITERS):
        lines.append("host%02d ansible_host=%s vigil_environment=lab" % (i, target_of(i).rsplit(":", 1)[0]))
    inventory = directory / "inventory.ini"
    inventory.write_text("\n".join(lines) + "\n\n" + INVENTORY_HEADER.format(python=sys.executable))
    return inventory


def run_playbook(tmp_path: Path, inventory: Path, playbook: Path, file_sd: Path) -> Dict:
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_FORKS=str(WRITERS),
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
        # the checkout enables profile_tasks, which would mix text into the JSON output
        ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.json",
        ANSIBLE_CACHE_PLUGIN="memory",  # keep the shared checkout's fact cache out of this
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "local_tmp"),
        ANSIBLE_REMOTE_TMP=str(tmp_path / "remote_tmp"),
        ANSIBLE_HOME=str(tmp_path / "ansible_home"),
        ANSIBLE_RETRY_FILES_ENABLED="false",
    )
    command = [
        str(Path(sys.executable).with_name("ansible-playbook")),
        "-i",
        str(inventory),
        "-e",
        "file_sd_path=%s" % file_sd,
        str(playbook),
    ]
    proc = subprocess.run(command, cwd=str(REPO), env=env, capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, "ansible-playbook failed:\n%s\n%s" % (proc.stdout[-4000:], proc.stderr[-4000:])
    return json.loads(proc.stdout)


def task_results(output: Dict, name: str) -> Dict[str, Dict]:
    """{host: result} of the task with this name in the json callback's output."""
    for play in output["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"] == name:
                return task["hosts"]
    raise AssertionError("task %r not in the playbook output" % name)


def test_ansible_playbook_with_fifty_forks_keeps_every_target(tmp_path, watcher):
    file_sd = tmp_path / "file_sd" / "node.json"
    file_sd.parent.mkdir()
    inventory = write_inventory(tmp_path)
    playbook = tmp_path / "register.yml"
    playbook.write_text(PLAYBOOK)

    watch = watcher(file_sd)
    output = run_playbook(tmp_path, inventory, playbook, file_sd)
    watch.stop()

    hosts = ["host%02d" % i for i in range(WRITERS)]
    assert sorted(output["stats"]) == hosts
    first = task_results(output, "Register in file_sd")
    assert sorted(first) == hosts
    assert all(first[h]["changed"] is True for h in hosts)
    assert read_map(file_sd) == {
        target_of(i): {"environment": "lab", "instance": "host%02d" % i, "os": "linux", "role": "node"}
        for i in range(WRITERS)
    }
    assert {first[h]["targets_count"] for h in hosts} == set(range(1, WRITERS + 1)), "each writer saw one more"
    assert_always_valid(watch)
    assert watch.counts == sorted(watch.counts), watch.counts
    assert len(watch.counts) >= 2, "the reader saw no intermediate state: %s" % watch.counts
