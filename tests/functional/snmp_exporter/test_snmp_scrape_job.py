"""The prometheus role's job 'snmp' in a real Prometheus: each device is its own instance.

prometheus.yml is rendered from roles/prometheus with ansible-playbook; the devices' file_sd
file is what the snmp_exporter role writes (the same filters); a loopback HTTP server plays
the exporter and records the URLs Prometheus scrapes. Needs the prometheus binary
(apt-get install prometheus), else skipped.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List

import pytest
import yaml

from ansible_collections.vigil.monitoring.plugins.filter.snmp_exporter import snmp_device_targets, snmp_devices
from local_playbook import ROOT, find_ansible_playbook, role_render_playbook, run_local_playbook

MODULES = yaml.safe_load((ROOT / "roles" / "snmp_exporter" / "defaults" / "main.yml").read_text())[
    "snmp_exporter_default_modules"]
HOSTVARS = {
    "sw1": {"ansible_host": "192.0.2.10", "snmp_device_community": "VIGIL-MARKER-c",
            "snmp_device_uplinks": ["uplink0"], "snmp_device_labels": {"rack": "r12"}},
    "ups1": {"ansible_host": "192.0.2.30", "snmp_device_community": "VIGIL-MARKER-c"},
    "fw1": {"snmp_device_address": "192.0.2.20", "snmp_device_version": 3, "snmp_device_username": "vigil",
            "snmp_device_auth_password": "VIGIL-MARKER-a", "snmp_device_priv_password": "VIGIL-MARKER-p"},
}
RENDER = role_render_playbook(
    "Render prometheus.yml", ROOT / "roles" / "prometheus",
    """\
    - name: Render the role's prometheus.yml
      ansible.builtin.template:
        src: "{{ prometheus_role }}/templates/prometheus.yml.j2"
        dest: "{{ out_dir }}/prometheus.yml"
        mode: "0644"
      vars:
        __prometheus_rule_paths: []
""")


class FakeExporter(BaseHTTPRequestHandler):
    """Answers /snmp like snmp_exporter: two interfaces of the device named in 'target'."""

    seen: List[Dict[str, List[str]]] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        url = urllib.parse.urlparse(self.path)
        if url.path != "/snmp":
            self.send_error(404)
            return
        query = urllib.parse.parse_qs(url.query)
        FakeExporter.seen.append(query)
        body = "".join('ifOperStatus{ifIndex="%d",ifName="%s"} %d\n' % (i, n, s)
                       for i, n, s in ((1, "lo", 1), (2, "uplink0", 2)))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):  # quiet
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read().decode())


def wait_for(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError("not within %ss" % timeout)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    binary = shutil.which("prometheus")
    if not binary:
        pytest.skip("prometheus not installed: apt-get install prometheus")
    work = tmp_path_factory.mktemp("snmp-job")
    file_sd = work / "file_sd"
    file_sd.mkdir()
    result = run_local_playbook(work / "render", find_ansible_playbook(), RENDER, {
        "out_dir": str(work), "prometheus_role": str(ROOT / "roles" / "prometheus"),
        "prometheus_file_sd_dir": str(file_sd), "prometheus_alert_catalog_rules": False,
        "prometheus_global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
    }, inventory="all:\n  children:\n    prometheus:\n      hosts:\n        localhost:\n"
                 "          ansible_connection: local\n")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeExporter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    exporter = "127.0.0.1:%d" % server.server_address[1]
    devices = snmp_devices(["sw1", "fw1"], HOSTVARS, modules=MODULES)
    groups = snmp_device_targets(devices, "mon1", exporter)
    (file_sd / "snmp-mon1.yml").write_text(yaml.safe_dump(groups))
    # A second exporter before 0.23 (Debian 12): one module per device, no auth parameter.
    legacy = snmp_devices(["ups1"], HOSTVARS, modules=MODULES, config_format="legacy")
    (file_sd / "snmp-mon2.yml").write_text(yaml.safe_dump(snmp_device_targets(legacy, "mon2", exporter)))
    port = free_port()
    process = subprocess.Popen(
        [binary, "--config.file=%s" % (work / "prometheus.yml"), "--storage.tsdb.path=%s" % (work / "data"),
         "--web.listen-address=127.0.0.1:%d" % port],
        stdout=subprocess.DEVNULL, stderr=open(work / "prometheus.log", "w"))
    base = "http://127.0.0.1:%d" % port
    try:
        wait_for(lambda: urllib.request.urlopen(base + "/-/ready", timeout=2).status == 200)
        yield base, work
    finally:
        process.terminate()
        process.wait(timeout=30)
        server.shutdown()


def snmp_targets(base):
    targets = get_json(base + "/api/v1/targets?state=active")["data"]["activeTargets"]
    return [t for t in targets if t["labels"]["job"] == "snmp"]


def test_the_rendered_config_passes_promtool(prometheus):
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool not installed")
    _base, work = prometheus
    result = subprocess.run([promtool, "check", "config", str(work / "prometheus.yml")], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_device_is_scraped_through_the_exporter_as_its_own_instance(prometheus):
    base, _work = prometheus

    def all_up():
        up = [t for t in snmp_targets(base) if t["health"] == "up"]
        return up if len(up) == 3 else None

    targets = wait_for(all_up)
    labels = {t["labels"]["instance"]: t["labels"] for t in targets}
    assert set(labels) == {"sw1", "fw1", "ups1"}
    # The routing labels are gone; the exporter's name and the device's labels stay.
    assert labels["sw1"] == {"instance": "sw1", "job": "snmp", "exporter": "mon1", "rack": "r12"}
    urls = {t["labels"]["instance"]: urllib.parse.urlparse(t["scrapeUrl"]) for t in targets}
    assert urls["sw1"].path == "/snmp" and urls["sw1"].netloc.startswith("127.0.0.1:")
    assert urllib.parse.parse_qs(urls["sw1"].query) == {
        "target": ["192.0.2.10:161"], "module": ["if_mib,system,uplinks@sw1"], "auth": ["sw1"]}
    assert urllib.parse.parse_qs(urls["fw1"].query)["auth"] == ["fw1"]
    assert {"target": ["192.0.2.20:161"], "module": ["if_mib,system"], "auth": ["fw1"]} in FakeExporter.seen
    # Legacy layout: the module is the device's own, and no empty auth= is sent.
    assert urllib.parse.parse_qs(urls["ups1"].query) == {"target": ["192.0.2.30:161"], "module": ["ups1"]}
    assert labels["ups1"]["exporter"] == "mon2"


def test_the_device_interfaces_are_series_of_the_device(prometheus):
    base, _work = prometheus

    def series():
        query = urllib.parse.urlencode({"query": 'ifOperStatus{job="snmp",instance="sw1"}'})
        result = get_json(base + "/api/v1/query?" + query)["data"]["result"]
        return result if len(result) == 2 else None

    found = {r["metric"]["ifName"]: r for r in wait_for(series)}
    assert found["uplink0"]["value"][1] == "2"
    assert found["lo"]["metric"] == {"__name__": "ifOperStatus", "job": "snmp", "instance": "sw1",
                                     "exporter": "mon1", "rack": "r12", "ifIndex": "1", "ifName": "lo"}
