"""Fixtures for the responder tests: the package on sys.path, configurations, a fake firewall, a clock.

The package is services/vigil_responder (its wheel is what the role installs) and is
imported from its src directory. This directory is a package (empty ``__init__.py``) so that
this conftest is ``responder.conftest`` and does not shadow ``tests/unit/conftest.py``.
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import bcrypt
import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
PACKAGE = REPO / "services" / "vigil_responder"
if str(PACKAGE / "src") not in sys.path:
    sys.path.insert(0, str(PACKAGE / "src"))

# pylint: disable=wrong-import-position
from vigil_responder.audit import AuditLog  # noqa: E402
from vigil_responder.config import Config, load_config  # noqa: E402
from vigil_responder.drivers import DRIVER_TYPES, Driver, DriverError  # noqa: E402
from vigil_responder.engine import Engine  # noqa: E402
from vigil_responder.metrics import Metrics  # noqa: E402
from vigil_responder.state import State  # noqa: E402

WEBHOOK_USER = "alertmanager"
WEBHOOK_PASSWORD = "VIGIL-MARKER-responder-webhook"
# bcrypt cost 4: the tests check many requests; the role writes cost 10+ hashes.
WEBHOOK_HASH = bcrypt.hashpw(WEBHOOK_PASSWORD.encode(), bcrypt.gensalt(4)).decode()
RESPONSE = {"alertname": "BruteForceSource", "action": "block_ip", "label": "src_ip", "ttl": "20s"}


class FakeFirewall(Driver):
    """An in-memory firewall that records calls; ``fail`` makes the next operations raise."""

    type_name = "fake"
    native_expiry = False

    def __init__(self, name: str = "fw", native_expiry: bool = False) -> None:
        super().__init__(type("Settings", (), {"name": name})())
        self.native_expiry = native_expiry  # type: ignore[misc]
        self.entries: Dict[Any, Optional[float]] = {}
        self.calls: List[Tuple[str, str]] = []
        self.fail: Optional[str] = None
        self.clock: Callable[[], float] = lambda: 0.0

    @classmethod
    def parse_settings(cls, raw: Any, where: str) -> Any:  # pragma: no cover - not configured from a file
        raise NotImplementedError

    def _maybe_fail(self, operation: str) -> None:
        if self.fail:
            raise DriverError("%s: %s refused (%s)" % (self.name, operation, self.fail))

    def block(self, network: Any, ttl: int) -> None:
        self.calls.append(("block", network.with_prefixlen))
        self._maybe_fail("block")
        self.entries[network] = self.clock() + ttl if self.native_expiry else None

    def extend(self, network: Any, ttl: int) -> None:
        self.calls.append(("extend", network.with_prefixlen))
        self._maybe_fail("extend")
        if self.native_expiry:
            self.entries[network] = self.clock() + ttl

    def unblock(self, network: Any) -> None:
        self.calls.append(("unblock", network.with_prefixlen))
        self._maybe_fail("unblock")
        self.entries.pop(network, None)

    def blocked(self) -> Dict[Any, Optional[int]]:
        self._maybe_fail("list")
        now = self.clock()
        if self.native_expiry:  # the kernel forgets expired elements by itself
            self.entries = {n: t for n, t in self.entries.items() if t is None or t > now}
        return {n: (int(t - now) if t is not None else None) for n, t in self.entries.items()}

    def has(self, address: str) -> bool:
        return ipaddress.ip_network(address) in self.blocked()


class Clock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def write_config(directory: Path, **overrides: Any) -> Path:
    """A complete configuration file (and its web config) in directory; overrides replace top-level fields."""
    web = directory / "web-config.yml"
    web.write_text(yaml.safe_dump({"basic_auth_users": {WEBHOOK_USER: WEBHOOK_HASH}}))
    data: Dict[str, Any] = {
        "listen_address": "127.0.0.1:0",
        "web_config_file": str(web),
        "audit_log": str(directory / "audit.jsonl"),
        "state_file": str(directory / "state.json"),
        "allowlist": ["10.0.0.0/8", "192.0.2.100"],
        "responses": [dict(RESPONSE)],
        "firewalls": [{"name": "local", "type": "nftables"}],
    }
    data.update(overrides)
    path = directory / "config.yml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def config_file(tmp_path: Path) -> Callable[..., Path]:
    def _make(**overrides: Any) -> Path:
        return write_config(tmp_path, **overrides)

    return _make


@pytest.fixture
def make_config(config_file: Callable[..., Path]) -> Callable[..., Config]:
    def _make(**overrides: Any) -> Config:
        return load_config(str(config_file(**overrides)))

    return _make


def read_audit(path: str) -> List[Dict[str, Any]]:
    import json

    try:
        with open(path, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle]
    except FileNotFoundError:
        return []


class Rig:
    """An engine with fake firewalls and a fake clock, plus helpers to post alerts to it."""

    def __init__(self, config: Config, firewalls: List[FakeFirewall], clock: Clock) -> None:
        self.config = config
        self.firewalls = firewalls
        self.clock = clock
        for firewall in firewalls:
            firewall.clock = clock
        self.metrics = Metrics()
        self.state = State(config.state_file)
        self.state.load()
        self.audit = AuditLog(config.audit_log, clock=clock)
        self.engine = Engine(config, firewalls, self.audit, self.state, self.metrics, clock=clock)
        self.sent = 0

    def post(self, *alerts: Dict[str, Any], status: str = "firing") -> List[Dict[str, Any]]:
        """Process one notification; return the audit lines it wrote (received first)."""
        before = len(read_audit(self.config.audit_log))
        self.sent += 1
        payload = {"version": "4", "status": status, "receiver": "vigil-responder", "groupKey": "{}:{}",
                   "alerts": list(alerts)}
        self.engine.process(payload, {"id": self.sent, "remote": "127.0.0.1", "user": WEBHOOK_USER})
        return read_audit(self.config.audit_log)[before:]

    def tick(self) -> List[Dict[str, Any]]:
        before = len(read_audit(self.config.audit_log))
        self.engine.tick()
        return read_audit(self.config.audit_log)[before:]

    def sample(self, name: str, **labels: str) -> Optional[float]:
        return self.metrics.registry.get_sample_value(name, labels or None)


def alert(address: str = "203.0.113.7", status: str = "firing", alertname: str = "BruteForceSource",
          **labels: str) -> Dict[str, Any]:
    all_labels = {"alertname": alertname, "severity": "critical", "team": "security", "vigil_response": "block_ip",
                  "src_ip": address}
    all_labels.update(labels)
    return {"status": status, "labels": {k: v for k, v in all_labels.items() if v is not None},
            "annotations": {"summary": "test"}, "startsAt": "2024-05-01T08:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "f%08x" % (abs(hash(address)) % 2**32)}


@pytest.fixture
def rig(make_config: Callable[..., Config]) -> Callable[..., Rig]:
    def _make(firewalls: Optional[List[FakeFirewall]] = None, **overrides: Any) -> Rig:
        overrides.setdefault("dry_run", False)
        return Rig(make_config(**overrides), firewalls or [FakeFirewall()], Clock())

    return _make


__all__ = ["DRIVER_TYPES", "FakeFirewall", "Clock", "Rig", "alert", "read_audit", "write_config",
           "WEBHOOK_USER", "WEBHOOK_PASSWORD"]
