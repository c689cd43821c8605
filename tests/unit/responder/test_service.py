"""The running service: the webhook endpoint's guard rails over HTTP, and one block end to end
(webhook -> decision -> the OPNsense fake -> expiry), all on loopback."""

from __future__ import annotations

import base64
import json
import socket
import ssl
import time
import urllib.error
import urllib.request

import pytest

from custom_exporter.conftest import Certificates
from standins.opnsense import FakeOpnsense
from responder.conftest import WEBHOOK_PASSWORD, WEBHOOK_USER, alert, read_audit
from vigil_responder.cli import Service
from vigil_responder.config import load_config

KEY = "VIGIL-MARKER-opnsense-key"
SECRET = "VIGIL-MARKER-opnsense-secret"


def basic(user=WEBHOOK_USER, password=WEBHOOK_PASSWORD):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def payload(*alerts, version="4"):
    return {"version": version, "status": "firing", "receiver": "vigil-responder", "groupKey": "{}:{}",
            "alerts": list(alerts) or [alert()]}


class Client:
    def __init__(self, service):
        self.base = "http://127.0.0.1:%d" % service.server.server_address[1]

    def post(self, body, auth=None, content_type="application/json", path="/webhook"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": content_type}
        if auth is not False:
            headers["Authorization"] = auth or basic()
        request = urllib.request.Request(self.base + path, data=data, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null"), dict(response.headers)
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null"), dict(err.headers)

    def get(self, path):
        try:
            with urllib.request.urlopen(self.base + path, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("not within %ss" % timeout)


@pytest.fixture
def running(config_file):
    services = []

    def _start(**overrides):
        overrides.setdefault("firewalls", [{"name": "local", "type": "nftables", "command": "/bin/false"}])
        service = Service(load_config(str(config_file(**overrides))))
        service.start()
        services.append(service)
        return service, Client(service)

    yield _start
    for service in services:
        service.stop()


def audit_events(service):
    return [line["event"] for line in read_audit(service.config.audit_log)]


@pytest.mark.parametrize("auth", [False, basic(password="VIGIL-MARKER-wrong"), basic(user="nobody"),
                                  "Bearer " + WEBHOOK_PASSWORD, "Basic !!notbase64"])
def test_without_the_right_credentials_the_answer_is_401_and_nothing_is_queued(running, auth):
    service, client = running()
    status, body, headers = client.post(payload(), auth=auth)
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Basic realm=")
    assert service.work.qsize() == 0
    rejected = [line for line in read_audit(service.config.audit_log) if line["event"] == "rejected"]
    assert rejected and rejected[-1]["reason"] == "unauthorized" and rejected[-1]["remote"] == "127.0.0.1"
    assert "received" not in audit_events(service)
    assert service.metrics.registry.get_sample_value("vigil_responder_webhook_requests_total",
                                                     {"result": "unauthorized"}) == 1


@pytest.mark.parametrize("body,content_type,status,fragment", [
    (payload(version="3"), "application/json", 400, "only Alertmanager's webhook payload version"),
    (b"{not json", "application/json", 400, "not JSON"),
    ({"version": "4", "alerts": [{"status": "firing", "labels": {"a": 1}}]}, "application/json", 400, "labels"),
    (payload(), "text/plain", 415, "application/json"),
    (payload(*[alert()] * 6), "application/json", 400, "more than max_alerts"),
    (b"x" * 5000, "application/json", 413, "more than max_request_bytes"),
])
def test_only_bounded_alertmanager_payloads_are_accepted(running, body, content_type, status, fragment):
    service, client = running(max_alerts=5, max_request_bytes=4096)
    got, answer, _headers = client.post(body, content_type=content_type)
    assert got == status and fragment in answer["error"]
    assert service.work.qsize() == 0


def test_a_full_queue_answers_503_so_that_alertmanager_retries(running):
    service, client = running(queue_size=1)
    service.stopping.set()  # the worker stops taking notifications
    service.worker.join(timeout=5)
    assert client.post(payload())[0] == 202
    status, _body, headers = client.post(payload())
    assert status == 503 and headers["Retry-After"] == "30"


def test_metrics_and_health_need_no_credentials_and_show_no_addresses(running):
    service, client = running(dry_run=False, firewalls=[{"name": "local", "type": "nftables",
                                                         "command": "/bin/true"}])
    assert client.post(payload(alert("203.0.113.7")))[0] == 202
    wait_for(lambda: "received" in audit_events(service))
    status, text = client.get("/metrics")
    assert status == 200
    assert "vigil_responder_dry_run 0.0" in text and "vigil_responder_max_active_blocks 50.0" in text
    assert "203.0.113.7" not in text
    assert client.get("/-/healthy")[0] == 200
    assert client.get("/nope")[0] == 404
    assert client.post(payload(), path="/api/v2/alerts")[0] == 404


def test_connections_are_bounded(running):
    service, client = running(max_connections=1)
    holder = socket.create_connection(("127.0.0.1", service.server.server_address[1]), timeout=5)
    try:
        holder.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\n")  # and then nothing: holds the slot
        time.sleep(0.3)
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
            client.get("/-/healthy")
        assert service.metrics.registry.get_sample_value("vigil_responder_webhook_requests_total",
                                                         {"result": "busy"}) >= 1
    finally:
        holder.close()

    def healthy():
        try:
            return client.get("/-/healthy")[0] == 200
        except OSError:  # the slot is freed when the server notices the closed connection
            return False

    wait_for(healthy)


def test_a_webhook_blocks_on_opnsense_and_the_block_expires(running, tmp_path):
    certs = Certificates(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certs.cert_file), str(certs.key_file))
    opnsense = FakeOpnsense(key=KEY, secret=SECRET).start(ssl_context=context)
    try:
        service, client = running(
            dry_run=False,
            responses=[{"alertname": "BruteForceSource", "action": "block_ip", "label": "src_ip", "ttl": "2s"}],
            firewalls=[{"name": "opn1", "type": "opnsense", "url": opnsense.url, "alias": "vigil_blocked",
                        "api_key": KEY, "api_secret": SECRET, "ca_file": str(certs.ca_file)}])
        status, body, _headers = client.post(payload(alert("203.0.113.7"), alert("10.1.2.3")))
        assert (status, body["status"]) == (202, "accepted")
        wait_for(lambda: opnsense.tables["vigil_blocked"] == {"203.0.113.7"})
        wait_for(lambda: opnsense.tables["vigil_blocked"] == set(), timeout=15)
        events = audit_events(service)
        assert events[:3] == ["received", "applied", "refused"] and "expired" in events
        assert "VIGIL-MARKER" not in open(service.config.audit_log, encoding="utf-8").read()
    finally:
        opnsense.stop()
