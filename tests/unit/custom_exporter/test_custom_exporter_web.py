"""The exporter's HTTP endpoint: /metrics, TLS and basic auth from the web config."""

from __future__ import annotations

import base64
import gzip
import ssl
import sys
import threading
import urllib.error
import urllib.request
from typing import Any, Dict, Iterator, Optional, Tuple

import bcrypt
import pytest
import yaml


@pytest.fixture
def serve(vce, make_config) -> Iterator[Any]:
    """``serve(web_config_dict_or_None)`` -> base URL of a running exporter with one command source."""
    running = []

    def _serve(web: Optional[Dict[str, Any]] = None, tmp=None) -> str:
        data: Dict[str, Any] = {"sources": [{"name": "seven", "type": "command", "parse": "number",
                                             "command": [sys.executable, "-c", "print(7)"],
                                             "metrics": [{"name": "business_value", "help": "The value."}]}]}
        if web is not None:
            path = tmp / "web.yml"
            path.write_text(yaml.safe_dump(web))
            data["web_config_file"] = str(path)
        config = make_config(data)
        exporter = vce.Exporter(config)
        server = vce.MetricsServer("127.0.0.1", 0, vce.build_registry(exporter), config.web)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        running.append((server, exporter))
        scheme = "https" if config.web.tls_enabled else "http"
        return "%s://127.0.0.1:%d" % (scheme, server.server_address[1])

    yield _serve
    for server, exporter in running:
        server.shutdown()
        server.server_close()
        exporter.close()


def get(url: str, headers: Optional[Dict[str, str]] = None, context: Optional[ssl.SSLContext] = None
        ) -> Tuple[int, Dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def basic(user: str, password: str) -> Dict[str, str]:
    token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    return {"Authorization": "Basic " + token}


def test_metrics_endpoint_serves_text_format(serve):
    status, headers, body = get(serve() + "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    text = body.decode()
    assert "# HELP business_value The value." in text
    assert "business_value 7.0" in text
    assert 'vigil_custom_source_up{source="seven"} 1.0' in text
    assert "process_resident_memory_bytes" in text


def test_gzip_and_openmetrics_are_negotiated(serve):
    base = serve()
    status, headers, body = get(base + "/metrics", {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert b"business_value 7.0" in gzip.decompress(body)
    status, headers, body = get(base + "/metrics", {"Accept": "application/openmetrics-text; version=1.0.0"})
    assert headers["Content-Type"].startswith("application/openmetrics-text")
    assert body.rstrip().endswith(b"# EOF")


def test_landing_page_and_unknown_paths(serve):
    base = serve()
    status, dummy, body = get(base + "/")
    assert status == 200 and b'href="/metrics"' in body
    assert get(base + "/nope")[0] == 404


def test_basic_auth_protects_the_endpoint(serve, tmp_path):
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()
    base = serve({"basic_auth_users": {"prometheus": hashed.replace("$2b$", "$2y$")}}, tmp_path)
    status, headers, dummy = get(base + "/metrics")
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic")
    assert get(base + "/metrics", basic("prometheus", "wrong"))[0] == 401
    assert get(base + "/metrics", basic("nobody", "s3cret"))[0] == 401
    assert get(base + "/metrics", {"Authorization": "Basic !!!"})[0] == 401
    status, dummy, body = get(base + "/metrics", basic("prometheus", "s3cret"))
    assert status == 200 and b"business_value 7.0" in body
    assert get(base + "/metrics", basic("prometheus", "s3cret"))[0] == 200  # cached success


def test_tls_is_served_with_the_configured_certificate(serve, tmp_path, certs):
    base = serve({"tls_server_config": {"cert_file": str(certs.cert_file), "key_file": str(certs.key_file)}},
                 tmp_path)
    assert base.startswith("https://")
    trusting = ssl.create_default_context(cafile=str(certs.ca_file))
    status, dummy, body = get(base + "/metrics", context=trusting)
    assert status == 200 and b"business_value 7.0" in body
    with pytest.raises(urllib.error.URLError):
        get(base + "/metrics", context=ssl.create_default_context())  # unknown CA
    assert get(base + "/metrics", context=trusting)[0] == 200  # a failed handshake does not stop the server


def test_tls_and_basic_auth_together(serve, tmp_path, certs):
    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).decode()
    base = serve({"tls_server_config": {"cert_file": str(certs.cert_file), "key_file": str(certs.key_file),
                                        "min_version": "TLS13"},
                  "basic_auth_users": {"p": hashed}}, tmp_path)
    trusting = ssl.create_default_context(cafile=str(certs.ca_file))
    assert get(base + "/metrics", context=trusting)[0] == 401
    assert get(base + "/metrics", basic("p", "pw"), context=trusting)[0] == 200


@pytest.mark.parametrize("web,message", [
    ({"basic_auth_users": {"p": "plaintext"}}, "basic_auth_users.p: must be a bcrypt hash"),
    ({"tls_server_config": {"cert_file": "/nonexistent.pem", "key_file": "/nonexistent.key"}},
     "tls_server_config.cert_file: file /nonexistent.pem does not exist"),
    ({"tls_server_config": {"key_file": "/x"}}, "tls_server_config.cert_file: required field is missing"),
    ({"tls_server_config": {"cert_file": "C", "key_file": "K", "client_auth_type": "RequireAnyClientCert"}},
     "client_auth_type: 'RequireAnyClientCert' is not supported"),
    ({"http_server_config": {"http2": False}}, "unknown field(s) http_server_config"),
])
def test_invalid_web_config_is_rejected(vce, tmp_path, certs, web, message):
    tls = web.get("tls_server_config")
    if tls and tls.get("cert_file") == "C":
        tls.update(cert_file=str(certs.cert_file), key_file=str(certs.key_file))
    path = tmp_path / "web.yml"
    path.write_text(yaml.safe_dump(web))
    with pytest.raises(vce.ConfigError) as err:
        vce.load_web_config(str(path))
    assert message in str(err.value)


def test_mismatched_key_is_rejected_at_check_time(vce, tmp_path, certs):
    other = tmp_path / "other.key"
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    other.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    path = tmp_path / "web.yml"
    path.write_text(yaml.safe_dump({"tls_server_config": {"cert_file": str(certs.cert_file), "key_file": str(other)}}))
    with pytest.raises(vce.ConfigError, match="cannot load certificate/key"):
        vce.load_web_config(str(path))


def test_basic_auth_without_bcrypt_fails_with_a_clear_message(vce, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "bcrypt", None)  # makes "import bcrypt" fail
    web = tmp_path / "web.yml"
    web.write_text(yaml.safe_dump({"basic_auth_users": {"p": "$2b$04$" + "a" * 53}}))
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump({"web_config_file": str(web), "sources": [
        {"name": "c", "type": "command", "command": [sys.executable, "-c", "print(1)"], "metrics": [{"name": "c"}]}]}))
    assert vce.main(["--config.check", "--config.file", str(config)]) == 1
    err = capsys.readouterr().err
    assert "basic_auth_users is set but the Python module 'bcrypt' is not installed" in err


def test_empty_web_config_means_plain_http_without_auth(vce, tmp_path):
    path = tmp_path / "web.yml"
    path.write_text("")
    web = vce.load_web_config(str(path))
    assert not web.tls_enabled and web.users == ()
