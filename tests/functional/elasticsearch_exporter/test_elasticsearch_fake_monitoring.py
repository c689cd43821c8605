"""The Elasticsearch fake's monitoring endpoints, and the real exporter reading them.

The fake (tests/standins/elastic.py, section "the read-only monitoring endpoints") is
the stand-in that the elasticsearch_exporter role's Molecule scenario and the lab serve
with tests/standins/fake_elasticsearch.py. These tests pin the response shapes Elasticsearch's
API documentation gives, then run Debian's prometheus-elasticsearch-exporter against the
fake when the binary is there (``VIGIL_ELASTICSEARCH_EXPORTER``: colon-separated paths,
else ``prometheus-elasticsearch-exporter`` on PATH), so a change to the fake that the
exporter cannot read is caught on the controller.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from standins.base import Request
from standins.elastic import FakeElasticsearch, structured_settings

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "tests" / "standins" / "fake_elasticsearch.py"
WATERMARK = "cluster.routing.allocation.disk.watermark"


class Clock:
    def __init__(self) -> None:
        self.now = 1_767_225_600.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake():
    es = FakeElasticsearch()
    clock = Clock()
    es.clock = clock
    es.monitoring_started = clock.now
    es.clock_for_test = clock
    return es


def get(es, path, **query):
    return es.handle(Request("GET", path, {k: [v] for k, v in query.items()}, {}, None))


def test_root_names_the_cluster_and_its_version(fake):
    status, body = get(fake, "/")
    assert status == 200
    assert body["cluster_name"] == "vigil"
    assert body["version"]["number"] == "8.17.0"
    assert body["tagline"] == "You Know, for Search"


def test_health_counts_follow_the_cluster(fake):
    status, body = get(fake, "/_cluster/health")
    assert status == 200
    # three backing indices (syslog generation 2, linux_auth generation 1), no replica
    assert body["status"] == "green"
    assert (body["active_primary_shards"], body["active_shards"], body["unassigned_shards"]) == (3, 3, 0)
    assert body["number_of_nodes"] == body["number_of_data_nodes"] == 1
    fake.monitoring.update(status="red", unassigned_shards=2)
    body = get(fake, "/_cluster/health")[1]
    assert (body["status"], body["unassigned_shards"], body["unassigned_primary_shards"]) == ("red", 2, 2)
    assert body["active_shards"] == 1


def test_settings_defaults_are_nested_as_elasticsearch_nests_them(fake):
    body = get(fake, "/_cluster/settings", include_defaults="true")[1]
    watermark = body["defaults"]["cluster"]["routing"]["allocation"]["disk"]["watermark"]
    assert watermark["high"] == "90%"
    assert watermark["high.max_headroom"] == "150GB"
    assert watermark["flood_stage.frozen.max_headroom"] == "20GB"
    assert body["persistent"] == {} and body["transient"] == {}
    assert "defaults" not in get(fake, "/_cluster/settings")[1]


def test_a_watermark_set_as_a_percentage_turns_its_default_headroom_into_an_object(fake):
    """Elasticsearch's shape that exporter 1.9.0 cannot parse (its issue #1044)."""
    fake.monitoring["persistent"] = {WATERMARK + ".high": "92%"}
    body = get(fake, "/_cluster/settings", include_defaults="true")[1]
    assert body["persistent"]["cluster"]["routing"]["allocation"]["disk"]["watermark"] == {"high": "92%"}
    defaults = body["defaults"]["cluster"]["routing"]["allocation"]["disk"]["watermark"]
    assert defaults["high"] == {"max_headroom": "-1"}
    flat = get(fake, "/_cluster/settings", include_defaults="true", flat_settings="true")[1]
    assert flat["defaults"][WATERMARK + ".high.max_headroom"] == "-1"
    assert flat["persistent"] == {WATERMARK + ".high": "92%"}


def test_structured_settings_keep_a_value_and_its_dotted_children_side_by_side():
    nested = structured_settings({"a.b": "1", "a.b.c": "2", "a.d.e": "3"})
    assert nested == {"a": {"b": "1", "b.c": "2", "d": {"e": "3"}}}


def test_node_stats_carry_the_data_path_filesystem(fake):
    status, body = get(fake, "/_nodes/_local/stats")
    assert status == 200
    (node,) = body["nodes"].values()
    data = node["fs"]["data"][0]
    assert (data["path"], data["total_in_bytes"], data["available_in_bytes"]) == (
        "/var/lib/elasticsearch",
        100 * 1024**3,
        60 * 1024**3,
    )
    assert body["cluster_name"] == "vigil"
    assert get(fake, "/_nodes/stats")[1]["_nodes"]["total"] == 1


def test_index_stats_list_backing_indices_and_the_write_index_grows(fake):
    body = get(fake, "/_all/_stats", ignore_unavailable="true")[1]
    names = sorted(body["indices"])
    assert names == [
        ".ds-logs-system.syslog-default-2026.01.01-000001",
        ".ds-logs-system.syslog-default-2026.01.01-000002",
        ".ds-logs-vigil.linux_auth-default-2026.01.01-000001",
    ]
    write = ".ds-logs-system.syslog-default-2026.01.01-000002"
    before = body["indices"][write]["primaries"]["indexing"]["index_total"]
    fake.clock_for_test.now += 300  # five minutes at 60 documents a minute
    after = get(fake, "/_all/_stats")[1]["indices"]
    assert after[write]["primaries"]["indexing"]["index_total"] == before + 300
    old = ".ds-logs-system.syslog-default-2026.01.01-000001"
    assert after[old]["primaries"]["docs"]["count"] == body["indices"][old]["primaries"]["docs"]["count"]
    # A stream whose ingestion stopped keeps its count.
    fake.monitoring["data_streams"][1]["docs_per_minute"] = 0
    auth = ".ds-logs-vigil.linux_auth-default-2026.01.01-000001"
    count = get(fake, "/_all/_stats")[1]["indices"][auth]["primaries"]["docs"]["count"]
    fake.clock_for_test.now += 600
    assert get(fake, "/_all/_stats")[1]["indices"][auth]["primaries"]["docs"]["count"] == count


def test_index_stats_of_a_data_stream_and_of_a_missing_index(fake):
    body = get(fake, "/logs-vigil.linux_auth-default/_stats")[1]
    assert list(body["indices"]) == [".ds-logs-vigil.linux_auth-default-2026.01.01-000001"]
    status, error = get(fake, "/nope/_stats")
    assert status == 404 and error["error"]["type"] == "index_not_found_exception"


def test_data_stream_stats(fake):
    status, body = get(fake, "/_data_stream/*/_stats")
    assert status == 200
    assert (body["data_stream_count"], body["backing_indices"]) == (2, 3)
    syslog = next(s for s in body["data_streams"] if s["data_stream"] == "logs-system.syslog-default")
    assert syslog["backing_indices"] == 2
    assert syslog["store_size_bytes"] == (1000 + 1000) * 512


def test_cat_shards_and_aliases(fake):
    rows = get(fake, "/_cat/shards", format="json")[1]
    assert {row["state"] for row in rows} == {"STARTED"}
    assert all(isinstance(value, str) for row in rows for value in row.values())
    assert get(fake, "/_cat/shards")[0] == 400
    assert get(fake, "/_alias")[1][".ds-logs-vigil.linux_auth-default-2026.01.01-000001"] == {"aliases": {}}


def test_writes_are_not_monitoring_reads(fake):
    status, body = fake.handle(Request("PUT", "/_cluster/settings", {}, {}, {"persistent": {}}))
    assert status == 400 and "no handler found" in body["error"]["reason"]


# ------------------------------------------------------------------ the lab server script


def _certificate(tmp_path: Path) -> tuple:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "es.crt", tmp_path / "es.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    """tests/standins/fake_elasticsearch.py on loopback over TLS, user monitor:secret-0123."""
    cert, key = _certificate(tmp_path)
    users = tmp_path / "users.txt"
    users.write_text("# lab users\nmonitor:secret-0123\n", encoding="utf-8")
    state = tmp_path / "state.json"
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--port", str(port), "--tls-cert", str(cert), "--tls-key", str(key),
         "--basic-auth-file", str(users), "--state-file", str(state)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.strip() == "listening on https://127.0.0.1:%d" % port, line + proc.stderr.read()
        yield {"url": "https://localhost:%d" % port, "ca": cert, "state": state, "port": port}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _fetch(served, path, auth=None):
    context = ssl.create_default_context(cafile=str(served["ca"]))
    request = urllib.request.Request(served["url"] + path)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def test_the_script_serves_the_fake_over_tls_with_basic_auth_and_a_state_file(served):
    assert _fetch(served, "/_cluster/health")[0] == 401
    assert _fetch(served, "/_cluster/health", "monitor:wrong")[0] == 401
    status, body = _fetch(served, "/_cluster/health", "monitor:secret-0123")
    assert (status, body["status"]) == (200, "green")
    served["state"].write_text(json.dumps({"status": "yellow", "cluster_name": "lab"}), encoding="utf-8")
    status, body = _fetch(served, "/_cluster/health", "monitor:secret-0123")
    assert (body["status"], body["cluster_name"]) == ("yellow", "lab")


# ------------------------------------------------------------------ the real exporter


def _exporters():
    given = os.environ.get("VIGIL_ELASTICSEARCH_EXPORTER", "")
    paths = [p for p in given.split(":") if p] or [shutil.which("prometheus-elasticsearch-exporter") or ""]
    return [p for p in paths if p]


def _version(binary: str) -> tuple:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False)
    match = re.search(r"version (\d+)\.(\d+)\.(\d+)", out.stdout + out.stderr)
    assert match, out.stdout + out.stderr
    return tuple(int(part) for part in match.groups())


@pytest.mark.parametrize("binary", _exporters() or [None], ids=lambda b: os.path.basename(b) if b else "missing")
def test_the_real_exporter_reads_the_fake(served, binary, tmp_path):
    if not binary:
        pytest.skip("no prometheus-elasticsearch-exporter here: apt-get install prometheus-elasticsearch-exporter "
                    "or set VIGIL_ELASTICSEARCH_EXPORTER")
    version = _version(binary)
    port = _free_port()
    settings = ["--collector.clustersettings"] if version >= (1, 6, 0) else ["--es.cluster_settings"]
    env = dict(os.environ, ES_USERNAME="monitor", ES_PASSWORD="secret-0123")
    proc = subprocess.Popen(
        [binary, "--es.uri=" + served["url"], "--es.ca=" + str(served["ca"]), "--es.all", "--es.indices",
         "--es.data_stream", "--web.listen-address=127.0.0.1:%d" % port] + settings,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    text = ""
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as response:
                    text = response.read().decode()
                if "elasticsearch_indices_docs_primary" in text:
                    break
            except OSError:
                pass
            time.sleep(0.5)
    finally:
        proc.terminate()
        log = proc.communicate(timeout=10)[0]
    assert 'elasticsearch_cluster_health_status{cluster="vigil",color="green"} 1' in text, log
    assert 'elasticsearch_data_stream_backing_indices_total{data_stream="logs-system.syslog-default"} 2' in text
    assert re.search(
        r'elasticsearch_index_stats_indexing_index_total\{cluster="vigil",'
        r'index="\.ds-logs-vigil\.linux_auth-default-2026\.01\.01-000001"\} \d+', text
    ), log
    assert re.search(r'elasticsearch_filesystem_data_available_bytes\{[^}]*name="es-1"[^}]*\} 6\.4424509\d*e\+10', text)
    if version >= (1, 7, 0):
        assert "elasticsearch_clustersettings_allocation_watermark_high_ratio 0.9" in text
    # Every collector read its endpoint (the exporter logs "failed to ..." otherwise).
    assert "failed" not in log.lower(), log
