"""The hostile-server matrix: every module that talks HTTP, against servers that lie, stall or redirect.

Modules are discovered from plugins/modules (http_modules.py), so a new module is in the
matrix without anyone writing a test for it; it fails, naming the module, until
``http_modules.CASES`` gives it its smallest arguments.

Each module runs in-process through its real ``main()`` and the real ``exit_json``/
``fail_json`` (what the controller would read, ``invocation`` and no-log masking included),
with every credential kind its argument spec accepts (Bearer token, Elastic API key, basic
auth) for the redirects, its first kind for the rest. For every hostile answer it must fail
with a clear message, report no change, raise
no exception, print no credential, and send nothing to the other origin. A same-origin
redirect must not change the outcome.
"""

from __future__ import annotations

import contextlib
import io
import json
import traceback
from typing import Any, Dict, List, Tuple

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common import warnings as ansible_warnings

import http_modules
from hostile_servers import SCENARIOS, WRITE_SCENARIOS, HostileServer, Recorder, self_signed_context

MODULES = http_modules.http_modules()
SLOW_TIMEOUT = 1  # seconds; the "slow" server answers after 2.5 s
NORMAL_TIMEOUT = 20


def _auth_kinds() -> Dict[str, List[str]]:
    kinds = {}
    for name in MODULES:
        kinds[name] = http_modules.auth_kinds(http_modules.argument_spec(name)) or ["none"]
    return kinds


AUTH = _auth_kinds()


def _params() -> List[Any]:
    """Redirects run with every credential kind (that is where a credential could travel); the
    other answers do not depend on it and run with the module's first kind, to keep make unit fast."""
    params = []
    for name in MODULES:
        for index, kind in enumerate(AUTH[name]):
            for phase, scenarios in (("all", SCENARIOS), ("writes", WRITE_SCENARIOS)):
                for scenario in scenarios:
                    if index > 0 and not scenario.startswith("redirect-"):
                        continue
                    suffix = "-on-write" if phase == "writes" else ""
                    params.append(pytest.param(name, kind, scenario, phase,
                                               id="%s-%s-%s%s" % (name, kind, scenario, suffix)))
    return params


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    recorder = Recorder().start()
    plain = HostileServer(recorder, slow_seconds=SLOW_TIMEOUT + 1.5).start()
    context, _cert = self_signed_context(str(tmp_path_factory.mktemp("hostile-tls")))
    tls = HostileServer(recorder).start(context)
    yield {"recorder": recorder, "plain": plain, "tls": tls}
    for server in (plain, tls, recorder):
        server.stop()


@pytest.fixture
def run_real(monkeypatch):
    """Run a module's main() with the real exit path; return (result as the controller reads it, its JSON text)."""

    def _run(name: str, args: Dict[str, Any]) -> Tuple[Dict[str, Any], str]:
        payload = dict(args, _ansible_check_mode=False, _ansible_diff=True, _ansible_remote_tmp="/tmp",
                       _ansible_keep_remote_files=False)
        monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": payload}).encode())
        monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
        monkeypatch.setattr(ansible_warnings, "_global_warnings", {})
        monkeypatch.setattr(ansible_warnings, "_global_deprecations", {})
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                http_modules.load(name).main()
        except SystemExit:
            pass
        except Exception:  # noqa: BLE001 - a traceback is exactly what the matrix looks for
            pytest.fail("%s raised instead of failing cleanly:\n%s" % (name, traceback.format_exc()))
        lines = [line for line in out.getvalue().splitlines() if line.strip()]
        assert lines, "%s printed no result" % name
        text = lines[-1]
        return json.loads(text), text

    return _run


def module_args(name: str, kind: str, url: str, timeout: int = NORMAL_TIMEOUT) -> Dict[str, Any]:
    case = http_modules.CASES[name]
    args = dict(case.args, url=url, timeout=timeout, retries=0, retry_delay=0)
    if kind != "none":
        args.update(http_modules.auth_args(kind))
    return args


def require_case(name: str) -> http_modules.Case:
    case = http_modules.CASES.get(name)
    if case is None:
        pytest.fail("%s talks HTTP but has no entry in tests/unit/security/http_modules.py CASES: give it a fake and "
                    "the smallest arguments that make it read and write, so the hostile-server matrix covers it" % name)
    return case


def assert_no_secret(text: str, where: str) -> None:
    leaked = [s for s in http_modules.SECRETS if s in text]
    assert not leaked, "credential(s) %s appear in %s" % (leaked, where)


def test_the_matrix_finds_the_http_modules():
    """Discovery sees the API modules (vigil_http and pycti ones) and leaves the file-only module out."""
    assert "elasticsearch_ingest_pipeline" in MODULES and "grafana_contact_point" in MODULES
    assert "kibana_rule" in MODULES and "opencti_indicator_import" in MODULES
    assert "prometheus_target" not in MODULES
    assert AUTH["kibana_connector"] == ["Bearer", "ApiKey", "Basic"]
    assert AUTH["grafana_alert_rule"] == ["Bearer", "Basic"]


@pytest.mark.parametrize("name", MODULES)
def test_every_http_module_has_matrix_arguments(name):
    require_case(name)


def test_no_stale_matrix_entries():
    stale = sorted(set(http_modules.CASES) - set(MODULES))
    assert not stale, "CASES names modules that do not talk HTTP (or no longer exist): %s" % stale


@pytest.mark.parametrize("name,kind", [(n, k) for n in MODULES for k in AUTH[n]])
def test_the_matrix_arguments_make_the_module_write(name, kind, servers, run_real):
    """Against an honest server the arguments work and change something: the hostile runs below are not vacuous."""
    case = require_case(name)
    server = servers["plain"].arm(case.new_fake(), "none")
    result, text = run_real(name, module_args(name, kind, server.url))
    assert not result.get("failed"), "%s failed against the honest fake: %s" % (name, result.get("msg"))
    assert result.get("changed") is True
    assert_no_secret(text, "the output of %s" % name)


@pytest.mark.parametrize("name,kind,scenario,phase", _params())
def test_hostile_server(name, kind, scenario, phase, servers, run_real):
    case = require_case(name)
    recorder = servers["recorder"]
    recorder.requests.clear()
    server = servers["tls" if scenario == "tls-unverified" else "plain"].arm(case.new_fake(), scenario, phase)
    url = server.url
    if scenario == "url-credentials":
        url = url.replace("://", "://admin:%s@" % http_modules.URL_PASSWORD)
    timeout = SLOW_TIMEOUT if scenario == "slow" else NORMAL_TIMEOUT
    result, text = run_real(name, module_args(name, kind, url, timeout))

    assert_no_secret(text, "the output of %s (%s)" % (name, scenario))
    assert not recorder.requests, "requests reached the other origin: %s; Authorization: %s" % (
        recorder.requests, recorder.credentials_seen())

    if scenario == "redirect-same-origin":
        honest = servers["plain"].arm(case.new_fake(), "none")
        expected = run_real(name, module_args(name, kind, honest.url))[0]
        assert not result.get("failed"), "a same-origin redirect made %s fail: %s" % (name, result.get("msg"))
        assert result.get("changed") == expected.get("changed")
        return

    msg = str(result.get("msg") or "")
    assert result.get("failed") is True, "%s did not fail against %s (%s): %s" % (name, scenario, phase, result)
    assert result.get("changed") is not True
    assert "Traceback" not in text
    if scenario == "url-credentials":
        assert "must not contain credentials" in msg
        assert any(option in msg for option in ("url_username", "api_token", "api_key"))
        assert not server.requests, "the module connected with credentials in its URL"
        return
    assert server.hostile_answers or scenario == "tls-unverified", "the hostile answer was never given"
    for words in EXPECTED_WORDS[scenario]:
        assert any(w.lower() in msg.lower() for w in words), "%s: message %r names none of %s" % (scenario, msg, words)
    if scenario != "tls-unverified":
        assert server.url in msg, "the endpoint is not named: %r" % msg
    if scenario.startswith("redirect-other-origin"):
        assert recorder.url in msg, "the redirect's location is not named: %r" % msg


EXPECTED_WORDS = {
    "redirect-other-origin-302": [("another origin",), ("Location", "redirect")],
    "redirect-other-origin-307": [("another origin",), ("Location", "redirect")],
    "html-200": [("text/html",), ("not JSON",), ("200",)],
    "null-200": [("JSON null",), ("application/json",), ("200",)],
    "list-200": [("JSON list",), ("application/json",), ("200",)],
    "truncated": [("cut short",), ("200",)],
    "html-500": [("500",), ("text/html",)],
    "slow": [("timed out", "timeout"),],
    "tls-unverified": [("certificate",)],
}
