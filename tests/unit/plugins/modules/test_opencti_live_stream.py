"""opencti_live_stream against the in-process OpenCTI GraphQL fake (pycti's client sends the operations)."""

from __future__ import annotations

import json

import pytest
from ansible_collections.vigil.monitoring.plugins.module_utils import opencti
from ansible_collections.vigil.monitoring.plugins.modules import opencti_live_stream
from standins.grafana import run_failing
from standins.opencti import OpenCTIFake

needs_pycti = pytest.mark.skipif(
    not opencti.HAS_PYCTI, reason="pycti is not installed (pip install pycti==%s)" % opencti.PYCTI_TESTED_VERSION)
pytestmark = needs_pycti

NAME = "Vigil - indicators for Elastic"
INDICATORS = {"mode": "and", "filterGroups": [],
              "filters": [{"key": ["entity_type"], "values": ["Indicator"], "operator": "eq", "mode": "or"}]}


@pytest.fixture
def cti():
    fake = OpenCTIFake().start()
    yield fake
    fake.stop()


def args(fake, **overrides):
    base = {"url": fake.url, "api_token": fake.token, "name": NAME, "retries": 0, "retry_delay": 0.0}
    base.update(overrides)
    return base


def run(run_module, arguments, **kwargs):
    return run_module(opencti_live_stream, arguments, **kwargs)


def fail(run_module, arguments, **kwargs):
    return run_failing(run_module, opencti_live_stream, arguments, **kwargs)


def stored(fake):
    (stream,) = fake.streams.values()
    return dict(stream, filters=json.loads(stream["filters"]))


def sent_edits(fake):
    """The EditInput lists the module sent, in order."""
    return [r.body["variables"]["input"] for r in fake.requests
            if isinstance(r.body, dict) and r.body.get("query", "").lstrip().startswith("mutation StreamCollectionEdit")]


def test_first_run_creates_a_live_indicator_stream_and_returns_its_id(run_module, cti):
    result = run(run_module, args(cti, description="Indicators for the Elastic connector"))

    assert result["changed"] is True
    assert cti.mutations() == ["StreamCollectionAdd"]
    assert cti.unknown == []
    stream = stored(cti)
    assert result["id"] == stream["id"]
    assert stream["name"] == NAME and stream["description"] == "Indicators for the Elastic connector"
    assert stream["stream_live"] is True and stream["stream_public"] is False
    assert stream["filters"] == INDICATORS


def test_second_run_sends_no_mutation_and_returns_the_same_id(run_module, cti):
    first = run(run_module, args(cti))
    cti.requests.clear()

    second = run(run_module, args(cti))

    assert second["changed"] is False
    assert second["id"] == first["id"]
    assert cti.mutations() == []
    assert cti.queries() == ["healthCheck", "StreamCollections"]


def test_check_mode_creates_nothing_and_shows_the_stream_it_would_create(run_module, cti):
    result = run(run_module, args(cti), check_mode=True, diff=True)

    assert result["changed"] is True and result["id"] is None
    assert cti.mutations() == [] and cti.streams == {}
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["filters"] == INDICATORS
    assert result["diff"]["after"]["stream_live"] is True


def test_a_stream_edited_in_the_ui_is_put_back_with_only_what_differs(run_module, cti):
    first = run(run_module, args(cti))
    stream = cti.streams[first["id"]]
    stream["stream_live"] = False  # stopped in the UI
    stream["filters"] = json.dumps({"mode": "and", "filters": [{"key": ["entity_type"], "values": ["Report"]}],
                                    "filterGroups": []})
    cti.requests.clear()

    checked = run(run_module, args(cti), check_mode=True, diff=True)
    assert checked["changed"] is True and cti.mutations() == []
    assert checked["diff"]["before"]["stream_live"] is False and checked["diff"]["after"]["stream_live"] is True

    result = run(run_module, args(cti))

    assert result["changed"] is True and result["id"] == first["id"]
    assert cti.mutations() == ["StreamCollectionEdit"]
    (edits,) = sent_edits(cti)
    assert sorted(e["key"] for e in edits) == ["filters", "stream_live"]
    assert {"key": "stream_live", "value": ["true"]} in edits  # as OpenCTI's UI sends it
    assert stored(cti)["filters"] == INDICATORS and stored(cti)["stream_live"] is True
    assert run(run_module, args(cti))["changed"] is False


def test_filters_equal_in_substance_are_not_rewritten(run_module, cti):
    run(run_module, args(cti))
    stream = next(iter(cti.streams.values()))
    # As OpenCTI may hold them: keys in another order, operator and mode left to their defaults.
    stream["filters"] = '{"filterGroups":[],"filters":[{"values":["Indicator"],"key":"entity_type"}],"mode":"and"}'
    cti.requests.clear()

    assert run(run_module, args(cti))["changed"] is False
    assert cti.mutations() == []


def test_labels_are_looked_up_created_once_and_filtered_by_id(run_module, cti):
    checked = run(run_module, args(cti, labels=["c2"]), check_mode=True)
    assert checked["changed"] is True and checked["created_labels"] == ["c2"]
    assert cti.mutations() == [] and cti.labels == {}

    result = run(run_module, args(cti, labels=["c2"]))

    assert result["created_labels"] == ["c2"]
    assert cti.mutations() == ["LabelAdd", "StreamCollectionAdd"]
    label_id = cti.labels["c2"]["id"]
    filters = stored(cti)["filters"]["filters"]
    assert {"key": ["objectLabel"], "values": [label_id], "operator": "eq", "mode": "or"} in filters
    cti.requests.clear()
    again = run(run_module, args(cti, labels=["c2"]))
    assert again["changed"] is False and again["created_labels"] == [] and cti.mutations() == []


def test_a_whole_filter_group_can_be_given(run_module, cti):
    group = {"mode": "or", "filterGroups": [], "filters": [
        {"key": "entity_type", "values": ["Indicator", "IPv4-Addr"]}, {"key": ["x_opencti_score"],
                                                                       "values": ["80"], "operator": "gte"}]}
    run(run_module, args(cti, filters=group))

    held = stored(cti)["filters"]
    assert held["mode"] == "or"
    assert {"key": ["x_opencti_score"], "values": ["80"], "operator": "gte", "mode": "or"} in held["filters"]
    cti.requests.clear()
    assert run(run_module, args(cti, filters=group))["changed"] is False


def test_state_absent_deletes_the_stream_then_changes_nothing(run_module, cti):
    run(run_module, args(cti))
    cti.requests.clear()

    checked = run(run_module, args(cti, state="absent"), check_mode=True)
    assert checked["changed"] is True and cti.mutations() == [] and len(cti.streams) == 1

    result = run(run_module, args(cti, state="absent"))
    assert result["changed"] is True and result["id"] is None
    assert cti.mutations() == ["StreamCollectionDelete"] and cti.streams == {}
    assert run(run_module, args(cti, state="absent"))["changed"] is False


def test_the_stream_is_found_beyond_the_first_page(run_module, cti):
    for index in range(opencti.PAGE_SIZE + 20):
        cti.op_StreamCollectionAdd({"input": {"name": "someone else's stream %03d" % index, "filters": ""}})
    created = run(run_module, args(cti))
    cti.requests.clear()

    result = run(run_module, args(cti))

    assert result["changed"] is False and result["id"] == created["id"]
    pages = [r.body["variables"] for r in cti.requests if "streamCollections(" in (r.body or {}).get("query", "")]
    assert [p["after"] for p in pages] == [None, str(opencti.PAGE_SIZE - 1)]


def test_two_streams_with_the_name_fail_naming_both(run_module, cti):
    one = cti.op_StreamCollectionAdd({"input": {"name": NAME, "filters": ""}})["streamCollectionAdd"]["id"]
    two = cti.op_StreamCollectionAdd({"input": {"name": NAME, "filters": ""}})["streamCollectionAdd"]["id"]

    result = fail(run_module, args(cti))

    assert one in result["msg"] and two in result["msg"] and NAME in result["msg"]
    assert cti.mutations() == []


def test_bad_options_fail_before_any_request(run_module, cti):
    assert "2 characters" in fail(run_module, args(cti, name=" "))["msg"]
    bad = fail(run_module, args(cti, filters={"mode": "and", "filters": [{"values": ["x"]}], "filterGroups": []}))
    assert "filters.filters[0] must have key and values" in bad["msg"]
    assert cti.requests == []


def test_a_refused_mutation_fails_with_the_platform_message(run_module, cti):
    cti.refuse["StreamCollectionAdd"] = "You are not allowed to do this."

    result = fail(run_module, args(cti))

    assert "You are not allowed to do this." in result["msg"] and NAME in result["msg"]


def test_a_wrong_token_fails_without_showing_it(run_module, cti):
    result = fail(run_module, args(cti, api_token="0d5c6f0e-1111-4222-8333-944455556666"))

    assert "health query" in result["msg"]
    assert "0d5c6f0e-1111-4222-8333-944455556666" not in json.dumps(result)
    assert cti.mutations() == []
