"""windows_exporter registration: the Windows targets in the Prometheus host's file_sd.

Only the Prometheus stand-in (group prometheus) is a real host; the Windows hosts are
inventory entries that are never contacted.
"""

import yaml

testinfra_hosts = ["ansible://prometheus"]

FILE_SD = "/etc/prometheus/file_sd/windows.yml"


def _groups(host):
    f = host.file(FILE_SD)
    assert f.exists, FILE_SD
    return yaml.safe_load(f.content_string)


def _by_target(host):
    result = {}
    for group in _groups(host):
        for target in group["targets"]:
            result[target] = group["labels"]
    return result


def test_file_sd_is_readable_by_prometheus(host):
    f = host.file(FILE_SD)
    assert f.mode == 0o644
    assert f.user == "root"


def test_first_windows_host_is_registered_with_its_labels(host):
    assert _by_target(host)["192.0.2.10:9182"] == {
        "environment": "lab",
        "instance": "win-lab-1",
        "os": "windows",
        "role": "windows",
        "scheme": "http",
        "site": "lab-site-1",
    }


def test_second_windows_host_keeps_its_own_port_site_and_scheme(host):
    assert _by_target(host)["192.0.2.11:9183"] == {
        "environment": "lab",
        "instance": "win-lab-2",
        "os": "windows",
        "role": "windows",
        "scheme": "https",
        "site": "lab-site-2",
    }


def test_decommissioned_host_was_removed_and_nothing_else_is_there(host):
    assert sorted(_by_target(host)) == ["192.0.2.10:9182", "192.0.2.11:9183"]


def test_no_other_file_sd_file_was_written(host):
    names = sorted(n for n in host.file("/etc/prometheus/file_sd").listdir() if not n.startswith("."))
    assert names == ["windows.yml", "windows.yml.lock"]
