"""The module core (module_utils/api_resource.py) on its own: a small resource against a strict fake.

Every API module of the collection runs through ``reconcile``; these tests pin what the
core promises all of them: create, no change, update with ``changed_fields``, delete,
check mode (no write request), diff mode, and ``fail_api``'s message and fields.
"""

from __future__ import annotations

import copy
import types
from typing import Any, Dict, Optional, Tuple

import pytest
from ansible_collections.vigil.monitoring.plugins.module_utils.api_resource import (
    ApiResource,
    api_module,
    changed_paths,
    error_reason,
    reconcile,
    state_option,
    subset_changed_paths,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.vigil_http import (
    ApiClient,
    api_argument_spec,
    quote_segment,
)
from standins.base import FakeApi, Request
from module_harness import ModuleFail

WIDGET = {"color": "red", "size": {"height": 2, "width": 3}}


class FakeWidgets(FakeApi):
    """/api/widgets/<name>: GET 200 or the documented 404, PUT creates or replaces, DELETE removes.

    The server adds ``created`` to what it stores (a field the module does not manage).
    ``fail`` = (method, status, body) makes that method answer with an error instead.
    """

    def __init__(self) -> None:
        super().__init__()
        self.widgets: Dict[str, Dict[str, Any]] = {}
        self.fail: Optional[Tuple[str, int, Any]] = None

    def reset(self) -> "FakeWidgets":
        self.requests.clear()
        self.widgets.clear()
        self.fail = None
        return self

    def handle(self, req: Request) -> Tuple[int, Any]:
        if self.fail and self.fail[0] == req.method:
            return self.fail[1], self.fail[2]
        name = req.path.rsplit("/", 1)[-1]
        if req.method == "GET":
            if name not in self.widgets:
                return 404, {"message": "widget %s not found" % name}
            return 200, copy.deepcopy(self.widgets[name])
        if req.method == "PUT":
            if req.body.get("color") == "taken":
                return 409, {"message": "exists"}
            self.widgets[name] = dict(req.body, created="2026-01-01")
            return 200, {"acknowledged": True}
        if req.method == "DELETE":
            self.widgets.pop(name, None)
            return 200, {"acknowledged": True}
        return 405, {"message": "method not allowed"}


class Widget(ApiResource):
    kind = "widget"
    result_key = "widget"
    status_hints = {401: "check api_token"}

    @property
    def path(self) -> str:
        return "/api/widgets/%s" % quote_segment(self.name)

    def fetch(self) -> Optional[Dict[str, Any]]:
        return self.client.get_optional(self.path)

    def normalise(self, raw: Dict[str, Any]) -> Dict[str, Any]:
        return {k: v for k, v in raw.items() if k != "created"}

    def desired(self) -> Dict[str, Any]:
        return {"color": self.params["color"], "size": self.params["size"]}

    def validate(self) -> Optional[str]:
        return None if self.params["color"] else "state=present needs color"

    def refusal(self, raw: Dict[str, Any]) -> Optional[str]:
        return "widget %s is built in" % self.name if raw.get("color") == "builtin" else None

    def update_problem(self, raw: Any, current: Dict[str, Any], desired: Dict[str, Any]) -> Optional[str]:
        return "a square widget cannot change its size" if current["size"].get("square") else None

    def create(self) -> Any:
        return self.client.request("PUT", self.path, body=self.desired())[1]

    def update(self, raw: Dict[str, Any]) -> Any:
        return self.create()

    def delete(self, raw: Dict[str, Any]) -> None:
        self.client.request("DELETE", self.path, expect=None)

    def extra_result(self) -> Dict[str, Any]:
        return {"name": self.name, "outcome": self.outcome}


def main() -> None:
    spec = api_argument_spec()
    spec.update(name=dict(type="str", required=True), state=state_option(), color=dict(type="str"),
                size=dict(type="dict", default={}))  # fmt: skip
    module = api_module(spec)
    reconcile(Widget(module, ApiClient(module)))


WIDGET_MODULE = types.SimpleNamespace(main=main)


@pytest.fixture(scope="module")
def server():
    fake = FakeWidgets().start()
    yield fake
    fake.stop()


@pytest.fixture
def api(server):
    return server.reset()


def run(run_module, api, check_mode=False, diff=False, **options):
    args = {"url": api.url, "name": "w1", "retries": 0, "retry_delay": 0}
    args.update(color=WIDGET["color"], size=WIDGET["size"])
    args.update(options)
    return run_module(WIDGET_MODULE, args, check_mode=check_mode, diff=diff)


def fail(run_module, api, **options):
    with pytest.raises(ModuleFail) as failure:
        run(run_module, api, **options)
    return failure.value.result


def test_absent_resource_is_created(run_module, api):
    result = run(run_module, api)

    assert result["changed"] is True and result["outcome"] == "created"
    assert result["widget"] == WIDGET
    assert result["changed_fields"] == ["color", "size"]
    assert [(r.method, r.path) for r in api.writes()] == [("PUT", "/api/widgets/w1")]
    assert "diff" not in result  # only in diff mode


def test_equal_resource_is_left_alone(run_module, api):
    run(run_module, api)
    api.requests.clear()

    result = run(run_module, api)

    assert result["changed"] is False and result["changed_fields"] == [] and result["outcome"] == "unchanged"
    assert result["widget"] == WIDGET  # the server's own 'created' is not compared nor shown
    assert api.writes() == []


def test_different_resource_is_updated_with_the_paths_that_differ(run_module, api):
    run(run_module, api)
    api.requests.clear()

    result = run(run_module, api, diff=True, color="blue", size={"height": 5, "width": 3})

    assert result["changed"] is True and result["outcome"] == "updated"
    assert result["changed_fields"] == ["color", "size.height"]
    assert result["diff"] == {"before": WIDGET, "after": {"color": "blue", "size": {"height": 5, "width": 3}}}
    assert api.widgets["w1"]["color"] == "blue" and len(api.writes()) == 1


def test_check_mode_sends_no_write_and_predicts_the_result(run_module, api):
    created = run(run_module, api, check_mode=True, diff=True)
    assert created["changed"] is True and created["widget"] == WIDGET
    assert created["diff"] == {"before": {}, "after": WIDGET}
    assert api.writes() == [] and api.widgets == {}

    run(run_module, api)
    api.requests.clear()
    updated = run(run_module, api, check_mode=True, color="green")
    assert updated["changed"] is True and updated["changed_fields"] == ["color"]
    assert updated["widget"]["color"] == "green"
    assert api.writes() == [] and api.widgets["w1"]["color"] == "red"

    deleted = run(run_module, api, check_mode=True, state="absent")
    assert deleted["changed"] is True and deleted["widget"] == {}
    assert api.writes() == [] and "w1" in api.widgets


def test_diff_mode_shows_an_unchanged_resource_and_a_deleted_one(run_module, api):
    run(run_module, api)

    same = run(run_module, api, diff=True)
    assert same["changed"] is False and same["diff"] == {"before": WIDGET, "after": WIDGET}

    deleted = run(run_module, api, diff=True, state="absent")
    assert deleted["changed"] is True and deleted["outcome"] == "deleted"
    assert deleted["diff"] == {"before": WIDGET, "after": {}}
    assert deleted["widget"] == {} and deleted["changed_fields"] == ["color", "size"]
    assert api.widgets == {}

    again = run(run_module, api, state="absent")
    assert again["changed"] is False and again["outcome"] == "absent" and again["changed_fields"] == []


def test_read_error_fails_with_one_message_and_the_call_fields(run_module, api):
    api.fail = ("GET", 500, {"error": {"type": "exception", "reason": "boom", "root_cause": [{"reason": "disk"}]}})

    result = fail(run_module, api)

    url = api.url + "/api/widgets/w1"
    assert result["msg"] == "Reading widget 'w1' failed: GET %s returned HTTP 500: boom (disk)" % url
    assert result["status"] == 500 and result["method"] == "GET" and result["url"] == url
    assert result["response"]["error"]["reason"] == "boom"
    assert api.writes() == []


def test_write_error_names_the_write_and_the_family_hint(run_module, api):
    api.fail = ("PUT", 401, {"message": "invalid token", "messageId": "auth.unauthorized"})

    result = fail(run_module, api)

    assert result["msg"].startswith("Creating widget 'w1' failed: PUT ")
    assert result["msg"].endswith("returned HTTP 401: invalid token (auth.unauthorized). check api_token")
    assert result["hint"] == "check api_token" and result["status"] == 401


def test_problems_stop_the_task_before_any_write(run_module, api):
    assert fail(run_module, api, color="")["msg"] == "state=present needs color"

    api.widgets["w1"] = {"color": "builtin", "size": {}}
    assert fail(run_module, api, color="red")["msg"] == "widget w1 is built in"
    assert fail(run_module, api, state="absent")["msg"] == "widget w1 is built in"

    api.widgets["w1"] = {"color": "red", "size": {"square": True}}
    assert fail(run_module, api, color="blue")["msg"] == "a square widget cannot change its size"
    assert api.writes() == []


def test_error_reason_reads_every_family():
    assert error_reason({"error": {"type": "x", "reason": "bad field"}}) == "bad field"
    assert error_reason({"statusCode": 400, "error": "Bad Request", "message": "id must be a UUID"}) == (
        "id must be a UUID")
    assert error_reason({"message": "invalid", "messageId": "alerting.x"}) == "invalid (alerting.x)"
    assert error_reason("text/html answer of 20 bytes") == "text/html answer of 20 bytes"
    assert error_reason(None) == "no message"
    assert error_reason(["a"]) == '["a"]'


def test_changed_paths_and_subset_changed_paths():
    assert changed_paths({"a": 1, "b": {"c": [1, 2]}}, {"a": 1, "b": {"c": [1, 3]}, "d": 0}) == ["b.c[1]", "d"]
    assert changed_paths({"a": True}, {"a": 1}) == ["a"]  # strict JSON equality
    # keys the server adds are ignored; only what the desired state sets counts
    assert subset_changed_paths({"a": {"b": 1}}, {"a": {"b": 1, "server": 2}, "id": "x"}) == []
    assert subset_changed_paths({"a": {"b": 2}, "c": 1}, {"a": {"b": 1}}) == ["a.b", "c"]
