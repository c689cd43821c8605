"""A real Alertmanager (Debian's prometheus-alertmanager) on loopback, and a webhook recorder.

``running_alertmanager(config, tmp_path)`` starts the binary on free loopback ports with
temporary storage and the cluster listener off, waits (bounded) until it is ready, and
stops it afterwards. ``Recorder`` is an in-process HTTP server that keeps every POST
(path, time, JSON body), standing in for the receivers' pagers and chats.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
import yaml

BINARIES = ("prometheus-alertmanager", "alertmanager")


def alertmanager_binary() -> str:
    for name in BINARIES:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("Alertmanager not installed: apt-get install prometheus-alertmanager (as .ci/run does)")
    return ""


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_json(method: str, url: str, body: Any = None, raw: Optional[bytes] = None, timeout: float = 5) -> Any:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - loopback only
        text = resp.read().decode()
        return json.loads(text) if text else None


class Recorder:
    """Loopback webhook receiver: records {path, time, body} for every POST."""

    def __init__(self) -> None:
        self.records: List[Dict[str, Any]] = []
        self.lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                with recorder.lock:
                    recorder.records.append({"path": self.path, "time": time.monotonic(), "body": body})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def start(self) -> "Recorder":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def notifications(self, path: str, alertname: Optional[str] = None) -> List[Dict[str, Any]]:
        """Alertmanager webhook notifications received on ``path`` (for one alertname)."""
        with self.lock:
            found = [r for r in self.records if r["path"] == path]
        if alertname:
            found = [r for r in found if any(a["labels"].get("alertname") == alertname for a in r["body"]["alerts"])]
        return found


class Alertmanager:
    def __init__(self, url: str, process: subprocess.Popen, log: Path):
        self.url = url
        self.process = process
        self.log = log

    def post_raw(self, body: str) -> None:
        """POST a body exactly as given (a rendered Kibana webhook body) to /api/v2/alerts."""
        http_json("POST", self.url + "/api/v2/alerts", raw=body.encode("utf-8"))

    def alerts(self, alertname: str) -> List[Dict[str, Any]]:
        query = urllib.request.quote('alertname="%s"' % alertname)
        return http_json("GET", self.url + "/api/v2/alerts?filter=" + query) or []


@contextlib.contextmanager
def running_alertmanager(config: Dict[str, Any], directory: Path) -> Iterator[Alertmanager]:
    binary = alertmanager_binary()
    config_file = directory / "alertmanager.yml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    port = free_port()
    log = directory / "alertmanager.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - fixed binary and arguments
            [
                binary,
                "--config.file=%s" % config_file,
                "--storage.path=%s" % (directory / "data"),
                "--web.listen-address=127.0.0.1:%d" % port,
                "--cluster.listen-address=",
                "--log.level=info",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = "http://127.0.0.1:%d" % port
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise AssertionError("alertmanager exited with %s: %s" % (process.returncode, log.read_text()[-2000:]))
            try:
                urllib.request.urlopen(url + "/-/ready", timeout=2).close()  # noqa: S310 - loopback
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("alertmanager not ready within 20s: %s" % log.read_text()[-2000:]) from None
                time.sleep(0.2)
        yield Alertmanager(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
