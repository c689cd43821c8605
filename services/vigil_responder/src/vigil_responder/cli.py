"""``vigil-responder``: check a configuration, or run the service until SIGTERM.

Under systemd (``Type=notify``) it reports ``READY=1`` once it listens. It has no reload:
a new configuration takes a restart, and the state file carries the active blocks over.
"""

from __future__ import annotations

import argparse
import logging
import os
import queue
import signal
import socket
import sys
import threading
from typing import Any, List, Optional, Sequence

from vigil_responder import __version__
from vigil_responder.audit import AuditLog
from vigil_responder.checks import ConfigError
from vigil_responder.config import Config, load_config, load_web_config
from vigil_responder.drivers import DRIVER_TYPES, Driver
from vigil_responder.engine import Engine
from vigil_responder.metrics import Metrics
from vigil_responder.server import Authenticator, ResponderServer
from vigil_responder.state import State

LOG = logging.getLogger("vigil_responder")
DEFAULT_CONFIG = "/etc/vigil/responder/config.yml"


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vigil-responder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config.file", dest="config_file", default=DEFAULT_CONFIG,
                        help="YAML configuration (default: %(default)s)")
    parser.add_argument("--config.check", dest="config_check", action="store_true",
                        help="check the configuration and its web config, exit 0 when valid, 1 otherwise")
    parser.add_argument("--web.config.check", dest="web_config_check", metavar="FILE",
                        help="check a web config file alone (basic_auth_users, tls_server_config)")
    parser.add_argument("--log.level", dest="log_level", default="info", choices=["debug", "info", "warn", "error"])
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    return parser.parse_args(argv)


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("level=%(levelname)s %(message)s"))
    LOG.handlers[:] = [handler]
    LOG.setLevel({"warn": "WARNING"}.get(level, level.upper()))
    LOG.propagate = False


def describe(config: Config) -> str:
    return ("%s: dry_run=%s, %d firewalls (%s), %d responses, allowlist of %d networks, ttl %ds (max %ds), "
            "at most %d active blocks" % (
                config.path, "on" if config.dry_run else "OFF", len(config.firewalls),
                ", ".join("%s:%s" % (settings.name, kind) for kind, settings in config.firewalls),
                len(config.responses), len(config.allowlist), config.ttl_default, config.ttl_max,
                config.max_active_blocks))


def build_drivers(config: Config) -> List[Driver]:
    return [DRIVER_TYPES[kind](settings) for kind, settings in config.firewalls]


def notify_systemd(message: str) -> None:
    """Tell systemd (Type=notify) about the service's state; nothing without NOTIFY_SOCKET."""
    target = os.environ.get("NOTIFY_SOCKET", "")
    if not target:
        return
    if target.startswith("@"):
        target = "\0" + target[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(message.encode("utf-8"), target)
    except OSError as exc:
        LOG.warning("systemd notification %s failed: %s", message, exc)


class Service:
    """The running responder: HTTP server, one worker for decisions, one timer for expiries."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.metrics = Metrics()
        self.audit = AuditLog(config.audit_log, on_error=self.metrics.audit_errors.inc)
        self.state = State(config.state_file)
        self.state.load()
        self.engine = Engine(config, build_drivers(config), self.audit, self.state, self.metrics)
        self.work: "queue.Queue[Any]" = queue.Queue(maxsize=config.queue_size)
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self.worker = threading.Thread(target=self._work, name="decisions", daemon=True)
        self.timer = threading.Thread(target=self._time, name="expiry", daemon=True)
        self.server = ResponderServer(
            (config.listen_host, config.listen_port), Authenticator(config.web.users), self.work, self.metrics,
            self.audit, config.max_request_bytes, config.max_alerts, config.max_connections,
            tls=config.web.ssl_context(), worker_alive=self.worker.is_alive)

    def _work(self) -> None:
        while not self.stopping.is_set():
            try:
                item = self.work.get(timeout=0.5)
            except queue.Empty:
                continue
            if item is None:  # stop() wakes the worker up
                self.work.task_done()
                break
            payload, meta = item
            try:
                self.engine.process(payload, meta)
            except Exception:  # the worker must survive anything  # pylint: disable=broad-except
                LOG.exception("processing notification %s failed", meta.get("id"))
            finally:
                self.work.task_done()
                self.wake.set()  # a new block may expire before the timer's next wake-up

    def _time(self) -> None:
        wait = 0.0
        while not self.stopping.wait(0):
            self.wake.wait(wait)
            self.wake.clear()
            if self.stopping.is_set():
                break
            try:
                wait = self.engine.tick()
            except Exception:  # pylint: disable=broad-except
                LOG.exception("the expiry timer failed; retrying in 10s")
                wait = 10.0

    def start(self) -> None:
        self.engine.startup()
        self.worker.start()
        self.timer.start()
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, name="http",
                         daemon=True).start()
        host, port = self.server.server_address[:2]
        LOG.info("listening on %s:%d (tls=%s); %s", host, port, "on" if self.config.web.cert_file else "off",
                 describe(self.config))
        if self.config.dry_run:
            LOG.warning("DRY RUN: decisions are logged to %s, nothing is applied to any firewall",
                        self.config.audit_log)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.stopping.set()
        self.wake.set()
        try:
            self.work.put_nowait(None)
        except queue.Full:
            pass  # the worker sees `stopping` within half a second
        self.worker.join(timeout=15)
        self.timer.join(timeout=5)
        with self.engine.lock:
            self.state.save()


def serve(config: Config) -> int:
    try:
        service = Service(config)
    except OSError as exc:
        LOG.error("cannot listen on %s:%d: %s", config.listen_host, config.listen_port, exc)
        return 1
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _number, _frame: stop.set())
    service.start()
    notify_systemd("READY=1")
    while not stop.wait(1.0):
        pass
    LOG.info("stopping")
    notify_systemd("STOPPING=1")
    service.stop()
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    setup_logging(args.log_level)
    try:
        if args.web_config_check:
            web = load_web_config(args.web_config_check)
            print("vigil-responder: web config OK: %s (%d users, tls=%s)" % (
                args.web_config_check, len(web.users), "on" if web.cert_file else "off"))
            return 0
        config = load_config(args.config_file)
    except ConfigError as exc:
        print("vigil-responder: config error: %s" % exc, file=sys.stderr)
        return 1
    if args.config_check:
        print("vigil-responder: config OK: %s" % describe(config))
        return 0
    return serve(config)
