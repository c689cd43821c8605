"""tests/standins/fake_firewall_api.py: the lab's stand-in for a firewall status API."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Dict, Iterator, Optional, Tuple

import pytest


@pytest.fixture
def start(fakefw) -> Iterator[Any]:
    """``start(*cli_args, env=None)`` -> base URL of an in-process fake firewall."""
    servers = []

    def _start(*args: str, env: Optional[Dict[str, str]] = None) -> str:
        parsed = fakefw.parse_args(["--quiet", *args])
        overrides = fakefw.env_overrides(env or {}) + fakefw.arg_overrides(parsed.assignments)
        server = fakefw.FirewallServer(("127.0.0.1", 0), parsed, overrides)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return "http://127.0.0.1:%d" % server.server_address[1]

    yield _start
    for server in servers:
        server.shutdown()
        server.server_close()


def get(url: str, headers: Optional[Dict[str, str]] = None) -> Tuple[int, Any]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_default_document(start):
    assert get(start() + "/api/status") == (200, {"vpn": {"active_sessions": 42}, "license": {"days_left": 120}})


def test_values_from_file_env_and_args_in_that_order(start, tmp_path):
    status_file = tmp_path / "status.json"
    status_file.write_text(json.dumps({"vpn": {"active_sessions": 1, "tunnels": 3}, "ha": {"state": "active"}}))
    env = {"FAKE_FIREWALL__VPN__ACTIVE_SESSIONS": "2", "FAKE_FIREWALL__LICENSE__DAYS_LEFT": "30", "OTHER": "x"}
    base = start("--status-file", str(status_file), "--set", "vpn.active_sessions=3", "--set", "cpu.load=0.5",
                 env=env)
    status, document = get(base + "/api/status")
    assert status == 200
    assert document == {"vpn": {"active_sessions": 3, "tunnels": 3}, "license": {"days_left": 30},
                        "ha": {"state": "active"}, "cpu": {"load": 0.5}}


def test_status_file_is_reread_on_every_request(start, tmp_path):
    status_file = tmp_path / "status.json"
    status_file.write_text(json.dumps({"vpn": {"active_sessions": 5}}))
    base = start("--status-file", str(status_file))
    assert get(base + "/api/status")[1]["vpn"]["active_sessions"] == 5
    status_file.write_text(json.dumps({"vpn": {"active_sessions": 6}}))
    assert get(base + "/api/status")[1]["vpn"]["active_sessions"] == 6


def test_token_and_unknown_paths(start):
    base = start("--token", "abc")
    assert get(base + "/api/status")[0] == 401
    assert get(base + "/api/status", {"Authorization": "Bearer wrong"})[0] == 401
    assert get(base + "/api/status", {"Authorization": "Bearer abc"})[0] == 200
    assert get(base + "/other", {"Authorization": "Bearer abc"})[0] == 404


def test_delay_slows_answers(start):
    base = start("--delay", "0.3")
    started = time.monotonic()
    assert get(base + "/api/status")[0] == 200
    assert time.monotonic() - started >= 0.3


def test_bad_set_argument_is_refused(fakefw):
    with pytest.raises(ValueError, match="PATH=VALUE"):
        fakefw.arg_overrides(["vpn.active_sessions"])
    assert fakefw.main(["--set", "novalue", "--port", "0"]) == 2
