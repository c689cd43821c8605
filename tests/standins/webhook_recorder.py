"""Lab webhook recorder: stands in for chat, pager and ticket systems in Molecule tests.

Every POST, to any path, is appended as one JSON line {time, path, body} to the records
file (body parsed as JSON when it is JSON, else kept as text) and answered 200.
GET /records returns every record as a JSON list (?path=/x keeps one path), GET /healthz
answers ok, DELETE /records empties the file. Standard library only.

    webhook_recorder.py --listen 0.0.0.0:9099 --file /var/lib/webhook-recorder/records.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MAX_BODY = 1024 * 1024
_LOCK = threading.Lock()


def _read_records(path: str) -> list:
    records = []
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                line = line.strip()
                if line:
                    records.append(json.loads(line))
    except FileNotFoundError:
        pass
    return records


class Handler(BaseHTTPRequestHandler):
    server_version = "webhook-recorder/1"
    records_file = ""

    def _send(self, status: int, payload) -> None:
        data = json.dumps(payload, sort_keys=True).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(413, {"error": "body larger than %d bytes" % MAX_BODY})
            return
        raw = self.rfile.read(length).decode("utf-8", errors="replace")
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        record = {"time": time.time(), "path": urlsplit(self.path).path, "body": body}
        line = json.dumps(record, sort_keys=True) + "\n"
        with _LOCK:
            with open(self.records_file, "a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        self._send(200, {"recorded": True})

    def do_GET(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        if url.path == "/healthz":
            self._send(200, {"status": "ok"})
            return
        if url.path != "/records":
            self._send(404, {"error": "GET /records or /healthz"})
            return
        wanted = parse_qs(url.query).get("path")
        with _LOCK:
            records = _read_records(self.records_file)
        if wanted:
            records = [r for r in records if r.get("path") in wanted]
        self._send(200, records)

    def do_DELETE(self) -> None:  # noqa: N802
        if urlsplit(self.path).path != "/records":
            self._send(404, {"error": "DELETE /records"})
            return
        with _LOCK:
            with open(self.records_file, "w", encoding="utf-8"):
                pass
        self._send(200, {"deleted": True})

    def log_message(self, fmt: str, *args) -> None:  # one line per request in the journal
        print("%s %s" % (self.address_string(), fmt % args), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="0.0.0.0:9099", help="host:port to listen on")
    parser.add_argument("--file", default="/var/lib/webhook-recorder/records.jsonl", help="JSON lines file")
    args = parser.parse_args()
    host, dummy, port = args.listen.rpartition(":")
    Handler.records_file = args.file
    os.makedirs(os.path.dirname(args.file) or ".", exist_ok=True)
    open(args.file, "a", encoding="utf-8").close()
    server = ThreadingHTTPServer((host or "0.0.0.0", int(port)), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
