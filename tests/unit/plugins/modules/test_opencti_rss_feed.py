"""opencti_rss_feed against the in-process OpenCTI GraphQL fake (pycti's client sends the operations)."""

from __future__ import annotations

import pytest
from ansible_collections.vigil.monitoring.plugins.module_utils import opencti
from ansible_collections.vigil.monitoring.plugins.modules import opencti_rss_feed
from standins.grafana import run_failing
from standins.opencti import OpenCTIFake

needs_pycti = pytest.mark.skipif(
    not opencti.HAS_PYCTI, reason="pycti is not installed (pip install pycti==%s)" % opencti.PYCTI_TESTED_VERSION)
pytestmark = needs_pycti

NAME = "Fortinet PSIRT advisories"
URI = "https://www.fortiguard.com/rss/ir.xml"


@pytest.fixture
def cti():
    fake = OpenCTIFake().start()
    fake.add_identity("Fortinet")
    yield fake
    fake.stop()


def args(fake, **overrides):
    base = {"url": fake.url, "api_token": fake.token, "name": NAME, "uri": URI, "retries": 0, "retry_delay": 0.0,
            "description": "Vendor advisories for the FortiGates", "report_types": ["threat-report"],
            "created_by": "Fortinet", "markings": ["TLP:CLEAR"], "current_state_date": "2025-01-01T00:00:00Z"}
    base.update(overrides)
    return base


def run(run_module, arguments, **kwargs):
    return run_module(opencti_rss_feed, arguments, **kwargs)


def fail(run_module, arguments, **kwargs):
    return run_failing(run_module, opencti_rss_feed, arguments, **kwargs)


def feed(fake):
    (only,) = fake.rss.values()
    return only


def patches(fake):
    return [r.body["variables"]["input"] for r in fake.requests
            if isinstance(r.body, dict) and "ingestionRssFieldPatch(" in r.body.get("query", "")]


def test_first_run_creates_the_feed_with_its_author_markings_and_start_date(run_module, cti):
    result = run(run_module, args(cti))

    assert result["changed"] is True
    assert cti.mutations() == ["IngestionRssAdd"]
    assert cti.unknown == []
    created = feed(cti)
    assert result["id"] == created["id"]
    assert created["name"] == NAME and created["uri"] == URI
    assert created["description"] == "Vendor advisories for the FortiGates"
    assert created["report_types"] == ["threat-report"]
    assert created["created_by_ref"] == next(iter(cti.identities))
    assert created["object_marking_refs"] == [cti.markings["TLP:CLEAR"]["id"]]
    assert created["ingestion_running"] is True
    assert created["current_state_date"] == "2025-01-01T00:00:00Z"
    # Looked up with pycti's own queries.
    assert {"Identities", "MarkingDefinitions"} <= set(cti.queries())


def test_second_run_sends_no_mutation_even_after_opencti_read_the_feed(run_module, cti):
    first = run(run_module, args(cti))
    cti.advance_rss(NAME, "2026-03-02T10:00:00.000Z")  # the ingestion manager moved on
    cti.requests.clear()

    second = run(run_module, args(cti))

    assert second["changed"] is False and second["id"] == first["id"]
    assert cti.mutations() == []
    assert feed(cti)["current_state_date"] == "2026-03-02T10:00:00.000Z"


def test_check_mode_writes_nothing(run_module, cti):
    result = run(run_module, args(cti), check_mode=True, diff=True)

    assert result["changed"] is True and result["id"] is None
    assert cti.mutations() == [] and cti.rss == {}
    assert result["diff"]["before"] == {} and result["diff"]["after"]["uri"] == URI


def test_a_changed_feed_is_patched_with_only_what_differs(run_module, cti):
    run(run_module, args(cti))
    feed(cti)["ingestion_running"] = False  # stopped in the UI
    cti.requests.clear()
    new_uri = "https://www.fortiguard.com/rss/ir-critical.xml"

    checked = run(run_module, args(cti, uri=new_uri, markings=["TLP:GREEN"]), check_mode=True, diff=True)
    assert checked["changed"] is True and cti.mutations() == []
    assert checked["diff"]["before"]["uri"] == URI and checked["diff"]["after"]["uri"] == new_uri

    result = run(run_module, args(cti, uri=new_uri, markings=["TLP:GREEN"]))

    assert result["changed"] is True and cti.mutations() == ["IngestionRssFieldPatch"]
    (edits,) = patches(cti)
    assert sorted(e["key"] for e in edits) == ["ingestion_running", "object_marking_refs", "uri"]
    assert {"key": "ingestion_running", "value": ["true"]} in edits
    assert feed(cti)["uri"] == new_uri and feed(cti)["ingestion_running"] is True
    assert feed(cti)["object_marking_refs"] == [cti.markings["TLP:GREEN"]["id"]]
    assert run(run_module, args(cti, uri=new_uri, markings=["TLP:GREEN"]))["changed"] is False


def test_the_author_can_be_removed(run_module, cti):
    run(run_module, args(cti))
    cti.requests.clear()

    run(run_module, args(cti, created_by=None))

    assert patches(cti) == [[{"key": "created_by_ref", "value": [""]}]]
    assert feed(cti)["created_by_ref"] is None


def test_a_renamed_feed_is_found_by_its_uri_and_renamed(run_module, cti):
    first = run(run_module, args(cti))
    cti.requests.clear()

    result = run(run_module, args(cti, name="FortiGuard PSIRT"))

    assert result["id"] == first["id"] and len(cti.rss) == 1
    assert patches(cti) == [[{"key": "name", "value": ["FortiGuard PSIRT"]}]]


def test_state_absent_deletes_the_feed(run_module, cti):
    run(run_module, args(cti))
    cti.requests.clear()

    assert run(run_module, args(cti, state="absent", uri=None), check_mode=True)["changed"] is True
    assert cti.mutations() == []
    result = run(run_module, args(cti, state="absent", uri=None))

    assert result["changed"] is True and cti.mutations() == ["IngestionRssDelete"] and cti.rss == {}
    assert run(run_module, args(cti, state="absent", uri=None))["changed"] is False


def test_an_unknown_author_or_marking_fails_before_anything_is_written(run_module, cti):
    author = fail(run_module, args(cti, created_by="Cisco"))
    assert "created_by 'Cisco' is not an identity" in author["msg"] and NAME in author["msg"]
    marking = fail(run_module, args(cti, markings=["TLP:WHITE"]))
    assert "marking 'TLP:WHITE'" in marking["msg"]
    assert cti.mutations() == []


def test_scheduling_period_is_only_asked_for_and_sent_when_given(run_module, cti):
    run(run_module, args(cti))
    queries = [r.body["query"] for r in cti.requests if isinstance(r.body, dict)]
    assert not [q for q in queries if "scheduling_period" in q]
    cti.requests.clear()

    run(run_module, args(cti, scheduling_period="PT6H"))

    assert patches(cti) == [[{"key": "scheduling_period", "value": ["PT6H"]}]]
    assert feed(cti)["scheduling_period"] == "PT6H"
    assert run(run_module, args(cti, scheduling_period="PT6H"))["changed"] is False


@pytest.mark.parametrize("overrides,message", [
    ({"uri": "ftp://example.org/feed"}, "must be the feed's http:// or https:// URL"),
    ({"uri": None}, "must be the feed's http:// or https:// URL"),
    ({"scheduling_period": "6 hours"}, "not an ISO 8601 duration"),
    ({"name": "x"}, "2 characters or more"),
])
def test_bad_options_fail_before_any_request(run_module, cti, overrides, message):
    result = fail(run_module, args(cti, **overrides))

    assert message in result["msg"]
    assert cti.requests == []
