"""node_exporter from a release tarball, with TLS and basic auth."""

import base64
import json

SERVICE = "prometheus-node-exporter"
URL = "https://127.0.0.1:9110/metrics"

# Runs on the lab host: HTTPS verified against the lab CA, optional basic auth;
# prints {"status": ..., "body": ...} as JSON.
CLIENT = """
import json, ssl, sys, urllib.error, urllib.request
req = urllib.request.Request(sys.argv[1])
if len(sys.argv) > 2:
    req.add_header("Authorization", "Basic " + sys.argv[2])
ctx = ssl.create_default_context(cafile="/etc/vigil/tls/ca.crt")
try:
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
        print(json.dumps({"status": resp.status, "body": resp.read().decode()}))
except urllib.error.HTTPError as err:
    print(json.dumps({"status": err.code, "body": ""}))
"""


def _get(host, user=None, password=None):
    args = [URL]
    if user:
        args.append(base64.b64encode(f"{user}:{password}".encode()).decode())
    quoted = " ".join("'%s'" % a for a in args)
    out = host.check_output("python3 -c '%s' %s" % (CLIENT, quoted))
    return json.loads(out)


def test_binary_comes_from_the_release_tarball(host):
    assert host.file("/usr/local/bin/node_exporter").mode == 0o755
    releases = host.file("/opt/vigil").listdir()
    assert any(r.startswith("node_exporter-1.5.0.linux-") for r in releases), releases
    assert "ExecStart=/usr/local/bin/node_exporter" in host.file(f"/etc/systemd/system/{SERVICE}.service").content_string


def test_service_runs_on_custom_port(host):
    assert host.service(SERVICE).is_running
    assert host.socket("tcp://0.0.0.0:9110").is_listening


def test_https_without_credentials_is_refused(host):
    assert _get(host)["status"] == 401


def test_https_with_credentials_serves_metrics_verified_by_the_lab_ca(host):
    result = _get(host, "scraper", "VIGIL-MARKER-password")
    assert result["status"] == 200
    assert "node_cpu_seconds_total" in result["body"]


def test_wrong_password_is_refused(host):
    assert _get(host, "scraper", "wrong")["status"] == 401


def test_web_config_holds_a_bcrypt_hash_not_the_password(host):
    f = host.file("/etc/prometheus/node-exporter/web-config.yml")
    assert f.mode == 0o640
    assert "VIGIL-MARKER-password" not in f.content_string
    assert "scraper: $2" in f.content_string


def test_disabled_collector_is_off(host):
    assert "--no-collector.wifi" in host.file(f"/etc/systemd/system/{SERVICE}.service").content_string
