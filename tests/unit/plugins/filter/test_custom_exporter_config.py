"""custom_exporter_config_problems: the exporter's own schema on the controller, named after the role's variables."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.filter.custom_exporter_config import (
    FilterModule,
    custom_exporter_config_problems,
)

TOKEN = "VIGIL-MARKER-filter-token"


def _config(**changes):
    """The document the role writes, with its defaults and one http source."""
    config = {
        "listen_address": "0.0.0.0:9877",
        "default_timeout": 5,
        "max_concurrency": 8,
        "web_config_file": "/etc/vigil/custom_exporter/web-config.yml",
        "sources": [{"name": "fw", "type": "http", "url": "https://fw.example.org/api",
                     "headers": {"Authorization": "Bearer " + TOKEN},
                     "metrics": [{"name": "fw_vpn_sessions", "query": "vpn.active"}]}],
    }
    config.update(changes)
    return config


def test_the_filter_is_exposed():
    assert FilterModule().filters() == {"custom_exporter_config_problems": custom_exporter_config_problems}


def test_a_valid_configuration_has_no_problem():
    assert custom_exporter_config_problems(_config()) == []


def test_problems_name_the_role_variable_and_the_entry():
    sources = [
        {"name": "fw", "type": "http", "url": "ftp://fw/status", "metrics": [{"name": "ok_metric"}]},
        {"name": "lic", "type": "command", "command": "echo 1", "metrics": [{"name": "lic-count"}]},
    ]
    got = custom_exporter_config_problems(_config(sources=sources, default_timeout=0, listen_address="localhost"))
    assert got == [
        "custom_exporter_web_listen_address: 'localhost' is not of the form host:port",
        "custom_exporter_default_timeout: must be a number of seconds greater than 0 and at most 86400, got 0",
        "custom_exporter_sources[0] (fw).url: 'ftp://fw/status' must be an http:// or https:// URL",
        "custom_exporter_sources[1] (lic).metrics[0].name: 'lic-count' is not a valid Prometheus metric name"
        " ([a-zA-Z_][a-zA-Z0-9_]*)",
        "custom_exporter_sources[1] (lic).command: must be a non-empty list of strings (argv; no shell is used)",
    ]


def test_no_source_says_what_a_source_needs():
    assert custom_exporter_config_problems(_config(sources=[])) == [
        "custom_exporter_sources: must be a non-empty list (each source: name, type http or command, metrics)"]


def test_duplicates_across_sources_are_found():
    twice = _config()["sources"] * 2
    assert custom_exporter_config_problems(_config(sources=twice)) == [
        "custom_exporter_sources[1].name: duplicate source name 'fw' (also sources[0])"]


def test_secrets_never_appear_in_a_message():
    sources = [{"name": "fw", "type": "http", "url": "https://user:%s@fw.example.org:99999/" % TOKEN,
                "headers": {"Authorization": ["Bearer", TOKEN], "X-Token": TOKEN + "\nHost: evil"},
                "metrics": [{"name": "m"}]}]
    got = custom_exporter_config_problems(_config(sources=sources))
    assert got and all(TOKEN not in message for message in got), got


def test_host_side_checks_are_left_to_the_exporter():
    """A JMESPath query that does not compile, or a CA file that does not exist, is for --config.check on the host."""
    source = {"name": "fw", "type": "http", "url": "https://fw.example.org/", "ca_file": "/nonexistent/ca.pem",
              "metrics": [{"name": "m", "query": "vpn.["}]}
    assert custom_exporter_config_problems(_config(sources=[source])) == []


def test_other_names_can_be_given():
    got = custom_exporter_config_problems(_config(max_concurrency=65), variables={})
    assert got == ["max_concurrency: must be an integer from 1 to 64, got 65"]
    got = custom_exporter_config_problems(_config(max_concurrency=65), variables={"max_concurrency": "my_var"})
    assert got == ["my_var: must be an integer from 1 to 64, got 65"]
    with pytest.raises(AnsibleFilterError, match="variables must map field names to names"):
        custom_exporter_config_problems(_config(), variables=["sources"])
