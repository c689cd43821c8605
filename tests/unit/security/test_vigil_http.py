"""vigil_http's rules, one by one, with scripted loopback servers (the matrix runs them through every module)."""

from __future__ import annotations

import contextlib
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Tuple

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common import warnings as ansible_warnings
from ansible_collections.vigil.monitoring.plugins.module_utils import vigil_http
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import ElasticsearchClient, elastic_argument_spec
from ansible_collections.vigil.monitoring.plugins.module_utils.vigil_http import (
    LIST_OF_OBJECTS,
    ApiClient,
    ApiError,
    ApiModule,
    UntrustedAnswer,
    api_argument_spec,
    origin_of,
    same_origin,
    shown_url,
    url_secrets,
)

import http_modules

Answer = Tuple[int, Dict[str, str], bytes]


class Scripted:
    """A loopback server answering from a script: path -> (status, headers, body); records every request."""

    def __init__(self) -> None:
        self.script: Dict[str, Answer] = {}
        self.requests: List[Dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append({"method": self.command, "path": self.path, "body": body,
                                        "headers": {k.lower(): v for k, v in self.headers.items()}})
                status, headers, data = server.script.get(self.path, (404, {}, b'{"error": "not scripted"}'))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, format, *args):  # noqa: A002
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self._server.server_address[1]

    def json(self, path: str, value: Any, status: int = 200) -> None:
        self.script[path] = (status, {"Content-Type": "application/json"}, json.dumps(value).encode())

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.script[path] = (status, {"Location": location}, b"")

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def api():
    server = Scripted()
    yield server
    server.stop()


@pytest.fixture
def elsewhere():
    server = Scripted()
    yield server
    server.stop()


def set_args(monkeypatch, args: Dict[str, Any]) -> None:
    payload = dict(args, _ansible_check_mode=False, _ansible_diff=False, _ansible_remote_tmp="/tmp",
                   _ansible_keep_remote_files=False)
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": payload}).encode())
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    monkeypatch.setattr(ansible_warnings, "_global_warnings", {})


@pytest.fixture
def client(monkeypatch):
    """client(url, **options) -> an ApiClient of a real ApiModule built from those arguments."""

    def _client(url: str, cls: Any = ApiClient, spec: Any = api_argument_spec, **options: Any) -> ApiClient:
        args = dict(url=url, retries=0, retry_delay=0, timeout=10)
        args.update(options)
        set_args(monkeypatch, args)
        return cls(ApiModule(argument_spec=spec(), supports_check_mode=True))

    return _client


def real_output(monkeypatch, main, args: Dict[str, Any]) -> str:
    """What a module prints (the controller's view, invocation included), through the real exit path."""
    set_args(monkeypatch, args)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main()
    return out.getvalue()


# --------------------------------------------------------------------------- origins


@pytest.mark.parametrize("a,b,same", [
    ("https://es.example.org", "https://es.example.org:443/x", True),
    ("http://es.example.org", "http://ES.example.org:80/", True),
    ("https://es.example.org", "http://es.example.org", False),  # scheme
    ("https://es.example.org", "https://es.example.org:9200", False),  # port
    ("https://es.example.org", "https://evil.example.org", False),  # host
    ("https://es.example.org", "https://es.example.org.evil.net", False),
])
def test_an_origin_is_scheme_host_and_port(a, b, same):
    assert same_origin(a, b) is same


def test_origin_fills_in_default_ports():
    assert origin_of("https://Kibana.Example.org/app") == ("https", "kibana.example.org", 443)


def test_urls_are_shown_without_credentials():
    assert shown_url("https://admin:s3cret@es.example.org:9200/_cat?v") == "https://es.example.org:9200/_cat?v"


@pytest.mark.parametrize("url,secrets", [
    ("https://admin:s3cret@host", {"admin:s3cret", "s3cret"}),
    ("https://glsa_TOKEN@host/api", {"glsa_TOKEN"}),
    ("https://admin:p%40ss@host", {"admin:p%40ss", "p%40ss", "p@ss"}),
    ("https://host/path@not-userinfo", set()),
    ("https://host", set()),
])
def test_url_secrets_are_found_in_every_form(url, secrets):
    assert set(url_secrets(url)) == secrets


# --------------------------------------------------------------------------- redirects


@pytest.mark.parametrize("auth", ["Bearer", "ApiKey", "Basic"])
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_authorization_never_reaches_another_origin(client, api, elsewhere, auth, status):
    api.redirect("/_ilm/policy/p", elsewhere.url + "/_ilm/policy/p", status)
    elsewhere.json("/_ilm/policy/p", {"p": {}})
    c = client(api.url, cls=ElasticsearchClient, spec=elastic_argument_spec, **http_modules.auth_args(auth))
    with pytest.raises(UntrustedAnswer) as caught:
        c.request("GET", "/_ilm/policy/p")
    assert "another origin" in str(caught.value) and elsewhere.url + "/_ilm/policy/p" in str(caught.value)
    assert caught.value.status == status
    sent = api.requests[0]["headers"]["authorization"]
    assert sent.startswith(auth + " "), "the API itself got the credentials"
    assert elsewhere.requests == [], "the other origin was contacted"


def test_a_same_origin_redirect_is_followed_and_keeps_method_body_and_credentials(client, api):
    api.redirect("/old/items/1", "/new/items/1", 308)
    api.json("/new/items/1", {"id": "1", "stored": True})
    c = client(api.url, api_token="t0ken")
    status, body = c.request("PUT", "/old/items/1", body={"a": 1})
    assert (status, body) == (200, {"id": "1", "stored": True})
    final = api.requests[-1]
    assert (final["method"], final["path"], json.loads(final["body"])) == ("PUT", "/new/items/1", {"a": 1})
    assert final["headers"]["authorization"] == "Bearer t0ken"


def test_a_relative_same_origin_redirect_is_followed_for_a_get(client, api):
    api.redirect("/api/thing", "thing/", 302)
    api.json("/api/thing/", {"ok": True})
    assert client(api.url).request("GET", "/api/thing") == (200, {"ok": True})


@pytest.mark.parametrize("status", [301, 302, 303])
def test_a_redirect_that_would_turn_a_write_into_a_get_is_refused(client, api, status):
    api.redirect("/api/write", "/api/elsewhere", status)
    with pytest.raises(UntrustedAnswer, match="turn it into a GET"):
        client(api.url).request("POST", "/api/write", body={})
    assert [r["path"] for r in api.requests] == ["/api/write"]


def test_redirects_are_bounded(client, api):
    for hop in range(10):
        api.redirect("/hop%d" % hop, "/hop%d" % (hop + 1))
    with pytest.raises(UntrustedAnswer, match="more than 5 redirects"):
        client(api.url).request("GET", "/hop0")
    assert len(api.requests) == vigil_http.MAX_REDIRECTS + 1


def test_a_redirect_carrying_credentials_is_refused_even_on_the_same_origin(client, api):
    api.redirect("/a", api.url.replace("://", "://intruder:pw@") + "/b")
    with pytest.raises(UntrustedAnswer) as caught:
        client(api.url).request("GET", "/a")
    assert "pw" not in str(caught.value).replace("http", "")
    assert len(api.requests) == 1


# --------------------------------------------------------------------------- bodies


def test_an_object_is_expected_by_default(client, api):
    api.json("/x", ["a", "list"])
    with pytest.raises(UntrustedAnswer, match="expected a JSON object") as caught:
        client(api.url).request("GET", "/x")
    assert caught.value.status == 200 and caught.value.url == api.url + "/x"
    assert caught.value.content_type == "application/json"


def test_null_is_not_an_object(client, api):
    api.json("/x", None)
    with pytest.raises(UntrustedAnswer, match="JSON null"):
        client(api.url).request("GET", "/x")


def test_html_with_200_names_endpoint_status_and_content_type(client, api):
    api.script["/x"] = (200, {"Content-Type": "text/html"}, b"<html><title>Login</title></html>")
    with pytest.raises(UntrustedAnswer) as caught:
        client(api.url).request("GET", "/x", expect=None)
    text = str(caught.value)
    assert text.startswith("GET %s/x answered HTTP 200 (text/html)" % api.url) and "not JSON" in text


def test_empty_bodies(client, api):
    api.script["/no-content"] = (204, {}, b"")
    api.script["/empty-200"] = (200, {}, b"")
    c = client(api.url)
    assert c.request("DELETE", "/no-content", expected=(204,)) == (204, None)
    assert c.request("DELETE", "/empty-200", expect=None) == (200, None)
    with pytest.raises(UntrustedAnswer, match="the body is empty; expected a JSON object"):
        c.request("GET", "/empty-200")


def test_a_list_of_objects(client, api):
    api.json("/objects", [{"uid": "a"}, {"uid": "b"}])
    api.json("/mixed", [{"uid": "a"}, "b"])
    c = client(api.url)
    assert c.request("GET", "/objects", expect=LIST_OF_OBJECTS)[1] == [{"uid": "a"}, {"uid": "b"}]
    with pytest.raises(UntrustedAnswer, match="expected a JSON list of objects"):
        c.request("GET", "/mixed", expect=LIST_OF_OBJECTS)


def test_expect_is_checked(client, api):
    with pytest.raises(ValueError, match="expect must be"):
        client(api.url).request("GET", "/x", expect="object")


def test_an_expected_404_is_returned_without_a_type_check(client, api):
    api.script["/gone"] = (404, {"Content-Type": "text/html"}, b"<html>Not Found</html>")
    assert client(api.url).request("GET", "/gone", expected=(200, 404))[0] == 404


def test_an_html_error_page_is_shown_short(client, api):
    api.script["/boom"] = (500, {"Content-Type": "text/html"}, b"<html>" + b"<p>stack frame</p>" * 500 + b"</html>")
    with pytest.raises(ApiError) as caught:
        client(api.url).request("GET", "/boom")
    assert caught.value.status == 500 and len(str(caught.value)) < 400
    assert "text/html answer of" in str(caught.value)


# --------------------------------------------------------------------------- retries


def test_a_certificate_that_does_not_verify_is_not_retried(client, monkeypatch, tmp_path):
    from hostile_servers import HostileServer, Recorder, self_signed_context

    sleeps: List[float] = []
    monkeypatch.setattr(vigil_http.time, "sleep", sleeps.append)
    context = self_signed_context(str(tmp_path))[0]
    server = HostileServer(Recorder()).start(context)
    try:
        with pytest.raises(UntrustedAnswer, match="TLS certificate does not verify.*set ca_path"):
            client(server.url, retries=3).request("GET", "/")
    finally:
        server.stop()
    assert sleeps == []


def test_a_refused_connection_is_retried_a_bounded_number_of_times(client, api, monkeypatch):
    sleeps: List[float] = []
    monkeypatch.setattr(vigil_http.time, "sleep", sleeps.append)
    url = api.url
    api.stop()
    with pytest.raises(ApiError, match="connection failed after 4 attempt"):
        client(url, retries=3, retry_delay=0.5).request("GET", "/")
    assert sleeps == [0.5, 0.5, 0.5]
    api._server = type("Stopped", (), {"shutdown": lambda self: None, "server_close": lambda self: None})()


# --------------------------------------------------------------------------- URL credentials


def test_credentials_in_the_url_are_refused_and_never_printed(monkeypatch):
    from ansible_collections.vigil.monitoring.plugins.modules import elasticsearch_ilm_policy

    output = real_output(monkeypatch, elasticsearch_ilm_policy.main, {
        "url": "https://elastic:%s@es.example.org:9200" % http_modules.URL_PASSWORD, "name": "p",
        "policy": {"phases": {}}})
    result = json.loads(output.strip().splitlines()[-1])
    assert result["failed"] is True
    assert "url must not contain credentials" in result["msg"] and "api_key" in result["msg"]
    assert http_modules.URL_PASSWORD not in output
    assert result["invocation"]["module_args"]["url"].endswith("********@es.example.org:9200")


def test_url_credentials_are_masked_even_when_ansible_refuses_the_arguments(monkeypatch):
    """A missing required option fails inside AnsibleModule itself, before any client exists."""
    from ansible_collections.vigil.monitoring.plugins.modules import kibana_connector

    output = real_output(monkeypatch, kibana_connector.main, {
        "url": "https://%s@kibana.example.org" % http_modules.URL_PASSWORD, "name": "x"})
    result = json.loads(output.strip().splitlines()[-1])
    assert result["failed"] is True and "id" in result["msg"]
    assert http_modules.URL_PASSWORD not in output


def test_an_api_client_refuses_url_credentials_on_any_module(monkeypatch):
    """A module written without ApiModule still cannot send them: the client refuses and masks."""
    set_args(monkeypatch, {"url": "https://admin:%s@h.example.org" % http_modules.URL_PASSWORD})
    module = basic.AnsibleModule(argument_spec=api_argument_spec())
    failures: List[Dict[str, Any]] = []

    def fail_json(**kwargs):
        failures.append(kwargs)
        raise SystemExit(1)

    monkeypatch.setattr(module, "fail_json", fail_json)
    with pytest.raises(SystemExit):
        ApiClient(module)
    assert "must not contain credentials" in failures[0]["msg"]
    assert http_modules.URL_PASSWORD in module.no_log_values
