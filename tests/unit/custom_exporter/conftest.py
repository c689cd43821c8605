"""Fixtures for the custom exporter tests: the package's names, fake JSON sources, certificates.

The exporter is the package ``services/vigil_custom_exporter`` (``src/vigil_custom_exporter``);
its ``src`` directory is put on ``sys.path`` here, and ``EXPORTER_COMMAND`` with
``exporter_env()`` runs it as ``python -m vigil_custom_exporter``. Fake sources are in-process HTTP servers on 127.0.0.1 whose
routes answer with a chosen status, body and delay and record the requests they get.

This directory is a package (an empty ``__init__.py``, as ansible-test's empty-init wants)
so that this conftest is imported as ``custom_exporter.conftest`` and does not shadow
``tests/unit/conftest.py``, which other tests import as ``conftest``.
"""

from __future__ import annotations

import datetime
import importlib
import importlib.util
import ipaddress
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
PACKAGE = REPO / "services" / "vigil_custom_exporter"
SRC = PACKAGE / "src"
FAKE_FIREWALL_PATH = REPO / "tests" / "standins" / "fake_firewall_api.py"
EXAMPLE_CONFIG = PACKAGE / "example-config.yml"
# The package's modules, in the order their names are gathered into the ``vce`` fixture.
MODULES = ("schema", "webconfig", "config", "sources", "collector", "server", "cli")
EXPORTER_COMMAND = (sys.executable, "-m", "vigil_custom_exporter")
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))


def exporter_env(**extra: str) -> Dict[str, str]:
    """The environment that runs the package from the checkout (``EXPORTER_COMMAND``)."""
    path = [str(SRC)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(path), **extra)


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def vce() -> SimpleNamespace:
    """The public names of the exporter's modules (schema, config, ..., cli), as one namespace."""
    names: Dict[str, Any] = {}
    for module in MODULES:
        imported = importlib.import_module("vigil_custom_exporter." + module)
        names.update((name, value) for name, value in vars(imported).items() if not name.startswith("_"))
    return SimpleNamespace(**names)


@pytest.fixture(scope="session")
def fakefw() -> ModuleType:
    """tests/standins/fake_firewall_api.py, imported as a module."""
    return _load("fake_firewall_api", FAKE_FIREWALL_PATH)


class Route:
    """What one path answers: status, body, extra headers, and an optional delay before answering."""

    def __init__(self, status: int = 200, body: Any = None, raw: Optional[bytes] = None, delay: float = 0.0,
                 headers: Optional[Dict[str, str]] = None):
        self.status = status
        self.headers = headers or {}
        self.body = raw if raw is not None else json.dumps(body).encode()
        self.delay = delay


class FakeSource:
    """A JSON HTTP server on 127.0.0.1 with configurable routes; records request headers."""

    def __init__(self) -> None:
        self.routes: Dict[str, Route] = {}
        self.requests: List[Tuple[str, Dict[str, str]]] = []
        self.release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                fake.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = fake.routes.get(self.path, Route(404, {"error": "not found"}))
                if route.delay:
                    fake.release.wait(route.delay)
                try:
                    self.send_response(route.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(route.body)))
                    for name, value in route.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(route.body)
                except OSError:
                    pass  # the client gave up (timeout tests)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return "http://127.0.0.1:%d%s" % (self.server.server_address[1], path)

    def count(self, path: str) -> int:
        return sum(1 for p, dummy in self.requests if p == path)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def source() -> Iterator[FakeSource]:
    """A fresh fake JSON source; set ``source.routes[path] = Route(...)``."""
    fake = FakeSource()
    yield fake
    fake.close()


@pytest.fixture
def route() -> type:
    return Route


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def free_port() -> Callable[[], int]:
    return closed_port


@pytest.fixture
def make_config(vce: SimpleNamespace, tmp_path: Path) -> Callable[..., Any]:
    """Build a validated Config from a dict (written to a file, so relative paths work)."""

    def _make(data: Dict[str, Any], name: str = "config.yml") -> Any:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data))
        return vce.load_config(str(path))

    return _make


def http_source(name: str, url: str, metrics: List[Dict[str, Any]], **extra: Any) -> Dict[str, Any]:
    item: Dict[str, Any] = {"name": name, "type": "http", "url": url, "metrics": metrics}
    item.update(extra)
    return item


def command_source(name: str, argv: List[str], metrics: List[Dict[str, Any]], **extra: Any) -> Dict[str, Any]:
    item: Dict[str, Any] = {"name": name, "type": "command", "command": argv, "metrics": metrics}
    item.update(extra)
    return item


@pytest.fixture
def src() -> Any:
    """Builders for source dicts: ``src.http(...)`` and ``src.command(...)``."""

    class Builders:
        http = staticmethod(http_source)
        command = staticmethod(command_source)

    return Builders


def samples_of(families: Any) -> Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float]:
    """Flatten collected metric families into {(sample name, sorted labels): value}."""
    out: Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float] = {}
    for family in families:
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


@pytest.fixture
def scrape(vce: SimpleNamespace) -> Iterator[Callable[[Any], Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float]]]:
    """``scrape(config)`` -> samples of one collection; an Exporter per config, closed afterwards."""
    exporters: List[Any] = []

    def _scrape(config_or_exporter: Any) -> Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float]:
        exporter = config_or_exporter
        if isinstance(config_or_exporter, vce.Config):
            exporter = vce.Exporter(config_or_exporter)
            exporters.append(exporter)
        return samples_of(exporter.collect())

    yield _scrape
    for exporter in exporters:
        exporter.close()


@pytest.fixture
def exporter_of(vce: SimpleNamespace) -> Iterator[Callable[[Any], Any]]:
    """``exporter_of(config)`` -> a running Exporter, closed at teardown."""
    made: List[Any] = []

    def _make(config: Any) -> Any:
        exporter = vce.Exporter(config)
        made.append(exporter)
        return exporter

    yield _make
    for exporter in made:
        exporter.close()


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, step: float = 0.02) -> Any:
    """Poll until predicate() is truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not met within %.1fs" % timeout)


@pytest.fixture
def until() -> Callable[..., Any]:
    return wait_for


class Certificates:
    """A throw-away CA and a server certificate for 127.0.0.1, as PEM files."""

    def __init__(self, directory: Path) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        now = datetime.datetime.now(datetime.timezone.utc)

        def build(subject: str, issuer: Any, issuer_key: Any, key: Any, ca: bool) -> Any:
            builder = (x509.CertificateBuilder()
                       .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                       .issuer_name(issuer).public_key(key.public_key())
                       .serial_number(x509.random_serial_number())
                       .not_valid_before(now - datetime.timedelta(minutes=5))
                       .not_valid_after(now + datetime.timedelta(days=1))
                       .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                       .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                       .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                                      critical=False)
                       .add_extension(x509.KeyUsage(digital_signature=not ca, content_commitment=False,
                                                    key_encipherment=False, data_encipherment=False,
                                                    key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                                                    encipher_only=False, decipher_only=False), critical=True))
            if not ca:  # Python 3.13 verifies strictly (VERIFY_X509_STRICT): keep the leaf complete
                builder = (builder
                           .add_extension(x509.SubjectAlternativeName([
                               x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                               critical=False)
                           .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                                          critical=False))
            return builder.sign(issuer_key, hashes.SHA256())

        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vigil test CA")])
        ca_cert = build("vigil test CA", ca_name, ca_key, ca_key, True)
        key = ec.generate_private_key(ec.SECP256R1())
        cert = build("127.0.0.1", ca_name, ca_key, key, False)
        self.ca_file = directory / "ca.pem"
        self.cert_file = directory / "server.pem"
        self.key_file = directory / "server.key"
        self.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        self.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                    serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return Certificates(tmp_path_factory.mktemp("certs"))
