# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The harness itself: it must fail, and say where, when a pipeline is broken.

The engine tests below break one shipped field map on purpose (a date format that cannot
parse the vendor's dates, a grok capture writing the wrong field, a header grok that no
longer matches) and check that running the unchanged cases reports the vendor, the case
and the field that differ. The first tests check the comparison without an engine.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from pipeline_harness import (
    Case,
    case_problems,
    compare,
    load_cases,
    load_field_map,
    report,
    run_cases,
    translate_for_opensearch,
)

from ansible_collections.vigil.monitoring.plugins.filter import ecs_pipeline as ep


def make_case(expected, matches=None):
    return Case("acme_wall", "one_line", Path("one_line.yml"), "a line", {"message": "x"}, expected, matches or {})


# --------------------------------------------------------------------------- comparison (no engine)


def test_compare_names_the_case_and_each_missing_extra_or_different_field():
    case = make_case({"source.ip": "192.0.2.1", "source.port": 80, "event.kind": "event"})
    output = {"source": {"ip": "192.0.2.1", "port": "80"}, "destination": {"ip": "192.0.2.2"}}
    found = {d.field: str(d) for d in compare(case, output, "2024")}
    assert found == {
        "source.port": 'acme_wall/one_line: field source.port: expected 80, got "80"',
        "event.kind": 'acme_wall/one_line: field event.kind: expected "event", got <missing>',
        "destination.ip": 'acme_wall/one_line: field destination.ip: expected <missing>, got "192.0.2.2"',
    }


def test_compare_takes_the_year_from_the_engine_and_ignores_only_volatile_fields():
    case = make_case({"@timestamp": "${YEAR}-05-01T10:00:00.000Z"})
    output = {"@timestamp": "2031-05-01T10:00:00.000Z", "event": {"ingested": "2031-05-02T00:00:00Z"}}
    assert compare(case, output, "2031") == []
    assert [d.field for d in compare(case, output, "2030")] == ["@timestamp"]
    assert [d.field for d in compare(case, dict(output, extra=1), "2031")] == ["extra"]


def test_compare_matches_patterns_element_by_element_with_the_pipeline_name_or_nothing():
    case = make_case({}, {"error.message": ["^grok processor .* in pipeline ${PIPELINE} failed: "]})

    def differences(*messages):
        return len(compare(case, {"error": {"message": list(messages)}} if messages else {}, "", "p-1"))

    assert differences("grok processor (tag a) in pipeline p-1 failed: x") == 0
    assert differences("grok processor (tag a) in pipeline  failed: x") == 0  # OpenSearch leaves the name out
    assert differences("kv processor (tag a) in pipeline p-1 failed: x") == 1
    assert differences("grok processor (tag a) in pipeline p-2 failed: x") == 1
    assert differences("grok processor (tag a) in pipeline p-1 failed: x", "again") == 1
    assert differences() == 1


def test_an_empty_object_left_by_a_remove_is_no_field():
    assert compare(make_case({"event.kind": "event"}), {"event": {"kind": "event"}, "source": {}}, "") == []


def test_translation_drops_only_meta_and_leaves_the_uploaded_body_alone():
    body = ep.ecs_pipeline(load_field_map("generic_edr"))
    before = copy.deepcopy(body)
    translated, applied = translate_for_opensearch(body)
    assert applied == ["meta"]
    assert body == before
    assert "_meta" not in translated
    assert {k: v for k, v in before.items() if k != "_meta"} == translated


def test_case_files_with_unquoted_dates_or_both_inputs_are_refused(tmp_path):
    import datetime

    path = tmp_path / "bad.yml"
    raw = {"description": "x", "message": "a", "document": {},
           "expected": {"@timestamp": datetime.datetime(2024, 5, 1)}}
    problems = "\n".join(case_problems(raw, path))
    assert "exactly one of `message`" in problems
    assert "expected @timestamp" in problems and "quote it" in problems


# --------------------------------------------------------------------------- broken pipelines on the engine


def _broken_run(engine, vendor, breakage):
    field_map = copy.deepcopy(load_field_map(vendor))
    breakage(field_map)
    assert ep.field_map_problems(field_map) == [], "the breakage must pass the offline check: only execution shows it"
    return run_cases(engine, field_map, load_cases(vendor), vendor)


def test_a_date_format_that_cannot_parse_the_samples_fails_naming_vendor_case_and_field(engine):
    def wrong_date_format(field_map):
        date_entry = next(entry for entry in field_map["fields"] if entry["to"] == "@timestamp")
        date_entry["formats"] = ["dd/MM/yyyy HH:mm:ss Z", "dd/MM/yyyy HH:mm:ss"]  # FortiGate writes 2024-05-01

    run = _broken_run(engine, "fortinet_fortigate", wrong_date_format)
    text = report(run)
    assert 'fortinet_fortigate/accepted_https: field @timestamp: expected "2024-05-01T08:00:00.000Z", got <missing>' \
        in text
    assert "fortinet_fortigate/accepted_https: field error.message: expected <missing>, got " in text
    assert "date processor (tag date_timestamp)" in text
    # every case with a date differs, and each difference names its case
    assert {d.case for d in run.differences if d.field == "@timestamp"} == {
        "fortinet_fortigate/" + name for name in (
            "accepted_https", "admin_login_event_log", "closed_dns_snat_without_tz", "denied_rdp",
            "ipv6_timeout_with_user", "truncated_line_bad_source_ip")}


def test_a_grok_capture_writing_the_wrong_field_fails_naming_the_fields(engine):
    def wrong_capture(field_map):
        sshd = field_map["parse"][1]["grok"]
        sshd["patterns"] = [p.replace("%{NOTSPACE:user.name}", "%{NOTSPACE:user.id}") for p in sshd["patterns"]]

    run = _broken_run(engine, "linux_auth", wrong_capture)
    found = {(d.case, d.field) for d in run.differences}
    assert ("linux_auth/accepted_publickey", "user.name") in found
    assert ("linux_auth/accepted_publickey", "user.id") in found
    assert ("linux_auth/accepted_publickey", "related.user") in found
    assert 'linux_auth/accepted_publickey: field user.id: expected <missing>, got "alice"' in report(run)
    # lines without an sshd login are untouched by that pattern and still pass
    assert not [d for d in run.differences if d.case == "linux_auth/cron_session"]


def test_a_header_pattern_that_no_longer_matches_sends_every_line_to_on_failure(engine):
    def wrong_program(field_map):
        header = field_map["parse"][0]["grok"]
        header["patterns"] = [p.replace(" filterlog(", " filterlogd(") for p in header["patterns"]]

    run = _broken_run(engine, "pfsense_filterlog", wrong_program)
    kinds = {d.case: d.actual for d in run.differences if d.field == "event.kind"}
    assert kinds["pfsense_filterlog/blocked_ssh_ipv4_bsd"] == "pipeline_error"
    assert 'pfsense_filterlog/passed_dns_rfc5424: field event.kind: expected "event", got "pipeline_error"' \
        in report(run)


@pytest.mark.parametrize("vendor", ["windows_security"])
def test_a_condition_that_never_holds_leaves_events_uncategorised(engine, vendor):
    def event_id_as_number(field_map):
        # the classic mistake the docs warn about: Winlogbeat 8 sends event_id as a string
        for rule in field_map["categorisation"]["rules"]:
            rule["when"] = {"winlog.event_id": int(rule["when"]["winlog.event_id"])}

    run = _broken_run(engine, vendor, event_id_as_number)
    assert ("windows_security/network_logon_4624", "event.outcome") in {(d.case, d.field) for d in run.differences}
