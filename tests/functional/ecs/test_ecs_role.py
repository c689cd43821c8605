# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ecs_pipelines role, run by ansible-playbook on localhost.

Checks what only a real run shows: the ingest templates (``{{{_ingest...}}}``) survive
Ansible's templating through set_fact, copy and module arguments; a bad field map
stops the play before anything is rendered; uploads reach Elasticsearch (an
in-process fake that stores pipelines) with the credentials and unchanged bodies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest

from ansible_collections.vigil.monitoring.plugins.filter import ecs_pipeline as ep
from ansible_collections.vigil.monitoring.plugins.module_utils.canonical import pipeline_hash
from ecs_support import BAD_FIELD_MAP, ROOT, field_map_names, load_field_map, load_yaml
from standins.base import FakeApi, Request

PLAYBOOK = """\
---
- name: Run the ecs_pipelines role
  hosts: localhost
  gather_facts: false
  roles:
    - role: vigil.monitoring.ecs_pipelines
  post_tasks:
    - name: Copy the built pipelines through one more fact, as a caller would
      ansible.builtin.set_fact:
        roundtrip: "{{ _ecs_pipelines_built }}"
    - name: Write them out again
      ansible.builtin.copy:
        content: "{{ roundtrip | to_json }}"
        dest: "{{ out_dir }}/roundtrip.json"
        mode: "0644"
"""


class PipelineStore(FakeApi):
    """Just enough of Elasticsearch's pipeline API: GET/PUT/DELETE _ingest/pipeline/<name>,
    and the login check the role makes first (GET _security/_authenticate, one token)."""

    TOKEN = "Bearer s3cret-token"

    def __init__(self) -> None:
        super().__init__()
        self.pipelines: Dict[str, Any] = {}

    def handle(self, req: Request) -> Tuple[int, Any]:
        if req.headers.get("authorization") != self.TOKEN:
            return 401, {"error": {"type": "security_exception", "reason": "unable to authenticate"}, "status": 401}
        if req.path == "/_security/_authenticate" and req.method == "GET":
            return 200, {"username": "elastic/vigil-ingest", "authentication_type": "token"}
        parts = [p for p in req.path.split("/") if p]
        if parts[:2] != ["_ingest", "pipeline"] or len(parts) != 3:
            return 400, {"error": "unexpected %s %s" % (req.method, req.path)}
        name = parts[2]
        if req.method == "GET":
            return (200, {name: self.pipelines[name]}) if name in self.pipelines else (404, {})
        if req.method == "PUT":
            self.pipelines[name] = req.body
            return 200, {"acknowledged": True}
        if req.method == "DELETE":
            if self.pipelines.pop(name, None) is None:
                return 404, {"error": "pipeline [%s] is missing" % name}
            return 200, {"acknowledged": True}
        return 405, {"error": "method not allowed"}


def run_role(tmp_path: Path, extra_vars: Dict[str, Any]) -> subprocess.CompletedProcess:
    (tmp_path / "play.yml").write_text(PLAYBOOK, encoding="utf-8")
    (tmp_path / "ansible.cfg").write_text(textwrap.dedent("""\
        [defaults]
        collections_path = {root}/collections
        roles_path = {root}/roles
        retry_files_enabled = false
        host_key_checking = false
        nocows = true
        """).format(root=ROOT), encoding="utf-8")
    (tmp_path / "vars.json").write_text(json.dumps(dict(extra_vars, out_dir=str(tmp_path))), encoding="utf-8")
    env = dict(os.environ, ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_HOME=str(tmp_path / "home"))
    command = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local",
               "-e", "ansible_python_interpreter=%s" % sys.executable, "-e", "@%s" % (tmp_path / "vars.json"),
               str(tmp_path / "play.yml")]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=300)


ROLE_FILES = ROOT / "roles" / "ecs_pipelines" / "files"


def rendered_custom(body: Dict[str, Any]) -> Dict[str, Any]:
    """A @custom pipeline as the role renders it: the content hash is added by the upload module."""
    return dict(body, _meta={k: v for k, v in body["_meta"].items() if k != "vigil_hash"})


def expected_bodies() -> Dict[str, Dict[str, Any]]:
    """The field maps' pipelines and the integrations' @custom pipelines (files/integration_custom)."""
    found = {ep.ecs_pipeline_name(load_field_map(n)): ep.ecs_pipeline(load_field_map(n)) for n in field_map_names()}
    for path in sorted((ROLE_FILES / "integration_custom").glob("*.yml")):
        custom = load_yaml(path)
        body = {"description": custom["description"], "processors": custom["processors"],
                "_meta": {"managed_by": "vigil", "integration": custom["integration"], "field_map": custom["field_map"]}}
        body["_meta"]["vigil_hash"] = pipeline_hash(body)  # what the upload module adds
        found[custom["name"]] = body
    return found


@pytest.fixture(scope="module")
def ansible_playbook():
    path = Path(sys.executable).with_name("ansible-playbook")
    if not path.is_file():
        pytest.skip("ansible-playbook is not installed next to %s" % sys.executable)
    return path


@pytest.fixture
def store():
    fake = PipelineStore().start()
    yield fake
    fake.stop()


def test_role_renders_and_uploads_unchanged_bodies_with_credentials_and_is_idempotent(
        tmp_path, ansible_playbook, store):
    render_dir = tmp_path / "rendered"
    extra = {"ecs_pipelines_render_dir": str(render_dir), "ecs_pipelines_simulate": False,
             "ecs_pipelines_es_url": store.url, "ecs_pipelines_es_api_token": "s3cret-token"}
    result = run_role(tmp_path, extra)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    expected = expected_bodies()

    # rendered for inspection, ingest templates intact
    assert sorted(p.stem for p in render_dir.glob("*.json")) == sorted(expected)
    for name, body in expected.items():
        text = (render_dir / ("%s.json" % name)).read_text(encoding="utf-8")
        if not name.endswith("@custom"):  # the field maps' on_failure; the @custom ones have none
            assert "{{{_ingest.on_failure_message}}}" in text
        assert json.loads(text) == (rendered_custom(body) if name.endswith("@custom") else body), name
    # still intact after one more set_fact and copy in the caller's play
    roundtrip = json.loads((tmp_path / "roundtrip.json").read_text(encoding="utf-8"))
    assert {item["name"]: item["body"] for item in roundtrip} == {
        name: rendered_custom(body) if name.endswith("@custom") else body for name, body in expected.items()}
    fortigate = next(item for item in roundtrip if item["name"] == "vigil-ecs-fortinet-fortigate")
    assert fortigate["samples"] == ep.simulate_samples(load_field_map("fortinet_fortigate"))

    # uploaded unchanged (templates included), with the token, which the output never shows
    assert store.pipelines == expected
    assert len(store.calls("PUT")) == len(expected)
    assert all(r.headers.get("authorization") == "Bearer s3cret-token" for r in store.requests)
    assert "s3cret-token" not in result.stdout + result.stderr

    # a second run writes nothing unchanged and deletes what is listed as absent
    without_cisco = [n for n in field_map_names() if n != "cisco_ios"]
    again = run_role(tmp_path, dict(extra, ecs_pipelines_render_dir="", ecs_pipelines_enabled=without_cisco,
                                    ecs_pipelines_absent=["vigil-ecs-cisco-ios"]))
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-2000:]
    assert len(store.calls("PUT")) == len(expected), "an unchanged pipeline was written again"
    assert [r.path for r in store.calls("DELETE")] == ["/_ingest/pipeline/vigil-ecs-cisco-ios"]
    assert sorted(store.pipelines) == sorted(n for n in expected if n != "vigil-ecs-cisco-ios")


def test_a_bad_custom_map_stops_the_play_before_rendering(tmp_path, ansible_playbook):
    render_dir = tmp_path / "rendered"
    result = run_role(tmp_path, {
        "ecs_pipelines_upload": False,
        "ecs_pipelines_render_dir": str(render_dir),
        "ecs_pipelines_enabled": ["linux_auth"],
        "ecs_pipelines_custom_field_maps": [load_yaml(BAD_FIELD_MAP)],
    })
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Example Broken Firewall does not conform to ECS 9.4.0 (4 problems)" in output
    assert "did you mean source.address" in output
    assert not render_dir.exists()


def test_refused_credentials_stop_before_any_pipeline_call_naming_the_variables(tmp_path, ansible_playbook, store):
    extra = {"ecs_pipelines_render_dir": "", "ecs_pipelines_simulate": False, "ecs_pipelines_enabled": ["linux_auth"],
             "ecs_pipelines_es_url": store.url, "ecs_pipelines_es_username": "vigil_ingest",
             "ecs_pipelines_es_password": "not-the-password"}
    result = run_role(tmp_path, extra)
    assert result.returncode != 0
    assert "refuses the upload credentials (HTTP 401)" in result.stdout
    assert "ecs_pipelines_es_username" in result.stdout and "not-the-password" not in result.stdout
    assert [r.path for r in store.requests] == ["/_security/_authenticate"]
    assert store.pipelines == {}
