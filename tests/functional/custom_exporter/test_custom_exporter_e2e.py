"""End to end: the exporter and the fake firewall as real processes on loopback.

The exporter runs with ``$VIGIL_CUSTOM_EXPORTER_PYTHON`` when set (to try another
interpreter's venv, e.g. Python 3.9 or 3.13), else with the test's own Python.
"""

from __future__ import annotations

import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import yaml

from custom_exporter.conftest import EXPORTER_COMMAND, exporter_env

REPO = Path(__file__).resolve().parents[3]
FAKE_FIREWALL = REPO / "tests" / "standins" / "fake_firewall_api.py"
PYTHON = os.environ.get("VIGIL_CUSTOM_EXPORTER_PYTHON") or sys.executable


def _first_line(proc: "subprocess.Popen[str]", timeout: float = 10.0) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError("no output from %s within %.0fs" % (proc.args, timeout))
    return proc.stdout.readline().strip()


def _wait_log(log: Path, pattern: str, timeout: float = 10.0, after: int = 0) -> "re.Match[str]":
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.compile(pattern).search(log.read_text()[after:]) if log.exists() else None
        if match:
            return match
        time.sleep(0.05)
    raise AssertionError("log never matched %r:\n%s" % (pattern, log.read_text() if log.exists() else ""))


def _scrape(port: int) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open("http://127.0.0.1:%d/metrics" % port, timeout=10) as response:
        assert response.status == 200
        return response.read().decode()


@pytest.fixture
def processes() -> Iterator[List["subprocess.Popen[Any]"]]:
    started: List["subprocess.Popen[Any]"] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
def firewall(processes) -> str:
    """The fake firewall on a free loopback port; the VPN value comes from its environment."""
    env = dict(os.environ, FAKE_FIREWALL__VPN__ACTIVE_SESSIONS="17")
    proc = subprocess.Popen([sys.executable, str(FAKE_FIREWALL), "--address", "127.0.0.1", "--port", "0", "--quiet",
                             "--token", "t0ken", "--set", "license.days_left=9"],
                            stdout=subprocess.PIPE, text=True, env=env)
    processes.append(proc)
    line = _first_line(proc)
    assert line.startswith("listening on http://127.0.0.1:"), line
    return line.split()[-1]


def _config(url: str, metric: str = "firewall_vpn_active_sessions") -> Dict[str, Any]:
    return {"listen_address": "127.0.0.1:0", "default_timeout": 3, "sources": [{
        "name": "firewall", "type": "http", "url": url, "headers": {"Authorization": "Bearer t0ken"},
        "metrics": [{"name": metric, "help": "Active VPN sessions.", "query": "vpn.active_sessions",
                     "labels": {"site": "lab"}},
                    {"name": "firewall_license_days_left", "help": "Licence days left.", "query": "license.days_left"}],
    }]}


def _start_exporter(processes, tmp_path: Path, config: Dict[str, Any]) -> Any:
    config_file = tmp_path / "config.yml"
    config_file.write_text(yaml.safe_dump(config))
    log = tmp_path / "exporter.log"
    with open(log, "w") as stderr:
        proc = subprocess.Popen([PYTHON, *EXPORTER_COMMAND[1:], "--config.file", str(config_file), "--log.level", "info"],
                                stdout=subprocess.DEVNULL, stderr=stderr, env=exporter_env())
    processes.append(proc)
    port = int(_wait_log(log, r"listening on 127\.0\.0\.1:(\d+)").group(1))
    return proc, port, config_file, log


def test_exporter_serves_the_firewall_value_and_stops_on_sigterm(processes, firewall, tmp_path):
    proc, port, dummy, log = _start_exporter(processes, tmp_path, _config(firewall))
    text = _scrape(port)
    assert 'firewall_vpn_active_sessions{site="lab"} 17.0' in text
    assert "firewall_license_days_left 9.0" in text
    assert 'vigil_custom_source_up{source="firewall"} 1.0' in text
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert "received SIGTERM, shutting down" in log.read_text()


def test_firewall_down_gives_up_0_not_an_error_page(processes, tmp_path, free_port):
    dummy, port, dummy, dummy = _start_exporter(processes, tmp_path, _config("http://127.0.0.1:%d/api/status" % free_port()))
    text = _scrape(port)
    assert 'vigil_custom_source_up{source="firewall"} 0.0' in text
    assert 'vigil_custom_source_errors_total{reason="connection",source="firewall"} 1.0' in text
    assert "firewall_vpn_active_sessions{" not in text


def test_sighup_with_an_invalid_config_keeps_the_old_one(processes, firewall, tmp_path):
    proc, port, config_file, log = _start_exporter(processes, tmp_path, _config(firewall))
    assert 'firewall_vpn_active_sessions{site="lab"} 17.0' in _scrape(port)

    config_file.write_text(yaml.safe_dump(_config(firewall, metric="firewall-vpn-sessions")))
    mark = len(log.read_text())
    proc.send_signal(signal.SIGHUP)
    _wait_log(log, r"reload failed, keeping the previous configuration: .*'firewall-vpn-sessions'", after=mark)
    text = _scrape(port)
    assert 'firewall_vpn_active_sessions{site="lab"} 17.0' in text
    assert "vigil_custom_exporter_config_last_reload_successful 0.0" in text

    config_file.write_text(yaml.safe_dump(_config(firewall, metric="firewall_vpn_sessions_now")))
    mark = len(log.read_text())
    proc.send_signal(signal.SIGHUP)
    _wait_log(log, r"configuration reloaded", after=mark)
    text = _scrape(port)
    assert 'firewall_vpn_sessions_now{site="lab"} 17.0' in text
    assert "firewall_vpn_active_sessions{" not in text
    assert "vigil_custom_exporter_config_last_reload_successful 1.0" in text
    assert proc.poll() is None


def test_exposition_passes_promtool_lint(processes, firewall, tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed: apt-get install prometheus")
    config = _config(firewall)
    config["sources"][0]["metrics"][1]["name"] = "firewall_license_remaining"  # promtool wants base units
    dummy, port, dummy, dummy = _start_exporter(processes, tmp_path, config)
    text = _scrape(port)
    assert "firewall_license_remaining 9.0" in text
    proc = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
