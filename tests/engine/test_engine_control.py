# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Starting the test engine: tools, port clash, loopback only, health."""

from __future__ import annotations

import socket
import subprocess

import pytest

import engine_control as ec


def _fake_java(tmp_path, version_line):
    java = tmp_path / "java"
    java.write_text("#!/bin/sh\necho '%s' >&2\n" % version_line, encoding="utf-8")
    java.chmod(0o755)
    return str(java)


@pytest.mark.parametrize("line, major", [
    ('openjdk version "17.0.15" 2025-04-15', 17),
    ('openjdk version "21.0.4" 2024-07-16', 21),
    ('java version "1.8.0_292"', 8),
])
def test_java_major_reads_the_version_line(tmp_path, line, major):
    assert ec.java_major(_fake_java(tmp_path, line)) == major


def test_missing_tools_are_named_with_how_to_install_them(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert ec.missing_tools() == ["java (a JDK 17 or newer)", "javac (a JDK, not only a JRE)", "mvn (Maven)"]
    with pytest.raises(ec.EngineUnavailable, match="apt-get install openjdk-17-jdk-headless maven"):
        ec.build()


def test_an_old_java_is_refused(tmp_path, monkeypatch):
    _fake_java(tmp_path, 'openjdk version "11.0.2" 2019-01-15')
    monkeypatch.setenv("PATH", str(tmp_path))
    assert "java 17 or newer (found 11)" in ec.missing_tools()


def test_a_fixed_port_in_use_is_refused_before_anything_starts(tmp_path, monkeypatch):
    monkeypatch.setattr(ec, "build", lambda log=None: ["unused"])
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind((ec.HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert not ec.port_is_free(port)
        with pytest.raises(ec.EngineUnavailable, match="port 127.0.0.1:%d is already in use.*VIGIL_ENGINE_PORT" % port):
            ec.EngineProcess.start(state_dir=tmp_path, port=port)
    assert not list(tmp_path.iterdir()), "nothing is created when the port is taken"


def test_the_engine_answers_health_and_lists_its_modules(engine):
    assert engine.health()["status"] in ("green", "yellow")
    nodes = engine.request("GET", "/_nodes/plugins,http")["nodes"]
    (node,) = nodes.values()
    assert {p["name"].rsplit(".", 1)[-1] for p in node["plugins"]} == {
        "IngestCommonPlugin", "PainlessPlugin", "MustachePlugin", "Netty4Plugin"}
    assert node["version"].startswith("2.19.")
    assert node["http"]["bound_address"] and all(
        address.startswith(("127.0.0.1:", "[::1]:")) for address in node["http"]["bound_address"])


def test_the_java_main_refuses_a_non_loopback_address(engine, tmp_path):
    classpath = ec.build()
    command = ec.java_command(classpath, tmp_path / "home", 0, tmp_path / "url", watch_stdin=False)
    command[command.index("--host") + 1] = "192.0.2.1"
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert "--host must be a loopback address, got 192.0.2.1" in done.stderr
    assert not (tmp_path / "url").exists()
