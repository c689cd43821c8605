"""opencti_indicator_import against a real OpenCTI platform.

Needs VIGIL_IT_OPENCTI_URL (for example http://127.0.0.1:8080) and VIGIL_IT_OPENCTI_TOKEN
(a token allowed to create and delete indicators, observables, labels and external
references), and pycti installed at the platform's release. Optional:
VIGIL_IT_OPENCTI_CA_PATH (CA of a TLS platform).

Every value is unique to the run (a random address in 198.18.0.0/15, a vigil-it-* domain
and label, a random hash) and everything created is deleted at the end, also when a test
fails. Without the variables every test is skipped and the skip names the variable; a skip
proves nothing about the real platform.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes
from ansible_collections.vigil.monitoring.plugins.module_utils import opencti
from ansible_collections.vigil.monitoring.plugins.modules import opencti_indicator_import

pytestmark = pytest.mark.integration


def _require_env_from_conftest() -> Callable[..., Dict[str, str]]:
    """This directory's require_env, loaded by file path (``conftest`` may be tests/unit/conftest.py)."""
    spec = importlib.util.spec_from_file_location("vigil_opencti_it_conftest", Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.require_env


require_env = _require_env_from_conftest()
URL_VAR, TOKEN_VAR = "VIGIL_IT_OPENCTI_URL", "VIGIL_IT_OPENCTI_TOKEN"


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
    values = require_env(URL_VAR, TOKEN_VAR)
    if not opencti.HAS_PYCTI:
        pytest.skip("pycti is not installed (pip install pycti==<the platform's release>)")
    return values


def connection(env: Dict[str, str]) -> Dict[str, Any]:
    args: Dict[str, Any] = {"url": env[URL_VAR], "api_token": env[TOKEN_VAR], "retries": 3, "retry_delay": 2.0}
    if os.environ.get("VIGIL_IT_OPENCTI_CA_PATH"):
        args["ca_path"] = os.environ["VIGIL_IT_OPENCTI_CA_PATH"]
    return args


@pytest.fixture
def run(monkeypatch, env):
    """Run the module's main() in-process against the real platform; return its result."""
    def _exit(self, **kwargs):
        kwargs.setdefault("changed", False)
        raise ModuleExit(kwargs)

    def _fail(self, **kwargs):
        kwargs["failed"] = True
        raise ModuleFail(kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", _exit)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", _fail)

    def _run(args: Dict[str, Any], check_mode: bool = False) -> Dict[str, Any]:
        payload = dict(connection(env), **args)
        payload.update(_ansible_check_mode=check_mode, _ansible_diff=True, _ansible_remote_tmp="/tmp",
                       _ansible_keep_remote_files=False)
        monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": payload})))
        monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
        try:
            opencti_indicator_import.main()
        except ModuleExit as exc:
            return exc.result
        raise AssertionError("module returned without exit_json or fail_json")

    return _run


@pytest.fixture
def client(env):
    """An independent pycti client, to check and to clean up."""
    api, _version = opencti.connect(dict(connection(env), validate_certs=True, client_cert=None, client_key=None,
                                         timeout=30, ca_path=connection(env).get("ca_path")))
    return api


@pytest.fixture
def iocs(client):
    """Unique indicators for this run; everything they created is deleted afterwards."""
    tag = "vigil-it-%s" % uuid.uuid4().hex[:10]
    values = {
        "ip": "198.%d.%d.%d" % (random.randint(18, 19), random.randint(0, 255), random.randint(1, 254)),
        "domain": "%s.example.net" % tag,
        "sha256": "%064x" % random.getrandbits(256),
    }
    created: Dict[str, List[str]] = {"indicators": [], "observables": []}
    yield tag, values, created
    for indicator_id in created["indicators"]:
        try:
            client.stix_domain_object.delete(id=indicator_id)
        except Exception:  # noqa: BLE001 - best-effort clean-up
            pass
    for observable_id in created["observables"]:
        try:
            client.stix_cyber_observable.delete(id=observable_id)
        except Exception:  # noqa: BLE001
            pass
    label = client.label.read(filters={"mode": "and", "filters": [{"key": "value", "values": [tag]}],
                                       "filterGroups": []})
    if label:
        client.label.delete(id=label["id"])


def csv_for(tag: str, values: Dict[str, str]) -> str:
    return ("type,value,score,labels,incident_ref,valid_until,description\n"
            "ip,{ip},90,{tag};c2,{tag}-INC,2031-01-31,vigil integration test\n"
            "domain,{domain},80,{tag},,,vigil integration test\n"
            "sha256,{sha256},95,{tag},,,vigil integration test\n"
            "ip,10.0.0.300,50,{tag},,,malformed on purpose\n").format(tag=tag, **values)


def test_import_is_idempotent_and_reports_bad_rows(run, client, iocs):
    tag, values, created = iocs
    content = csv_for(tag, values)

    planned = run({"content": content}, check_mode=True)
    assert planned["changed"] is True and len(planned["created"]) == 3
    assert client.indicator.read(id=opencti._PyctiIndicator.generate_id(  # pylint: disable=protected-access
        "[ipv4-addr:value = '%s']" % values["ip"])) is None

    first = run({"content": content})
    for row in first["created"]:
        created["indicators"].append(row["indicator_id"])
        created["observables"].append(row["observable_id"])
    assert first["changed"] is True
    assert first["summary"]["created_indicators"] == 3 and first["summary"]["created_relationships"] == 3
    assert [e["line"] for e in first["errors"]] == [5]

    indicator = client.indicator.read(id=first["created"][0]["indicator_id"])
    assert indicator["pattern"] == "[ipv4-addr:value = '%s']" % values["ip"]
    assert indicator["x_opencti_score"] == 90
    assert indicator["valid_until"].startswith("2031-01-31")
    assert {label["value"] for label in indicator["objectLabel"]} >= {tag, "c2"}
    assert first["created"][0]["observable_id"] in indicator["observablesIds"]

    second = run({"content": content})
    assert second["changed"] is False
    assert second["summary"]["unchanged"] == 3 and second["created"] == []
