#!/usr/bin/env python
"""Serve the project's Elasticsearch fake (tests/standins/elastic.py) on an address.

A lab and Molecule stand-in for the read-only endpoints a monitoring client calls
(``/``, ``/_cluster/health``, ``/_cluster/settings``, ``/_nodes/stats``, ``/_all/_stats``,
``/_data_stream/_stats``, ``/_cat/shards``, ``/_alias``): the same code the unit tests use,
served over HTTP or HTTPS. It is not Elasticsearch: it answers what Elasticsearch's API
documentation says those calls answer, for a small cluster described by
``standins.elastic.default_monitoring()``.

    fake_elasticsearch.py --address 0.0.0.0 --port 9200 \\
        --tls-cert host.crt --tls-key host.key \\
        --basic-auth-file users.txt --state-file state.json

``--basic-auth-file``: lines ``user:password``; every request must then carry one of them
(``Authorization: Basic``) or an API key from ``--api-key-file`` (lines ``id:key``,
``Authorization: ApiKey base64(id:key)``), else 401 as Elasticsearch answers. Secrets are
read from files so that they never show on a command line.
``--elastic-password-file``: security on. The fake then authenticates and authorises
every request as Elasticsearch does with its native realm (``standins/elastic_security.py``):
``elastic`` is the built-in superuser with the password in that file, the security API
(``_security/role``, ``_security/user``, ``_security/api_key``...) creates more users,
roles and keys, and each call is checked against the privileges of who made it. The
users of ``--basic-auth-file`` are then seeded as native users, each with a role of its
own name holding cluster and index ``monitor`` (what a monitoring client reads), until
the security API replaces them. ``--security-state-file``: where the users, roles and
keys are kept across restarts (written after every change, read at start).
``--request-log``: one JSON line per request (time, method, path, the user or
``api_key:<name>`` it authenticated as, or null, and the status), for the lab's tests;
the file is rotated to ``<file>.1`` at ``--request-log-max`` lines.
``--state-file``: a JSON object whose keys replace those of the default cluster, read
again on every request: a test changes the cluster (status, disk, a stream's
``docs_per_minute``) by writing that file. The first line on stdout is
``listening on http(s)://HOST:PORT``. Standard library only.

This script is a module of the ``standins`` package (tests/standins, or
``<dir>/standins`` as the lab installs it) and imports its siblings from there.
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import os
import signal
import ssl
import sys
import threading
import time
from typing import Any, Dict, List, Optional, Sequence, Set

# The package's parent directory (tests/, or the lab's program directory) makes ``standins`` importable.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from standins.base import Request  # noqa: E402  (found above)
from standins.elastic import FakeElasticsearch, default_monitoring  # noqa: E402
from standins.elastic_security import SecurityRealm  # noqa: E402

SEED_ROLE = {"cluster": ["monitor"], "indices": [{"names": ["*"], "privileges": ["monitor"]}]}
REALM_KEYS = ("users", "roles", "api_keys", "bearer_tokens")


def read_pairs(path: Optional[str], what: str) -> List[str]:
    """Non-empty, non-comment lines ``name:secret`` of a file."""
    if not path:
        return []
    pairs = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if ":" not in line:
                raise ValueError("%s line %d: expected %s" % (path, number, what))
            pairs.append(line)
    return pairs


def read_secret(path: Optional[str]) -> Optional[str]:
    """The first non-empty line of a file, stripped."""
    if not path:
        return None
    with open(path, encoding="utf-8") as handle:
        lines = [line.strip() for line in handle if line.strip()]
    if not lines:
        raise ValueError("%s is empty" % path)
    return lines[0]


def accepted_headers(users: Sequence[str], api_keys: Sequence[str]) -> Set[str]:
    def encode(text: str) -> str:
        return base64.b64encode(text.encode("utf-8")).decode("ascii")

    return {"Basic " + encode(u) for u in users} | {"ApiKey " + encode(k) for k in api_keys}


def read_state(path: Optional[str]) -> Dict[str, Any]:
    state = default_monitoring()
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            overlay = json.load(handle)
        if not isinstance(overlay, dict):
            raise ValueError("%s must hold a JSON object" % path)
        state.update(overlay)
    return state


class LabElasticsearch(FakeElasticsearch):
    """The fake with lab credentials, a state file read on every request, and a request log.

    Without an elastic password: the accepted ``Authorization`` headers only (security off).
    With one: the native realm of the unit tests, seeded with ``seed_users``.
    """

    def __init__(self, accepted: Set[str], state_file: Optional[str], elastic_password: Optional[str] = None,
                 seed_users: Sequence[str] = (), security_state_file: Optional[str] = None,
                 request_log: Optional[str] = None, request_log_max: int = 50000) -> None:  # fmt: skip
        self.accepted = accepted
        self.state_file = state_file
        self.seed_users = list(seed_users)
        self.security_state_file = security_state_file
        self.request_log = request_log
        self.request_log_max = request_log_max
        self._logged = count_lines(request_log)
        super().__init__(elastic_password=elastic_password or None)

    def init_state(self) -> None:
        super().init_state()
        if self.security is not None:
            seed_realm(self.security, self.seed_users)
            load_realm(self.security, self.security_state_file)

    def handle(self, req: Request):  # type: ignore[override]
        status, payload = self.answer(req)
        self.log(req, status)
        return status, payload

    def answer(self, req: Request):
        if self.security is None:
            if self.accepted and req.headers.get("authorization") not in self.accepted:
                return self.unauthorized()
            req.auth = basic_user(req.headers.get("authorization"))
        try:
            self.monitoring = read_state(self.state_file)
        except (OSError, ValueError) as exc:
            return 500, {"error": {"type": "fake_state_error", "reason": str(exc)}, "status": 500}
        status, payload = super().handle(req)
        if self.security is not None and req.path.startswith("/_security/") and req.method != "GET" and status < 300:
            save_realm(self.security, self.security_state_file)
        return status, payload

    def log(self, req: Request, status: int) -> None:
        if not self.request_log:
            return
        if self._logged >= self.request_log_max:
            os.replace(self.request_log, self.request_log + ".1")
            self._logged = 0
        entry = {"time": round(time.time(), 3), "method": req.method, "path": req.path, "auth": req.auth,
                 "status": status}  # fmt: skip
        with open(self.request_log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, sort_keys=True) + "\n")
        self._logged += 1


def basic_user(header: Optional[str]) -> Optional[str]:
    """The user name of a Basic ``Authorization`` header (None for anything else)."""
    if not header or not header.startswith("Basic "):
        return None
    try:
        return base64.b64decode(header[6:]).decode("utf-8").partition(":")[0]
    except ValueError:
        return None


def count_lines(path: Optional[str]) -> int:
    if not path or not os.path.exists(path):
        return 0
    with open(path, "rb") as handle:
        return sum(1 for _line in handle)


def seed_realm(realm: SecurityRealm, pairs: Sequence[str]) -> None:
    """Each ``user:password`` as a native user with a monitoring role of its own name."""
    for pair in pairs:
        name, _sep, password = pair.partition(":")
        realm.role("PUT", name, copy.deepcopy(SEED_ROLE))
        realm.users[name] = {"username": name, "roles": [name], "full_name": None, "email": None, "metadata": {},
                             "enabled": True, "password": password}  # fmt: skip


def load_realm(realm: SecurityRealm, path: Optional[str]) -> None:
    """Users, roles and keys kept by an earlier run (they win over the seeds)."""
    if not path or not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as handle:
        saved = json.load(handle)
    for key in REALM_KEYS:
        getattr(realm, key).update(saved.get(key) or {})


def save_realm(realm: SecurityRealm, path: Optional[str]) -> None:
    if not path:
        return
    temporary = path + ".tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump({key: getattr(realm, key) for key in REALM_KEYS}, handle, sort_keys=True)
    os.replace(temporary, path)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9200, help="0: a free port")
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", help="and this key (PEM)")
    parser.add_argument("--basic-auth-file", help="lines user:password accepted as Basic authentication")
    parser.add_argument("--api-key-file", help="lines id:key accepted as ApiKey authentication")
    parser.add_argument("--state-file", help="JSON object over the default cluster, read on every request")
    parser.add_argument("--elastic-password-file", help="security on: the password of the built-in elastic user")
    parser.add_argument("--security-state-file", help="security on: users, roles and keys kept across restarts")
    parser.add_argument("--request-log", help="one JSON line per request: method, path, who, status")
    parser.add_argument("--request-log-max", type=int, default=50000, help="lines before the log is rotated to .1")
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    accepted = accepted_headers(
        read_pairs(args.basic_auth_file, "user:password"), read_pairs(args.api_key_file, "id:key")
    )
    context = None
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    fake = LabElasticsearch(
        accepted, args.state_file, elastic_password=read_secret(args.elastic_password_file),
        seed_users=read_pairs(args.basic_auth_file, "user:password") if args.elastic_password_file else (),
        security_state_file=args.security_state_file, request_log=args.request_log,
        request_log_max=args.request_log_max,
    )
    fake.start(host=args.address, port=args.port, ssl_context=context)
    # The fake keeps every request for tests; a long-running stand-in must not.
    fake.requests = _Discard()
    print("listening on %s" % fake.url, flush=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    fake.stop()
    return 0


class _Discard(list):
    """A request log that keeps nothing."""

    def append(self, item: Any) -> None:  # noqa: D102
        return None


if __name__ == "__main__":
    sys.exit(main())
