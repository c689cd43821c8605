"""The decisions and every guard rail, on an engine with fake firewalls and a fake clock."""

from __future__ import annotations

import json

import pytest

from responder.conftest import Clock, FakeFirewall, Rig, alert, read_audit
from vigil_responder.state import State


def events(lines):
    return [line["event"] for line in lines]


def decision(lines):
    """The one decision line of a one-alert notification (the line after 'received')."""
    assert lines[0]["event"] == "received"
    assert len(lines) == 2, lines
    return lines[1]


# ---------------------------------------------------------------- dry run


def test_dry_run_is_the_default_and_applies_nothing(make_config):
    config = make_config()  # no dry_run in the file
    firewall = FakeFirewall()
    rig = Rig(config, [firewall], Clock())
    line = decision(rig.post(alert("203.0.113.7")))
    assert line["event"] == "dry_run"
    assert line["dry_run"] is True and line["address"] == "203.0.113.7" and line["ttl"] == 20
    assert line["firewalls"] == ["fw"]
    assert firewall.calls == []
    assert rig.sample("vigil_responder_dry_run") == 1
    assert rig.sample("vigil_responder_active_blocks", mode="dry_run") == 1
    assert rig.sample("vigil_responder_active_blocks", mode="enforced") == 0
    # The simulation keeps the other guard rails honest: a repeat is "unchanged", not a second block.
    assert decision(rig.post(alert("203.0.113.7")))["event"] == "unchanged"
    rig.clock.advance(21)
    expired = rig.tick()
    assert events(expired) == ["expired"] and expired[0]["dry_run"] is True
    assert firewall.calls == []


def test_turning_dry_run_off_forgets_the_simulated_blocks(make_config):
    simulated = Rig(make_config(), [FakeFirewall()], Clock())
    simulated.post(alert("203.0.113.7"))
    firewall = FakeFirewall()
    enforcing = Rig(make_config(dry_run=False), [firewall], simulated.clock)
    enforcing.engine.startup()
    assert [b.network for b in enforcing.state] == []
    assert decision(enforcing.post(alert("203.0.113.7")))["event"] == "applied"
    assert firewall.has("203.0.113.7")


# ---------------------------------------------------------------- blocking


def test_a_firing_alert_blocks_its_address_for_the_ttl(rig):
    r = rig()
    line = decision(r.post(alert("203.0.113.7")))
    assert line["event"] == "applied"
    assert line["firewalls"] == ["fw"] and line["ttl"] == 20 and line["dry_run"] is False
    assert line["alertname"] == "BruteForceSource" and line["notification"] == 1
    assert line["expires_at"].endswith("Z")
    assert r.firewalls[0].has("203.0.113.7")
    saved = json.loads(open(r.config.state_file, encoding="utf-8").read())
    assert [b["network"] for b in saved["blocks"]] == ["203.0.113.7/32"]
    assert r.sample("vigil_responder_decisions_total", outcome="applied") == 1
    assert r.sample("vigil_responder_active_blocks", mode="enforced") == 1


def test_the_block_ends_when_its_ttl_ends(rig):
    r = rig()
    r.post(alert("203.0.113.7"))
    r.clock.advance(19)
    assert r.tick() == [] and r.firewalls[0].has("203.0.113.7")
    r.clock.advance(2)
    lines = r.tick()
    assert events(lines) == ["expired"]
    assert lines[0]["address"] == "203.0.113.7" and lines[0]["expires_at"]
    assert not r.firewalls[0].has("203.0.113.7")
    assert ("unblock", "203.0.113.7/32") in r.firewalls[0].calls
    assert r.sample("vigil_responder_expired_blocks_total") == 1


def test_a_firewall_with_native_expiry_is_only_checked(rig):
    kernel = FakeFirewall("local", native_expiry=True)
    r = rig([kernel])
    r.post(alert("2001:db8::7"))
    r.clock.advance(21)
    lines = r.tick()
    assert events(lines) == ["expired"]
    assert [c for c in kernel.calls if c[0] == "unblock"] == []


def test_under_a_second_left_on_the_firewall_is_left_to_its_timer(rig):
    # The kernel's timer started a moment after the engine's (the block took time to
    # apply): at the engine's end it lists 0 s left; deleting then would race the timer.
    kernel = FakeFirewall("local", native_expiry=True)
    r = rig([kernel])
    r.post(alert("203.0.113.7"))
    network = next(iter(kernel.entries))
    kernel.entries[network] += 0.6
    r.clock.advance(20)
    assert r.tick() == [] and kernel.has("203.0.113.7")
    r.clock.advance(1)
    assert events(r.tick()) == ["expired"]
    assert [c for c in kernel.calls if c[0] == "unblock"] == []


def test_a_block_the_firewall_still_lists_long_after_its_end_is_deleted(rig):
    kernel = FakeFirewall("local", native_expiry=True)
    r = rig([kernel])
    r.post(alert("203.0.113.7"))
    network = next(iter(kernel.entries))
    kernel.entries[network] = None  # a firewall that never lets it go: 'no timeout' listed as 0 s below
    kernel.blocked = lambda: {network: 0}  # type: ignore[method-assign]
    r.clock.advance(20)
    assert r.tick() == []
    r.clock.advance(6)
    assert events(r.tick()) == ["expired"]
    assert ("unblock", "203.0.113.7/32") in kernel.calls


def test_repeated_notifications_do_not_block_again_nor_extend(rig):
    r = rig()
    first = decision(r.post(alert("203.0.113.7")))
    r.clock.advance(10)
    again = decision(r.post(alert("203.0.113.7")))
    assert again["event"] == "unchanged"
    assert again["expires_at"] == first["expires_at"]
    assert [c for c in r.firewalls[0].calls if c[0] == "block"] == [("block", "203.0.113.7/32")]
    r.clock.advance(11)
    assert events(r.tick()) == ["expired"]


def test_extend_on_repeat_gives_a_new_ttl(rig):
    kernel = FakeFirewall("local", native_expiry=True)
    r = rig([kernel], extend_on_repeat=True)
    first = decision(r.post(alert("203.0.113.7")))
    r.clock.advance(10)
    again = decision(r.post(alert("203.0.113.7")))
    assert again["event"] == "extended" and again["expires_at"] > first["expires_at"]
    assert ("extend", "203.0.113.7/32") in kernel.calls
    r.clock.advance(15)
    assert r.tick() == [] and kernel.has("203.0.113.7")


def test_resolved_does_not_unblock_early(rig):
    r = rig()
    r.post(alert("203.0.113.7"))
    line = decision(r.post(alert("203.0.113.7", status="resolved"), status="resolved"))
    assert line["event"] == "kept" and "unblock_on_resolved: false" in line["detail"]
    assert r.firewalls[0].has("203.0.113.7")
    assert decision(r.post(alert("198.51.100.9", status="resolved")))["event"] == "ignored"


def test_resolved_unblocks_when_configured(rig):
    r = rig(unblock_on_resolved=True)
    r.post(alert("203.0.113.7"))
    assert decision(r.post(alert("203.0.113.7", status="resolved")))["event"] == "unblocked"
    assert not r.firewalls[0].has("203.0.113.7")
    assert r.tick() == []  # nothing left to expire


# ---------------------------------------------------------------- guard rails


@pytest.mark.parametrize("address,reason", [
    ("10.20.30.40", "allowlisted"),
    ("192.0.2.100", "allowlisted"),
    ("::ffff:10.1.1.1", "allowlisted"),
    ("127.0.0.1", "special_address"),
    ("fe80::1", "special_address"),
    ("203.0.113.0/24", "network_too_wide"),
    ("203.0.113.7 ", "invalid_address"),
    ("attacker.example.org", "invalid_address"),
])
def test_addresses_that_must_not_be_blocked_are_refused(rig, address, reason):
    r = rig()
    line = decision(r.post(alert(address)))
    assert line["event"] == "refused" and line["reason"] == reason
    assert r.firewalls[0].calls == []
    assert r.sample("vigil_responder_refusals_total", reason=reason) == 1


def test_networks_are_accepted_down_to_the_configured_prefix(rig):
    r = rig(min_prefix={"ipv4": 24})
    assert decision(r.post(alert("203.0.113.0/24")))["event"] == "applied"
    assert r.firewalls[0].has("203.0.113.0/24")
    assert decision(r.post(alert("10.0.0.0/24")))["reason"] == "allowlisted"


def test_the_number_of_active_blocks_is_bounded(rig):
    r = rig(max_active_blocks=2)
    assert decision(r.post(alert("203.0.113.1")))["event"] == "applied"
    assert decision(r.post(alert("203.0.113.2")))["event"] == "applied"
    line = decision(r.post(alert("203.0.113.3")))
    assert line["event"] == "refused" and line["reason"] == "max_active_blocks"
    assert "2 blocks are active, the limit is 2" in line["detail"]
    assert not r.firewalls[0].has("203.0.113.3")
    # A repeat of a blocked address is not a new block: it is not refused.
    assert decision(r.post(alert("203.0.113.1")))["event"] == "unchanged"
    r.clock.advance(21)
    r.tick()
    assert decision(r.post(alert("203.0.113.3")))["event"] == "applied"


def test_the_ttl_is_capped(rig):
    r = rig(ttl={"default": "1m", "max": "10m"},
            responses=[{"alertname": "BruteForceSource", "action": "block_ip", "label": "src_ip", "ttl": "7d"},
                       {"alertname": "Scan", "action": "block_ip", "label": "src_ip"}])
    assert decision(r.post(alert("203.0.113.1")))["ttl"] == 600
    assert decision(r.post(alert("203.0.113.2", alertname="Scan")))["ttl"] == 60


@pytest.mark.parametrize("labels,reason", [
    ({"alertname": "HostDown"}, "no_response_declared"),
    ({"vigil_response": "shutdown"}, "action_mismatch"),
    ({"vigil_response": None}, "action_mismatch"),
    ({"src_ip": None}, "missing_address_label"),
])
def test_only_the_catalog_decides_what_an_alert_does(rig, labels, reason):
    r = rig()
    line = decision(r.post(alert(**labels)))
    assert (line["event"], line["reason"]) == ("refused", reason)
    assert r.firewalls[0].calls == []


def test_one_notification_with_several_alerts_is_decided_alert_by_alert(rig):
    r = rig()
    lines = r.post(alert("203.0.113.1"), alert("10.0.0.1"), alert("203.0.113.2", status="resolved"))
    assert events(lines) == ["received", "applied", "refused", "ignored"]
    assert lines[0]["alerts"] == 3 and lines[0]["user"] == "alertmanager"


# ---------------------------------------------------------------- failures and restarts


def test_a_firewall_that_fails_is_recorded_and_retried_on_the_next_notification(rig):
    r = rig()
    r.firewalls[0].fail = "HTTP 500"
    line = decision(r.post(alert("203.0.113.7")))
    assert line["event"] == "failed" and "HTTP 500" in line["errors"]["fw"]
    assert list(r.state) == []
    assert r.sample("vigil_responder_firewall_errors_total", firewall="fw", operation="block") == 1
    r.firewalls[0].fail = None
    assert decision(r.post(alert("203.0.113.7")))["event"] == "applied"


def test_a_block_that_worked_on_one_firewall_is_retried_on_the_other(rig):
    good, bad = FakeFirewall("good"), FakeFirewall("bad")
    r = rig([good, bad])
    bad.fail = "unreachable"
    line = decision(r.post(alert("203.0.113.7")))
    assert line["event"] == "applied" and line["firewalls"] == ["good"] and "bad" in line["errors"]
    bad.fail = None
    again = decision(r.post(alert("203.0.113.7")))
    assert again["event"] == "unchanged" and again["retried"] == ["bad"]
    assert bad.has("203.0.113.7")


def test_an_unblock_that_fails_is_retried_until_it_works(rig):
    r = rig()
    r.post(alert("203.0.113.7"))
    r.clock.advance(21)
    r.firewalls[0].fail = "timeout"
    lines = r.tick()
    assert events(lines) == ["failed"] and lines[0]["operation"] == "expire"
    r.firewalls[0].fail = None
    r.clock.advance(31)
    assert events(r.tick()) == ["expired"]
    assert not r.firewalls[0].has("203.0.113.7")


def test_a_restart_keeps_the_blocks_and_reapplies_what_a_firewall_lost(rig, make_config):
    r = rig()
    r.post(alert("203.0.113.7"), alert("203.0.113.8"))
    # The firewall reboots and forgets; the responder restarts with its state file.
    rebooted = FakeFirewall()
    again = Rig(make_config(dry_run=False), [rebooted], r.clock)
    before = len(read_audit(again.config.audit_log))
    again.engine.startup()
    lines = read_audit(again.config.audit_log)[before:]
    assert sorted(line["address"] for line in lines if line["event"] == "reapplied") == ["203.0.113.7", "203.0.113.8"]
    assert rebooted.has("203.0.113.7") and rebooted.has("203.0.113.8")
    # Time passed while the responder was down: what expired is recorded as expired at start.
    later = Rig(make_config(dry_run=False), [rebooted], Clock(r.clock.now + 60))
    before = len(read_audit(later.config.audit_log))
    later.engine.startup()
    assert events(read_audit(later.config.audit_log)[before:]) == ["expired", "expired"]
    assert rebooted.blocked() == {}


def test_an_unreadable_state_file_is_set_aside(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("{not json")
    state = State(str(path))
    state.load()
    assert list(state) == []
    assert [p.name.startswith("state.json.unreadable-") for p in tmp_path.iterdir()] == [True]


def test_the_state_file_is_private(rig):
    r = rig()
    r.post(alert("203.0.113.7"))
    import os
    import stat

    assert stat.S_IMODE(os.stat(r.config.state_file).st_mode) == 0o600
