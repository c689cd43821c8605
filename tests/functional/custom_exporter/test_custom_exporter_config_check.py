"""Configuration validation of the custom exporter and its ``--config.check`` flag."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

from custom_exporter.conftest import EXAMPLE_CONFIG, EXPORTER_COMMAND, exporter_env


def _valid() -> Dict[str, Any]:
    return {
        "sources": [
            {"name": "fw", "type": "http", "url": "http://127.0.0.1:1/api/status",
             "metrics": [{"name": "fw_vpn_sessions", "help": "VPN sessions", "query": "vpn.active_sessions",
                          "labels": {"site": "hq"}}]},
            {"name": "lic", "type": "command", "command": [sys.executable, "-c", "print(7)"], "parse": "number",
             "metrics": [{"name": "lic_count"}]},
        ]
    }


def _with(change: Any) -> Dict[str, Any]:
    data = _valid()
    change(data)
    return data


def _set(path: str, value: Any) -> Any:
    """A change that sets data[a][b]... (ints index lists) to value."""

    def change(data: Dict[str, Any]) -> None:
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        node: Any = data
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return change


def _delete(path: str) -> Any:
    def change(data: Dict[str, Any]) -> None:
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        node: Any = data
        for key in keys[:-1]:
            node = node[key]
        del node[keys[-1]]

    return change


def _duplicate_metric(data: Dict[str, Any]) -> None:
    data["sources"][0]["metrics"].append(copy.deepcopy(data["sources"][0]["metrics"][0]))


def _duplicate_source(data: Dict[str, Any]) -> None:
    data["sources"][1]["name"] = "fw"


def _other_label_names(data: Dict[str, Any]) -> None:
    data["sources"][1]["metrics"][0] = {"name": "fw_vpn_sessions", "help": "VPN sessions", "labels": {"dc": "x"}}


BAD_CONFIGS = [
    ("missing source name", _delete("sources.0.name"), "sources[0].name: required field is missing"),
    ("missing metric name", _delete("sources.0.metrics.0.name"), "sources[0] (fw).metrics[0].name: required"),
    ("duplicate metric", _duplicate_metric, "sources[0] (fw).metrics[1].name: duplicate metric 'fw_vpn_sessions'"),
    ("duplicate source", _duplicate_source, "sources[1].name: duplicate source name 'fw'"),
    ("same metric, other label names", _other_label_names, "different help text or label names"),
    ("invalid metric name", _set("sources.0.metrics.0.name", "fw-vpn"),
     "sources[0] (fw).metrics[0].name: 'fw-vpn' is not a valid Prometheus metric name"),
    ("metric name starting with a digit", _set("sources.0.metrics.0.name", "1fw"), "not a valid Prometheus metric"),
    ("reserved prefix", _set("sources.0.metrics.0.name", "vigil_custom_source_up"), "reserved"),
    ("unknown source type", _set("sources.0.type", "snmp"), "sources[0] (fw).type: unknown source type 'snmp'"),
    ("missing source type", _delete("sources.0.type"), "sources[0] (fw).type: required field is missing"),
    ("unknown metric type", _set("sources.0.metrics.0.type", "counter"),
     "sources[0] (fw).metrics[0].type: unknown metric type 'counter'"),
    ("unknown source field", _set("sources.0.urll", "x"), "sources[0] (fw): unknown field(s) urll"),
    ("command field on http", _set("sources.0.command", ["x"]), "unknown field(s) command"),
    ("unknown top-level field", _set("listen", ":1"), "top level: unknown field(s) listen"),
    ("invalid JMESPath", _set("sources.0.metrics.0.query", "vpn.["), "sources[0] (fw).metrics[0].query: invalid"),
    ("non-http url", _set("sources.0.url", "ftp://fw/status"), "sources[0] (fw).url"),
    ("missing url", _delete("sources.0.url"), "sources[0] (fw).url: required field is missing"),
    ("command as a string", _set("sources.1.command", "echo 1"), "sources[1] (lic).command: must be a non-empty list"),
    ("unknown parser", _set("sources.1.parse", "xml"), "sources[1] (lic).parse: unknown parser 'xml'"),
    ("negative timeout", _set("sources.0.timeout", -1), "sources[0] (fw).timeout"),
    ("zero interval", _set("sources.0.interval", 0), "sources[0] (fw).interval"),
    ("bad default timeout", _set("default_timeout", "soon"), "default_timeout"),
    ("bad verify_tls", _set("sources.0.verify_tls", "no"), "sources[0] (fw).verify_tls: must be true or false"),
    ("missing ca_file", _set("sources.0.ca_file", "/nonexistent/ca.pem"), "sources[0] (fw).ca_file"),
    ("no metrics", _set("sources.0.metrics", []), "sources[0] (fw).metrics: must be a non-empty list"),
    ("empty sources", _set("sources", []), "sources: must be a non-empty list"),
    ("missing sources", _delete("sources"), "top level.sources: required field is missing"),
    ("bad label name", _set("sources.0.metrics.0.labels", {"__site": "x"}), "labels: '__site' is not a valid"),
    ("bad label value", _set("sources.0.metrics.0.labels", {"site": ["x"]}), "labels.site"),
    ("bad listen address", _set("listen_address", "localhost"), "listen_address"),
    ("bad max_concurrency", _set("max_concurrency", 0), "max_concurrency"),
    ("bad source name", _set("sources.0.name", "my firewall"), "sources[0].name"),
    ("bad header name", _set("sources.0.headers", {"X Token": "a"}), "sources[0] (fw).headers: 'X Token'"),
    ("header value with newline", _set("sources.0.headers", {"X-Token": "a\nHost: evil"}), "not a valid header"),
    ("missing web config", _set("web_config_file", "/nonexistent/web.yml"), "web_config_file /nonexistent/web.yml"),
]


@pytest.mark.parametrize("change,message", [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS])
def test_invalid_config_is_rejected_naming_the_field(vce, change, message):
    with pytest.raises(vce.ConfigError) as err:
        vce.parse_config(_with(change))
    assert message in str(err.value)


def test_valid_config_is_accepted_with_defaults(vce):
    config = vce.parse_config(_valid())
    assert (config.listen_host, config.listen_port) == ("0.0.0.0", 9877)
    assert [s.name for s in config.sources] == ["fw", "lic"]
    assert config.sources[0].timeout == 5.0 and config.sources[0].verify_tls is True
    assert config.sources[1].metrics[0].query_text == "@"
    assert config.sources[0].metrics[0].labels == (("site", "hq"),)


def test_source_timeout_defaults_to_default_timeout(vce):
    config = vce.parse_config(_with(_set("default_timeout", 1.5)))
    assert [s.timeout for s in config.sources] == [1.5, 1.5]


def test_same_metric_name_with_other_label_values_is_allowed(vce):
    def add(data):
        data["sources"][1]["metrics"][0] = {"name": "fw_vpn_sessions", "help": "VPN sessions",
                                            "labels": {"site": "dc2"}}

    config = vce.parse_config(_with(add))
    assert config.metric_count == 2


@pytest.mark.parametrize("text,expected", [
    ("127.0.0.1:9100", ("127.0.0.1", 9100)),
    (":9877", ("0.0.0.0", 9877)),
    ("[::1]:80", ("::1", 80)),
])
def test_listen_address_forms(vce, text, expected):
    assert vce.parse_listen_address(text) == expected


def test_empty_and_invalid_yaml_files_are_rejected(vce, tmp_path):
    empty = tmp_path / "empty.yml"
    empty.write_text("")
    broken = tmp_path / "broken.yml"
    broken.write_text("sources: [\n")
    with pytest.raises(vce.ConfigError, match="empty"):
        vce.load_config(str(empty))
    with pytest.raises(vce.ConfigError, match="invalid YAML"):
        vce.load_config(str(broken))
    with pytest.raises(vce.ConfigError, match="cannot read"):
        vce.load_config(str(tmp_path / "missing.yml"))


def test_config_check_cli_accepts_the_example_config():
    proc = subprocess.run([*EXPORTER_COMMAND, "--config.check", "--config.file", str(EXAMPLE_CONFIG)],
                          capture_output=True, text=True, timeout=30, check=False, env=exporter_env())
    assert proc.returncode == 0, proc.stderr
    assert "config OK" in proc.stdout and "3 sources, 4 metrics" in proc.stdout


def test_config_check_cli_rejects_a_bad_config_with_a_message(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text(yaml.safe_dump(_with(_set("sources.0.metrics.0.name", "fw-vpn"))))
    proc = subprocess.run([*EXPORTER_COMMAND, "--config.check", "--config.file", str(path)],
                          capture_output=True, text=True, timeout=30, check=False, env=exporter_env())
    assert proc.returncode == 1
    assert "config error in %s" % path in proc.stderr
    assert "sources[0] (fw).metrics[0].name: 'fw-vpn' is not a valid Prometheus metric name" in proc.stderr
    assert proc.stdout == ""


def test_config_check_in_process_returns_status(vce, tmp_path, capsys):
    good = tmp_path / "good.yml"
    good.write_text(yaml.safe_dump(_valid()))
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump(_with(_set("sources.0.type", "snmp"))))
    assert vce.main(["--config.check", "--config.file", str(good)]) == 0
    assert "2 sources, 2 metrics" in capsys.readouterr().out
    assert vce.main(["--config.check", "--config.file", str(bad)]) == 1
    assert "unknown source type 'snmp'" in capsys.readouterr().err


def test_exporter_refuses_to_start_with_an_invalid_config(vce, tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump(_with(_delete("sources.0.name"))))
    assert vce.main(["--config.file", str(bad)]) == 1


def test_relative_ca_file_is_resolved_next_to_the_config(vce, tmp_path: Path, certs):
    (tmp_path / "ca.pem").write_bytes(certs.ca_file.read_bytes())
    data = _with(_set("sources.0.url", "https://127.0.0.1:1/api"))
    data["sources"][0]["ca_file"] = "ca.pem"
    path = tmp_path / "c.yml"
    path.write_text(yaml.safe_dump(data))
    config = vce.load_config(str(path))
    assert config.sources[0].ca_file == str(tmp_path / "ca.pem")


def test_ca_file_with_verify_tls_false_is_contradictory(vce, certs):
    data = _with(_set("sources.0.verify_tls", False))
    data["sources"][0]["ca_file"] = str(certs.ca_file)
    with pytest.raises(vce.ConfigError, match="ca_file: has no effect when verify_tls is false"):
        vce.parse_config(data)


# What the schema alone cannot tell: the exporter checks it on the host (--config.check).
HOST_CHECKS = {"invalid JMESPath", "missing ca_file", "missing web config"}


@pytest.mark.parametrize("name,change", [c[:2] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS])
def test_the_role_preflight_finds_the_exporters_own_message(vce, name, change):
    """schema.problems (the role's preflight, on the controller) reports what the exporter would refuse, word for word."""
    data = _with(change)
    with pytest.raises(vce.ConfigError) as err:
        vce.parse_config(data)
    found = vce.problems(data)
    if name in HOST_CHECKS:
        assert found == []
    else:
        assert str(err.value) in found


def test_the_schema_lists_every_problem_in_document_order(vce):
    data = _valid()
    data["max_concurrency"] = 0
    data["sources"][0]["metrics"].append({"name": "fw-vpn"})
    data["sources"][0]["metrics"].append({"name": "vigil_custom_exporter_x", "labels": {"__a": "b"}})
    data["sources"][0]["verify_tls"] = "no"
    data["sources"][1]["parse"] = "xml"
    data["sources"].append({"name": "third", "type": "snmp"})
    assert vce.problems(data) == [
        "max_concurrency: must be an integer from 1 to 64, got 0",
        "sources[0] (fw).metrics[1].name: 'fw-vpn' is not a valid Prometheus metric name ([a-zA-Z_][a-zA-Z0-9_]*)",
        "sources[0] (fw).metrics[2].name: 'vigil_custom_exporter_x' uses a prefix reserved for the exporter's own"
        " metrics (vigil_custom_source_, vigil_custom_exporter_)",
        "sources[0] (fw).verify_tls: must be true or false, got 'no'",
        "sources[1] (lic).parse: unknown parser 'xml' (supported: json, number)",
        "sources[2] (third).type: unknown source type 'snmp' (supported: http, command)",
    ]
    assert vce.problems(_valid()) == []
    assert vce.problems(None) == ["the configuration is empty"]
