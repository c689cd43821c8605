#!/usr/bin/env python
"""Serve the project's Elasticsearch fake (tests/unit/fakes/elastic.py) on an address.

A lab and Molecule stand-in for the read-only endpoints a monitoring client calls
(``/``, ``/_cluster/health``, ``/_cluster/settings``, ``/_nodes/stats``, ``/_all/_stats``,
``/_data_stream/_stats``, ``/_cat/shards``, ``/_alias``): the same code the unit tests use,
served over HTTP or HTTPS. It is not Elasticsearch: it answers what Elasticsearch's API
documentation says those calls answer, for a small cluster described by
``fakes.elastic.default_monitoring()``.

    fake_elasticsearch.py --address 0.0.0.0 --port 9200 \\
        --tls-cert host.crt --tls-key host.key \\
        --basic-auth-file users.txt --state-file state.json

``--basic-auth-file``: lines ``user:password``; every request must then carry one of them
(``Authorization: Basic``) or an API key from ``--api-key-file`` (lines ``id:key``,
``Authorization: ApiKey base64(id:key)``), else 401 as Elasticsearch answers. Secrets are
read from files so that they never show on a command line.
``--state-file``: a JSON object whose keys replace those of the default cluster, read
again on every request: a test changes the cluster (status, disk, a stream's
``docs_per_minute``) by writing that file. The first line on stdout is
``listening on http(s)://HOST:PORT``. Standard library only.

The fakes package is found next to this script (``fakes/``, as the lab installs it) or
in the repository's tests/unit.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import ssl
import sys
import threading
from typing import Any, Dict, List, Optional, Sequence, Set

HERE = os.path.dirname(os.path.abspath(__file__))
for candidate in (HERE, os.path.join(HERE, os.pardir, "tests", "unit")):
    if os.path.isdir(os.path.join(candidate, "fakes")):
        sys.path.insert(0, os.path.abspath(candidate))
        break

from fakes.base import Request  # noqa: E402  (found above)
from fakes.elastic import FakeElasticsearch, default_monitoring  # noqa: E402


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
    """The fake with several accepted credentials and a state file read on every request."""

    def __init__(self, accepted: Set[str], state_file: Optional[str]) -> None:
        self.accepted = accepted
        self.state_file = state_file
        super().__init__()

    def handle(self, req: Request):  # type: ignore[override]
        if self.accepted and req.headers.get("authorization") not in self.accepted:
            return self.unauthorized()
        try:
            self.monitoring = read_state(self.state_file)
        except (OSError, ValueError) as exc:
            return 500, {"error": {"type": "fake_state_error", "reason": str(exc)}, "status": 500}
        return super().handle(req)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9200, help="0: a free port")
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", help="and this key (PEM)")
    parser.add_argument("--basic-auth-file", help="lines user:password accepted as Basic authentication")
    parser.add_argument("--api-key-file", help="lines id:key accepted as ApiKey authentication")
    parser.add_argument("--state-file", help="JSON object over the default cluster, read on every request")
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
    fake = LabElasticsearch(accepted, args.state_file)
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
