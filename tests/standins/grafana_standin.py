"""Stand-in for a pre-baked Grafana: the parts of Grafana the role talks to.

Grafana cannot be installed in the lab, so this plays the two interfaces the role uses
on a host where Grafana is pre-baked, following Grafana's documented behaviour:

* `grafana cli plugins ls|install <id> <version>|remove <id>` (the package's
  /usr/sbin/grafana wrapper): `ls` prints "<id> @ <version>" lines;
* the HTTP API as grafana-server.service: GET /api/health; GET /api/org with basic auth
  (401 on wrong credentials); POST /api/admin/provisioning/<kind>/reload for
  dashboards, datasources, plugins and alerting (admin only, 401 otherwise, 404 for an
  unknown kind). The admin credentials come from grafana.ini at the first start only,
  as in Grafana (admin_password applies when the database is created).

Every call is appended to /var/lib/grafana-standin/calls.log, so tests can see exactly
what the role asked for.
"""

import base64
import configparser
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = "/var/lib/grafana-standin"
INI = "/etc/grafana/grafana.ini"
KINDS = ("dashboards", "datasources", "plugins", "alerting")


def log(line):
    os.makedirs(STATE, exist_ok=True)
    with open(os.path.join(STATE, "calls.log"), "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def plugins():
    try:
        with open(os.path.join(STATE, "plugins.json"), encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {}


def save_plugins(data):
    os.makedirs(STATE, exist_ok=True)
    with open(os.path.join(STATE, "plugins.json"), "w", encoding="utf-8") as handle:
        json.dump(data, handle)


def cli(args):
    if args[:2] != ["cli", "plugins"] or len(args) < 3:
        print("usage: grafana cli plugins ls|install|remove", file=sys.stderr)
        return 2
    action, rest = args[2], args[3:]
    installed = plugins()
    if action == "ls":
        print("installed plugins:")
        for name, version in sorted(installed.items()):
            print("%s @ %s" % (name, version))
        return 0
    if action == "install" and rest:
        installed[rest[0]] = rest[1] if len(rest) > 1 else "latest"
        save_plugins(installed)
        log("cli install %s %s" % (rest[0], installed[rest[0]]))
        return 0
    if action == "remove" and rest:
        installed.pop(rest[0], None)
        save_plugins(installed)
        log("cli remove %s" % rest[0])
        return 0
    print("unknown plugins command %r" % action, file=sys.stderr)
    return 2


def admin_credentials():
    """From grafana.ini at the first start, then kept (as Grafana's database does)."""
    path = os.path.join(STATE, "admin.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            return tuple(json.load(handle))
    parser = configparser.RawConfigParser(interpolation=None)
    with open(INI, encoding="utf-8") as handle:
        parser.read_string("[__top__]\n" + handle.read())

    def value(key, default):
        raw = parser.get("security", key, fallback=default).strip()
        # grafana.ini quotes values holding ; or # with """ or `.
        for quote in ('"""', "`"):
            if raw.startswith(quote) and raw.endswith(quote) and len(raw) >= 2 * len(quote):
                return raw[len(quote):-len(quote)]
        return raw

    creds = (value("admin_user", "admin"), value("admin_password", "admin"))
    os.makedirs(STATE, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(list(creds), handle)
    return creds


class Api(BaseHTTPRequestHandler):
    creds = ("admin", "admin")

    def _reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _is_admin(self):
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, dummy, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return (user, password) == self.creds

    def do_GET(self):  # noqa: N802 - http.server's naming
        if self.path == "/api/health":
            self._reply(200, {"database": "ok", "version": "standin"})
        elif self.path == "/api/org":
            if self._is_admin():
                self._reply(200, {"id": 1, "name": "Main Org."})
            else:
                self._reply(401, {"message": "invalid username or password"})
        else:
            self._reply(404, {"message": "Not found"})

    def do_POST(self):  # noqa: N802
        parts = self.path.strip("/").split("/")
        if parts[:3] == ["api", "admin", "provisioning"] and len(parts) == 5 and parts[4] == "reload":
            if not self._is_admin():
                self._reply(401, {"message": "Unauthorized"})
            elif parts[3] not in KINDS:
                self._reply(404, {"message": "Not found"})
            else:
                log("reload %s" % parts[3])
                self._reply(200, {"message": "%s config reloaded" % parts[3].capitalize()})
        else:
            self._reply(404, {"message": "Not found"})

    def log_message(self, fmt, *args):
        pass


def serve(port):
    Api.creds = admin_credentials()
    log("start pid %d" % os.getpid())
    ThreadingHTTPServer(("0.0.0.0", port), Api).serve_forever()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]) if len(sys.argv) > 2 else 3000)
    else:
        sys.exit(cli(sys.argv[1:]))
