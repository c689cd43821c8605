"""tests/standins/fake_elasticsearch.py with security on: the lab's Elasticsearch stand-in.

The lab serves the fake with ``--elastic-password-file`` so that the elasticsearch role
creates the component identities against it as ``elastic`` and every later call is
checked against its caller's privileges; ``--request-log`` records who each request
authenticated as, which tests/lab/test_stack.py reads. These tests run the script as the
lab does (a process, files for the secrets) on loopback.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "tests" / "standins" / "fake_elasticsearch.py"
ELASTIC = "elastic:VIGIL-MARKER-unit-elastic"
MONITOR = "vigil_monitoring:VIGIL-MARKER-unit-monitoring"
INGEST = "vigil_ingest:VIGIL-MARKER-unit-ingest"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    def __init__(self, tmp_path: Path, security: bool = True) -> None:
        self.tmp = tmp_path
        (tmp_path / "users.txt").write_text("# lab users\n%s\n" % MONITOR, encoding="utf-8")
        (tmp_path / "elastic.txt").write_text(ELASTIC.split(":", 1)[1] + "\n", encoding="utf-8")
        self.log = tmp_path / "requests.jsonl"
        self.security_state = tmp_path / "security.json"
        self.security = security
        self.proc = None
        self.url = ""

    def start(self, log_max: int = 1000) -> "Served":
        port = _free_port()
        argv = [sys.executable, str(SCRIPT), "--port", str(port), "--basic-auth-file", str(self.tmp / "users.txt"),
                "--request-log", str(self.log), "--request-log-max", str(log_max)]
        if self.security:
            argv += ["--elastic-password-file", str(self.tmp / "elastic.txt"),
                     "--security-state-file", str(self.security_state)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.strip() == "listening on http://127.0.0.1:%d" % port, line + self.proc.stderr.read()
        self.url = "http://127.0.0.1:%d" % port
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def call(self, method: str, path: str, auth: str = None, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if auth:
            request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as err:
            return err.code, json.load(err)

    def logged(self):
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def served(tmp_path):
    server = Served(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


def _make_ingest(served: Served) -> None:
    role = {"cluster": ["manage_ingest_pipelines", "manage_index_templates", "manage_ilm"]}
    assert served.call("PUT", "/_security/role/vigil_ingest", ELASTIC, role)[0] == 200
    user = {"password": INGEST.split(":", 1)[1], "roles": ["vigil_ingest"]}
    assert served.call("PUT", "/_security/user/vigil_ingest", ELASTIC, user)[0] == 200


def test_elastic_is_the_superuser_with_the_password_of_the_file(served):
    assert served.call("GET", "/_security/_authenticate")[0] == 401
    assert served.call("GET", "/_security/_authenticate", "elastic:wrong")[0] == 401
    status, body = served.call("GET", "/_security/_authenticate", ELASTIC)
    assert (status, body["username"], body["roles"]) == (200, "elastic", ["superuser"])


def test_the_lab_users_are_seeded_with_monitoring_privileges_only(served):
    status, body = served.call("GET", "/_cluster/health", MONITOR)
    assert (status, body["status"]) == (200, "green")
    assert served.call("GET", "/_all/_stats", MONITOR)[0] == 200
    assert served.call("GET", "/_data_stream/_stats", MONITOR)[0] == 200
    # A monitoring identity may not write or administer security.
    assert served.call("PUT", "/_ilm/policy/p", MONITOR, {"policy": {"phases": {}}})[0] == 403
    assert served.call("GET", "/_security/user/elastic", MONITOR)[0] == 403
    status, body = served.call("GET", "/_security/role/vigil_monitoring", ELASTIC)
    assert body["vigil_monitoring"]["cluster"] == ["monitor"]


def test_get_alias_answers_only_the_indices_the_caller_may_see(served):
    """As Elasticsearch expands a wildcard to the authorised indices: {} rather than 403."""
    status, body = served.call("GET", "/_alias", MONITOR)
    assert (status, body) == (200, {})
    status, body = served.call("GET", "/_alias", ELASTIC)
    assert status == 200 and body


def test_privileges_are_enforced_for_identities_created_through_the_api(served):
    assert served.call("GET", "/_security/_authenticate", INGEST)[0] == 401
    _make_ingest(served)
    policy = {"policy": {"phases": {"delete": {"min_age": "7d", "actions": {"delete": {}}}}}}
    assert served.call("PUT", "/_ilm/policy/vigil-debug", INGEST, policy)[0] == 200
    # Not granted: creating users, and writing documents.
    assert served.call("PUT", "/_security/user/x", INGEST, {"password": "x" * 16, "roles": []})[0] == 403
    assert served.call("POST", "/logs-a-b/_doc", INGEST, {"message": "m"})[0] == 403


def test_every_request_is_logged_with_who_it_authenticated_as(served):
    served.call("GET", "/_cluster/health")
    _make_ingest(served)
    served.call("GET", "/_ilm/policy/none", INGEST)
    served.call("GET", "/_cluster/health", MONITOR)
    rows = [(r["method"], r["path"], r["auth"], r["status"]) for r in served.logged()]
    assert rows == [
        ("GET", "/_cluster/health", None, 401),
        ("PUT", "/_security/role/vigil_ingest", "elastic", 200),
        ("PUT", "/_security/user/vigil_ingest", "elastic", 200),
        ("GET", "/_ilm/policy/none", "vigil_ingest", 404),
        ("GET", "/_cluster/health", "vigil_monitoring", 200),
    ]
    assert all(isinstance(r["time"], float) for r in served.logged())
    # No secret in the log.
    assert "VIGIL-MARKER" not in served.log.read_text(encoding="utf-8")


def test_identities_survive_a_restart_and_the_state_file_is_private(tmp_path):
    server = Served(tmp_path).start()
    try:
        _make_ingest(server)
        assert server.security_state.stat().st_mode & 0o777 == 0o600
    finally:
        server.stop()
    server.start()
    try:
        status, body = server.call("GET", "/_security/_authenticate", INGEST)
        assert (status, body["username"]) == (200, "vigil_ingest")
        # The seeds do not overwrite what the API changed.
        assert server.call("POST", "/_security/user/vigil_monitoring/_password", ELASTIC,
                           {"password": "VIGIL-MARKER-rotated-password"})[0] == 200  # fmt: skip
    finally:
        server.stop()
    server.start()
    try:
        assert server.call("GET", "/_cluster/health", MONITOR)[0] == 401
        assert server.call("GET", "/_cluster/health", "vigil_monitoring:VIGIL-MARKER-rotated-password")[0] == 200
    finally:
        server.stop()


def test_the_request_log_is_rotated_at_its_bound(tmp_path):
    server = Served(tmp_path).start(log_max=3)
    try:
        for _i in range(5):
            server.call("GET", "/_cluster/health", MONITOR)
    finally:
        server.stop()
    assert len(server.log.read_text(encoding="utf-8").splitlines()) == 2
    assert len(Path(str(server.log) + ".1").read_text(encoding="utf-8").splitlines()) == 3


def test_without_an_elastic_password_only_the_listed_users_are_accepted_and_logged(tmp_path):
    server = Served(tmp_path, security=False).start()
    try:
        assert server.call("GET", "/_security/_authenticate", ELASTIC)[0] == 401
        assert server.call("GET", "/_cluster/health", MONITOR)[0] == 200
    finally:
        server.stop()
    assert [(r["auth"], r["status"]) for r in server.logged()] == [(None, 401), ("vigil_monitoring", 200)]
    assert not server.security_state.exists()


def test_the_fake_accepts_every_shipped_ecs_pipeline_and_refuses_unknown_options():
    """The lab uploads the ECS pipelines to the stand-in: the processors they use (grok,
    kv, csv, date, json...) are accepted with Elasticsearch's documented options."""
    from ansible_collections.vigil.monitoring.plugins.filter import ecs_pipeline as ep
    from ecs_support import field_map_names, load_field_map
    from standins.base import Request
    from standins.elastic import FakeElasticsearch

    es = FakeElasticsearch()
    for name in field_map_names():
        field_map = load_field_map(name)
        answer = es.handle(Request("PUT", "/_ingest/pipeline/" + ep.ecs_pipeline_name(field_map), {}, {},
                                   ep.ecs_pipeline(field_map)))  # fmt: skip
        assert answer == (200, {"acknowledged": True}), (name, answer)
    bad = {"processors": [{"grok": {"field": "message", "patterns": ["%{WORD:w}"], "pattern": "x"}}]}
    status, body = es.handle(Request("PUT", "/_ingest/pipeline/bad", {}, {}, bad))
    assert status == 400 and "doesn't support one or more provided configuration parameters [pattern]" in body["error"]["reason"]
    # Not simulated: a sample that reaches grok fails, as the fake cannot run it.
    simulate = {"pipeline": {"processors": [{"grok": {"field": "message", "patterns": ["%{WORD:w}"]}}]},
                "docs": [{"_source": {"message": "hello"}}]}
    status, body = es.handle(Request("POST", "/_ingest/pipeline/_simulate", {}, {}, simulate))
    assert status == 200 and "fake cannot run processor [grok]" in json.dumps(body)
