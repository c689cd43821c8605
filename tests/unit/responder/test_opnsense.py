"""The OPNsense driver against the fake of OPNsense's alias_util API (tests/standins/opnsense.py).

Also the client's rules: TLS verified, no proxies, redirects only on the same origin, JSON
answers only, and credentials never in a message.
"""

from __future__ import annotations

import ipaddress
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from custom_exporter.conftest import Certificates
from standins.opnsense import FakeOpnsense
from responder import conftest  # noqa: F401  # pylint: disable=unused-import
from vigil_responder.drivers import DriverError, OpnsenseDriver

KEY = "VIGIL-MARKER-opnsense-key"
SECRET = "VIGIL-MARKER-opnsense-secret"
HOST = ipaddress.ip_network("203.0.113.7/32")


def make_driver(url, **extra):
    raw = {"name": "opn1", "type": "opnsense", "url": url, "alias": "vigil_blocked", "api_key": KEY,
           "api_secret": SECRET}
    raw.update(extra)
    return OpnsenseDriver(OpnsenseDriver.parse_settings(raw, "firewalls[1]"))


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    return Certificates(tmp_path_factory.mktemp("opnsense-certs"))


@pytest.fixture
def opnsense(tls_files):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(tls_files.cert_file), str(tls_files.key_file))
    fake = FakeOpnsense(key=KEY, secret=SECRET).start(ssl_context=context)
    yield fake
    fake.stop()


def test_block_list_unblock_through_the_alias_api(opnsense, tls_files):
    driver = make_driver(opnsense.url, ca_file=str(tls_files.ca_file))
    driver.check()
    driver.block(HOST, 20)
    driver.block(ipaddress.ip_network("2001:db8::/64"), 20)
    assert opnsense.tables["vigil_blocked"] == {"203.0.113.7", "2001:db8::/64"}
    assert set(driver.blocked()) == {HOST, ipaddress.ip_network("2001:db8::/64")}
    driver.unblock(HOST)
    assert opnsense.tables["vigil_blocked"] == {"2001:db8::/64"}
    adds = [r for r in opnsense.calls("POST") if "/add/" in r.path]
    assert [(r.path, r.body) for r in adds][0] == ("/api/firewall/alias_util/add/vigil_blocked",
                                                   {"address": "203.0.113.7"})
    assert all(r.headers["content-type"] == "application/json" for r in adds)


def test_the_certificate_is_verified(opnsense):
    driver = make_driver(opnsense.url)  # the system store does not know the test CA
    with pytest.raises(DriverError, match="certificate does not verify"):
        driver.block(HOST, 20)
    assert opnsense.requests == []
    make_driver(opnsense.url, verify_tls=False).block(HOST, 20)  # only when the operator says so
    assert opnsense.tables["vigil_blocked"] == {"203.0.113.7"}


def test_wrong_credentials_are_an_error_without_the_secret(opnsense, tls_files):
    raw = {"name": "opn1", "type": "opnsense", "url": opnsense.url, "alias": "vigil_blocked", "api_key": KEY,
           "api_secret": "VIGIL-MARKER-wrong", "ca_file": str(tls_files.ca_file)}
    driver = OpnsenseDriver(OpnsenseDriver.parse_settings(raw, "firewalls[1]"))
    with pytest.raises(DriverError) as error:
        driver.block(HOST, 20)
    assert "HTTP 401" in str(error.value) and "Authentication Failed" in str(error.value)
    assert "VIGIL-MARKER" not in str(error.value) + repr(driver.settings)


def test_an_unknown_alias_is_reported_with_opnsense_s_message(opnsense, tls_files):
    driver = make_driver(opnsense.url, ca_file=str(tls_files.ca_file), alias="missing")
    with pytest.raises(DriverError, match="non existing alias missing"):
        driver.block(HOST, 20)
    with pytest.raises(DriverError, match="has no alias table missing"):
        driver.check()


class _Odd(BaseHTTPRequestHandler):
    """Answers what a misconfigured URL or a proxy would: redirects, HTML, null, huge bodies."""

    routes = {}

    def _any(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, headers, body = self.routes.get(self.path, (404, {}, b"{}"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _any

    def log_message(self, *args):
        pass


@pytest.fixture
def odd():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Odd)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield "http://127.0.0.1:%d" % server.server_address[1], _Odd.routes
    server.shutdown()
    server.server_close()
    _Odd.routes.clear()


ADD = "/api/firewall/alias_util/add/vigil_blocked"
LIST = "/api/firewall/alias_util/list/vigil_blocked"


def test_a_redirect_to_another_origin_is_refused(odd):
    url, routes = odd
    routes[LIST] = (302, {"Location": "http://198.51.100.1/steal"}, b"")
    with pytest.raises(DriverError, match="redirect to another origin refused"):
        make_driver(url).blocked()


def test_a_post_is_not_turned_into_a_get_by_a_redirect(odd):
    url, routes = odd
    routes[ADD] = (302, {"Location": ADD + "/"}, b"")
    with pytest.raises(DriverError, match="would turn the POST into a GET"):
        make_driver(url).block(HOST, 20)
    routes[ADD] = (307, {"Location": "/moved"}, b"")
    routes["/moved"] = (200, {"Content-Type": "application/json"}, b'{"status": "done"}')
    make_driver(url).block(HOST, 20)  # same origin, method kept


@pytest.mark.parametrize("body,message", [
    (b"<html>login</html>", "not JSON"),
    (b"null", "expected a JSON object, got null"),
    (b'{"status": "not_an_address"}', "status 'not_an_address'"),
    (b"x" * (1024 * 1024 + 10), "larger than"),
])
def test_answers_that_are_not_what_the_api_documents_are_errors(odd, body, message):
    url, routes = odd
    routes[ADD] = (200, {"Content-Type": "application/json"}, body)
    with pytest.raises(DriverError, match=message):
        make_driver(url).block(HOST, 20)


def test_proxy_variables_are_ignored(odd, monkeypatch):
    url, routes = odd
    routes[ADD] = (200, {"Content-Type": "application/json"}, json.dumps({"status": "done"}).encode())
    monkeypatch.setenv("http_proxy", "http://192.0.2.1:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://192.0.2.1:3128")
    make_driver(url, timeout=5).block(HOST, 20)
