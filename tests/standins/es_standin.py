"""Stand-in for one Elasticsearch node: the REST calls of the rolling upgrade.

Elasticsearch cannot be installed in the lab. The upgrade scenario packages this
program as a fake `elasticsearch` .deb (one per version, see build_standin.yml) so
that the role's upgrade path runs for real: dpkg hold, package install, systemd
stop/start and the REST calls. It follows Elasticsearch's documented behaviour for
what the upgrade uses:

* it reads /etc/elasticsearch/elasticsearch.yml: node.name, cluster.name, http.port,
  path.data, discovery.seed_hosts and the xpack.security.http.ssl certificate and key
  (HTTPS only, as with security on);
* every request needs HTTP basic auth as `elastic` (401 `security_exception`
  otherwise); the password is the node's bootstrap password, here read from
  /etc/elasticsearch/standin/elastic.password;
* GET / (name, cluster name and UUID, version.number; the UUID is `_na_` while the
  node has not joined a cluster), PUT /_cluster/settings (persistent settings, null
  removes one; kept in path.data across restarts), POST /_flush,
  GET /_cat/nodes?format=json&h=name,version, GET /_cluster/health;
* a node started while /etc/elasticsearch/standin/refuse-join exists cannot join its
  cluster: it answers 503 `master_not_discovered_exception` on the cluster APIs, as
  such a node does.

`_cat/nodes` lists this node and every seed host whose stand-in answers and has joined:
there is no real cluster state behind it. Health is green when all seed hosts are in
and allocation is not restricted, yellow otherwise (replicas would be unassigned).

Every start, stop and request is appended to <path.logs>/standin-events.log as a JSON
line, so that tests can check the order of the upgrade across nodes.
"""

import base64
import hashlib
import json
import os
import signal
import socket
import ssl
import sys
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONFIG = "/etc/elasticsearch/elasticsearch.yml"
PASSWORD_FILE = "/etc/elasticsearch/standin/elastic.password"
# Present at start: the node cannot join its cluster (how a broken node looks to the API).
REFUSE_JOIN_FILE = "/etc/elasticsearch/standin/refuse-join"
PACKAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "standin.json")


def flatten(data, prefix=""):
    out = {}
    for key, value in (data or {}).items():
        name = prefix + str(key)
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def load_settings():
    import yaml  # python3-yaml: a dependency of the stand-in package

    with open(CONFIG, encoding="utf-8") as handle:
        settings = flatten(yaml.safe_load(handle))
    with open(PACKAGE, encoding="utf-8") as handle:
        package = json.load(handle)
    with open(PASSWORD_FILE, encoding="utf-8") as handle:
        password = handle.read().strip()
    return settings, package, password


class Node:
    def __init__(self, settings, package, password):
        self.settings = settings
        self.version = package["version"]
        self.joins = not os.path.exists(REFUSE_JOIN_FILE)
        self.name = str(settings.get("node.name") or socket.gethostname())
        self.cluster = str(settings.get("cluster.name", "elasticsearch"))
        self.port = int(settings.get("http.port", 9200))
        self.data = settings.get("path.data", "/var/lib/elasticsearch")
        logs = settings.get("path.logs", "/var/log/elasticsearch")
        self.events = os.path.join(logs, "standin-events.log")
        self.auth = "Basic " + base64.b64encode(("elastic:" + password).encode()).decode()
        self.peers = [str(h).rsplit(":", 1)[0].strip("[]") for h in settings.get("discovery.seed_hosts") or []]
        self.ca = settings.get("xpack.security.http.ssl.certificate_authorities", [None])[0]

    # -- state ------------------------------------------------------------------------
    @property
    def uuid(self):
        if not self.joins:
            return "_na_"
        return hashlib.sha256(self.cluster.encode()).hexdigest()[:22]

    def settings_file(self):
        return os.path.join(self.data, "standin-cluster-settings.json")

    def persistent(self):
        try:
            with open(self.settings_file(), encoding="utf-8") as handle:
                return json.load(handle)
        except FileNotFoundError:
            return {}

    def event(self, kind, **fields):
        record = {"t": time.time(), "node": self.name, "version": self.version, "event": kind}
        record.update(fields)
        with open(self.events, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")

    # -- cluster view -----------------------------------------------------------------
    def peer_root(self, host):
        context = ssl.create_default_context(cafile=self.ca)
        request = urllib.request.Request("https://%s:%d/" % (host, self.port), headers={"Authorization": self.auth})
        try:
            with urllib.request.urlopen(request, timeout=2, context=context) as answer:
                return json.load(answer)
        except (OSError, ValueError):
            return None

    def members(self):
        nodes = [{"name": self.name, "version": self.version}]
        for host in self.peers:
            root = self.peer_root(host)
            if root and root.get("cluster_uuid") == self.uuid and root.get("name") != self.name:
                nodes.append({"name": root["name"], "version": root["version"]["number"]})
        return nodes

    # -- API --------------------------------------------------------------------------
    def route(self, method, path, query, body):
        if method == "GET" and path == "/":
            return 200, {
                "name": self.name,
                "cluster_name": self.cluster,
                "cluster_uuid": self.uuid,
                "version": {"number": self.version, "build_flavor": "default", "build_type": "deb"},
                "tagline": "You Know, for Search",
            }
        if not self.joins:
            return error(503, "master_not_discovered_exception", None)
        if path == "/_cluster/settings" and method == "PUT":
            return self.put_settings(body)
        if path == "/_cluster/settings" and method == "GET":
            flat = query.get("flat_settings") == "true"
            current = self.persistent()
            return 200, {"persistent": current if flat else nest(current), "transient": {}}
        if path == "/_flush" and method == "POST":
            return 200, {"_shards": {"total": 2, "successful": 2, "failed": 0}}
        if path == "/_cat/nodes" and method == "GET":
            if query.get("format") != "json":
                return 200, "\n".join("%s %s" % (n["name"], n["version"]) for n in self.members()) + "\n"
            return 200, self.members()
        if path == "/_cluster/health" and method == "GET":
            return 200, self.health()
        return error(400, "illegal_argument_exception", "no handler found for uri [%s] and method [%s]" % (path, method))

    def put_settings(self, body):
        if not isinstance(body, dict) or not set(body) <= {"persistent", "transient"}:
            return error(400, "action_request_validation_exception", "Validation Failed: 1: no settings to update;")
        current = self.persistent()
        for key, value in flatten(body.get("persistent") or {}).items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = str(value)
        tmp = self.settings_file() + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(current, handle)
        os.replace(tmp, self.settings_file())
        return 200, {"acknowledged": True, "persistent": nest(current), "transient": {}}

    def health(self):
        members = self.members()
        expected = max(len(self.peers), 1)
        restricted = self.persistent().get("cluster.routing.allocation.enable", "all") != "all"
        status = "yellow" if restricted or len(members) < expected else "green"
        return {
            "cluster_name": self.cluster,
            "status": status,
            "timed_out": False,
            "number_of_nodes": len(members),
            "number_of_data_nodes": len(members),
            "unassigned_shards": 0 if status == "green" else 1,
        }


def nest(flat):
    out = {}
    for key, value in flat.items():
        parts = key.split(".")
        target = out
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return out


def error(status, etype, reason):
    reason = reason or etype.replace("_", " ")
    cause = {"type": etype, "reason": reason}
    return status, {"error": {"root_cause": [cause], "type": etype, "reason": reason}, "status": status}


def make_handler(node):
    class Handler(BaseHTTPRequestHandler):
        def _dispatch(self):
            path, dummy, raw_query = self.path.partition("?")
            query = dict(p.split("=", 1) if "=" in p else (p, "") for p in raw_query.split("&") if p)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            if self.headers.get("Authorization") != node.auth:
                status, payload = error(401, "security_exception", "unable to authenticate user [elastic] for REST request [%s]" % path)
            else:
                status, payload = node.route(self.command, path, query, body)
            if not (path == "/" and self.client_address[0] not in ("127.0.0.1", "::1")):
                # Requests of the role (from localhost) and of tests; the peers' polling
                # of GET / from other nodes is not recorded.
                node.event("request", method=self.command, path=path, query=raw_query, body=body, status=status)
            data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if isinstance(payload, str) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status == 401:
                self.send_header("WWW-Authenticate", 'Basic realm="security" charset="UTF-8"')
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = _dispatch

        def log_message(self, format, *args):  # noqa: A002 - events go to standin-events.log
            return

    return Handler


def sd_notify(message):
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(message.encode())


def main():
    settings, package, password = load_settings()
    node = Node(settings, package, password)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(settings["xpack.security.http.ssl.certificate"], settings["xpack.security.http.ssl.key"])
    server = ThreadingHTTPServer(("0.0.0.0", node.port), make_handler(node))
    server.socket = context.wrap_socket(server.socket, server_side=True)

    def stop(_signum, _frame):
        node.event("stop")
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    node.event("start", joins=node.joins)
    sd_notify("READY=1")
    server.serve_forever()


if __name__ == "__main__":
    main()
