"""What the Ansible role relies on: systemd readiness, the web config check, no secrets in errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
import yaml

from custom_exporter.conftest import EXPORTER_COMMAND, exporter_env


@pytest.fixture
def notify_socket(tmp_path, monkeypatch):
    """A datagram socket standing in for systemd's $NOTIFY_SOCKET."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(10)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def test_notify_systemd_sends_the_state(vce, notify_socket):
    assert vce.notify_systemd("READY=1") is True
    assert notify_socket.recv(64) == b"READY=1"


def test_notify_systemd_without_systemd_does_nothing(vce, monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert vce.notify_systemd("READY=1") is False


def test_notify_systemd_failure_is_logged_not_raised(vce, monkeypatch, tmp_path):
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody-listens"))
    assert vce.notify_systemd("READY=1") is False


def test_notify_systemd_abstract_socket(vce, monkeypatch):
    name = "vigil-test-%d-%d" % (os.getpid(), time.monotonic_ns())
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert vce.notify_systemd("STOPPING=1") is True
        assert sock.recv(64) == b"STOPPING=1"


def test_exporter_reports_ready_only_once_it_listens(notify_socket, tmp_path):
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump({"listen_address": "127.0.0.1:0", "sources": [
        {"name": "c", "type": "command", "command": [sys.executable, "-c", "print(3)"], "parse": "number",
         "metrics": [{"name": "three"}]}]}))
    log = tmp_path / "exporter.log"
    with open(log, "w") as stderr:
        proc = subprocess.Popen([*EXPORTER_COMMAND, "--config.file", str(config)],
                                stdout=subprocess.DEVNULL, stderr=stderr, env=exporter_env())
    try:
        assert notify_socket.recv(64) == b"READY=1"
        assert "listening on 127.0.0.1:" in log.read_text()
        proc.send_signal(2)  # SIGINT
        assert notify_socket.recv(64) == b"STOPPING=1"
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_web_config_check_accepts_tls_and_bcrypt_users(vce, tmp_path, certs, capsys):
    import bcrypt

    web = tmp_path / "web.yml"
    web.write_text(yaml.safe_dump({
        "tls_server_config": {"cert_file": str(certs.cert_file), "key_file": str(certs.key_file)},
        "basic_auth_users": {"scraper": bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode()},
    }))
    assert vce.main(["--web.config.check", str(web)]) == 0
    assert "web config OK" in capsys.readouterr().out


def test_web_config_check_refuses_a_missing_key(vce, tmp_path, certs, capsys):
    web = tmp_path / "web.yml"
    web.write_text(yaml.safe_dump({"tls_server_config": {"cert_file": str(certs.cert_file),
                                                         "key_file": str(tmp_path / "missing.key")}}))
    assert vce.main(["--web.config.check", str(web)]) == 1
    assert "missing.key does not exist" in capsys.readouterr().err


def test_web_config_check_of_an_empty_file_is_plain_http(vce, tmp_path, capsys):
    web = tmp_path / "web.yml"
    web.write_text("# managed\n{}\n")
    assert vce.main(["--web.config.check", str(web)]) == 0
    assert "tls=off, basic_auth_users=0" in capsys.readouterr().out


def _http(url, **extra):
    source = {"name": "fw", "type": "http", "url": url, "metrics": [{"name": "x"}]}
    source.update(extra)
    return {"sources": [source]}


@pytest.mark.parametrize("data,secret,shown", [
    (_http("http://fw/api", headers={"Authorization": ["Bearer s3cret-token"]}), "s3cret-token",
     "headers.Authorization: must be a string or a number, got a list"),
    (_http("ftp://admin:s3cret-pw@fw/api"), "s3cret-pw", "'ftp://admin:***@fw/api' must be an http://"),
    (_http("http://admin:s3cret-pw@fw:99999/api"), "s3cret-pw", "is not a valid URL: Port out of range"),
])
def test_errors_never_show_header_values_or_url_passwords(vce, data, secret, shown):
    with pytest.raises(vce.ConfigError) as err:
        vce.parse_config(data)
    assert secret not in str(err.value)
    assert shown in str(err.value)


def test_url_with_a_port_that_is_not_a_number_is_a_config_error(vce):
    with pytest.raises(vce.ConfigError, match="is not a valid URL"):
        vce.parse_config(_http("http://fw:http/api"))
