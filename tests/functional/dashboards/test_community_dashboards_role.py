# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The grafana role's community dashboard steps, run by ansible-playbook on localhost.

The role's own task files (community_preflight.yml, community_fetch.yml,
community_write.yml, with its defaults and vars) run against a local HTTP stand-in for
grafana.com's download endpoint (``GET /api/dashboards/<id>/revisions/<rev>/download``,
serving the hand-written fixtures of fixtures/community) and against the offline
directory layout (``<id>-<revision>.json``). Nothing is downloaded from the internet.
What an operator notices: the dashboards land in the provider's folder with Vigil's
datasources; a second run downloads and changes nothing; a transient error is retried a
bounded number of times; a wrong checksum, a missing file or an input that cannot be
mapped stops the role naming the dashboard. No Grafana reads the files here.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple

import pytest
from standins.base import FakeApi, Request
from local_playbook import find_ansible_playbook, recap_changed, run_local_playbook

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "community"
DOWNLOAD = re.compile(r"^/api/dashboards/(\d+)/revisions/(\d+)/download$")

PLAYBOOK = """\
---
- name: Community dashboards of the grafana role
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Check the entries as the role's preflight does
      ansible.builtin.include_role:
        name: vigil.monitoring.grafana
        tasks_from: community_preflight.yml
    - name: Fetch and map them as the role's preflight does
      ansible.builtin.include_role:
        name: vigil.monitoring.grafana
        tasks_from: community_fetch.yml
    - name: Write them as the role's provision step does
      ansible.builtin.include_role:
        name: vigil.monitoring.grafana
        tasks_from: community_write.yml
"""


class GrafanaComFake(FakeApi):
    """grafana.com's download endpoint: the JSON of a revision; ``fail`` 503s first (rate limiting)."""

    def __init__(self) -> None:
        super().__init__()
        self.fail = 0

    @staticmethod
    def document(dashboard_id: str, revision: str) -> Any:
        path = FIXTURES / ("%s-%s.json" % (dashboard_id, revision))
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def handle(self, req: Request) -> Tuple[int, Any]:
        match = DOWNLOAD.match(req.path)
        if req.method != "GET" or not match:
            return 404, {"message": "Not found"}
        if self.fail > 0:
            self.fail -= 1
            return 503, {"message": "Service unavailable"}
        document = self.document(*match.groups())
        return (200, document) if document is not None else (404, {"message": "Dashboard not found"})

    def downloads(self) -> int:
        return len([r for r in self.requests if DOWNLOAD.match(r.path)])


def served_sha256(dashboard_id: str, revision: str) -> str:
    """The sha256 of the bytes the fake serves (its JSON encoding of the fixture)."""
    body = json.dumps(GrafanaComFake.document(dashboard_id, revision)).encode()
    return "sha256:" + hashlib.sha256(body).hexdigest()


@pytest.fixture
def grafana_com() -> Iterator[GrafanaComFake]:
    fake = GrafanaComFake().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def ansible_playbook() -> Path:
    return find_ansible_playbook()


def settings(tmp_path: Path, fake: GrafanaComFake, **overrides: Any) -> Dict[str, Any]:
    values = {
        "grafana_dashboards_path": str(tmp_path / "dashboards"),
        "grafana_community_dashboards_cache_dir": str(tmp_path / "cache"),
        "grafana_community_dashboards_url": fake.url + "/api/dashboards",
        "grafana_community_dashboards_delay": 0,
        # Vigil's datasources on this Grafana: a Prometheus in front of the pair, the logs cluster.
        "grafana_prometheus_url": "https://prometheus.example.org:9090",
        "grafana_elasticsearch_url": "https://logs.example.org:9200",
        "grafana_community_dashboards": [
            {"id": 1860, "revision": 37},
            {"id": 7587, "revision": 3, "folder": "Probes", "uid": "blackbox", "title": "Blackbox probes",
             "inputs": {"VAR_INTERVAL": "1m"}},
        ],
        # The host's grafana group does not exist on the controller.
        "_grafana_group": "root",
    }
    values.update(overrides)
    return values


def play(tmp_path: Path, ansible_playbook: Path, variables: Dict[str, Any], check: bool = False,
         expect_rc: int = 0) -> Tuple[int, str]:
    result = run_local_playbook(tmp_path / "run", ansible_playbook, PLAYBOOK, variables,
                                args=["--check", "--diff"] if check else [])
    output = result.stdout + result.stderr
    assert result.returncode == expect_rc, output
    return recap_changed(output), output


def written(tmp_path: Path, relative: str) -> Dict[str, Any]:
    return json.loads((tmp_path / "dashboards" / "community" / relative).read_text(encoding="utf-8"))


def test_online_the_pinned_revisions_land_with_vigils_datasources(tmp_path, ansible_playbook, grafana_com):
    _changed, output = play(tmp_path, ansible_playbook, settings(tmp_path, grafana_com))

    assert grafana_com.downloads() == 2
    node = written(tmp_path, "Community/community-1860.json")
    assert node["uid"] == "community-1860" and node["title"] == "Node Exporter Full"
    assert "__inputs" not in node and "${DS_PROMETHEUS}" not in json.dumps(node)
    cores = next(p for p in node["panels"] if p.get("title") == "CPU Cores")
    assert cores["datasource"] == {"type": "prometheus", "uid": "vigil-prometheus"}
    legends = [t["legendFormat"] for p in node["panels"] for sub in p.get("panels", []) for t in sub.get("targets", [])]
    assert "recv {{device}}" in legends  # Grafana's own templating reaches the file untouched
    blackbox = written(tmp_path, "Probes/blackbox.json")
    assert blackbox["title"] == "Blackbox probes"
    assert blackbox["panels"][0]["targets"][0]["interval"] == "1m"
    mode = (tmp_path / "dashboards" / "community" / "Probes" / "blackbox.json").stat().st_mode & 0o777
    assert mode == 0o640


def test_second_run_downloads_and_changes_nothing(tmp_path, ansible_playbook, grafana_com):
    play(tmp_path, ansible_playbook, settings(tmp_path, grafana_com))
    grafana_com.requests.clear()

    changed, output = play(tmp_path, ansible_playbook, settings(tmp_path, grafana_com))

    assert changed == 0, output
    assert grafana_com.downloads() == 0


def test_check_mode_writes_no_dashboard(tmp_path, ansible_playbook, grafana_com):
    changed, output = play(tmp_path, ansible_playbook, settings(tmp_path, grafana_com), check=True)

    assert changed > 0, output
    assert not (tmp_path / "dashboards").exists()


def test_a_transient_error_is_retried_a_bounded_number_of_times(tmp_path, ansible_playbook, grafana_com):
    grafana_com.fail = 2
    play(tmp_path, ansible_playbook, settings(tmp_path, grafana_com, grafana_community_dashboards_retries=3))
    assert written(tmp_path, "Community/community-1860.json")["uid"] == "community-1860"

    grafana_com.fail = 10
    variables = settings(tmp_path / "again", grafana_com, grafana_community_dashboards_retries=2,
                         grafana_community_dashboards=[{"id": 1860, "revision": 37}])
    _changed, output = play(tmp_path / "again", ansible_playbook, variables, expect_rc=2)
    assert "503" in output and grafana_com.fail == 7  # three attempts, then it stopped


def test_a_pinned_checksum_is_enforced(tmp_path, ansible_playbook, grafana_com):
    good = served_sha256("1860", "37")
    ok = settings(tmp_path, grafana_com, grafana_community_dashboards=[{"id": 1860, "revision": 37, "checksum": good}])
    play(tmp_path, ansible_playbook, ok)

    bad = "sha256:" + "0" * 64
    wrong = settings(tmp_path / "bad", grafana_com,
                     grafana_community_dashboards=[{"id": 7587, "revision": 3, "checksum": bad}])
    _changed, output = play(tmp_path / "bad", ansible_playbook, wrong, expect_rc=2)
    assert "did not match" in output or "checksum" in output.lower()
    assert not (tmp_path / "bad" / "dashboards").exists()


def test_offline_the_files_of_the_directory_are_used(tmp_path, ansible_playbook, grafana_com):
    variables = settings(tmp_path, grafana_com, grafana_community_dashboards_source="directory",
                         grafana_community_dashboards_dir=str(FIXTURES))

    play(tmp_path, ansible_playbook, variables)

    assert grafana_com.requests == []
    assert written(tmp_path, "Community/community-1860.json")["panels"][5]["datasource"]["uid"] == "vigil-prometheus"
    changed, output = play(tmp_path, ansible_playbook, variables)
    assert changed == 0, output


def test_offline_a_missing_file_or_a_wrong_checksum_stops_naming_it(tmp_path, ansible_playbook, grafana_com):
    missing = settings(tmp_path, grafana_com, grafana_community_dashboards_source="directory",
                       grafana_community_dashboards_dir=str(FIXTURES),
                       grafana_community_dashboards=[{"id": 315, "revision": 3}])
    _changed, output = play(tmp_path, ansible_playbook, missing, expect_rc=2)
    assert "grafana.com dashboard 315 revision 3: the file %s/315-3.json is missing" % FIXTURES in output
    assert "/api/dashboards/315/revisions/3/download" in output

    pinned = hashlib.sha256((FIXTURES / "7587-3.json").read_bytes()).hexdigest()
    wrong = settings(tmp_path, grafana_com, grafana_community_dashboards_source="directory",
                     grafana_community_dashboards_dir=str(FIXTURES),
                     grafana_community_dashboards=[{"id": 1860, "revision": 37, "checksum": "sha256:" + pinned}])
    _changed, output = play(tmp_path, ansible_playbook, wrong, expect_rc=2)
    assert "not sha256:%s (the pinned checksum)" % pinned in output
    assert not (tmp_path / "dashboards").exists()


def test_an_input_that_cannot_be_mapped_stops_before_anything_is_written(tmp_path, ansible_playbook, grafana_com):
    variables = settings(tmp_path, grafana_com, grafana_community_dashboards=[
        {"id": 1860, "revision": 37}, {"id": 13639, "revision": 2}])

    _changed, output = play(tmp_path, ansible_playbook, variables, expect_rc=2)

    assert "grafana.com dashboard 13639 revision 2 cannot be provisioned" in output
    assert "input DS_LOKI" in output
    assert not (tmp_path / "dashboards").exists()


def test_bad_entries_stop_before_any_download(tmp_path, ansible_playbook, grafana_com):
    variables = settings(tmp_path, grafana_com, grafana_community_dashboards=[
        {"id": 1860, "revision": 37, "uid": "has spaces"}, {"id": 7587, "revision": 3, "checksum": "md5:abc"}])

    _changed, output = play(tmp_path, ansible_playbook, variables, expect_rc=2)

    assert "grafana.com dashboard 1860 revision 37 has uid 'has spaces'" in output
    assert "grafana.com dashboard 7587 revision 3 has checksum 'md5:abc'" in output
    assert grafana_com.requests == []


def test_an_empty_list_removes_the_community_dashboards(tmp_path, ansible_playbook, grafana_com):
    play(tmp_path, ansible_playbook, settings(tmp_path, grafana_com))
    assert (tmp_path / "dashboards" / "community").is_dir()

    changed, output = play(tmp_path, ansible_playbook, settings(tmp_path, grafana_com, grafana_community_dashboards=[]))

    assert changed == 1, output
    assert not (tmp_path / "dashboards" / "community").exists()
