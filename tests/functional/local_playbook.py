"""Run a playbook on localhost against the checkout's roles and collection.

For tests that exercise a role's templates or preflight on the controller, with no
container: an isolated ansible.cfg (collections and roles from this repository), the
extra variables passed as a JSON file, and the current Python as the interpreter.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def find_ansible_playbook() -> Path:
    """ansible-playbook next to this Python (the venv's); skip the test if there is none."""
    path = Path(sys.executable).with_name("ansible-playbook")
    if not path.is_file():
        pytest.skip("ansible-playbook is not installed next to %s" % sys.executable)
    return path


def role_render_playbook(
    name: str, role: Path, tasks: str, vars_files: Sequence[str] = ("defaults/main.yml", "vars/main.yml")
) -> str:
    """A play on localhost that loads a role's variable files (the role itself does not
    run) and then runs `tasks`: YAML list items indented by four spaces, usually the
    role's templates rendered into a directory, as the role would."""
    lines = ["---", "- name: " + name, "  hosts: localhost", "  gather_facts: false", "  vars_files:"]
    lines += ["    - %s/%s" % (role, vars_file) for vars_file in vars_files]
    return "\n".join(lines + ["  tasks:", tasks.rstrip("\n")]) + "\n"


def isolated_environment(workdir: Path, **settings: Any) -> Dict[str, str]:
    """Write workdir/ansible.cfg (this repository's roles and collection, nothing else; more
    [defaults] from `settings`) and return the environment that uses it."""
    workdir.mkdir(parents=True, exist_ok=True)
    extra = "".join("%s = %s\n" % item for item in sorted(settings.items()))
    (workdir / "ansible.cfg").write_text(
        textwrap.dedent("""\
        [defaults]
        collections_path = {root}/collections
        roles_path = {root}/roles
        retry_files_enabled = false
        nocows = true
        """).format(root=ROOT) + extra,
        encoding="utf-8",
    )
    # Importing Molecule (tests/tooling) sets ANSIBLE_FORCE_COLOR in this process, which
    # would beat ANSIBLE_NOCOLOR and colour the recaps the tests read.
    inherited = {key: value for key, value in os.environ.items() if key not in ("ANSIBLE_FORCE_COLOR", "PY_COLORS")}
    return dict(
        inherited,
        ANSIBLE_CONFIG=str(workdir / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCAL_TEMP=str(workdir / "tmp"),
        ANSIBLE_HOME=str(workdir / "home"),
    )


def run_local_playbook(
    workdir: Path,
    ansible_playbook: Path,
    playbook: str,
    extra_vars: Dict[str, Any],
    inventory: Optional[str] = None,
    args: Sequence[str] = (),
) -> subprocess.CompletedProcess:
    """Write playbook and variables into workdir and run them: on localhost (connection
    local), or on the hosts of `inventory` (YAML text) when given; `args` are added."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "play.yml").write_text(playbook, encoding="utf-8")
    (workdir / "vars.json").write_text(json.dumps(extra_vars), encoding="utf-8")
    env = isolated_environment(workdir)
    if inventory is None:
        hosts = ["-i", "localhost,", "-c", "local"]
    else:
        (workdir / "inventory.yml").write_text(inventory, encoding="utf-8")
        hosts = ["-i", str(workdir / "inventory.yml")]
    command = [str(ansible_playbook)] + hosts + list(args) + [
        "-e", "ansible_python_interpreter=%s" % sys.executable,
        "-e", "@%s" % (workdir / "vars.json"),
        str(workdir / "play.yml"),
    ]  # fmt: skip
    # VIGIL_PLAYBOOK_TIMEOUT: more than the default 300 s on a machine shared with a CI run.
    timeout = int(os.environ.get("VIGIL_PLAYBOOK_TIMEOUT", "300"))
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, check=False, timeout=timeout)


def recap_changed(output: str, host: str = "localhost") -> int:
    """The changed= count of a host in a play recap; -1 when there is no recap."""
    recap = re.search(r"%s\s+: ok=\d+\s+changed=(\d+)" % re.escape(host), output)
    return int(recap.group(1)) if recap else -1


class _UnsafeLoader(yaml.SafeLoader):
    """SafeLoader that reads Ansible's !unsafe tag as the untagged value."""


def _construct_unsafe(loader, node):
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    return loader.construct_scalar(node)


_UnsafeLoader.add_constructor("!unsafe", _construct_unsafe)


def load_yaml(path):
    """A YAML file as Ansible reads it, !unsafe values as plain strings."""
    with Path(path).open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_UnsafeLoader)  # noqa: S506 - SafeLoader subclass
