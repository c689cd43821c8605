"""custom_exporter reading the lab firewall API and a command, plain HTTP on 9877."""

import json
import re

import pytest
import yaml
from vigil_testinfra import eventually, fetch, platform_name, prom_samples, scenario_host
from vigil_testinfra import prom_value as sample

SERVICE = "vigil-custom-exporter"
URL = "http://127.0.0.1:9877/metrics"
FIREWALL_HOST = platform_name("deb12")
STATUS_FILE = "/etc/fake-firewall/status.json"


def scrape(host):
    """The exporter's /metrics as [(name, {label: value}, value)]."""
    status, body = fetch(host, URL)
    assert status == 200, body
    return prom_samples(body)


def main_pid(host):
    return int(host.check_output(f"systemctl show -p MainPID --value {SERVICE}"))


@pytest.fixture(scope="module")
def firewall(host):
    """The lab host that serves the fake firewall API."""
    return scenario_host(host, FIREWALL_HOST)


@pytest.fixture
def firewall_status(firewall):
    """Set the fake firewall's values for one test; the lab defaults come back afterwards."""

    def _set(document):
        firewall.check_output("printf '%%s\\n' %s > %s", json.dumps(document), STATUS_FILE)

    yield _set
    _set({})


def test_service_runs_and_is_enabled(host):
    svc = host.service(SERVICE)
    assert svc.is_running
    assert svc.is_enabled


def test_service_runs_as_its_own_user(host):
    assert host.check_output("ps -o user= -p %s", str(main_pid(host))).strip() == "vigil-exporter"
    user = host.user("vigil-exporter")
    assert user.shell == "/usr/sbin/nologin"
    assert user.group == "vigil-exporter"


def test_listens_on_9877(host):
    assert host.socket("tcp://0.0.0.0:9877").is_listening


def test_firewall_value_is_exported(host):
    metrics = scrape(host)
    assert sample(metrics, "vigil_custom_source_up", source="firewall") == 1
    assert sample(metrics, "vigil_firewall_vpn_active_sessions") == 42


def test_command_source_is_exported(host):
    metrics = scrape(host)
    assert sample(metrics, "vigil_custom_source_up", source="cpus") == 1
    assert sample(metrics, "vigil_lab_cpus") == int(host.check_output("nproc"))


def test_gauge_follows_the_firewall(host, firewall_status):
    firewall_status({"vpn": {"active_sessions": 7}})
    assert sample(scrape(host), "vigil_firewall_vpn_active_sessions") == 7
    firewall_status({"vpn": {"active_sessions": 0}})
    assert sample(scrape(host), "vigil_firewall_vpn_active_sessions") == 0


def test_firewall_down_gives_up_0_and_the_exporter_keeps_serving(host, firewall):
    pid = main_pid(host)
    firewall.check_output("systemctl stop fake-firewall")
    try:
        metrics = scrape(host)
        assert sample(metrics, "vigil_custom_source_up", source="firewall") == 0
        assert sample(metrics, "vigil_firewall_vpn_active_sessions") is None
        assert sample(metrics, "vigil_custom_source_up", source="cpus") == 1
        assert sample(metrics, "vigil_custom_source_errors_total", source="firewall", reason="connection") >= 1
        assert host.service(SERVICE).is_running
        assert main_pid(host) == pid
    finally:
        firewall.check_output("systemctl start fake-firewall")
    back = eventually(lambda: sample(scrape(host), "vigil_custom_source_up", source="firewall") == 1,
                      timeout=20, step=1)
    assert back, "the firewall source did not come back up after the fake firewall restarted"


def test_configuration_is_private_to_the_service(host):
    config = host.file("/etc/vigil/custom_exporter/config.yml")
    assert (config.user, config.group, config.mode) == ("root", "vigil-exporter", 0o640)
    directory = host.file("/etc/vigil/custom_exporter")
    assert (directory.user, directory.group, directory.mode) == ("root", "vigil-exporter", 0o750)
    data = yaml.safe_load(config.content_string)
    assert data["listen_address"] == "0.0.0.0:9877"
    assert data["web_config_file"] == "/etc/vigil/custom_exporter/web-config.yml"
    assert [s["name"] for s in data["sources"]] == ["firewall", "cpus"]


def test_configuration_passes_the_exporters_own_check(host):
    out = host.check_output(
        "/opt/vigil/custom_exporter/venv/bin/vigil-custom-exporter "
        "--config.check --config.file=/etc/vigil/custom_exporter/config.yml 2>&1")
    assert "config OK" in out and "2 sources, 2 metrics" in out


def test_the_package_is_installed_from_its_wheel_and_shows_its_version(host):
    """The venv holds the package (no single-file program any more); the unit names its version."""
    version = host.check_output("/opt/vigil/custom_exporter/venv/bin/vigil-custom-exporter --version")
    match = re.fullmatch(r"vigil_custom_exporter (\d+\.\d+\.\d+)", version.strip())
    assert match, version
    installed = host.check_output("/opt/vigil/custom_exporter/venv/bin/python -c %s",
                                  "import importlib.metadata as m; print(m.version('vigil-custom-exporter'))")
    assert installed.strip() == match.group(1)
    unit = host.file(f"/etc/systemd/system/{SERVICE}.service").content_string
    assert f"Description=Vigil custom exporter {match.group(1)} " in unit
    marker = host.file("/opt/vigil/custom_exporter/venv/vigil-custom-exporter.wheel.sha256")
    assert re.fullmatch(r"[0-9a-f]{64}\n", marker.content_string)
    assert f"sha256:{marker.content_string.strip()}" in unit
    assert not host.file("/opt/vigil/custom_exporter/vigil_custom_exporter.py").exists
    assert host.run("ls /opt/vigil/custom_exporter/*.whl").rc != 0  # the copied wheel is removed
    build_info = [(labels, value) for name, labels, value in scrape(host) if name == "vigil_custom_exporter_build_info"]
    assert build_info and build_info[0][0].get("version") == match.group(1), build_info


def test_venv_holds_the_pinned_dependencies_without_bcrypt(host):
    freeze = host.check_output("/opt/vigil/custom_exporter/venv/bin/python -m pip freeze")
    for pin in ("prometheus_client==0.26.0", "jmespath==1.1.0"):
        assert pin in freeze.replace("prometheus-client", "prometheus_client")
    assert "PyYAML==6.0.4" in freeze or "pyyaml==6.0.4" in freeze.lower()
    assert "bcrypt" not in freeze.lower()


def test_unit_is_hardened_and_reloads_with_sighup(host):
    unit = host.file(f"/etc/systemd/system/{SERVICE}.service").content_string
    for line in ("Type=notify", "User=vigil-exporter", "NoNewPrivileges=yes", "ProtectSystem=strict",
                 "PrivateTmp=yes", "ProtectHome=yes", "ReadOnlyPaths=/", "CapabilityBoundingSet=",
                 "ExecReload=/bin/kill -HUP $MAINPID"):
        assert line in unit
    assert "--config.file=/etc/vigil/custom_exporter/config.yml" in unit


def test_the_running_service_is_sandboxed(host):
    pid = main_pid(host)
    status = host.file(f"/proc/{pid}/status").content_string
    assert "NoNewPrivs:\t1" in status
    assert "CapEff:\t0000000000000000" in status
    # ProtectSystem=strict: inside the service's mount namespace /etc and /opt are read-only.
    for path in ("/etc/vigil/custom_exporter/probe", "/opt/vigil/custom_exporter/probe"):
        assert host.run("nsenter -t %s -m touch %s", str(pid), path).rc != 0
        assert not host.file(path).exists


def test_web_config_is_empty_plain_http(host):
    web = host.file("/etc/vigil/custom_exporter/web-config.yml")
    assert (web.user, web.group, web.mode) == ("root", "vigil-exporter", 0o640)
    assert yaml.safe_load(web.content_string) == {}


def test_registered_in_the_prometheus_file_sd(host, firewall):
    groups = yaml.safe_load(firewall.file("/etc/prometheus/file_sd/custom.yml").content_string)
    me = host.backend.get_hostname()
    entries = [g for g in groups if g["targets"] == [f"{me}:9877"]]
    assert len(entries) == 1, groups
    assert entries[0]["labels"] == {"role": "custom", "os": "linux", "instance": me, "scheme": "http"}
