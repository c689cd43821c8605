"""The Elasticsearch and Kibana resource bases of module_utils/elastic.py on their own.

The modules declare only what differs (a document option, its keys and forms; a Kibana
object's prefix, answer key and secrets); these tests pin what the bases do with those
declarations, without a server: a stand-in client answers the one GET a test needs.
"""

from __future__ import annotations

import types
from typing import Any, Dict, List, Optional, Tuple

import pytest
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import (
    ES_SERVER_DATE_FIELDS,
    ElasticResource,
    KibanaClient,
    KibanaObject,
    TemplateResource,
    VersionedResource,
    named_resource_spec,
)


class Client:
    """Answers GET with ``answer`` (None = the documented 404) and records every call."""

    def __init__(self, answer: Any = None) -> None:
        self.answer = answer
        self.calls: List[Tuple[str, str, Any]] = []

    def get_optional(self, path: str) -> Any:
        self.calls.append(("GET", path, None))
        return self.answer

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Tuple[int, Any]:
        self.calls.append((method, path, body))
        return 200, {}


def make(resource: Any, params: Dict[str, Any], answer: Any = None) -> Any:
    module = types.SimpleNamespace(params=dict(params), check_mode=False, _diff=False)
    return resource(module, Client(answer))


class Policy(VersionedResource):
    kind = "test policy"
    prefix = "/_test/policy"
    wrap_key = "policy"

    def document_problem(self, document: Dict[str, Any]) -> Optional[str]:
        return None if "phases" in document else "policy.phases is required"


class ComponentLike(TemplateResource):
    kind = "component template"

    def template_form(self, document: Dict[str, Any]) -> Dict[str, Any]:
        document.setdefault("version", 1)
        return document


def test_named_resource_spec_has_a_required_name_and_the_state_option():
    spec = named_resource_spec(body=dict(type="dict"))
    assert spec["name"] == dict(type="str", required=True)
    assert spec["state"] == dict(type="str", choices=["present", "absent"], default="present")
    assert spec["body"] == dict(type="dict") and "api_key" in spec and "url" in spec


def test_document_option_is_checked_only_when_given():
    assert make(Policy, {"name": "p", "policy": None}).validate() is None
    assert make(Policy, {"name": "p", "policy": {}}).validate() == "policy.phases is required"
    assert make(Policy, {"name": "p", "policy": {"phases": {}}}).validate() is None
    assert make(ElasticResource, {"name": "x"}).validate() is None  # no document option


def test_body_wraps_the_document_under_wrap_key_and_compares_the_stored_key():
    policy = make(Policy, {"name": "p", "policy": {"phases": {"hot": {}}}})
    assert policy.body() == {"policy": {"phases": {"hot": {}}}}
    assert policy.normalise({"version": 3, "policy": {"phases": {}}}) == {"phases": {}}
    assert policy.desired() == {"phases": {"hot": {}}}


def test_versioned_resource_returns_the_version_it_read():
    policy = make(Policy, {"name": "p a", "policy": {}}, answer={"p a": {"version": 7, "policy": {}}})
    assert policy.fetch() == {"version": 7, "policy": {}}
    assert policy.client.calls == [("GET", "/_test/policy/p%20a", None)]
    assert policy.extra_result() == {"name": "p a", "version": 7}


def test_template_keys_and_path_come_from_the_kind():
    template = make(ComponentLike, {"name": "logs@custom", "body": {}})
    assert (template.prefix, template.stored_key, template.listed_key) == (
        "/_component_template", "component_template", "component_templates")
    assert template.path == "/_component_template/logs%40custom"  # quote_segment encodes the @


def test_template_form_works_on_a_copy_without_the_server_dates():
    body = {"template": {}, "created_date": "2026-01-01", "modified_date_millis": 1}
    template = make(ComponentLike, {"name": "t", "body": body})
    assert template.desired() == {"template": {}, "version": 1}
    assert body == {"template": {}, "created_date": "2026-01-01", "modified_date_millis": 1}
    stored = dict({field: 1 for field in ES_SERVER_DATE_FIELDS}, template={})
    assert template.normalise({"name": "t", "component_template": stored}) == {"template": {}, "version": 1}


def test_template_is_found_in_the_listed_answer_by_name():
    answer = {"component_templates": [{"name": "other"}, {"name": "t", "component_template": {"template": {}}}]}
    template = make(ComponentLike, {"name": "t", "body": {}}, answer=answer)
    assert template.fetch() == {"name": "t", "component_template": {"template": {}}}
    assert template.client.calls == [("GET", "/_component_template/t?flat_settings=true", None)]


class Thing(KibanaObject):
    kind = "thing"
    prefix = "/api/things"
    item_key = "item"
    secret_options = ("token",)

    def secrets_missing(self) -> Optional[str]:
        return None if self.raw.get("has_token") else "secrets (not stored)"


THING = {"id": "a/b", "token": None, "force_secret_update": False}


def test_kibana_object_is_named_by_id_and_read_from_its_answer_key():
    thing = make(Thing, THING, answer={"item": {"name": "x"}})
    assert thing.client_class is KibanaClient
    assert (thing.name, thing.path) == ("a/b", "/api/things/a%2Fb")
    assert thing.fetch() == {"name": "x"} and thing.raw == {"name": "x"}
    assert make(Thing, THING, answer=None).fetch() is None


@pytest.mark.parametrize("token, force, stored, reason", [
    (None, True, {}, None),  # no secret given: nothing to send
    ("s", True, {"has_token": True}, "secrets"),  # forced
    ("s", False, {}, "secrets (not stored)"),  # the object lacks them
    ("s", False, {"has_token": True}, None),  # stored: a secret alone is not a change
])
def test_secrets_force_a_write_only_when_given_and_forced_or_missing(token, force, stored, reason):
    thing = make(Thing, dict(THING, token=token, force_secret_update=force))
    thing.raw = stored
    assert thing.secrets_reason() == reason
    assert thing.with_secrets_reason(["name"]) == ["name"] + ([reason] if reason else [])


def test_secrets_sent_only_when_the_object_is_written():
    thing = make(Thing, dict(THING, token="s"))
    for outcome, sent in (("created", True), ("updated", True), ("unchanged", False), ("deleted", False)):
        thing.outcome = outcome
        assert thing.extra_result() == {"id": "a/b", "secrets_sent": sent}
    thing = make(Thing, THING)
    thing.outcome = "created"
    assert thing.extra_result()["secrets_sent"] is False
