"""snmp_exporter polling a real SNMP agent (Debian's snmpd) with v2c and v3.

deb12: the device (snmpd on UDP 161 and 1161, veth uplink0) and the exporter from Debian 12's
package (0.21, legacy snmp.yml, plain HTTP). deb13: the exporter from a release tarball (0.28,
auths layout, TLS + basic auth) and the Prometheus stand-in holding the file_sd files.
"""

import re
import urllib.parse

import pytest
import yaml
from vigil_testinfra import eventually, fetch, hostname, is_deb12, prom_samples, scenario_host, sibling

testinfra_hosts = ["snmp_exporter"]

SERVICE = "prometheus-snmp-exporter"
CONFIG = "/etc/prometheus/snmp.yml"
AUTH = ("prometheus", "VIGIL-MARKER-snmp-exporter-password")
SECRETS = ("VIGIL-MARKER-snmp-community", "VIGIL-MARKER-snmp-auth", "VIGIL-MARKER-snmp-priv",
           "VIGIL-MARKER-snmp-exporter-password")
V2C, V3 = "lab-switch-v2c", "lab-switch-v3"


def base(host, exporter=None):
    """URL of an exporter: deb12's over plain HTTP, deb13's over TLS (its certificate names it)."""
    exporter = exporter or hostname(host)
    if exporter.endswith("deb12"):
        return "http://127.0.0.1:9116" if exporter == hostname(host) else "http://%s:9116" % exporter
    return "https://%s:9116" % ("localhost" if exporter == hostname(host) else exporter)


def auth_for(url):
    return AUTH if url.startswith("https") else None


def device_params(exporter, device):
    """The URL parameters Prometheus sends for a device: legacy = one module per device."""
    if exporter.endswith("deb12"):
        return {"module": device}
    modules = "if_mib,system,host_resources,uplinks@%s" % V2C if device == V2C else "if_mib,system"
    return {"module": modules, "auth": device}


def scrape(host, device, exporter=None, port=161):
    exporter = exporter or hostname(host)
    url = base(host, exporter)
    query = dict(device_params(exporter, device), target="%s:%d" % (sibling(host, "deb12"), port))
    status, body = fetch(host, url + "/snmp?" + urllib.parse.urlencode(query), auth_for(url))
    assert status == 200, body[:2000]
    return prom_samples(body)


def by_interface(found, metric):
    return {labels["ifName"]: value for m, labels, value in found if m == metric}


# -- install, files, service ----------------------------------------------------------


def test_package_on_debian_12_binary_from_the_tarball_on_debian_13(host):
    unit = host.file("/etc/systemd/system/%s.service" % SERVICE).content_string
    if is_deb12(host):
        assert host.package("prometheus-snmp-exporter").version.startswith("0.21")
        assert "ExecStart=/usr/bin/prometheus-snmp-exporter" in unit
    else:
        assert not host.package("prometheus-snmp-exporter").is_installed
        assert host.file("/opt/vigil/snmp_exporter-0.28.0.linux-amd64/snmp_exporter").exists
        assert host.file("/usr/local/bin/snmp_exporter").mode == 0o755
        assert "ExecStart=/usr/local/bin/snmp_exporter" in unit


def test_snmp_yml_layout_follows_the_installed_version(host):
    with host.sudo():
        config = yaml.safe_load(host.file(CONFIG).content_string)
    if is_deb12(host):
        # 0.21: one module per device, the credentials inside it.
        assert set(config) == {V2C, V3}
        assert config[V2C]["version"] == 2 and config[V2C]["auth"]["community"] == SECRETS[0]
        assert config[V3]["version"] == 3
        assert config[V3]["auth"]["security_level"] == "authPriv"
        assert {"ifOperStatus", "sysUpTime", "hrStorageUsed", "vigil_snmp_uplink_info"} <= {
            m["name"] for m in config[V2C]["metrics"]}
    else:
        # 0.28: auths apart from modules, one auth per device.
        assert set(config) == {"auths", "modules"}
        assert set(config["auths"]) == {V2C, V3}
        assert config["auths"][V3]["priv_protocol"] == "AES" and config["auths"][V3]["auth_protocol"] == "SHA"
        assert {"if_mib", "system", "host_resources", "cisco_cpu_mem", "uplinks@" + V2C} == set(config["modules"])


def test_snmp_yml_is_0640_root_prometheus_and_passes_the_exporters_check(host):
    config = host.file(CONFIG)
    assert (config.user, config.group, config.mode) == ("root", "prometheus", 0o640)
    binary = "/usr/bin/prometheus-snmp-exporter" if is_deb12(host) else "/usr/local/bin/snmp_exporter"
    with host.sudo():
        check = host.run("%s --dry-run --config.file=%s", binary, CONFIG)
    assert check.rc == 0, check.stderr


def test_service_runs_unprivileged_without_capabilities(host):
    assert host.service(SERVICE).is_running
    assert host.service(SERVICE).is_enabled
    assert host.socket("tcp://0.0.0.0:9116").is_listening
    pid = host.check_output("systemctl show -p MainPID --value %s", SERVICE)
    status = host.file("/proc/%s/status" % pid).content_string
    assert re.search(r"^CapEff:\s+0+$", status, re.M), status
    assert host.check_output("ps -o user= -p %s", pid) == "prometheus"
    unit = host.file("/etc/systemd/system/%s.service" % SERVICE).content_string
    for setting in ("NoNewPrivileges=yes", "ProtectSystem=strict", "CapabilityBoundingSet=\n", "PrivateTmp=yes"):
        assert setting in unit


# -- the device, polled for real ----------------------------------------------------------


@pytest.fixture
def device(host):
    """The SNMP agent's container (deb12), from whichever exporter host runs the test."""
    if is_deb12(host):
        return host
    return scenario_host(host, sibling(host, "deb12"))


def test_every_interface_of_the_device_has_its_oper_status_with_its_name(host, device):
    found = scrape(host, V2C)
    oper = by_interface(found, "ifOperStatus")
    links = set(re.findall(r"^\d+: ([^:@]+)", device.check_output("ip -o link"), re.M))
    assert {"lo", "eth0", "uplink0", "uplink0-peer"} <= links
    assert set(oper) == links, (oper, links)
    assert oper["uplink0"] == 1 and oper["lo"] == 1
    assert set(by_interface(found, "ifAdminStatus")) == links
    assert {"ifHCInOctets", "ifHCOutOctets", "ifInErrors", "ifOutErrors", "ifInDiscards", "ifOutDiscards",
            "ifHighSpeed"} <= {m for m, _labels, _value in found}
    assert by_interface(found, "ifHCInOctets")["eth0"] > 0
    # Each interface series carries the lookups: ifName, ifDescr, ifAlias.
    labels = next(lab for m, lab, _v in found if m == "ifOperStatus" and lab["ifName"] == "uplink0")
    assert set(labels) == {"ifIndex", "ifName", "ifDescr", "ifAlias"}


def test_system_and_host_resources_of_the_v2c_device(host, device):
    found = scrape(host, V2C)
    names = {m: (labels, value) for m, labels, value in found}
    assert names["sysUpTime"][1] > 0
    assert names["sysName"][0]["sysName"] == device.check_output("hostname")
    assert names["sysLocation"][0]["sysLocation"] == "Vigil lab"
    assert names["hrSystemUptime"][1] > 0
    storage = {labels["hrStorageDescr"] for m, labels, _v in found if m == "hrStorageSize"}
    assert "Physical memory" in storage
    assert any(m == "hrProcessorLoad" for m, _l, _v in found)


def test_only_the_inventory_uplink_is_marked(host):
    marked = {labels["ifName"]: value for m, labels, value in scrape(host, V2C) if m == "vigil_snmp_uplink_info"}
    assert marked == {"uplink0": 1}


def test_snmpv3_authpriv_device_on_its_own_port(host):
    found = scrape(host, V3, port=1161)
    assert "uplink0" in by_interface(found, "ifOperStatus")
    assert any(m == "sysUpTime" and value > 0 for m, _l, value in found)
    # SNMPv3 user, not the community: the v3 device's parameters carry no community.
    with host.sudo():
        config = yaml.safe_load(host.file(CONFIG).content_string)
    auth = config[V3]["auth"] if is_deb12(host) else config["auths"][V3]
    assert "community" not in auth and auth["username"] == "vigil-lab"


def test_the_other_exporter_polls_the_same_device_across_the_network(host):
    # deb13's exporter (0.28, TLS) reaches deb12's snmpd over the lab network.
    other = sibling(host, "deb13" if is_deb12(host) else "deb12")
    oper = by_interface(scrape(host, V2C, exporter=other), "ifOperStatus")
    assert oper.get("uplink0") == 1


def test_an_unreachable_device_fails_the_scrape(host):
    # Nothing listens on 1162: the exporter answers 500, so Prometheus records up 0.
    url = base(host)
    query = dict(device_params(hostname(host), V2C), target="%s:1162" % sibling(host, "deb12"))
    status, body = fetch(host, url + "/snmp?" + urllib.parse.urlencode(query), auth_for(url))
    assert status == 500, body[:500]


def test_interface_down_inside_the_device_is_reported_by_both_exporters(host, device):
    """The uplink loses its carrier (the veth peer goes down): oper down 2, admin still up 1."""
    if not is_deb12(host):
        pytest.skip("run once, from the device's host, against both exporters")
    exporters = [hostname(host), sibling(host, "deb13")]

    def states():
        out = {}
        for exporter in exporters:
            found = scrape(host, V2C, exporter=exporter)
            out[exporter] = (by_interface(found, "ifOperStatus")["uplink0"],
                             by_interface(found, "ifAdminStatus")["uplink0"])
        return out

    assert set(states().values()) == {(1, 1)}
    device.run_test("ip link set uplink0-peer down")
    try:
        down = eventually(lambda: set(states().values()) == {(2, 1)}, timeout=30, step=2)
        assert down, states()
    finally:
        device.run_test("ip link set uplink0-peer up")
    assert eventually(lambda: set(states().values()) == {(1, 1)}, timeout=30, step=2), states()


# -- the web endpoint: TLS and basic auth on deb13 -----------------------------------------


def test_tls_and_basic_auth_guard_every_endpoint(host):
    if is_deb12(host):
        pytest.skip("deb12's exporter serves plain HTTP (the default)")
    url = "https://localhost:9116"
    for path in ("/metrics", "/config", "/snmp?" + urllib.parse.urlencode(device_params(hostname(host), V2C))):
        assert fetch(host, url + path)[0] == 401
        assert fetch(host, url + path, ("prometheus", "wrong"))[0] == 401
    assert fetch(host, url + "/metrics", AUTH)[0] == 200
    # Plain HTTP to the TLS listener: Go's server answers 400 and serves nothing.
    status, body = fetch(host, "http://localhost:9116/metrics", AUTH)
    assert status == 400 and "snmp_" not in body
    with host.sudo():
        web = host.file("/etc/prometheus/snmp-exporter/web-config.yml").content_string
    assert AUTH[1] not in web and re.search(r"prometheus: \$2[aby]\$", web)


def test_the_exporter_never_shows_the_credentials(host):
    url = base(host)
    status, body = fetch(host, url + "/config", auth_for(url))
    assert status == 200 and "<secret>" in body
    assert not [secret for secret in SECRETS if secret in body]


# -- registration: the Prometheus stand-in on deb13 ------------------------------------------


def test_every_device_is_a_file_sd_entry_of_its_exporter(host):
    if is_deb12(host):
        pytest.skip("the file_sd files are on the Prometheus host (deb13)")
    deb12, deb13 = sibling(host, "deb12"), hostname(host)
    for exporter, scheme in ((deb12, "http"), (deb13, "https")):
        path = "/etc/prometheus/file_sd/snmp-%s.yml" % exporter
        text = host.file(path).content_string
        assert not [secret for secret in SECRETS if secret in text]
        entries = {group["labels"]["instance"]: group for group in yaml.safe_load(text)}
        assert set(entries) == {V2C, V3}
        assert entries[V2C]["targets"] == ["%s:161" % deb12]
        assert entries[V3]["targets"] == ["%s:1161" % deb12]
        labels = entries[V2C]["labels"]
        params = device_params(exporter, V2C)
        assert labels == dict({"instance": V2C, "exporter": exporter, "snmp_address": "%s:9116" % exporter,
                               "scheme": scheme, "snmp_module": params["module"], "rack": "lab-r1"},
                              **({"snmp_auth": params["auth"]} if "auth" in params else {}))
    registered = yaml.safe_load(host.file("/etc/prometheus/file_sd/snmp_exporter.yml").content_string)
    assert {(g["targets"][0], g["labels"]["instance"], g["labels"]["scheme"]) for g in registered} == {
        ("%s:9116" % deb12, deb12, "http"), ("%s:9116" % deb13, deb13, "https")}
