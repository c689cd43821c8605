"""grafana_install_method none on a host with (a stand-in for) a pre-baked Grafana."""

CALLS = "/var/lib/grafana-standin/calls.log"


def calls(host):
    return host.file(CALLS).content_string.splitlines()


def test_the_role_started_grafana_and_left_it_running(host):
    assert host.service("grafana-server").is_running
    assert host.service("grafana-server").is_enabled


def test_the_pinned_plugin_was_installed_once(host):
    # converge installed it; idempotence, check mode and the side effect did not again.
    assert [c for c in calls(host) if c.startswith("cli ")] == ["cli install grafana-clock-panel 2.1.5"]
    assert "grafana-clock-panel @ 2.1.5" in host.check_output("/usr/sbin/grafana cli plugins ls")


def test_the_datasource_change_was_reloaded_not_restarted(host):
    # Only the side effect changed a provisioning file: exactly one reload, of that kind.
    assert [c for c in calls(host) if c.startswith("reload ")] == ["reload datasources"]
    pid_before = host.file("/var/tmp/side-effect-grafana.pid").content_string.strip()
    pid_after = host.file("/var/tmp/side-effect-grafana-after-reload.pid").content_string.strip()
    assert pid_before == pid_after and pid_before not in ("", "0")


def test_the_new_datasource_is_in_the_provisioning_file(host):
    content = host.file("/etc/grafana/provisioning/datasources/vigil.yml").content_string
    assert "vigil-loki-lab" in content
