"""kibana_fleet_package against the Kibana fake (Fleet's package manager, EPM)."""

from __future__ import annotations

import zipfile

import pytest
from ansible_collections.vigil.monitoring.plugins.modules import kibana_fleet_package as module
from standins.elastic import FakeKibana, module_failure


@pytest.fixture(scope="module")
def server():
    fake = FakeKibana().start()
    yield fake
    fake.stop()


@pytest.fixture
def kibana(server):
    return server.reset()


def args(kibana, **extra):
    values = {"url": kibana.url, "retry_delay": 0, "name": "fortinet_fortigate", "version": "1.25.6"}
    values.update(extra)
    return values


def package_file(tmp_path, name="fortinet_fortigate", version="1.25.6"):
    path = tmp_path / ("%s-%s.zip" % (name, version))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("%s-%s/manifest.yml" % (name, version), "name: %s\nversion: %s\n" % (name, version))
    return str(path)


def test_installs_the_pinned_version_from_the_registry(run_module, kibana):
    result = run_module(module, args(kibana), diff=True)

    (post,) = kibana.writes()
    assert (post.method, post.path) == ("POST", "/api/fleet/epm/packages/fortinet_fortigate/1.25.6")
    assert kibana.rejected == []
    assert kibana.packages["fortinet_fortigate"] == {"version": "1.25.6", "install_source": "registry"}
    assert result["changed"] is True
    assert result["previous_version"] is None
    assert result["package"]["version"] == "1.25.6"


def test_second_run_only_reads(run_module, kibana):
    run_module(module, args(kibana))
    kibana.requests.clear()

    result = run_module(module, args(kibana))

    assert result["changed"] is False
    assert [r.method for r in kibana.requests] == ["GET"]


def test_a_new_pin_upgrades(run_module, kibana):
    kibana.registry["fortinet_fortigate"].append("1.26.0")
    run_module(module, args(kibana))

    result = run_module(module, args(kibana, version="1.26.0"), diff=True)

    assert result["changed"] is True
    assert result["previous_version"] == "1.25.6"
    assert result["diff"]["before"]["version"] == "1.25.6" and result["diff"]["after"]["version"] == "1.26.0"
    assert kibana.packages["fortinet_fortigate"]["version"] == "1.26.0"


def test_a_downgrade_needs_force(run_module, kibana):
    kibana.registry["fortinet_fortigate"].append("1.26.0")
    run_module(module, args(kibana, version="1.26.0"))
    kibana.requests.clear()

    failed = module_failure(run_module, module, args(kibana))
    assert "downgrade needs force=true" in failed["msg"]
    assert kibana.writes() == []

    forced = run_module(module, args(kibana, force=True))
    assert forced["changed"] is True
    assert kibana.writes()[-1].body == {"force": True}
    assert kibana.packages["fortinet_fortigate"]["version"] == "1.25.6"


def test_check_mode_installs_nothing(run_module, kibana):
    result = run_module(module, args(kibana), check_mode=True)

    assert result["changed"] is True
    assert kibana.writes() == [] and kibana.packages == {}


def test_a_version_the_registry_lacks_fails_with_the_offline_hint(run_module, kibana):
    failed = module_failure(run_module, module, args(kibana, version="9.9.9"))

    assert failed["status"] == 404
    assert "xpack.fleet.registryUrl" in failed["msg"] and "src" in failed["msg"]
    assert kibana.writes() == []


def test_offline_install_from_a_package_file(run_module, kibana, tmp_path):
    src = package_file(tmp_path, version="1.30.0")

    result = run_module(module, args(kibana, version="1.30.0", src=src))
    again = run_module(module, args(kibana, version="1.30.0", src=src))

    upload = [r for r in kibana.writes() if r.path == "/api/fleet/epm/packages"]
    assert len(upload) == 1 and upload[0].headers["content-type"] == "application/zip"
    assert kibana.packages["fortinet_fortigate"] == {"version": "1.30.0", "install_source": "upload"}
    assert result["changed"] is True and again["changed"] is False


def test_a_package_file_of_another_version_is_refused_before_any_request(run_module, kibana, tmp_path):
    src = package_file(tmp_path, version="1.20.0")

    failed = module_failure(run_module, module, args(kibana, version="1.30.0", src=src))

    assert "holds no fortinet_fortigate-1.30.0/manifest.yml" in failed["msg"]
    assert kibana.requests == []


def test_absent_removes_an_unused_package(run_module, kibana):
    run_module(module, args(kibana))

    gone = run_module(module, {"url": kibana.url, "retry_delay": 0, "name": "fortinet_fortigate", "state": "absent"})
    again = run_module(module, {"url": kibana.url, "retry_delay": 0, "name": "fortinet_fortigate", "state": "absent"})

    assert gone["changed"] is True and again["changed"] is False
    assert "fortinet_fortigate" not in kibana.packages
