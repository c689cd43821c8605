"""The Molecule test library (tests/molecule/vigil_testinfra.py) and the scenario tests that use it.

The library runs inside Molecule's verifier, after a scenario's half hour of converge: what
it gets wrong there shows late. Here it runs on the controller: the poll against a fake
clock, the HTTP script for real (testinfra's local backend) against a loopback server,
the exposition parser on what the reference client library writes.
"""

from __future__ import annotations

import base64
import configparser
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, List, Tuple

import pytest
import testinfra
import vigil_testinfra
from standins.base import FakeApi, Request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from security.hostile_servers import self_signed_context
from vigil_testinfra import (LAB_CA, eventually, fetch, host_ini, host_yaml, is_deb12, platform_name, prom_samples,
                             prom_value, scenario_host, sibling)

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_TESTS = sorted(ROOT.glob("roles/*/molecule/*/tests/test_*.py")) + sorted(ROOT.glob("molecule/*/tests/test_*.py"))


# ------------------------------------------------------------------------- eventually


class Clock:
    """A fake monotonic clock: sleep() and slow checks move it; nothing really waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: List[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        if len(self.sleeps) >= 1000:
            raise AssertionError("eventually still polls after 1000 sleeps: it does not stop at its timeout")
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(vigil_testinfra, "monotonic", fake.monotonic)
    monkeypatch.setattr(vigil_testinfra, "sleep", fake.sleep)
    return fake


def test_eventually_returns_the_first_true_value_and_stops_asking(clock):
    answers = iter([None, 0, [], "found", "later"])
    calls = []

    def check():
        calls.append(clock.now)
        return next(answers)

    assert eventually(check, timeout=60, step=3) == "found"
    assert len(calls) == 4
    assert clock.sleeps == [3, 3, 3]


def test_eventually_gives_up_at_the_timeout_with_the_last_value(clock):
    start = clock.now
    values = []

    def check():
        values.append([])  # a new false value each time: the caller gets the last one
        return values[-1]

    result = eventually(check, timeout=10, step=3)
    assert result == [] and result is values[-1]
    # Asked at 0, 3, 6 and 9 s, and once more at the deadline; never beyond it.
    assert clock.sleeps == [3, 3, 3, 1]
    assert len(values) == 5
    assert clock.now - start == 10


def test_eventually_is_bounded_when_the_check_itself_is_slow(clock):
    start = clock.now

    def slow_check():
        clock.now += 4  # each check takes 4 s
        return None

    assert eventually(slow_check, timeout=10, step=3) is None
    assert clock.now - start <= 10 + 4


def test_eventually_with_no_time_asks_once(clock):
    calls = []
    assert eventually(lambda: calls.append(1), timeout=0) is None
    assert calls == [1] and clock.sleeps == []


# ------------------------------------------------------------------------------ fetch


class FakeHost:
    """A testinfra host that answers check_output with a canned output and records the call."""

    def __init__(self, output: str, name: str = "vigil-deb12") -> None:
        self.output = output
        self.calls: List[Tuple[str, Tuple[str, ...]]] = []
        self.backend = self
        self.name = name
        self.got: List[Tuple[str, dict]] = []

    def check_output(self, command: str, *args: str) -> str:
        self.calls.append((command, args))
        return self.output

    def get_hostname(self) -> str:
        return self.name

    def get_host(self, spec: str, **kwargs: Any) -> str:
        self.got.append((spec, kwargs))
        return "host:" + spec

    def file(self, path: str) -> Any:
        """testinfra's File, as far as content_string: the canned output is the file's text."""
        self.calls.append(("file", (path,)))
        return type("File", (), {"content_string": self.output})()


def test_fetch_splits_the_status_line_from_the_body():
    host = FakeHost('401\n{"error": "unauthorized"}\nsecond line')
    assert fetch(host, "https://127.0.0.1:9090/-/ready", ("admin", "pw")) == (401, '{"error": "unauthorized"}\nsecond line')
    command, args = host.calls[0]
    assert command.startswith("python3 -c ")
    assert args[0] == vigil_testinfra.FETCH
    assert args[1:] == ("https://127.0.0.1:9090/-/ready", "GET", "admin", "pw", LAB_CA, "30.0", "", "{}")


@pytest.mark.parametrize("auth", [None, ("", ""), (None, None)])
def test_fetch_without_credentials_sends_an_empty_user(auth):
    host = FakeHost("204")
    assert fetch(host, "http://127.0.0.1:9115/metrics", auth) == (204, "")
    assert host.calls[0][1][3:5] == ("", "")


def test_fetch_passes_method_body_headers_ca_and_timeout():
    host = FakeHost("202\naccepted")
    result = fetch(host, "http://127.0.0.1:9095/webhook", ("alertmanager", "pw"), method="POST", data='{"a": 1}',
                   headers={"Content-Type": "application/json"}, cafile="/tmp/ca.pem", timeout=5)
    assert result == (202, "accepted")
    assert host.calls[0][1][1:] == ("http://127.0.0.1:9095/webhook", "POST", "alertmanager", "pw", "/tmp/ca.pem", "5",
                                    '{"a": 1}', '{"Content-Type": "application/json"}')


class Echo(FakeApi):
    """Answers what it was asked; /private wants basic auth scraper:pw."""

    def handle(self, req: Request) -> Tuple[int, Any]:
        if req.path == "/private" and req.headers.get("authorization") != "Basic " + base64.b64encode(b"scraper:pw").decode():
            return 401, {"error": "unauthorized"}
        return 200, {"method": req.method, "path": req.path, "body": req.body,
                     "content_type": req.headers.get("content-type")}


@pytest.fixture
def local_host(monkeypatch):
    """testinfra's local backend, with this interpreter as python3 (as a lab host has one)."""
    bindir = Path(sys.executable).parent
    if not (bindir / "python3").exists():  # pragma: no cover - every venv and Debian python has it
        pytest.skip("no python3 next to %s" % sys.executable)
    monkeypatch.setenv("PATH", "%s%s%s" % (bindir, os.pathsep, os.environ.get("PATH", "")))
    return testinfra.get_host("local://")


@pytest.fixture
def echo():
    server = Echo().start()
    yield server
    server.stop()


def test_fetch_script_gets_the_status_and_body_of_an_error(local_host, echo):
    status, body = fetch(local_host, echo.url + "/private")
    assert status == 401
    assert json.loads(body) == {"error": "unauthorized"}
    status, body = fetch(local_host, echo.url + "/private", ("scraper", "wrong"))
    assert status == 401


def test_fetch_script_sends_basic_auth(local_host, echo):
    status, body = fetch(local_host, echo.url + "/private", ("scraper", "pw"))
    assert status == 200
    assert json.loads(body)["method"] == "GET"


def test_fetch_script_posts_the_body_with_its_headers(local_host, echo):
    status, body = fetch(local_host, echo.url + "/webhook", method="POST", data=json.dumps({"alerts": [1]}),
                         headers={"Content-Type": "application/json"})
    assert status == 200
    answer = json.loads(body)
    assert (answer["method"], answer["body"], answer["content_type"]) == ("POST", {"alerts": [1]}, "application/json")
    assert [r.method for r in echo.requests] == ["POST"]


def test_fetch_script_verifies_tls_with_the_given_ca(local_host, tmp_path):
    trusted_dir, other_dir = tmp_path / "trusted", tmp_path / "other"
    trusted_dir.mkdir()
    other_dir.mkdir()
    context, cert = self_signed_context(str(trusted_dir))
    other_cert = self_signed_context(str(other_dir))[1]
    server = Echo().start(ssl_context=context)
    try:
        assert server.url.startswith("https://")
        status, body = fetch(local_host, server.url + "/private", ("scraper", "pw"), cafile=cert)
        assert status == 200 and json.loads(body)["path"] == "/private"
        with pytest.raises(AssertionError, match="CERTIFICATE_VERIFY_FAILED"):
            fetch(local_host, server.url + "/private", ("scraper", "pw"), cafile=other_cert)
    finally:
        server.stop()


def test_host_yaml_reads_the_file_with_the_hosts_python(local_host, tmp_path):
    path = tmp_path / "prometheus.yml"
    path.write_text("scrape_configs:\n  - job_name: node\n    static_configs: [{targets: ['a:9100']}]\n")
    assert host_yaml(local_host, str(path)) == {"scrape_configs": [{"job_name": "node",
                                                                    "static_configs": [{"targets": ["a:9100"]}]}]}


def test_host_ini_reads_top_level_keys_sections_and_literal_percent():
    host = FakeHost("instance_name = vigil\n[security]\nadmin_password = \"\"\"a%b#c\"\"\"\n[server]\nprotocol = https\n")
    conf = host_ini(host, "/etc/grafana/grafana.ini")
    assert host.calls == [("file", ("/etc/grafana/grafana.ini",))]
    assert conf.get("__top__", "instance_name") == "vigil"
    assert conf.get("security", "admin_password") == '"""a%b#c"""'
    assert conf.get("server", "protocol") == "https"


def test_host_ini_refuses_a_key_written_twice():
    with pytest.raises(configparser.DuplicateOptionError):
        host_ini(FakeHost("[server]\nprotocol = http\nprotocol = https\n"), "/etc/grafana/grafana.ini")


# ----------------------------------------------------------------------- prom_samples


def test_prom_samples_reads_what_the_reference_client_writes():
    registry = CollectorRegistry()
    info = Gauge("vigil_demo_info", "Labels that need escaping.", ["path", "quote"], registry=registry)
    info.labels(path="C:\\dir\\", quote='say "hi"\nbye').set(1)
    requests = Counter("vigil_demo_requests", "No labels.", registry=registry)
    requests.inc(3)
    latency = Histogram("vigil_demo_seconds", "Buckets.", buckets=(0.5, 1.0), registry=registry)
    latency.observe(0.7)
    text = generate_latest(registry).decode()
    assert '# TYPE vigil_demo_info gauge' in text and '\\"hi\\"' in text  # the escaping under test is there

    samples = prom_samples(text)
    assert not [s for s in samples if s.name.startswith("#")]
    assert prom_value(samples, "vigil_demo_info", path="C:\\dir\\", quote='say "hi"\nbye') == 1
    assert prom_value(samples, "vigil_demo_requests_total") == 3
    assert prom_value(samples, "vigil_demo_seconds_bucket", le="0.5") == 0
    assert prom_value(samples, "vigil_demo_seconds_bucket", le="+Inf") == 1
    assert prom_value(samples, "vigil_demo_seconds_sum") == pytest.approx(0.7)
    name, labels, value = samples[[s.name for s in samples].index("vigil_demo_info")]
    assert (name, labels, value) == ("vigil_demo_info", {"path": "C:\\dir\\", "quote": 'say "hi"\nbye'}, 1.0)


EXPOSITION = """\
# HELP probe_success Displays whether or not the probe was a success
# TYPE probe_success gauge
probe_success 1
probe_http_duration_seconds{phase="connect"} 0.000123
ifOperStatus{ifAlias="",ifDescr="uplink0",ifIndex="3",ifName="uplink0"} 1

http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{path="/a,b}",code="400",} 3
rpc_duration_seconds{quantile="0.99"} NaN
vigil_limit{name="memory"} +Inf
# a comment that looks like a sample 1
"""


def test_prom_samples_of_a_text_with_comments_timestamps_and_odd_labels():
    samples = prom_samples(EXPOSITION)
    assert [s.name for s in samples] == ["probe_success", "probe_http_duration_seconds", "ifOperStatus",
                                         "http_requests_total", "http_requests_total", "rpc_duration_seconds",
                                         "vigil_limit"]
    assert samples[0] == ("probe_success", {}, 1.0)
    assert samples[2].labels == {"ifAlias": "", "ifDescr": "uplink0", "ifIndex": "3", "ifName": "uplink0"}
    assert prom_value(samples, "http_requests_total", method="post", code="200") == 1027  # timestamp dropped
    assert prom_value(samples, "http_requests_total", path="/a,b}", code="400") == 3
    assert prom_value(samples, "vigil_limit", name="memory") == float("inf")  # a label called "name" works
    assert samples[5].value != samples[5].value  # NaN


def test_prom_value_wants_exactly_the_labels_given():
    samples = prom_samples(EXPOSITION)
    assert prom_value(samples, "probe_http_duration_seconds") is None
    assert prom_value(samples, "probe_http_duration_seconds", phase="connect") == pytest.approx(0.000123)
    assert prom_value(samples, "http_requests_total", method="post") is None
    assert prom_value(samples, "probe_success", job="x") is None
    assert prom_value(samples, "absent") is None


# ------------------------------------------------------------------------- host names


def test_platform_names_follow_the_molecule_prefix(monkeypatch):
    monkeypatch.delenv("VIGIL_MOLECULE_PREFIX", raising=False)
    assert platform_name("deb12") == "vigil-deb12"
    monkeypatch.setenv("VIGIL_MOLECULE_PREFIX", "vigil-me-2")
    assert platform_name("deb13") == "vigil-me-2-deb13"


def test_sibling_and_is_deb12_keep_a_prefix_with_dashes():
    host = FakeHost("", name="vigil-me-2-deb12")
    assert sibling(host, "deb13") == "vigil-me-2-deb13"
    assert sibling(host, "deb12") == "vigil-me-2-deb12"
    assert is_deb12(host)
    assert not is_deb12(FakeHost("", name="vigil-me-2-deb13"))
    assert not is_deb12(FakeHost("", name="vigil-xdeb12x"))


def test_scenario_host_uses_the_inventory_directory_molecule_wrote(monkeypatch):
    monkeypatch.setenv("MOLECULE_INVENTORY_FILE", "/tmp/molecule/x/inventory/ansible_inventory.yml")
    host = FakeHost("")
    assert scenario_host(host, "vigil-deb13") == "host:ansible://vigil-deb13"
    assert host.got == [("ansible://vigil-deb13", {"ansible_inventory": "/tmp/molecule/x/inventory"})]


# ------------------------------------------------------------------ scenario test modules


def test_every_scenario_test_module_imports_and_collects():
    """The library import of every scenario's tests works now, not after its converge.

    One pytest run collects every scenario's tests (``--hosts=local://``: no inventory
    needed; importlib mode: the scenarios share file names).
    """
    assert SCENARIO_TESTS, "no scenario tests found"
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "--import-mode=importlib",
         "--hosts=local://"] + [str(p.parent) for p in SCENARIO_TESTS],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    collected = {line.split("::", 1)[0] for line in out.stdout.splitlines() if "::" in line}
    assert collected == {str(p.relative_to(ROOT)) for p in SCENARIO_TESTS}


def _pytest_config_in(directory: Path) -> bool:
    """Whether pytest would take this directory as rootdir (its documented config files)."""
    if (directory / "pytest.ini").exists() or (directory / ".pytest.ini").exists():
        return True
    checks = {"pyproject.toml": "[tool.pytest.ini_options]", "tox.ini": "[pytest]", "setup.cfg": "[tool:pytest]"}
    return any((directory / name).exists() and marker in (directory / name).read_text(encoding="utf-8")
               for name, marker in checks.items())


@pytest.mark.parametrize("test_file", SCENARIO_TESTS, ids=lambda p: str(p.relative_to(ROOT).parent.parent))
def test_molecule_verifier_finds_the_repository_configuration(test_file):
    """Molecule runs ``pytest <options> <scenario>/tests/test_*.py`` from the scenario directory:
    pytest takes the first ancestor of the tests with a configuration file as rootdir and
    reads ``pythonpath`` there. That must be the repository's pyproject.toml, or
    ``import vigil_testinfra`` fails in the verifier."""
    found = next(d for d in test_file.parents if _pytest_config_in(d) or d == ROOT.parent)
    assert found == ROOT
    pythonpath = [line for line in (ROOT / "pyproject.toml").read_text().splitlines() if line.startswith("pythonpath")]
    assert pythonpath and '"tests/molecule"' in pythonpath[0]
