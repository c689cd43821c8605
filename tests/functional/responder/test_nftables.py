"""The nftables driver: the commands it runs, the listing it reads, and (as root) a real nft.

The real-nft test runs nft in a network namespace of its own (``ip netns``), so the
controller's own ruleset is never touched; it is skipped without root, nft or ip.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import stat
import subprocess
import uuid
from pathlib import Path

import pytest

from responder import conftest  # noqa: F401  # pylint: disable=unused-import
from vigil_responder.drivers import DriverError, NftablesDriver
from vigil_responder.drivers.nftables import parse_set_listing

REPO = Path(__file__).resolve().parents[3]
TABLE_TEMPLATE = REPO / "roles" / "responder" / "templates" / "vigil_responder.nft.j2"

# What nft 1.0.6 (Debian 12) prints for `nft -j list set inet vigil_responder blocked4`.
LISTING = json.dumps({"nftables": [
    {"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}},
    {"set": {"family": "inet", "name": "blocked4", "table": "vigil_responder", "type": "ipv4_addr", "handle": 3,
             "flags": ["interval", "timeout"], "elem": [
                 {"elem": {"val": "192.0.2.7", "timeout": 30, "expires": 29}},
                 {"elem": {"val": {"prefix": {"addr": "198.51.100.0", "len": 24}}, "timeout": 60, "expires": 59}},
                 {"elem": {"val": {"range": ["203.0.113.8", "203.0.113.11"]}, "timeout": 60, "expires": 5}}]}}]})

# The same sets, empty.
EMPTY = json.dumps({"nftables": [
    {"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}},
    {"set": {"family": "inet", "name": "blocked4", "table": "vigil_responder", "type": "ipv4_addr", "handle": 3,
             "flags": ["interval", "timeout"]}}]})


def fake_nft(directory: Path, listing: str = LISTING, exit_code: int = 0) -> Path:
    """An nft stand-in that records its arguments and standard input, and prints a listing for 'list'."""
    script = directory / "nft"
    log = directory / "nft.log"
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import json, sys\n"
        "data = sys.stdin.read() if '-f' in sys.argv else ''\n"
        "with open(%r, 'a') as log:\n"
        "    log.write(json.dumps({'argv': sys.argv[1:], 'stdin': data}) + '\\n')\n"
        "if 'list' in sys.argv:\n"
        "    print(%r)\n"
        "if %d:\n"
        "    sys.stderr.write('Error: Could not process rule: No such file or directory\\n')\n"
        "sys.exit(%d)\n" % (str(log), listing, exit_code, exit_code))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def calls(directory: Path):
    return [json.loads(line) for line in (directory / "nft.log").read_text().splitlines()]


def driver(command: Path, **extra) -> NftablesDriver:
    raw = {"name": "local", "type": "nftables", "command": str(command)}
    raw.update(extra)
    return NftablesDriver(NftablesDriver.parse_settings(raw, "firewalls[0]"))


def test_block_adds_an_element_with_its_timeout_in_one_json_batch(tmp_path):
    nft = driver(fake_nft(tmp_path))
    nft.block(ipaddress.ip_network("192.0.2.7/32"), 20)
    nft.block(ipaddress.ip_network("2001:db8::/64"), 3600)
    first, second = calls(tmp_path)
    assert first["argv"] == ["-j", "-f", "-"]
    assert json.loads(first["stdin"]) == {"nftables": [{"add": {"element": {
        "family": "inet", "table": "vigil_responder", "name": "blocked4",
        "elem": [{"elem": {"val": "192.0.2.7", "timeout": 20}}]}}}]}
    element = json.loads(second["stdin"])["nftables"][0]["add"]["element"]
    assert element["name"] == "blocked6"
    assert element["elem"] == [{"elem": {"val": {"prefix": {"addr": "2001:db8::", "len": 64}}, "timeout": 3600}}]


def test_extend_deletes_and_adds_in_one_transaction(tmp_path):
    nft = driver(fake_nft(tmp_path), table="edge", set_ipv4="bad4")
    nft.extend(ipaddress.ip_network("192.0.2.7/32"), 60)
    batch = json.loads(calls(tmp_path)[0]["stdin"])["nftables"]
    assert [list(command) for command in batch] == [["delete"], ["add"]]
    assert batch[0]["delete"]["element"]["table"] == "edge" and batch[0]["delete"]["element"]["name"] == "bad4"
    assert "timeout" not in batch[0]["delete"]["element"]["elem"][0]["elem"]


def test_the_listing_gives_networks_and_seconds_left(tmp_path):
    found = parse_set_listing(LISTING, "blocked4")
    assert found[ipaddress.ip_network("192.0.2.7/32")] == 29
    assert found[ipaddress.ip_network("198.51.100.0/24")] == 59
    assert found[ipaddress.ip_network("203.0.113.8/30")] == 5
    nft = driver(fake_nft(tmp_path))
    assert ipaddress.ip_network("192.0.2.7/32") in nft.blocked()
    listed = [c["argv"] for c in calls(tmp_path)]
    assert listed == [["-j", "list", "set", "inet", "vigil_responder", name] for name in ("blocked4", "blocked6")]


def test_unblock_deletes_only_what_is_there(tmp_path):
    nft = driver(fake_nft(tmp_path))
    nft.unblock(ipaddress.ip_network("192.0.2.99/32"))
    assert not any("-f" in c["argv"] for c in calls(tmp_path))
    nft.unblock(ipaddress.ip_network("192.0.2.7/32"))
    assert json.loads(calls(tmp_path)[-1]["stdin"])["nftables"][0]["delete"]["element"]["name"] == "blocked4"


def test_an_element_that_times_out_before_its_delete_counts_as_unblocked(tmp_path):
    # nft lists the element, its timer ends, nft then refuses the delete (ENOENT), and the
    # next listing no longer has it: unblocked, no error. Still listed: the error stands.
    script = tmp_path / "nft"
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import os, sys\n"
        "count = os.path.join(%r, 'lists')\n"
        "if 'list' in sys.argv:\n"
        "    n = int(open(count).read()) if os.path.exists(count) else 0\n"
        "    open(count, 'w').write(str(n + 1))\n"
        "    print(%r if n < 2 or %r else %r)\n"
        "    sys.exit(0)\n"
        "sys.stderr.write('Error: Could not process rule: No such file or directory\\n')\n"
        "sys.exit(1)\n" % (str(tmp_path), LISTING, False, EMPTY))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    driver(script).unblock(ipaddress.ip_network("192.0.2.7/32"))
    script.write_text(script.read_text().replace("n < 2 or False", "n < 2 or True"))
    (tmp_path / "lists").unlink()
    with pytest.raises(DriverError, match="No such file or directory"):
        driver(script).unblock(ipaddress.ip_network("192.0.2.7/32"))


def test_nft_failures_are_driver_errors_with_nft_s_message(tmp_path):
    nft = driver(fake_nft(tmp_path, exit_code=1))
    with pytest.raises(DriverError, match="nft -j -f - failed .exit 1.: Error: Could not process rule"):
        nft.block(ipaddress.ip_network("192.0.2.7/32"), 20)
    with pytest.raises(DriverError, match="cannot run"):
        driver(tmp_path / "missing-nft").blocked()
    with pytest.raises(DriverError, match="did not print the JSON"):
        driver(fake_nft(tmp_path, listing="table inet x {}")).blocked()


def _netns_tools():
    if os.geteuid() != 0:
        return "not root"
    for tool in ("nft", "ip"):
        if shutil.which(tool) is None:
            return "%s is not installed" % tool
    return None


@pytest.fixture
def netns_nft(tmp_path):
    """nft inside a network namespace of its own, with the role's table loaded."""
    missing = _netns_tools()
    if missing:
        pytest.skip("real nft test needs root, nft and ip (ip netns): %s" % missing)
    name = "vigil-responder-test-%s" % uuid.uuid4().hex[:8]
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=30)
    try:
        wrapper = tmp_path / "nft-in-netns"
        wrapper.write_text("#!/bin/sh\nexec ip netns exec %s %s \"$@\"\n" % (name, shutil.which("nft")))
        wrapper.chmod(0o755)
        import jinja2

        environment = jinja2.Environment(keep_trailing_newline=True)
        environment.filters["comment"] = "# {}".format  # Ansible's comment filter, enough for this header
        table = environment.from_string(TABLE_TEMPLATE.read_text()).render(
            ansible_managed="test", responder_nftables_table="vigil_responder", responder_nftables_hooks=["input"],
            _responder_nft_priority="filter - 10")
        (tmp_path / "table.nft").write_text(table)
        subprocess.run([str(wrapper), "-f", str(tmp_path / "table.nft")], check=True, timeout=30)
        yield wrapper
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False, timeout=30)


def test_a_real_nft_set_takes_the_element_with_its_timeout_and_expires_it(netns_nft):
    nft = driver(netns_nft)
    host = ipaddress.ip_network("192.0.2.7/32")
    network = ipaddress.ip_network("2001:db8:1::/48")
    nft.check()
    nft.block(host, 2)
    nft.block(network, 600)
    found = nft.blocked()
    assert found[host] in (1, 2) and 590 <= found[network] <= 600
    nft.extend(network, 900)
    assert nft.blocked()[network] > 600
    nft.unblock(network)
    assert network not in nft.blocked()
    import time

    time.sleep(3)
    assert host not in nft.blocked()
