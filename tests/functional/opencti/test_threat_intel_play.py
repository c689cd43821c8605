# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The threat-intel play's API step, run by ansible-playbook against the OpenCTI fake on loopback.

The opencti role's own tasks (tasks/preflight_intel.yml, then tasks/intel.yml, with the
role's defaults and vars) run on localhost and call vigil.monitoring.opencti_live_stream,
opencti_rss_feed and opencti_indicator_import, whose pycti client talks to the in-process
GraphQL fake (tests/standins/opencti.py). What an operator notices: the live stream the
Elastic connector follows exists and its id is kept for the compose project, the RSS feeds
of the inventory exist in OpenCTI, the IOC file's indicators are there; a second run and a
check run change nothing; without a platform the role says SKIPPED; a bad IOC path stops
the play before any call. The fake is not OpenCTI: what the platform does with the stream,
the feeds and the indicators afterwards is not shown here.
"""

from __future__ import annotations

import json
import os
import socket
import textwrap
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple

import pytest
from ansible_collections.vigil.monitoring.plugins.module_utils import opencti
from standins.opencti import OpenCTIFake
from local_playbook import find_ansible_playbook, recap_changed, run_local_playbook

pytestmark = [
    pytest.mark.skipif(not opencti.HAS_PYCTI, reason="pycti is not installed (requirements.txt)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="the role writes the stream id file owned by root"),
]

PLAYBOOK = """\
---
- name: Threat-intel data through OpenCTI's API
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Check the threat-intel data as the role's preflight does
      ansible.builtin.include_role:
        name: vigil.monitoring.opencti
        tasks_from: preflight_intel.yml
    - name: Play the role's API step
      ansible.builtin.include_role:
        name: vigil.monitoring.opencti
        tasks_from: intel.yml
    - name: Show what the role decided about the connectors that follow the stream
      ansible.builtin.debug:
        msg: "STREAM-MOVED={{ __opencti_live_stream_moved | default('unset') }} ID={{ __opencti_live_stream_id | default('') }}"
"""

IOCS = textwrap.dedent("""\
    type,value,score,labels,incident_ref,valid_until,description
    ip,203.0.113.66,90,c2,INC-2024-0042,2030-01-31,Beacon seen on the DMZ proxy
    domain,update-check.example.net,80,c2,INC-2024-0042,,Fallback C2 domain
    """)

FEEDS = [
    {"name": "Fortinet PSIRT advisories", "url": "https://www.fortiguard.com/rss/ir.xml",
     "markings": ["TLP:CLEAR"], "current_state_date": "2025-01-01T00:00:00Z"},
    {"name": "Debian security advisories", "url": "https://www.debian.org/security/dsa.rdf",
     "report_types": ["threat-report", "internal-report"], "ingestion_running": False},
]


@pytest.fixture
def cti() -> Iterator[OpenCTIFake]:
    fake = OpenCTIFake().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def ansible_playbook() -> Path:
    return find_ansible_playbook()


def settings(fake: OpenCTIFake, workdir: Path, **overrides: Any) -> Dict[str, Any]:
    (workdir / "iocs").mkdir(parents=True, exist_ok=True)
    (workdir / "iocs" / "inc-2024-0042.csv").write_text(IOCS, encoding="utf-8")
    (workdir / "opencti").mkdir(exist_ok=True)
    values = {
        "opencti_api_url": fake.url,
        "opencti_admin_token": fake.token,
        "opencti_health_access_key": fake.health_key,
        "opencti_base_dir": str(workdir / "opencti"),
        # An Elasticsearch output: the Elastic connector runs, so the role manages its stream.
        "opencti_elasticsearch_url": "https://logs.example.org:9200",
        "opencti_rss_feeds": FEEDS,
        # Relative to the inventory (here the play's directory).
        "opencti_ioc_files": [{"path": "iocs/inc-2024-0042.csv", "labels": ["inc-2024-0042"]}],
    }
    values.update(overrides)
    return values


def play(workdir: Path, ansible_playbook: Path, variables: Dict[str, Any], check: bool = False,
         expect_rc: int = 0) -> Tuple[int, str]:
    result = run_local_playbook(workdir, ansible_playbook, PLAYBOOK, variables,
                                args=["--check", "--diff"] if check else [])
    output = result.stdout + result.stderr
    assert result.returncode == expect_rc, output
    return recap_changed(output), output


def test_first_run_creates_the_stream_the_feeds_and_the_indicators(tmp_path, ansible_playbook, cti):
    changed, output = play(tmp_path, ansible_playbook, settings(cti, tmp_path))

    assert changed == 4, output  # tasks: the stream, its id file, the feeds, the IOC file
    assert cti.unknown == []
    (stream,) = cti.streams.values()
    assert stream["name"] == "Vigil - indicators for Elastic" and stream["stream_live"] is True
    assert json.loads(stream["filters"])["filters"][0]["values"] == ["Indicator"]
    assert (tmp_path / "opencti" / "live-stream-id").read_text() == stream["id"] + "\n"
    assert "STREAM-MOVED=True ID=%s" % stream["id"] in output
    feeds = {f["name"]: f for f in cti.rss.values()}
    assert set(feeds) == {"Fortinet PSIRT advisories", "Debian security advisories"}
    assert feeds["Fortinet PSIRT advisories"]["object_marking_refs"] == [cti.markings["TLP:CLEAR"]["id"]]
    assert feeds["Debian security advisories"]["ingestion_running"] is False
    assert sorted(feeds["Debian security advisories"]["report_types"]) == ["internal-report", "threat-report"]
    assert {i["pattern"] for i in cti.indicators.values()} == {
        "[ipv4-addr:value = '203.0.113.66']", "[domain-name:value = 'update-check.example.net']"}
    assert {cti.labels_by_id()[lid]["value"] for i in cti.indicators.values() for lid in i["label_ids"]} == {
        "c2", "inc-2024-0042"}
    assert cti.token not in output


def test_second_run_changes_nothing_and_sends_no_mutation(tmp_path, ansible_playbook, cti):
    play(tmp_path, ansible_playbook, settings(cti, tmp_path))
    stream_id = next(iter(cti.streams))
    cti.requests.clear()

    changed, output = play(tmp_path, ansible_playbook, settings(cti, tmp_path))

    assert changed == 0, output
    assert cti.mutations() == []
    # The stream id is already the one the compose project knows: nothing to restart.
    assert "STREAM-MOVED=False ID=%s" % stream_id in output


def test_check_mode_sends_no_mutation_and_writes_no_file(tmp_path, ansible_playbook, cti):
    changed, output = play(tmp_path, ansible_playbook, settings(cti, tmp_path), check=True)

    assert changed == 3, output  # the stream, the feeds and the IOC rows would be created
    assert cti.mutations() == []
    assert cti.streams == {} and cti.rss == {} and cti.indicators == {}
    assert not (tmp_path / "opencti" / "live-stream-id").exists()


def test_a_stream_deleted_in_opencti_is_recreated_and_the_connectors_follow_it(tmp_path, ansible_playbook, cti):
    play(tmp_path, ansible_playbook, settings(cti, tmp_path))
    old = next(iter(cti.streams))
    cti.streams.clear()  # someone deleted it in the UI

    _changed, output = play(tmp_path, ansible_playbook, settings(cti, tmp_path))

    (new,) = cti.streams
    assert new != old
    assert (tmp_path / "opencti" / "live-stream-id").read_text() == new + "\n"
    assert "STREAM-MOVED=True ID=%s" % new in output


def test_empty_lists_and_no_elasticsearch_output_call_nothing(tmp_path, ansible_playbook, cti):
    variables = settings(cti, tmp_path, opencti_rss_feeds=[], opencti_ioc_files=[], opencti_elasticsearch_url="",
                         opencti_elasticsearch_mode="container")

    changed, output = play(tmp_path, ansible_playbook, variables)

    assert changed == 0, output
    assert cti.requests == []
    assert "SKIPPED" not in output


def test_without_a_platform_the_role_says_skipped(tmp_path, ansible_playbook, cti):
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = "http://127.0.0.1:%d" % sock.getsockname()[1]
    variables = settings(cti, tmp_path, opencti_api_url=closed)

    changed, output = play(tmp_path, ansible_playbook, variables)

    assert changed == 0, output
    assert "SKIPPED: OpenCTI does not answer at %s" % closed in output
    assert "the live stream Vigil - indicators for Elastic, 2 RSS feed(s), 1 IOC file(s)" in output
    assert not (tmp_path / "opencti" / "live-stream-id").exists()


def test_a_platform_that_runs_but_is_out_of_reach_fails_naming_the_url(tmp_path, ansible_playbook, cti):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = "http://127.0.0.1:%d" % sock.getsockname()[1]
    variables = settings(cti, tmp_path, opencti_api_url=closed, __opencti_stack_healthy=True)

    _changed, output = play(tmp_path, ansible_playbook, variables, expect_rc=2)

    assert "not at opencti_api_url (%s)" % closed in output


def test_a_missing_ioc_file_stops_the_play_before_any_call(tmp_path, ansible_playbook, cti):
    variables = settings(cti, tmp_path, opencti_ioc_files=[{"path": "iocs/missing.csv"}])

    _changed, output = play(tmp_path, ansible_playbook, variables, expect_rc=2)

    assert "iocs/missing.csv is not a file on the controller" in output
    assert cti.requests == []


def test_two_feeds_with_one_name_stop_the_play(tmp_path, ansible_playbook, cti):
    variables = settings(cti, tmp_path, opencti_rss_feeds=FEEDS + [dict(FEEDS[0], url="https://example.org/x.xml")])

    _changed, output = play(tmp_path, ansible_playbook, variables, expect_rc=2)

    assert "the name 'Fortinet PSIRT advisories' is used by more than one entry" in output
    assert cti.requests == []
