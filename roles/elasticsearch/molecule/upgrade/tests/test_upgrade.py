"""The rolling upgrade, seen from the nodes (stand-in Elasticsearch packages, see molecule.yml).

converge upgraded 8.17.3 -> 8.17.4; side_effect made an upgrade to 8.17.5 fail on the
first node, repaired it and ran the upgrade again. Each node's stand-in logged every
start, stop and REST call with a timestamp (the containers share one clock).
"""

import json
import os

import pytest
from vigil_testinfra import scenario_host, sibling

EVENTS = "/var/log/elasticsearch/standin-events.log"
NODES = ["deb12", "deb13"]  # inventory order: the order of serial: 1


@pytest.fixture(scope="module")
def cluster(host):
    return [scenario_host(host, sibling(host, s)) for s in NODES]


@pytest.fixture(scope="module")
def side_effect_started():
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "side_effect_started")
    with open(path, encoding="utf-8") as handle:
        return float(handle.read())


def events(node):
    return [json.loads(line) for line in node.file(EVENTS).content_string.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def converge_events(cluster, side_effect_started):
    """Events of both nodes from the start of converge (the first upgrade) to the side effect."""
    merged = sorted((e for node in cluster for e in events(node)), key=lambda e: e["t"])
    upgrade_start = next(e["t"] for e in merged if e["event"] == "request" and e["method"] == "PUT")
    return [e for e in merged if upgrade_start <= e["t"] < side_effect_started]


def steps(evs, node):
    """The upgrade steps of one node, in order, as short labels."""
    out = []
    for e in evs:
        if e["node"] != node:
            continue
        if e["event"] in ("start", "stop"):
            out.append("%s %s" % (e["event"], e["version"]))
        elif e["method"] == "PUT" and e["path"] == "/_cluster/settings":
            out.append("allocation %s" % e["body"]["persistent"]["cluster.routing.allocation.enable"])
        elif e["method"] != "GET" or e["path"] != "/":
            out.append("%s %s" % (e["method"], e["path"]))
    return out


def collapse(labels):
    """Repeated polls (the bounded waits) count once."""
    return [label for i, label in enumerate(labels) if i == 0 or labels[i - 1] != label]


PROCEDURE = [
    "allocation primaries",
    "POST /_flush",
    "stop 8.17.3",
    "start 8.17.4",
    "GET /_cat/nodes",
    "GET /_cluster/settings",
    "allocation None",
    "GET /_cluster/health",
]


def test_each_node_followed_the_documented_procedure(host, converge_events):
    for suffix in NODES:
        name = sibling(host, suffix)
        assert collapse(steps(converge_events, name))[: len(PROCEDURE)] == PROCEDURE, name


def test_only_one_node_was_down_at_a_time(host, converge_events):
    first, second = (sibling(host, s) for s in NODES)

    def at(node, kind, version):
        return next(e["t"] for e in converge_events if e["node"] == node and e["event"] == kind and e["version"] == version)

    # The second node stopped only after the first was back, had allocation re-enabled and
    # the cluster health had been read on it.
    first_health = max(e["t"] for e in converge_events if e["node"] == first and e.get("path") == "/_cluster/health")
    assert at(first, "stop", "8.17.3") < at(first, "start", "8.17.4") < first_health < at(second, "stop", "8.17.3")


def test_allocation_was_restricted_while_each_node_was_away(host, converge_events):
    for suffix in NODES:
        name = sibling(host, suffix)
        mine = [e for e in converge_events if e["node"] == name]
        stop = next(e["t"] for e in mine if e["event"] == "stop")
        puts = [e for e in mine if e.get("method") == "PUT"]
        assert [p["body"]["persistent"]["cluster.routing.allocation.enable"] for p in puts] == ["primaries", None]
        assert puts[0]["t"] < stop < puts[1]["t"]


def test_the_rerun_and_check_mode_only_read(host, converge_events):
    # idempotence and check ran the upgrade twice more before the side effect: each only
    # read the allocation setting (GET / is not in the steps).
    for suffix in NODES:
        name = sibling(host, suffix)
        assert steps(converge_events, name)[-2:] == ["GET /_cluster/settings", "GET /_cluster/settings"], name
        assert collapse(steps(converge_events, name))[len(PROCEDURE) :] == ["GET /_cluster/settings"], name


def test_every_node_ends_on_the_last_target_held_and_running(cluster):
    for node in cluster:
        assert node.check_output("dpkg-query -W -f '${Version} ${Status}' elasticsearch") == "8.17.5 hold ok installed"
        assert node.service("elasticsearch").is_running
        assert events(node)[-1]["version"] == "8.17.5"


def test_allocation_is_enabled_again_after_the_interrupted_upgrade(cluster, side_effect_started):
    first = cluster[0]
    after = [e for e in events(first) if e["t"] >= side_effect_started]
    puts = [e["body"]["persistent"]["cluster.routing.allocation.enable"] for e in after if e.get("method") == "PUT"]
    # The failed run set primaries and stopped; the run after the repair reset it.
    assert puts == ["primaries", None]
    for node in cluster:
        stored = node.file("/var/lib/elasticsearch/standin-cluster-settings.json").content_string
        assert json.loads(stored) == {}
