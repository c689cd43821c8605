"""The grafana_* modules against a real Grafana.

Needs VIGIL_IT_GRAFANA_URL (for example http://127.0.0.1:3000) and VIGIL_IT_GRAFANA_TOKEN
(a service-account token with the Admin role). Optional: VIGIL_IT_GRAFANA_ORG_ID,
VIGIL_IT_GRAFANA_CA_PATH (CA of a TLS Grafana). The notification policy test replaces the
organisation's whole tree and puts it back afterwards, so it also needs
VIGIL_IT_GRAFANA_ALLOW_POLICY_RESET=1: never set it against a Grafana that others use.

Every resource gets a unique vigil-it-* UID or name and is removed at the end, also when a
test fails. Without the variables every test is skipped and the skip names the variable.
"""

from __future__ import annotations

import importlib.util
import json
import os
import ssl
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes
from ansible_collections.vigil.monitoring.plugins.modules import (
    grafana_alert_rule,
    grafana_contact_point,
    grafana_mute_timing,
    grafana_notification_policy,
    grafana_rule_group,
)

pytestmark = pytest.mark.integration


def _require_env_from_conftest() -> Callable[..., Dict[str, str]]:
    """This directory's require_env, loaded by file path: in a pytest run that also collects
    tests/unit, the module name ``conftest`` may be tests/unit/conftest.py."""
    spec = importlib.util.spec_from_file_location("vigil_grafana_it_conftest", Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.require_env


require_env = _require_env_from_conftest()

URL_VAR, TOKEN_VAR = "VIGIL_IT_GRAFANA_URL", "VIGIL_IT_GRAFANA_TOKEN"
MATH = [{"refId": "A", "datasourceUid": "__expr__",
         "model": {"type": "math", "expression": "1 == 1", "refId": "A"}}]


class ModuleExit(Exception):
    def __init__(self, result: Dict[str, Any]):
        super().__init__(result)
        self.result = result


class ModuleFail(Exception):
    def __init__(self, result: Dict[str, Any]):
        super().__init__(result.get("msg"))
        self.result = result


@pytest.fixture
def env() -> Dict[str, str]:
    return require_env(URL_VAR, TOKEN_VAR)


@pytest.fixture
def run(monkeypatch, env):
    """Run a module's main() in-process against the real Grafana; return its result."""
    def _exit(self, **kwargs):
        kwargs.setdefault("changed", False)
        raise ModuleExit(kwargs)

    def _fail(self, **kwargs):
        kwargs["failed"] = True
        raise ModuleFail(kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", _exit)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", _fail)

    def _run(module, args: Dict[str, Any], check_mode: bool = False) -> Dict[str, Any]:
        payload = dict(connection(env), **args)
        payload.update(_ansible_check_mode=check_mode, _ansible_diff=True, _ansible_remote_tmp="/tmp",
                       _ansible_keep_remote_files=False)
        monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": payload})))
        monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
        try:
            module.main()
        except ModuleExit as exc:
            return exc.result
        raise AssertionError("module returned without exit_json or fail_json")

    return _run


def connection(env: Dict[str, str]) -> Dict[str, Any]:
    args: Dict[str, Any] = {"url": env[URL_VAR], "api_token": env[TOKEN_VAR], "retries": 3, "retry_delay": 2.0}
    if os.environ.get("VIGIL_IT_GRAFANA_ORG_ID"):
        args["org_id"] = int(os.environ["VIGIL_IT_GRAFANA_ORG_ID"])
    if os.environ.get("VIGIL_IT_GRAFANA_CA_PATH"):
        args["ca_path"] = os.environ["VIGIL_IT_GRAFANA_CA_PATH"]
    return args


def api(env: Dict[str, str], method: str, path: str, body: Any = None, extra: Optional[Dict[str, str]] = None) -> Any:
    """Direct call for set-up and clean-up, independent of the modules under test."""
    headers = {"Authorization": "Bearer %s" % env[TOKEN_VAR], "Content-Type": "application/json"}
    headers.update(extra or {})
    if os.environ.get("VIGIL_IT_GRAFANA_ORG_ID"):
        headers["X-Grafana-Org-Id"] = os.environ["VIGIL_IT_GRAFANA_ORG_ID"]
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(env[URL_VAR].rstrip("/") + path, data=data, headers=headers, method=method)
    context = ssl.create_default_context(cafile=os.environ.get("VIGIL_IT_GRAFANA_CA_PATH") or None)
    with urllib.request.urlopen(req, timeout=30, context=context) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


def quietly(call, *args: Any) -> Optional[Any]:
    try:
        return call(*args)
    except (urllib.error.URLError, AssertionError, ModuleFail, ModuleExit):
        return None


def unique(prefix: str) -> str:
    return "vigil-it-%s-%s" % (prefix, uuid.uuid4().hex[:10])


@pytest.fixture
def folder(env):
    uid = unique("folder")
    api(env, "POST", "/api/folders", {"uid": uid, "title": uid})
    yield uid
    quietly(api, env, "DELETE", "/api/folders/%s?forceDeleteRules=true" % uid)


def assert_lifecycle(run, module, create, update, absent, key):
    """create -> same again (no change) -> update (change, diff) -> delete -> delete again (no change)."""
    preview = run(module, create, check_mode=True)
    assert preview["changed"] is True, preview
    created = run(module, create)
    assert created["changed"] is True, created
    again = run(module, create)
    assert again["changed"] is False, again["diff"]
    updated = run(module, update)
    assert updated["changed"] is True and updated["diff"]["before"] != updated["diff"]["after"]
    assert run(module, update)["changed"] is False
    removed = run(module, absent)
    assert removed["changed"] is True and removed[key] == {}  # one result shape: {} when absent
    assert run(module, absent)["changed"] is False


def test_alert_rule_lifecycle(run, env, folder):
    uid = unique("rule")
    base = dict(uid=uid, title=uid, folder_uid=folder, rule_group="vigil-it", condition="A", data=MATH,
                pending_period="300s", labels={"team": "vigil"}, annotations={"summary": "integration test"})
    try:
        assert_lifecycle(run, grafana_alert_rule, base, dict(base, title=uid + "-renamed", is_paused=True),
                         dict(uid=uid, state="absent"), "rule")
        editable = run(grafana_alert_rule, dict(base, disable_provenance=True))
        assert editable["rule"]["provenance"] == ""
        assert api(env, "GET", "/api/v1/provisioning/alert-rules/%s" % uid).get("provenance", "") == ""
    finally:
        quietly(run, grafana_alert_rule, dict(uid=uid, state="absent"))


def test_rule_group_lifecycle(run, env, folder):
    one, two = unique("grp1"), unique("grp2")
    rules = [dict(uid=one, title=one, condition="A", data=MATH), dict(uid=two, title=two, condition="A", data=MATH)]
    base = dict(folder_uid=folder, name="vigil-it-group", interval="1m", rules=rules)
    try:
        assert_lifecycle(run, grafana_rule_group, base, dict(base, interval="2m", rules=rules[:1]),
                         dict(folder_uid=folder, name="vigil-it-group", state="absent"), "group")
    finally:
        quietly(run, grafana_rule_group, dict(folder_uid=folder, name="vigil-it-group", state="absent"))


def test_contact_point_lifecycle_with_a_redacted_secret(run, env):
    uid = unique("cp")
    base = dict(uid=uid, name=uid, type="webhook", settings={"url": "https://vigil.invalid/hook", "httpMethod": "POST"},
                secure_settings={"password": "integration-secret"})
    try:
        assert_lifecycle(run, grafana_contact_point, base,
                         dict(base, settings={"url": "https://vigil.invalid/other", "httpMethod": "POST"}),
                         dict(uid=uid, state="absent"), "contact_point")
        run(grafana_contact_point, base)
        listed = list(api(env, "GET", "/api/v1/provisioning/contact-points?name=%s" % uid))
        assert "integration-secret" not in json.dumps(listed)
        forced = run(grafana_contact_point, dict(base, force_secret_update=True))
        assert forced["changed"] is True
    finally:
        quietly(run, grafana_contact_point, dict(uid=uid, state="absent"))


def test_mute_timing_lifecycle(run, env):
    name = unique("mute")
    base = dict(name=name, time_intervals=[{"weekdays": ["Saturday", "sunday"]},
                                           {"weekdays": ["monday:friday"], "months": ["1:3"],
                                            "times": [{"start_time": "0:00", "end_time": "7:30"}]}])
    try:
        assert_lifecycle(run, grafana_mute_timing, base,
                         dict(base, time_intervals=[{"weekdays": ["saturday", "sunday"]}]),
                         dict(name=name, state="absent"), "mute_timing")
    finally:
        quietly(run, grafana_mute_timing, dict(name=name, state="absent"))


def test_notification_policy_tree_is_set_and_reset(run, env):
    require_env("VIGIL_IT_GRAFANA_ALLOW_POLICY_RESET")
    original = api(env, "GET", "/api/v1/provisioning/policies")
    receiver = unique("tree-cp")
    run(grafana_contact_point, dict(uid=receiver, name=receiver, type="webhook",
                                    settings={"url": "https://vigil.invalid/tree"}, disable_provenance=True))
    tree = {"receiver": receiver, "group_by": ["grafana_folder", "alertname"], "group_wait": "30s",
            "routes": [{"receiver": receiver, "object_matchers": [["severity", "=", "critical"]],
                        "repeat_interval": "60m"}]}
    try:
        run(grafana_notification_policy, dict(state="absent"))  # start unlocked, whatever was there
        assert run(grafana_notification_policy, dict(tree=tree), check_mode=True)["changed"] is True
        assert run(grafana_notification_policy, dict(tree=tree))["changed"] is True
        assert run(grafana_notification_policy, dict(tree=tree))["changed"] is False
        updated = run(grafana_notification_policy, dict(tree=dict(tree, group_wait="1m")))
        assert updated["changed"] is True and updated["policy_tree"]["group_wait"] == "1m"
        assert api(env, "GET", "/api/v1/provisioning/policies")["routes"][0]["receiver"] == receiver
        reset = run(grafana_notification_policy, dict(state="absent"))
        assert reset["changed"] is True and reset["policy_tree"]["provenance"] == ""
        assert run(grafana_notification_policy, dict(state="absent"))["changed"] is False
        editable = run(grafana_notification_policy, dict(tree=tree, disable_provenance=True))
        assert editable["changed"] is True and editable["policy_tree"]["provenance"] == ""
    finally:
        restore_policy_tree(env, original)
        quietly(run, grafana_contact_point, dict(uid=receiver, state="absent"))


def restore_policy_tree(env: Dict[str, str], original: Dict[str, Any]) -> None:
    """Reset (which also unlocks), then put the original tree back with its provenance."""
    api(env, "DELETE", "/api/v1/provisioning/policies")
    tree = {k: v for k, v in original.items() if k != "provenance"}
    if tree != api(env, "GET", "/api/v1/provisioning/policies"):
        headers = {} if original.get("provenance") else {"X-Disable-Provenance": "true"}
        api(env, "PUT", "/api/v1/provisioning/policies", tree, headers)
