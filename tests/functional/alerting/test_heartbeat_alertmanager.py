"""The dead man's switch in a real Alertmanager (Debian's 0.25 binary) with the generated routing.

The routing comes from ``alertmanager_routing`` on the shipped catalog and the sample
teams, with a heartbeat channel to a loopback recorder and a short heartbeat timing. The
test plays Prometheus: it re-sends the firing Watchdog (and a firing HostDown and a
critical alert of the same instance) as Prometheus does, and checks that heartbeats
arrive at the configured interval, alone in their notification, never inhibited, and
stop once nothing re-sends the Watchdog (Prometheus down) after its endsAt.
"""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from alertmanager_process import Recorder, running_alertmanager
from alerting_support import alertmanager_config, effective_catalog, load_sample_teams
from ansible_collections.vigil.monitoring.plugins.filter import alert_catalog as ac

INTERVAL = 4  # heartbeat group_interval, seconds
TIMING = {"group_wait": "0s", "group_interval": "%ds" % INTERVAL, "repeat_interval": "%ds" % (INTERVAL - 1)}


@pytest.fixture
def recorder():
    rec = Recorder().start()
    yield rec
    rec.stop()


def prometheus_alert(name, labels, ends_in):
    ends = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=ends_in)
    return {"labels": dict(labels, alertname=name), "endsAt": ends.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}


def test_heartbeats_arrive_alone_every_interval_and_stop_when_prometheus_stops(recorder, tmp_path):
    catalog = effective_catalog()
    teams = load_sample_teams()
    routing = ac.alertmanager_routing(
        catalog,
        teams["alertmanager_teams"],
        triage_channels=[{"type": "webhook", "url": recorder.url + "/triage"}],
        heartbeat={"type": "webhook", "url": recorder.url + "/heartbeat"},
        heartbeat_timing=TIMING,
    )
    watchdog = next(e for e in catalog if e["name"] == "Watchdog")
    labels = {"severity": watchdog["severity"], "team": watchdog["owner"], "instance": "prom1:9090"}
    with running_alertmanager(alertmanager_config(routing), tmp_path) as am:
        start = time.monotonic()
        # Prometheus re-sends firing alerts (here every 2s, endsAt 6s ahead) for ~16s. A HostDown
        # and a critical alert on the same instance fire too: they must not silence the Watchdog.
        while time.monotonic() - start < 4 * INTERVAL:
            am.post_raw(
                json.dumps(
                    [
                        prometheus_alert("Watchdog", labels, 6),
                        prometheus_alert("HostDown", {"severity": "critical", "team": "infra", "instance": "prom1:9090"}, 6),
                        prometheus_alert("Bad", {"severity": "critical", "team": "infra", "instance": "prom1:9090"}, 6),
                    ]
                )
            )
            time.sleep(2)
        stopped = time.monotonic()
        (state,) = am.alerts("Watchdog")
        assert state["status"]["state"] == "active", state["status"]
        assert state["status"]["inhibitedBy"] == []
        # Prometheus is "down": nothing re-sends. The Watchdog ends 6s later, heartbeats stop.
        time.sleep(6 + 2 * INTERVAL)
        beats = recorder.notifications("/heartbeat")

    times = [b["time"] - start for b in beats]
    sent_while_up = [t for t in times if t <= stopped - start + 6 + INTERVAL]
    assert len(sent_while_up) >= 4, times
    gaps = [b - a for a, b in zip(sent_while_up, sent_while_up[1:])]
    assert all(INTERVAL - 1 <= gap <= INTERVAL + 1 for gap in gaps), gaps
    assert all(t <= stopped - start + 6 + INTERVAL + 1 for t in times), "heartbeats went on after the Watchdog ended"
    for beat in beats:
        assert beat["body"]["status"] == "firing"  # never a resolved "heartbeat"
        assert [a["labels"]["alertname"] for a in beat["body"]["alerts"]] == ["Watchdog"]
    assert {r["path"] for r in recorder.records} >= {"/heartbeat"}
