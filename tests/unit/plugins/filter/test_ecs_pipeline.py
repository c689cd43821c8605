# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ecs_pipeline / ecs_conformance / ecs_pipeline_name filters: what the pipeline does, what the check refuses."""

from __future__ import annotations

import copy
import json
from typing import Any, Dict, List

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.filter import ecs_pipeline as ep


def base_map(**extra: Any) -> Dict[str, Any]:
    field_map: Dict[str, Any] = {
        "vendor": "Acme",
        "product": "Wall 9",
        "version": 3,
        "namespace": "acme.wall",
        "parse": {"kv": {"field_split": " ", "value_split": "="}},
        "fields": [
            {"from": "acme.wall.src", "to": "source.ip"},
            {"from": "acme.wall.sport", "to": "source.port"},
            {"from": "acme.wall.user", "to": "user.name"},
        ],
    }
    field_map.update(extra)
    return field_map


def processors_of(body: Dict[str, Any], kind: str) -> List[Dict[str, Any]]:
    return [p[kind] for p in body["processors"] if kind in p]


def by_tag(body: Dict[str, Any], tag: str) -> Dict[str, Any]:
    for processor in body["processors"]:
        (kind, options), = processor.items()
        if options.get("tag") == tag:
            return {kind: options}
    raise AssertionError("no processor tagged %s in %s" % (tag, [p for p in body["processors"]]))


def problems_of(field_map: Dict[str, Any]) -> str:
    return "\n".join(ep.field_map_problems(field_map))


# --------------------------------------------------------------------------- pipeline body


def test_body_has_the_documented_top_level_keys_and_sets_ecs_version_first():
    body = ep.ecs_pipeline(base_map(description="Acme firewall"))
    assert set(body) == {"description", "version", "processors", "on_failure", "_meta"}
    assert body["description"] == "Acme firewall"
    assert body["version"] == 3
    assert body["processors"][0] == {"set": {"field": "ecs.version", "value": "9.4.0", "tag": "set_ecs_version"}}


def test_original_line_is_copied_before_parsing_and_kept_by_default():
    body = ep.ecs_pipeline(base_map())
    copy_original = body["processors"][1]["set"]
    # a template, not copy_from (which OpenSearch and Elasticsearch < 7.11 refuse)
    assert copy_original == {"field": "event.original", "value": "{{{message}}}", "tag": "keep_event_original",
                             "if": "ctx.event?.original == null && ctx.message != null"}
    assert copy_original["if"] == "ctx.event?.original == null && ctx.message != null"
    assert "kv" in body["processors"][2]
    removals = [p["field"] for p in processors_of(body, "remove")]
    assert "event.original" not in removals


def test_keep_original_false_drops_event_original_as_the_last_step():
    body = ep.ecs_pipeline(base_map(keep_original=False))
    assert body["processors"][-1] == {
        "remove": {"field": "event.original", "ignore_missing": True, "tag": "drop_event_original"}
    }


def test_kv_lands_in_the_namespace_unless_told_otherwise():
    body = ep.ecs_pipeline(base_map())
    assert processors_of(body, "kv")[0]["target_field"] == "acme.wall"
    assert processors_of(body, "kv")[0]["field"] == "message"


def test_single_parse_mapping_and_one_item_list_give_the_same_pipeline():
    single = ep.ecs_pipeline(base_map())
    listed = ep.ecs_pipeline(base_map(parse=[{"kv": {"field_split": " ", "value_split": "="}}]))
    assert single == listed


def test_conversion_follows_the_ecs_type_when_the_map_gives_none():
    body = ep.ecs_pipeline(base_map())
    assert by_tag(body, "rename_acme_wall_sport") == {"rename": {
        "field": "acme.wall.sport", "target_field": "source.port", "ignore_missing": True,
        "tag": "rename_acme_wall_sport"}}
    convert = by_tag(body, "convert_source_port")["convert"]
    assert convert["type"] == "long" and convert["field"] == "source.port"
    assert by_tag(body, "convert_source_ip")["convert"]["type"] == "ip"
    # keyword fields need no convert processor
    assert [c["field"] for c in processors_of(body, "convert")] == ["source.ip", "source.port"]


def test_failed_conversion_notes_the_error_and_removes_the_bad_value():
    body = ep.ecs_pipeline(base_map())
    on_failure = by_tag(body, "convert_source_ip")["convert"]["on_failure"]
    assert on_failure[0]["append"]["field"] == "error.message"
    assert "{{{_ingest.on_failure_message}}}" in on_failure[0]["append"]["value"]
    assert on_failure[1] == {"remove": {"field": "source.ip", "ignore_missing": True}}


def test_vendor_field_can_be_converted_in_place():
    body = ep.ecs_pipeline(base_map(fields=[{"from": "acme.wall.bytes", "to": "acme.wall.bytes", "type": "long"}]))
    assert processors_of(body, "rename") == []
    assert processors_of(body, "convert")[0]["field"] == "acme.wall.bytes"


def test_date_fields_use_the_date_processor_guarded_by_presence():
    body = ep.ecs_pipeline(base_map(fields=[
        {"from": "acme.wall.ts", "to": "@timestamp", "formats": ["yyyy-MM-dd HH:mm:ss"], "timezone": "Europe/Paris"},
    ]))
    date = processors_of(body, "date")[0]
    assert date["field"] == "acme.wall.ts" and date["target_field"] == "@timestamp"
    assert date["formats"] == ["yyyy-MM-dd HH:mm:ss"] and date["timezone"] == "Europe/Paris"
    assert date["if"] == "ctx.acme?.wall?.ts != null"
    assert date["on_failure"][0]["append"]["field"] == "error.message"


def test_date_defaults_to_iso8601():
    body = ep.ecs_pipeline(base_map(fields=[{"from": "acme.wall.ts", "to": "@timestamp", "type": "date"}]))
    assert processors_of(body, "date")[0]["formats"] == ["ISO8601"]


def test_override_clears_the_target_before_the_rename_only_when_asked():
    body = ep.ecs_pipeline(base_map(fields=[
        {"from": "acme.wall.host", "to": "host.name", "override": True},
        {"from": "acme.wall.os", "to": "host.os.type", "override": True, "when": {"acme.wall.kind": "edr"}},
    ]))
    # rename's own `override` exists only in Elasticsearch 8.13+ (OpenSearch calls it override_target):
    # a guarded remove does the same on every version
    assert all("override" not in r and "override_target" not in r for r in processors_of(body, "rename"))
    assert by_tag(body, "clear_host_name") == {"remove": {
        "field": "host.name", "ignore_missing": True, "tag": "clear_host_name", "if": "ctx.acme?.wall?.host != null"}}
    assert by_tag(body, "clear_host_os_type")["remove"]["if"] == (
        "ctx.acme?.wall?.os != null && ctx.acme?.wall?.kind == 'edr'")
    tags = [next(iter(p.values()))["tag"] for p in body["processors"]]
    assert tags.index("clear_host_name") + 1 == tags.index("rename_acme_wall_host")
    body = ep.ecs_pipeline(base_map())
    assert not [r for r in processors_of(body, "remove") if r["tag"].startswith("clear_")]


def test_constants_set_scalars_and_append_to_array_fields():
    body = ep.ecs_pipeline(base_map(constants={"observer.vendor": "Acme", "tags": "acme"}))
    assert by_tag(body, "set_observer_vendor")["set"]["value"] == "Acme"
    assert by_tag(body, "set_tags")["append"] == {
        "field": "tags", "value": ["acme"], "allow_duplicates": False, "tag": "set_tags"}


def test_categorisation_rules_become_conditional_set_and_append():
    body = ep.ecs_pipeline(base_map(categorisation={
        "event.kind": "event",
        "event.category": ["network"],
        "rules": [
            {"when": {"acme.wall.action": "accept"},
             "set": {"event.outcome": "success", "event.type": ["allowed", "connection"]}},
            {"when": {"acme.wall.action": ["deny", "drop"]},
             "set": {"event.outcome": "failure", "event.type": ["denied", "connection"]}},
        ],
    }))
    assert by_tag(body, "set_event_kind")["set"]["value"] == "event"
    assert by_tag(body, "set_event_category")["append"]["value"] == ["network"]
    allowed_type = by_tag(body, "rule_0_event_type")["append"]
    assert allowed_type["value"] == ["allowed", "connection"] and allowed_type["allow_duplicates"] is False
    assert allowed_type["if"] == "ctx.acme?.wall?.action == 'accept'"
    denied_outcome = by_tag(body, "rule_1_event_outcome")["set"]
    assert denied_outcome["value"] == "failure"
    assert denied_outcome["if"] == "['deny', 'drop'].contains(ctx.acme?.wall?.action)"


@pytest.mark.parametrize("when, expected", [
    ({"a.b": "x"}, "ctx.a?.b == 'x'"),
    ({"a.b": 4624}, "ctx.a?.b == 4624"),
    ({"a.b": True}, "ctx.a?.b == true"),
    ({"a.b": None}, "ctx.a?.b == null"),
    ({"a.b": {"not": "-"}}, "ctx.a?.b != '-'"),
    ({"a.b": {"not": ["-", "::1"]}}, "!['-', '::1'].contains(ctx.a?.b)"),
    ({"a": "it's"}, "ctx.a == 'it\\'s'"),
    ({"a.b": "x", "c": "y"}, "ctx.a?.b == 'x' && ctx.c == 'y'"),
])
def test_when_conditions_render_as_null_safe_painless(when, expected):
    assert ep.painless_condition(when) == expected


def test_related_fields_are_appended_once_and_only_when_present():
    body = ep.ecs_pipeline(base_map(
        fields=[{"from": "acme.wall.src", "to": "source.ip"}, {"from": "acme.wall.dst", "to": "destination.ip"}],
        related_ip=["source.ip", "destination.ip"],
    ))
    appends = [a for a in processors_of(body, "append") if a["field"] == "related.ip"]
    assert [a["value"] for a in appends] == [["{{{source.ip}}}"], ["{{{destination.ip}}}"]]
    assert all(a["allow_duplicates"] is False for a in appends)
    assert [a["if"] for a in appends] == ["ctx.source?.ip != null", "ctx.destination?.ip != null"]


def test_compose_joins_fields_with_a_template_when_all_are_present():
    body = ep.ecs_pipeline(base_map(compose=[
        {"to": "acme.wall.when", "join": ["acme.wall.date", "acme.wall.time"], "separator": "T"},
    ]))
    composed = by_tag(body, "compose_acme_wall_when")["set"]
    assert composed["value"] == "{{{acme.wall.date}}}T{{{acme.wall.time}}}"
    assert composed["if"] == "ctx.acme?.wall?.date != null && ctx.acme?.wall?.time != null"


def test_processing_order_is_parse_compose_remove_fields_constants_categorisation_related():
    body = ep.ecs_pipeline(base_map(
        compose=[{"to": "acme.wall.when", "join": ["acme.wall.date", "acme.wall.time"]}],
        remove=["message"],
        constants={"observer.vendor": "Acme"},
        categorisation={"event.kind": "event"},
        related_ip=["source.ip"],
        keep_original=False,
    ))
    tags = [next(iter(p.values()))["tag"] for p in body["processors"]]
    order = ["set_ecs_version", "keep_event_original", "parse_kv_message", "compose_acme_wall_when", "remove_parsed",
             "rename_acme_wall_src", "set_observer_vendor", "set_event_kind", "related_ip_from_source_ip",
             "drop_event_original"]
    assert [t for t in tags if t in order] == order


def test_tags_are_unique():
    body = ep.ecs_pipeline(base_map(fields=[
        {"from": "acme.wall.u1", "to": "user.name", "when": {"acme.wall.kind": "a"}},
        {"from": "acme.wall.u2", "to": "user.name", "when": {"acme.wall.kind": "b"}},
    ], constants={"observer.vendor": "Acme"}))
    tags = [next(iter(p.values()))["tag"] for p in body["processors"]]
    assert len(tags) == len(set(tags))


def test_pipeline_failures_mark_the_event_and_keep_the_reason():
    body = ep.ecs_pipeline(base_map())
    assert body["on_failure"][0]["set"] == {
        "field": "event.kind", "value": "pipeline_error", "tag": "on_failure_event_kind"}
    message = body["on_failure"][1]["append"]
    assert message["field"] == "error.message"
    for part in ("_ingest.on_failure_message", "_ingest.on_failure_processor_type", "_ingest.on_failure_pipeline"):
        assert "{{{%s}}}" % part in message["value"]


def test_meta_names_the_source_and_hashes_the_body_without_the_hash():
    body = ep.ecs_pipeline(base_map())
    meta = body["_meta"]
    assert {k: meta[k] for k in ("managed_by", "vendor", "product", "ecs_version")} == {
        "managed_by": "vigil", "vendor": "Acme", "product": "Wall 9", "ecs_version": "9.4.0"}
    unhashed = copy.deepcopy(body)
    del unhashed["_meta"]["vigil_hash"]
    import hashlib

    canonical = json.dumps(unhashed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert meta["vigil_hash"] == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert ep.pipeline_hash(body) == meta["vigil_hash"]


def test_hash_changes_with_content_and_version_but_not_with_key_order():
    first = ep.ecs_pipeline(base_map())
    reordered = ep.ecs_pipeline(dict(reversed(list(base_map().items()))))
    assert first == reordered
    bumped = ep.ecs_pipeline(base_map(version=4))
    assert bumped["_meta"]["vigil_hash"] != first["_meta"]["vigil_hash"]
    changed = ep.ecs_pipeline(base_map(constants={"observer.vendor": "Acme"}))
    assert changed["_meta"]["vigil_hash"] != first["_meta"]["vigil_hash"]


def test_hash_is_the_one_the_upload_module_writes():
    upload = pytest.importorskip(
        "ansible_collections.vigil.monitoring.plugins.modules.elasticsearch_ingest_pipeline",
        reason="the elasticsearch_ingest_pipeline module is not in this checkout",
    )
    body = ep.ecs_pipeline(base_map())
    assert upload.with_content_hash(body) == body


def test_samples_become_simulate_documents_for_the_upload_module():
    field_map = base_map(samples=[
        {"name": "line", "message": "src=1.2.3.4", "expected": {"source.ip": "1.2.3.4"}},
        {"name": "doc", "document": {"acme": {"wall": {"src": "1.2.3.4"}}}, "expected": {"source.ip": "1.2.3.4"}},
    ])
    filters = ep.FilterModule().filters()
    assert filters["ecs_simulate_samples"](field_map) == [
        {"document": {"message": "src=1.2.3.4"}, "expected": {"source.ip": "1.2.3.4"}},
        {"document": {"acme": {"wall": {"src": "1.2.3.4"}}}, "expected": {"source.ip": "1.2.3.4"}},
    ]
    nested_source = base_map(source_field="log.line", samples=[{"name": "x", "message": "a", "expected": {"a": 1}}])
    assert ep.simulate_samples(nested_source)[0]["document"] == {"log": {"line": "a"}}
    assert ep.simulate_samples(base_map()) == []


def test_malformed_samples_are_refused_by_the_samples_filter():
    with pytest.raises(AnsibleFilterError, match=r"samples\[0\] \(x\): `expected` must be a non-empty mapping"):
        ep.ecs_simulate_samples(base_map(samples=[{"name": "x", "message": "a"}]))


def test_pipeline_refuses_a_non_conformant_map():
    with pytest.raises(AnsibleFilterError, match="source.adress"):
        ep.ecs_pipeline(base_map(fields=[{"from": "acme.wall.src", "to": "source.adress"}]))


def test_pipeline_name_defaults_to_a_slug_of_vendor_and_product():
    assert ep.ecs_pipeline_name(base_map()) == "vigil-ecs-acme-wall-9"
    assert ep.ecs_pipeline_name(base_map(name="fw-acme")) == "fw-acme"
    with pytest.raises(AnsibleFilterError, match="expects a field map"):
        ep.ecs_pipeline_name("acme")


def test_filter_module_exposes_the_family_and_returns_plain_data():
    filters = ep.FilterModule().filters()
    assert set(filters) == {"ecs_pipeline", "ecs_conformance", "ecs_pipeline_name", "ecs_simulate_samples"}
    body = filters["ecs_pipeline"](base_map())
    assert json.loads(json.dumps(body)) == ep.ecs_pipeline(base_map())
    field_map = base_map()
    assert filters["ecs_conformance"](field_map) is field_map


# --------------------------------------------------------------------------- conformance


def test_conformant_map_has_no_problems():
    assert ep.field_map_problems(base_map()) == []


def test_conformance_lists_every_problem_at_once():
    field_map = base_map(fields=[
        {"from": "acme.wall.src", "to": "source.adress"},
        {"from": "acme.wall.sport", "to": "source.port", "type": "ip"},
    ], constants={"event.outcome": "allowed"})
    with pytest.raises(AnsibleFilterError) as caught:
        ep.ecs_conformance(field_map)
    message = str(caught.value)
    assert "3 problems" in message
    assert "source.adress" in message and "did you mean source.address" in message
    assert "type `ip` does not match ECS type `long` of source.port (use long or integer)" in message
    assert "event.outcome value `allowed` is not allowed; ECS 9.4.0 allows failure, success, unknown" in message


def test_only_the_bundled_ecs_version_can_be_checked():
    with pytest.raises(AnsibleFilterError, match="only ECS 9.4.0 data is bundled"):
        ep.ecs_conformance(base_map(), ecs="8.11.0")
    assert ep.ecs_conformance(base_map(), ecs="9.4.0") == base_map()


def test_required_keys_and_unknown_keys_are_reported_with_suggestions():
    field_map = base_map(catgorisation={})
    del field_map["version"]
    del field_map["vendor"]
    problems = problems_of(field_map)
    assert "unknown key `catgorisation`; did you mean categorisation?" in problems
    assert "version: required, an integer >= 1" in problems
    assert "vendor: required" in problems


def test_targets_outside_ecs_need_the_declared_namespace():
    problems = problems_of(base_map(fields=[{"from": "acme.wall.x", "to": "other.vendor.x"}]))
    assert "`other.vendor.x` is not an ECS 9.4.0 field and not under the declared namespace `acme.wall`" in problems
    no_namespace = base_map(fields=[{"from": "x", "to": "acme.wall.x", "type": "long"}], parse=None)
    del no_namespace["namespace"]
    assert "the map declares no namespace" in problems_of(no_namespace)


def test_namespace_may_not_hide_inside_an_ecs_field_set():
    problems = problems_of(base_map(namespace="source.acme"))
    assert "namespace: `source.acme` starts with the ECS field set `source`" in problems


def test_open_objects_accept_any_sub_key_but_plain_objects_are_not_targets():
    assert problems_of(base_map(constants={"labels.site": "paris"})) == ""
    assert "`source.geo` is an ECS object, not a field" in problems_of(
        base_map(fields=[{"from": "acme.wall.geo", "to": "source.geo"}]))


@pytest.mark.parametrize("target, declared, ok", [
    ("source.port", "long", True),
    ("source.port", "integer", True),
    ("source.port", "ip", False),
    ("source.port", "keyword", False),
    ("source.ip", "ip", True),
    ("source.ip", "long", False),
    ("user.name", "keyword", True),
    ("user.name", "string", True),
    ("@timestamp", "date", True),
    ("@timestamp", "keyword", False),
    ("event.severity", "float", False),
    ("acme.wall.anything", "boolean", True),
])
def test_declared_conversions_must_fit_the_ecs_type(target, declared, ok):
    problems = problems_of(base_map(fields=[{"from": "acme.wall.v", "to": target, "type": declared}]))
    assert (problems == "") is ok, problems


def test_unknown_conversion_types_are_named():
    problems = problems_of(base_map(fields=[{"from": "acme.wall.v", "to": "acme.wall.w", "type": "integr"}]))
    assert "type `integr` is not one of" in problems and "did you mean integer?" in problems


def test_date_options_only_on_dates():
    problems = problems_of(base_map(fields=[{"from": "acme.wall.v", "to": "user.name", "formats": ["ISO8601"]}]))
    assert "formats only apply to type date" in problems


def test_same_target_twice_needs_conditions():
    problems = problems_of(base_map(fields=[
        {"from": "acme.wall.a", "to": "user.name"}, {"from": "acme.wall.b", "to": "user.name"}]))
    assert "`user.name` is already the target of an unconditional entry" in problems


def test_fields_managed_by_the_pipeline_are_reserved():
    problems = problems_of(base_map(fields=[{"from": "acme.wall.raw", "to": "event.original"}]))
    assert "`event.original` is managed by the pipeline itself" in problems
    problems = problems_of(base_map(categorisation={"event.kind": "pipeline_error"}))
    assert "event.kind `pipeline_error` is reserved" in problems


def test_allowed_and_expected_values_are_enforced():
    problems = problems_of(base_map(
        constants={"network.direction": "inbund"},
        categorisation={"event.kind": "evnt", "event.category": ["netwrk"]},
    ))
    assert "network.direction value `inbund` is not one ECS 9.4.0 expects" in problems
    assert "did you mean inbound?" in problems
    assert "event.kind value `evnt` is not allowed" in problems and "did you mean event?" in problems
    assert "event.category value `netwrk` is not allowed" in problems


def test_event_type_must_be_expected_for_the_category():
    problems = problems_of(base_map(categorisation={
        "event.category": ["authentication"],
        "rules": [{"when": {"acme.wall.ok": "1"}, "set": {"event.type": ["connection"]}}],
    }))
    assert "event.type `connection` is not expected with event.category authentication (ECS expects end, info, start)" \
        in problems
    without_category = problems_of(base_map(categorisation={"event.type": ["info"]}))
    assert "event.type is set but no event.category is" in without_category


def test_single_valued_fields_refuse_lists_and_typed_fields_refuse_wrong_values():
    problems = problems_of(base_map(constants={"event.outcome": ["success"], "event.severity": "high"}))
    assert "`event.outcome` holds one value in ECS, not a list" in problems
    assert "`event.severity` is a long field; `high` is not an integer" in problems


def test_rules_need_a_condition_and_assignments():
    problems = problems_of(base_map(categorisation={"rules": [{"set": {"event.kind": "event"}}, {"when": {"a": 1}}]}))
    assert "categorisation.rules[0]: `when` is required" in problems
    assert "categorisation.rules[1]: `set` must be a non-empty mapping" in problems


def test_condition_fields_must_be_plain_dotted_names():
    rule = {"when": {"acme.wall.x-y": "1"}, "set": {"event.kind": "event"}}
    problems = problems_of(base_map(categorisation={"rules": [rule]}))
    assert "`acme.wall.x-y` cannot be used in a condition" in problems


def test_parser_outputs_are_checked_too():
    problems = problems_of(base_map(parse=[
        {"grok": {"patterns": ["%{IP:source.adress} %{INT:source.port:float} %{WORD:acme.wall.w:int}"]}},
        {"dissect": {"pattern": "%{acme.wall.a} %{?skip} %{+soruce.ip}"}},
        {"kv": {"field_split": " ", "value_split": "=", "target_field": "elsewhere"}},
        {"csv": {"target_fields": ["acme.wall.a", "destinaton.ip"]}},
        {"xml": {}},
    ]))
    assert "capture source.adress" in problems and "did you mean source.address" in problems
    assert "capture `source.port:float` does not fit ECS type long" in problems
    assert "key soruce.ip" in problems
    assert "`target_field` `elsewhere` must be the namespace `acme.wall` or under it" in problems
    assert "destinaton.ip" in problems and "did you mean destination.ip" in problems
    assert "parse[4]: each step is a one-key mapping, the key one of grok, dissect, kv, json, csv" in problems
    assert "acme.wall.w" not in problems


def test_parse_steps_require_their_options():
    problems = problems_of(base_map(parse=[{"grok": {"pattern": "%{IP:source.ip}"}}, {"kv": {"field_split": " "}}]))
    assert "unknown key `pattern`; did you mean patterns?" in problems
    assert "parse[0] (grok): `patterns` is required" in problems
    assert "parse[1] (kv): `value_split` is required" in problems


def test_related_sources_must_be_single_ip_fields_for_related_ip():
    problems = problems_of(base_map(related_ip=["user.name", "host.ip", "source.ip"]))
    assert "`user.name` is of type keyword; related.ip takes ip fields" in problems
    assert "`host.ip` is an array field" in problems
    assert "source.ip" not in problems.replace("related_ip (source.ip)", "")


def test_samples_must_name_the_input_and_a_valid_expectation():
    problems = problems_of(base_map(samples=[
        {"name": "both", "message": "a", "document": {"message": "a"}, "expected": {"event.kind": "event"}},
        {"name": "bad", "message": "a", "expected": {"event.outcome": "ok", "source.adress": "1.2.3.4"}},
        {"name": "empty", "message": "a"},
    ]))
    assert "give exactly one of `message`" in problems
    assert "event.outcome value `ok` is not allowed" in problems
    assert "samples[1] (bad) expected source.adress" in problems
    assert "samples[2] (empty): `expected` must be a non-empty mapping" in problems


def test_a_map_that_is_not_a_mapping_is_one_problem():
    assert ep.field_map_problems(["vendor"]) == ["field map must be a mapping, got list"]


# --------------------------------------------------------------------------- output documents


def test_flatten_document_gives_dotted_leaves_and_skips_empty_objects():
    flat = ep.flatten_document({"source": {"ip": "192.0.2.1", "geo": {}}, "related": {"ip": ["192.0.2.1"]},
                                "event.kind": "event"})
    assert flat == {"source.ip": "192.0.2.1", "related.ip": ["192.0.2.1"], "event.kind": "event"}


def test_a_conformant_output_document_has_no_problems():
    document = {
        "@timestamp": "2024-05-01T08:00:00.000Z", "ecs": {"version": "9.4.0"},
        "event": {"kind": "event", "category": ["network"], "type": ["allowed", "connection"], "outcome": "success"},
        "source": {"ip": "2001:db8::1", "port": 443}, "related": {"ip": ["2001:db8::1"]},
        "error": {"message": ["first failure", "second failure"]}, "acme": {"wall": {"raw": 1}},
    }
    assert ep.ecs_document_problems(document, "acme.wall") == []
    assert ep.ecs_document_problems({"event": {"kind": "pipeline_error"}}) == []


@pytest.mark.parametrize("document, fragment", [
    ({"source": {"ip": "198.51.10"}}, "`source.ip` is an ip field; '198.51.10' is not an IPv4 or IPv6 address"),
    ({"source": {"port": "443"}}, "`source.port` is a long field; `443` is not an integer"),
    ({"rule": {"id": 12}}, "`rule.id` is a keyword field; 12 is not a string"),
    ({"@timestamp": "May  1 10:00:00"}, "`@timestamp` is a date field"),
    ({"event": {"outcome": "ok"}}, "event.outcome value `ok` is not allowed"),
    ({"event": {"category": ["authentication"], "type": ["connection"]}},
     "event.type `connection` is not expected with event.category authentication"),
    ({"source": {"adress": "x"}}, "`source.adress` is not an ECS 9.4.0 field"),
    ({"user": {"name": ["a", "b"]}}, "`user.name` holds one value in ECS, not a list"),
    ({"event": {"ratio": 0.5}}, "not an ECS 9.4.0 field"),
])
def test_output_document_problems_name_the_field(document, fragment):
    problems = "\n".join(ep.ecs_document_problems(document, "acme.wall"))
    assert fragment in problems
