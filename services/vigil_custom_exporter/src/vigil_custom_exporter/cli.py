"""The command line and the service's life cycle: check, serve, reload on SIGHUP, stop."""

from __future__ import annotations

import argparse
import logging
import os
import queue
import signal
import socket
import sys
import threading
from typing import List, Optional, Sequence

import vigil_custom_exporter
from vigil_custom_exporter import __version__
from vigil_custom_exporter.collector import Exporter, build_registry
from vigil_custom_exporter.config import DEFAULT_CONFIG_FILE, Config, ConfigError, load_config
from vigil_custom_exporter.server import MetricsServer
from vigil_custom_exporter.webconfig import load_web_config

LOG = logging.getLogger("vigil_custom_exporter")


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vigil_custom_exporter", description=vigil_custom_exporter.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config.file", dest="config_file", default=DEFAULT_CONFIG_FILE,
                        help="YAML configuration file (default: %(default)s)")
    parser.add_argument("--config.check", dest="config_check", action="store_true",
                        help="validate the configuration (and its web config) and exit 0 if valid, 1 if not")
    parser.add_argument("--web.config.check", dest="web_config_check", default=None, metavar="FILE",
                        help="validate an exporter-toolkit web config file (TLS, basic auth) and exit 0 if valid,"
                             " 1 if not")
    parser.add_argument("--web.listen-address", dest="listen_address", default=None,
                        help="override listen_address from the configuration (host:port)")
    parser.add_argument("--log.level", dest="log_level", default="info",
                        choices=["debug", "info", "warn", "warning", "error"], help="log level (default: info)")
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    return parser.parse_args(argv)


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s level=%(levelname)s %(message)s"))
    LOG.handlers[:] = [handler]
    LOG.setLevel({"warn": "WARNING"}.get(level, level.upper()))
    LOG.propagate = False


def check_config(path: str, listen_override: Optional[str]) -> int:
    """The ``--config.check`` action: print the verdict, return the exit status."""
    try:
        config = load_config(path, listen_override)
    except ConfigError as exc:
        print("vigil_custom_exporter: config error in %s: %s" % (path, exc), file=sys.stderr)
        return 1
    print("vigil_custom_exporter: config OK: %s (%d sources, %d metrics)"
          % (path, len(config.sources), config.metric_count))
    return 0


def check_web_config(path: str) -> int:
    """The ``--web.config.check`` action: print the verdict, return the exit status."""
    try:
        web = load_web_config(path)
    except ConfigError as exc:
        print("vigil_custom_exporter: web config error: %s" % exc, file=sys.stderr)
        return 1
    print("vigil_custom_exporter: web config OK: %s (tls=%s, basic_auth_users=%d)"
          % (path, "on" if web.tls_enabled else "off", len(web.users)))
    return 0


def notify_systemd(state: str) -> bool:
    """Send ``state`` (e.g. ``READY=1``) to systemd when run as a Type=notify service.

    Does nothing (returns False) without ``$NOTIFY_SOCKET``; a failure to send is logged,
    never raised: the exporter works the same under any service manager.
    """
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode("utf-8"))
    except OSError as exc:
        LOG.warning("cannot notify systemd (%s): %s", state, exc)
        return False
    return True


def _restart_only_changes(old: Config, new: Config) -> List[str]:
    changed = []
    if (old.listen_host, old.listen_port) != (new.listen_host, new.listen_port):
        changed.append("listen_address")
    if old.web != new.web or old.web_config_file != new.web_config_file:
        changed.append("web_config_file")
    if old.max_concurrency != new.max_concurrency:
        changed.append("max_concurrency")
    return changed


def reload_config(exporter: Exporter, path: str, listen_override: Optional[str]) -> None:
    """SIGHUP: apply a valid new configuration, or keep the running one and say why."""
    try:
        new = load_config(path, listen_override)
    except ConfigError as exc:
        exporter.mark_reload(False)
        LOG.error("reload failed, keeping the previous configuration: %s", exc)
        return
    pending = _restart_only_changes(exporter.config, new)
    if pending:
        LOG.warning("changes to %s take effect only after a restart", ", ".join(pending))
    exporter.apply(new)
    exporter.mark_reload(True)
    LOG.info("configuration reloaded: %d sources, %d metrics", len(new.sources), new.metric_count)


def _install_signal_handlers(signals: "queue.SimpleQueue[int]") -> None:
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda number, _frame: signals.put(number))


def serve(config: Config, listen_override: Optional[str]) -> int:
    """Run the exporter until SIGTERM/SIGINT; SIGHUP reloads the configuration."""
    exporter = Exporter(config)
    try:
        server = MetricsServer(config.listen_host, config.listen_port, build_registry(exporter), config.web)
    except (OSError, ConfigError) as exc:
        LOG.error("cannot listen on %s:%d: %s", config.listen_host, config.listen_port, exc)
        exporter.close()
        return 1
    signals: "queue.SimpleQueue[int]" = queue.SimpleQueue()
    _install_signal_handlers(signals)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.5}, name="http", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    LOG.info("listening on %s:%d (tls=%s, basic_auth=%s), %d sources, %d metrics", host, port,
             "on" if config.web.tls_enabled else "off", "on" if server.auth.enabled else "off",
             len(config.sources), config.metric_count)
    if server.auth.enabled and not config.web.tls_enabled:
        LOG.warning("basic auth is enabled without TLS: passwords travel in clear text")
    # Listening, and SIGHUP is handled from here on: a Type=notify unit may reload now.
    notify_systemd("READY=1")
    while True:
        try:
            signum = signals.get(timeout=1.0)
        except queue.Empty:
            continue
        if signum == signal.SIGHUP:
            reload_config(exporter, config.path, listen_override)
            continue
        LOG.info("received %s, shutting down", signal.Signals(signum).name)
        notify_systemd("STOPPING=1")
        break
    server.shutdown()
    server.server_close()
    exporter.close()
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    setup_logging(args.log_level)
    if args.web_config_check is not None:
        return check_web_config(args.web_config_check)
    if args.config_check:
        return check_config(args.config_file, args.listen_address)
    try:
        config = load_config(args.config_file, args.listen_address)
    except ConfigError as exc:
        LOG.error("invalid configuration %s: %s", args.config_file, exc)
        return 1
    return serve(config, args.listen_address)
