"""The configuration file: defaults (dry run first), and refusals that name the field."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from responder.conftest import PACKAGE, WEBHOOK_HASH
from vigil_responder.checks import ConfigError
from vigil_responder.cli import main


def test_dry_run_is_the_default(make_config):
    config = make_config()
    assert config.dry_run is True
    assert make_config(dry_run=False).dry_run is False


def test_defaults_of_the_other_guard_rails(make_config):
    config = make_config()
    assert (config.ttl_default, config.ttl_max, config.max_active_blocks) == (3600, 86400, 50)
    assert (config.extend_on_repeat, config.unblock_on_resolved) == (False, False)
    assert (config.min_prefix_ipv4, config.min_prefix_ipv6) == (32, 128)
    assert config.responses["BruteForceSource"].ttl == 20


def test_ttl_is_capped_by_the_maximum(make_config):
    config = make_config(ttl={"default": "1h", "max": "2h"},
                         responses=[{"alertname": "A", "action": "block_ip", "label": "ip", "ttl": "3d"},
                                    {"alertname": "B", "action": "block_ip", "label": "ip"}])
    assert config.ttl_for(config.responses["A"]) == 7200
    assert config.ttl_for(config.responses["B"]) == 3600


@pytest.mark.parametrize("overrides,message", [
    ({"dry_run": "no"}, "dry_run must be true or false"),
    ({"dryrun": False}, "unknown field(s) dryrun"),
    ({"ttl": {"default": "2d", "max": "1d"}}, "ttl.default (172800s) is longer than ttl.max (86400s)"),
    ({"ttl": {"default": "soon"}}, "ttl.default 'soon' is not a duration"),
    ({"max_active_blocks": 0}, "max_active_blocks must be an integer from 1"),
    ({"allowlist": ["10.0.0.1/8"]}, "allowlist[0]:"),
    ({"responses": [{"alertname": "A", "action": "shutdown", "label": "ip"}]}, "responses[0].action must be one of"),
    ({"responses": [{"alertname": "A", "action": "block_ip", "label": "not a label"}]}, "responses[0].label"),
    ({"firewalls": []}, "firewalls must list at least one firewall"),
    ({"firewalls": [{"name": "x", "type": "iptables"}]}, "firewalls[0].type must be one of"),
    ({"firewalls": [{"name": "a", "type": "nftables"}, {"name": "a", "type": "nftables"}]}, "is used twice"),
    ({"firewalls": [{"name": "fw", "type": "nftables", "table": "x; flush ruleset"}]}, "firewalls[0] (fw).table"),
    ({"firewalls": [{"name": "opn", "type": "opnsense", "url": "http://opn.example.org", "alias": "b",
                     "api_key": "k", "api_secret": "s"}]}, "clear text; use https://"),
    ({"firewalls": [{"name": "opn", "type": "opnsense", "url": "https://k:s@opn.example.org", "alias": "b",
                     "api_key": "k", "api_secret": "s"}]}, "must not carry credentials"),
    ({"firewalls": [{"name": "opn", "type": "opnsense", "url": "https://opn.example.org", "alias": "bad-name!",
                     "api_key": "k", "api_secret": "s"}]}, "firewalls[0] (opn).alias"),
    ({"listen_address": "localhost:9095"}, "the host must be an IP address"),
    ({"min_prefix": {"ipv4": 4}}, "min_prefix.ipv4 must be an integer from 8 to 32"),
])
def test_mistakes_are_refused_naming_the_field(make_config, overrides, message):
    with pytest.raises(ConfigError) as error:
        make_config(**overrides)
    assert message in str(error.value)


def test_the_webhook_must_require_authentication(tmp_path, config_file, capsys):
    path = config_file()
    (tmp_path / "web-config.yml").write_text(yaml.safe_dump({"basic_auth_users": {}}))
    assert main(["--config.check", "--config.file", str(path)]) == 1
    assert "the webhook endpoint must require authentication" in capsys.readouterr().err
    (tmp_path / "web-config.yml").write_text("")
    assert main(["--config.check", "--config.file", str(path)]) == 1


def test_the_web_config_holds_hashes_not_passwords(tmp_path):
    web = tmp_path / "web.yml"
    web.write_text(yaml.safe_dump({"basic_auth_users": {"alertmanager": "plain-password"}}))
    assert main(["--web.config.check", str(web)]) == 1
    web.write_text(yaml.safe_dump({"basic_auth_users": {"alertmanager": WEBHOOK_HASH}}))
    assert main(["--web.config.check", str(web)]) == 0


def test_config_check_prints_the_verdict_without_secrets(config_file, capsys):
    path = config_file(firewalls=[{"name": "opn", "type": "opnsense", "url": "https://opn.example.org",
                                   "alias": "vigil_blocked", "api_key": "VIGIL-MARKER-key",
                                   "api_secret": "VIGIL-MARKER-secret"}])
    assert main(["--config.check", "--config.file", str(path)]) == 0
    out = capsys.readouterr().out
    assert "config OK" in out and "dry_run=on" in out and "opn:opnsense" in out
    assert "VIGIL-MARKER" not in out


def test_the_package_runs_as_a_module(config_file):
    """What the role's validate: runs (python -m vigil_responder --config.check)."""
    bad = config_file(max_active_blocks=-1)
    done = subprocess.run([sys.executable, "-m", "vigil_responder", "--config.check", "--config.file", str(bad)],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={"PYTHONPATH": str(PACKAGE / "src"), "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 1
    assert "max_active_blocks must be an integer" in done.stderr
