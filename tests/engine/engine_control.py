#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build, start and stop Vigil's test engine: one single-node OpenSearch 2.19 on loopback.

The engine is ``tests/engine/java`` (a small Java main embedding an OpenSearch node with
the ingest-common, lang-painless, lang-mustache-client and transport-netty4-client
modules from Maven Central). This file is used three ways:

- by the pytest fixture in ``tests/engine/conftest.py`` (start once per session, stop after);
- as a command: ``scripts/engine.sh start|stop|status|run|build`` (``make engine`` is ``run``);
- as a library for later tests that index documents or run queries (``EngineClient``).

Every wait is bounded; a JVM started by the fixture also stops when its standard input
closes, so a test run that is killed leaves no JVM behind.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import IO, Any, Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[2]
JAVA_DIR = ROOT / "tests" / "engine" / "java"
STATE_DIR = Path(os.environ.get("VIGIL_ENGINE_STATE", ROOT / ".cache" / "engine"))
MAIN_CLASS = "vigil.engine.Engine"
OPENSEARCH_VERSION = "2.19.6"
INSTALL_HINT = ("install them with `apt-get install openjdk-17-jdk-headless maven` (Debian 12, Ubuntu;"
                " on Debian 13 `default-jdk-headless maven`)")
HOST = "127.0.0.1"
# Modest heap: pipelines and a few test documents need little; the machine is shared.
HEAP = os.environ.get("VIGIL_ENGINE_HEAP", "512m")
JVM_OPTIONS = [
    "-Xms256m",
    "-Xmx" + HEAP,
    "-XX:+UseSerialGC",  # one GC thread: the machine has 2 cores shared with other jobs
    # C1 only: start-up on a loaded 2-core machine drops from ~40 s to ~16 s; the tests run little code
    "-XX:TieredStopAtLevel=1",
    "-Xss1m",
    "-Djava.awt.headless=true",
    "-Dfile.encoding=UTF-8",
    "-Djna.nosys=true",
    # what OpenSearch 2.19's own launcher sets on Java 17 (locale data for date parsing, Netty, log4j)
    "-Djava.locale.providers=SPI,COMPAT",
    "-Dio.netty.noUnsafe=true",
    "-Dio.netty.noKeySetOptimization=true",
    "-Dio.netty.recycler.maxCapacityPerThread=0",
    "-Dlog4j.shutdownHookEnabled=false",
    "-Dlog4j2.disable.jmx=true",
    "-Dlog4j2.formatMsgNoLookups=true",
]
BUILD_TIMEOUT = 900.0  # the first build resolves ~80 MB of artifacts from Maven Central
START_TIMEOUT = float(os.environ.get("VIGIL_ENGINE_START_TIMEOUT", "120"))
STOP_TIMEOUT = 30.0


# Lines the pytest session prints in its summary (start-up, suite and stop times); filled by
# tests/engine/conftest.py and the test modules.
SESSION_NOTES: List[str] = []


class EngineUnavailable(RuntimeError):
    """Java or Maven is missing, or the engine could not be built or started."""


def _truthy(value: Optional[str]) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no")


def engine_required() -> bool:
    """CI (``CI`` set) or ``VIGIL_REQUIRE_ENGINE=1``: an engine that cannot start fails the run."""
    return _truthy(os.environ.get("CI")) or _truthy(os.environ.get("VIGIL_REQUIRE_ENGINE"))


# --------------------------------------------------------------------------- tools and build


def java_major(java: str) -> Optional[int]:
    """The major version of ``java`` (17 for "17.0.15"), None if it does not answer."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    for token in (out.stderr + out.stdout).replace('"', " ").split():
        head = token.split(".")[0].split("-")[0]
        if head.isdigit() and "." in token:
            major = int(head)
            return int(token.split(".")[1]) if major == 1 else major
    return None


def missing_tools() -> List[str]:
    """What this machine lacks to build and run the engine (empty: nothing)."""
    missing = []
    java = shutil.which("java")
    if not java:
        missing.append("java (a JDK 17 or newer)")
    else:
        major = java_major(java)
        if major is None or major < 17:
            missing.append("java 17 or newer (found %s)" % (major or "an unknown version"))
    if not shutil.which("javac"):
        missing.append("javac (a JDK, not only a JRE)")
    if not shutil.which("mvn"):
        missing.append("mvn (Maven)")
    return missing


def _newest_source_mtime() -> float:
    paths = [JAVA_DIR / "pom.xml"] + sorted((JAVA_DIR / "src").rglob("*"))
    return max(p.stat().st_mtime for p in paths if p.is_file())


def _build_is_current() -> bool:
    classpath = JAVA_DIR / "target" / "classpath.txt"
    main_class = JAVA_DIR / "target" / "classes" / (MAIN_CLASS.replace(".", "/") + ".class")
    if not (classpath.is_file() and main_class.is_file()):
        return False
    if min(classpath.stat().st_mtime, main_class.stat().st_mtime) < _newest_source_mtime():
        return False
    return all(Path(entry).is_file() for entry in classpath.read_text(encoding="utf-8").strip().split(os.pathsep))


def build(log: IO[str] = sys.stderr) -> List[str]:
    """Compile the engine and resolve its class path (offline from ~/.m2 when it can); return the class path."""
    missing = missing_tools()
    if missing:
        raise EngineUnavailable("cannot build the test engine: missing %s; %s" % (", ".join(missing), INSTALL_HINT))
    if not _build_is_current():
        goals = ["compile", "dependency:build-classpath", "-Dmdep.outputFile=target/classpath.txt"]
        started = time.monotonic()
        # offline first (everything cached in ~/.m2), then online for the first resolve
        for offline in (["-o"], []):
            command = ["mvn", "-B", "-q"] + offline + goals
            try:
                done = subprocess.run(command, cwd=JAVA_DIR, capture_output=True, text=True,
                                      timeout=BUILD_TIMEOUT, check=False)
            except subprocess.TimeoutExpired:
                raise EngineUnavailable("building the test engine took more than %d s: %s"
                                        % (BUILD_TIMEOUT, " ".join(command))) from None
            if done.returncode == 0:
                print("engine: built with `%s` in %.1f s" % (" ".join(command), time.monotonic() - started), file=log)
                break
        else:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
            raise EngineUnavailable("building the test engine failed (%s in %s):\n%s"
                                    % (" ".join(command), JAVA_DIR, tail))
    entries = (JAVA_DIR / "target" / "classpath.txt").read_text(encoding="utf-8").strip().split(os.pathsep)
    return [str(JAVA_DIR / "target" / "classes")] + entries


def java_command(classpath: Sequence[str], home: Path, port: int, url_file: Path, watch_stdin: bool) -> List[str]:
    command = ["java"] + JVM_OPTIONS + ["-Djava.io.tmpdir=%s" % (home / "tmp"), "-cp", os.pathsep.join(classpath),
                                        MAIN_CLASS, "--home", str(home), "--host", HOST, "--port", str(port),
                                        "--url-file", str(url_file)]
    return command + (["--watch-stdin"] if watch_stdin else [])


def port_is_free(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


# --------------------------------------------------------------------------- HTTP


class EngineError(RuntimeError):
    """The engine answered with an error status."""

    def __init__(self, method: str, path: str, status: int, body: Any):
        self.status, self.body = status, body
        super().__init__("%s %s -> %d: %s" % (method, path, status, json.dumps(body)[:2000]))


class EngineClient:
    """A small JSON client for the engine (tests only; Vigil's modules use vigil_http)."""

    def __init__(self, url: str, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def request(self, method: str, path: str, body: Any = None, expected: Sequence[int] = (200,)) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (loopback only)
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        answer = json.loads(raw) if raw else None
        if status not in expected:
            raise EngineError(method, path, status, answer)
        return answer

    def health(self, wait_for_status: str = "yellow", timeout_s: int = 30) -> Dict[str, Any]:
        return self.request("GET", "/_cluster/health?wait_for_status=%s&timeout=%ds" % (wait_for_status, timeout_s))

    def put_pipeline(self, name: str, body: Dict[str, Any]) -> Any:
        return self.request("PUT", "/_ingest/pipeline/%s" % urllib.parse.quote(name, safe=""), body)

    def get_pipeline(self, name: str) -> Dict[str, Any]:
        return self.request("GET", "/_ingest/pipeline/%s" % urllib.parse.quote(name, safe=""))[name]

    def delete_pipeline(self, name: str) -> Any:
        return self.request("DELETE", "/_ingest/pipeline/%s" % urllib.parse.quote(name, safe=""), expected=(200, 404))

    def simulate_stored(self, name: str, sources: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
        """Run documents through the stored pipeline ``name``; one ``docs[]`` entry per source."""
        docs = [{"_index": "vigil-engine-test", "_id": str(i + 1), "_source": s} for i, s in enumerate(sources)]
        body = {"docs": docs}
        return self.request("POST", "/_ingest/pipeline/%s/_simulate" % urllib.parse.quote(name, safe=""), body)["docs"]


def wait_until_ready(url_file: Path, process: subprocess.Popen, deadline: float, log_path: Path) -> str:
    """Wait (bounded) for the JVM to write its URL, then for cluster health yellow; return the URL."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EngineUnavailable("the engine exited with status %s before answering; its log (%s):\n%s"
                                    % (process.returncode, log_path, _tail(log_path)))
        if url_file.is_file() and url_file.read_text(encoding="utf-8").strip():
            break
        time.sleep(0.2)
    else:
        raise EngineUnavailable("the engine did not open its HTTP port within %.0f s; its log (%s):\n%s"
                                % (START_TIMEOUT, log_path, _tail(log_path)))
    url = url_file.read_text(encoding="utf-8").strip()
    client = EngineClient(url)
    last: Any = None
    while time.monotonic() < deadline:
        try:
            health = client.health(timeout_s=5)
            if health.get("status") in ("green", "yellow"):
                return url
            last = health
        except (OSError, EngineError) as err:
            last = err
        time.sleep(0.5)
    raise EngineUnavailable("the engine at %s was not healthy within %.0f s (last answer: %s)"
                            % (url, START_TIMEOUT, last))


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --------------------------------------------------------------------------- process


class EngineProcess:
    """One engine JVM started by this Python process."""

    def __init__(self, process: subprocess.Popen, url: str, home: Path, log_path: Path, startup_seconds: float):
        self.process = process
        self.url = url
        self.home = home
        self.log_path = log_path
        self.startup_seconds = startup_seconds
        self.stop_seconds: Optional[float] = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    def start(cls, state_dir: Path = STATE_DIR, port: int = 0, watch_stdin: bool = True,
              log: IO[str] = sys.stderr) -> "EngineProcess":
        """Build if needed, start the JVM, wait (bounded) until healthy. ``port`` 0: any free port."""
        classpath = build(log)
        if port and not port_is_free(port):
            raise EngineUnavailable("port %s:%d is already in use; stop what listens there or choose another "
                                    "VIGIL_ENGINE_PORT (0: any free port)" % (HOST, port))
        state_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_homes(state_dir)
        # one home per starting process, so two test runs in one checkout do not share data
        home = state_dir / ("run-%d" % os.getpid())
        shutil.rmtree(home, ignore_errors=True)
        (home / "tmp").mkdir(parents=True)
        url_file = home / "url"
        log_path = home / "engine.log"
        started = time.monotonic()
        with log_path.open("w", encoding="utf-8") as log_handle:
            process = subprocess.Popen(  # noqa: S603 (fixed command)
                java_command(classpath, home, port, url_file, watch_stdin),
                stdin=subprocess.PIPE if watch_stdin else subprocess.DEVNULL,
                stdout=log_handle, stderr=subprocess.STDOUT, cwd=home,
                start_new_session=not watch_stdin,
            )
        try:
            url = wait_until_ready(url_file, process, started + START_TIMEOUT, log_path)
        except BaseException:
            _stop_process(process)
            raise
        return cls(process, url, home, log_path, time.monotonic() - started)

    def stop(self) -> float:
        """Stop the JVM (stdin closed, then SIGTERM, then SIGKILL, each bounded); return the seconds it took."""
        started = time.monotonic()
        _stop_process(self.process)
        self.stop_seconds = time.monotonic() - started
        remove_home(self.home)
        return self.stop_seconds


def remove_home(home: Path) -> None:
    """Remove a stopped engine's home (data, tmp); its log is kept as .cache/engine/last-engine.log."""
    try:
        shutil.copyfile(home / "engine.log", home.parent / "last-engine.log")
    except OSError:
        pass
    shutil.rmtree(home, ignore_errors=True)


def remove_stale_homes(state_dir: Path) -> None:
    """Remove the homes of engines whose starting process is gone (a test run that was killed)."""
    for home in state_dir.glob("run-*"):
        try:
            os.kill(int(home.name[len("run-"):]), 0)
        except ValueError:
            continue
        except ProcessLookupError:
            remove_home(home)
        except PermissionError:
            continue


def _stop_process(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    if process.stdin is not None:
        try:
            process.stdin.close()
            process.wait(timeout=STOP_TIMEOUT)
            return
        except (OSError, subprocess.TimeoutExpired):
            pass
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 10.0)):
        try:
            process.send_signal(sig)
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            return


# --------------------------------------------------------------------------- command line (scripts/engine.sh)

DAEMON_FILE = STATE_DIR / "daemon.json"  # {pid, url, home} of the engine `start` left running


def _pid_is_engine(pid: int) -> bool:
    """True when ``pid`` runs our main class (a stale record may point at another program by now)."""
    try:
        cmdline = Path("/proc/%d/cmdline" % pid).read_bytes().split(b"\0")
    except OSError:
        return False
    return MAIN_CLASS.encode() in cmdline


def _daemon() -> Optional[Dict[str, Any]]:
    """The recorded background engine if it is still running, else None."""
    try:
        record = json.loads(DAEMON_FILE.read_text(encoding="utf-8"))
        return record if _pid_is_engine(int(record["pid"])) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _port_from_env() -> int:
    raw = os.environ.get("VIGIL_ENGINE_PORT", "0")
    if not raw.isdigit() or int(raw) > 65535:
        raise SystemExit("VIGIL_ENGINE_PORT must be a port number (0: any free port), got %r" % raw)
    return int(raw)


def cmd_start(_args: argparse.Namespace) -> int:
    running = _daemon()
    if running:
        print("engine: already running (pid %d) at %s" % (running["pid"], running["url"]))
        print("export VIGIL_ENGINE_URL=%s" % running["url"])
        return 0
    engine = EngineProcess.start(port=_port_from_env(), watch_stdin=False, log=sys.stdout)
    DAEMON_FILE.write_text(json.dumps({"pid": engine.pid, "url": engine.url, "home": str(engine.home)}) + "\n",
                           encoding="utf-8")
    print("engine: OpenSearch %s started in %.1f s (pid %d, log %s)"
          % (OPENSEARCH_VERSION, engine.startup_seconds, engine.pid, engine.log_path))
    print("export VIGIL_ENGINE_URL=%s" % engine.url)
    return 0


def cmd_stop(_args: argparse.Namespace) -> int:
    running = _daemon()
    if not running:
        print("engine: not running")
        DAEMON_FILE.unlink(missing_ok=True)
        return 0
    pid = int(running["pid"])
    started = time.monotonic()
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 10.0)):
        os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _pid_is_engine(pid):
            time.sleep(0.2)
        if not _pid_is_engine(pid):
            break
    if _pid_is_engine(pid):
        print("engine: pid %d did not stop" % pid, file=sys.stderr)
        return 1
    DAEMON_FILE.unlink(missing_ok=True)
    remove_home(Path(running["home"]))
    print("engine: stopped pid %d in %.1f s" % (pid, time.monotonic() - started))
    return 0


def cmd_status(_args: argparse.Namespace) -> int:
    running = _daemon()
    if not running:
        print("engine: not running")
        return 3
    try:
        health = EngineClient(running["url"], timeout=10).health(timeout_s=5)
    except (OSError, EngineError) as err:
        print("engine: pid %d at %s does not answer: %s" % (running["pid"], running["url"], err))
        return 1
    print("engine: running (pid %d) at %s, cluster %s" % (running["pid"], running["url"], health.get("status")))
    return 0


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def cmd_run(_args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as cleanly as Ctrl-C
    engine = EngineProcess.start(port=_port_from_env(), watch_stdin=True, log=sys.stdout)
    print("engine: OpenSearch %s started in %.1f s at %s (log %s)"
          % (OPENSEARCH_VERSION, engine.startup_seconds, engine.url, engine.log_path))
    print("export VIGIL_ENGINE_URL=%s   # in another shell; Ctrl-C here stops the engine" % engine.url)
    sys.stdout.flush()
    try:
        while engine.process.poll() is None:
            time.sleep(1)
        print("engine: exited with status %s; log %s" % (engine.process.returncode, engine.log_path))
        return 1
    except KeyboardInterrupt:
        print("engine: stopped in %.1f s" % engine.stop())
        return 0


def cmd_build(_args: argparse.Namespace) -> int:
    build(sys.stdout)
    print("engine: class path ready in %s" % (JAVA_DIR / "target"))
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Vigil's test engine (single-node OpenSearch on loopback).")
    parser.add_argument("command", choices=("start", "stop", "status", "run", "build"),
                        help="start/stop a background engine (URL in .cache/engine/url), status, "
                             "run in the foreground until Ctrl-C, or only build")
    args = parser.parse_args(argv)
    handlers = {"start": cmd_start, "stop": cmd_stop, "status": cmd_status, "run": cmd_run, "build": cmd_build}
    try:
        return handlers[args.command](args)
    except EngineUnavailable as err:
        print("engine: %s" % err, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
