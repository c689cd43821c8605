"""kibana_fleet_agent_policy against the Kibana fake."""

from __future__ import annotations

import pytest
from ansible_collections.vigil.monitoring.plugins.modules import kibana_fleet_agent_policy as module
from standins.elastic import FakeKibana, module_failure

NAME = "Vigil firewall collectors"
UDP = {
    "name": "vigil-firewall-syslog",
    "package": {"name": "udp", "version": "2.3.0"},
    "inputs": {
        "udp-udp": {"enabled": True, "streams": {"udp.generic": {"enabled": True, "vars": {"listen_port": 5514}}}}
    },
}


@pytest.fixture(scope="module")
def server():
    fake = FakeKibana().start()
    yield fake
    fake.stop()


@pytest.fixture
def kibana(server):
    return server.reset()


def args(kibana, **extra):
    values = {
        "url": kibana.url,
        "name": NAME,
        "namespace": "lab",
        "description": "Syslog from the firewalls",
        "retry_delay": 0,
    }
    values.update(extra)
    return values


def policy_named(kibana, name=NAME):
    return next(p for p in kibana.agent_policies.values() if p["name"] == name)


def test_create_by_name(run_module, kibana):
    result = run_module(module, args(kibana), diff=True)

    (post,) = kibana.writes()
    assert (post.method, post.path) == ("POST", "/api/fleet/agent_policies")
    assert post.body == {
        "name": NAME,
        "namespace": "lab",
        "description": "Syslog from the firewalls",
        "monitoring_enabled": ["logs", "metrics"],
    }
    assert result["changed"] is True
    assert result["id"] == policy_named(kibana)["id"]
    assert result["diff"]["before"] == {}


def test_second_run_by_name_is_a_no_op(run_module, kibana):
    run_module(module, args(kibana, monitoring_enabled=["metrics", "logs"]))
    kibana.requests.clear()

    result = run_module(module, args(kibana, monitoring_enabled=["logs", "metrics"]))

    assert result["changed"] is False
    assert kibana.writes() == []


def test_create_and_find_by_id(run_module, kibana):
    created = run_module(module, args(kibana, id="vigil-firewall"))
    kibana.requests.clear()
    again = run_module(module, args(kibana, id="vigil-firewall"))

    assert created["id"] == "vigil-firewall"
    assert ("default", "vigil-firewall") in kibana.agent_policies
    assert again["changed"] is False
    assert [r.path for r in kibana.requests] == ["/api/fleet/agent_policies/vigil-firewall"]


class _Req:
    query = {}


def test_policy_on_a_later_page_is_found(run_module, kibana):
    for index in range(130):
        kibana.create_agent_policy(
            _Req(), "default", {"id": "p-%03d" % index, "name": "filler-%03d" % index, "namespace": "default"}
        )
    # The fake lists by id: this one comes last, on page 2 of 100.
    kibana.create_agent_policy(
        _Req(),
        "default",
        {"id": "z-last", "name": NAME, "namespace": "lab", "description": "Syslog from the firewalls"},
    )
    kibana.requests.clear()

    result = run_module(module, args(kibana))

    assert result["changed"] is False
    assert result["id"] == "z-last"
    assert kibana.writes() == []
    assert [r.query.get("page") for r in kibana.calls("GET") if r.path == "/api/fleet/agent_policies"] == [["1"], ["2"]]


def test_update_with_diff(run_module, kibana):
    run_module(module, args(kibana))
    kibana.requests.clear()

    result = run_module(module, args(kibana, description="Changed", inactivity_timeout=3600), diff=True)

    (put,) = kibana.writes()
    policy_id = policy_named(kibana)["id"]
    assert (put.method, put.path) == ("PUT", "/api/fleet/agent_policies/%s" % policy_id)
    assert put.body["name"] == NAME and put.body["namespace"] == "lab"  # required by Fleet on update
    assert result["changed_fields"] == ["description", "inactivity_timeout"]
    assert result["diff"]["before"]["description"] == "Syslog from the firewalls"
    assert policy_named(kibana)["inactivity_timeout"] == 3600


def test_check_mode_create_and_update_write_nothing(run_module, kibana):
    created = run_module(module, args(kibana), check_mode=True)
    assert created["changed"] is True
    assert kibana.writes() == []

    run_module(module, args(kibana))
    kibana.requests.clear()
    updated = run_module(module, args(kibana, description="x", package_policies=[UDP]), check_mode=True)
    assert updated["changed"] is True
    assert [p["action"] for p in updated["package_policies"]] == ["created"]
    assert kibana.writes() == []


def test_delete_then_absent_is_a_no_op(run_module, kibana):
    run_module(module, args(kibana))
    policy_id = policy_named(kibana)["id"]
    kibana.requests.clear()

    checked = run_module(module, {"url": kibana.url, "name": NAME, "state": "absent"}, check_mode=True)
    deleted = run_module(module, {"url": kibana.url, "name": NAME, "state": "absent"})
    again = run_module(module, {"url": kibana.url, "name": NAME, "state": "absent"})

    assert checked["changed"] is True
    assert deleted["changed"] is True
    assert again["changed"] is False
    assert [(r.method, r.path, r.body) for r in kibana.writes()] == [
        ("POST", "/api/fleet/agent_policies/delete", {"agentPolicyId": policy_id})
    ]


def test_unknown_id_is_recognised_by_404(run_module, kibana):
    result = run_module(module, {"url": kibana.url, "id": "nope", "state": "absent"})

    assert result["changed"] is False
    assert kibana.calls("GET")[0].path == "/api/fleet/agent_policies/nope"


def test_server_error_on_read_is_not_taken_for_absence(run_module, kibana):
    kibana.fail_next(1, status=500)

    failure = module_failure(run_module, module, args(kibana, id="x", retries=0))

    assert failure["status"] == 500
    assert kibana.writes() == []


def test_package_policy_is_created_then_left_alone(run_module, kibana):
    first = run_module(module, args(kibana, package_policies=[UDP]))
    policy_id = policy_named(kibana)["id"]
    post = kibana.writes()[-1]
    kibana.requests.clear()
    second = run_module(module, args(kibana, package_policies=[UDP]))

    assert (post.method, post.path) == ("POST", "/api/fleet/package_policies")
    assert post.body == dict(UDP, policy_id=policy_id)
    assert [p["action"] for p in first["package_policies"]] == ["created"]
    assert second["changed"] is False
    assert [p["action"] for p in second["package_policies"]] == ["unchanged"]
    assert kibana.writes() == []
    assert any(r.query.get("format") == ["simplified"] for r in kibana.calls("GET"))


def test_package_policy_update_and_purge(run_module, kibana):
    run_module(module, args(kibana, sys_monitoring=True, package_policies=[UDP]))
    kibana.requests.clear()
    changed = dict(
        UDP,
        inputs={
            "udp-udp": {"enabled": True, "streams": {"udp.generic": {"enabled": True, "vars": {"listen_port": 6514}}}}
        },
    )

    result = run_module(module, args(kibana, package_policies=[changed], purge_package_policies=True), diff=True)

    actions = {p["name"]: p["action"] for p in result["package_policies"]}
    assert actions == {"vigil-firewall-syslog": "updated", "system-1": "deleted"}
    assert sorted(r.method for r in kibana.writes()) == ["DELETE", "PUT"]
    assert result["diff"]["before"]["package_policies"] == ["system-1", "vigil-firewall-syslog"]
    assert result["diff"]["after"]["package_policies"] == ["vigil-firewall-syslog"]
    assert [pp["name"] for pp in kibana.package_policies.values()] == ["vigil-firewall-syslog"]


@pytest.mark.parametrize(
    "items, fragment",
    [
        ([{"package": {"name": "udp", "version": "1"}}], "package_policies[0].name is required"),
        ([{"name": "x", "package": {"name": "udp"}}], "package_policies[0].package must be {name: <package>, version:"),
        (
            [{"name": "x", "package": {"name": "udp", "version": "1"}, "policy_id": "y"}],
            "package_policies[0] has unknown key(s) policy_id",
        ),
    ],
)
def test_package_policy_argument_errors(run_module, kibana, items, fragment):
    failure = module_failure(run_module, module, args(kibana, package_policies=items))

    assert fragment in failure["msg"]
    assert kibana.requests == []
