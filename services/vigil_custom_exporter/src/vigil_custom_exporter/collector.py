"""The Prometheus collector: the running configuration, scrape-time and background collection.

``Exporter`` collects on-scrape sources concurrently (a bounded pool, each source held to
its timeout), serves the last result of background (``interval``) sources, and adds the
per-source health metrics and the exporter's own.
"""

from __future__ import annotations

import concurrent.futures
import logging
import platform
import threading
import time
from typing import Any, Dict, Iterator, List, Sequence, Tuple

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from vigil_custom_exporter import __version__
from vigil_custom_exporter.config import Config, SourceSpec
from vigil_custom_exporter.schema import DEFAULT_TIMEOUT
from vigil_custom_exporter.sources import PROBLEMS, SourceResult, collect_source

LOG = logging.getLogger("vigil_custom_exporter")

WAIT_GRACE_SECONDS = 0.25


class SourceStats:
    """Per-source state that outlives a scrape: error counters and last success time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.errors: Dict[Tuple[str, str], int] = {}
        self.last_success: Dict[str, float] = {}

    def record(self, result: SourceResult) -> None:
        with self._lock:
            for reason in result.errors:
                key = (result.source, reason)
                self.errors[key] = self.errors.get(key, 0) + 1
            if result.up:
                self.last_success[result.source] = result.finished_at

    def prune(self, keep: Sequence[str]) -> None:
        with self._lock:
            self.errors = {k: v for k, v in self.errors.items() if k[0] in keep}
            self.last_success = {k: v for k, v in self.last_success.items() if k in keep}

    def snapshot(self) -> Tuple[Dict[Tuple[str, str], int], Dict[str, float]]:
        with self._lock:
            return dict(self.errors), dict(self.last_success)


class Poller:
    """Collects one source every ``interval`` seconds in a daemon thread."""

    def __init__(self, source: SourceSpec, sink: Any) -> None:
        self.source = source
        self._sink = sink
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="poll-%s" % source.name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        interval = self.source.interval or DEFAULT_TIMEOUT
        while not self._stop.is_set():
            started = time.monotonic()
            result = collect_source(self.source)
            if self._stop.is_set():
                return
            self._sink(self, result)
            self._stop.wait(max(0.0, interval - (time.monotonic() - started)))


class Exporter:
    """Holds the running configuration and implements the prometheus_client collector."""

    def __init__(self, config: Config) -> None:
        self._lock = threading.Lock()
        self._config = config
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=config.max_concurrency,
                                                           thread_name_prefix="source")
        self._stats = SourceStats()
        self._cache: Dict[str, SourceResult] = {}
        self._pollers: List[Poller] = []
        self.reload_ok = True
        self.reload_time = time.time()
        self._start_pollers(config)

    @property
    def config(self) -> Config:
        with self._lock:
            return self._config

    def _start_pollers(self, config: Config) -> None:
        self._pollers = [Poller(source, self._store) for source in config.sources if source.interval]
        for poller in self._pollers:
            poller.start()

    def _store(self, poller: Poller, result: SourceResult) -> None:
        with self._lock:
            if poller not in self._pollers:
                return
            self._cache[result.source] = result
        self._stats.record(result)

    def apply(self, config: Config) -> None:
        """Switch to a new configuration (sources and timeouts; the pool size stays)."""
        with self._lock:
            old = self._pollers
            self._config = config
            self._cache = {}
            self._start_pollers(config)
        for poller in old:
            poller.stop()
        self._stats.prune([source.name for source in config.sources])

    def mark_reload(self, ok: bool) -> None:
        self.reload_ok = ok
        if ok:
            self.reload_time = time.time()

    def close(self) -> None:
        with self._lock:
            pollers, self._pollers = self._pollers, []
        for poller in pollers:
            poller.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def gather(self) -> List[SourceResult]:
        """Collect on-scrape sources concurrently, each within its timeout; add cached ones."""
        with self._lock:
            config, cache = self._config, dict(self._cache)
        started = time.monotonic()
        pending = [(s, self._pool.submit(collect_source, s)) for s in config.sources if not s.interval]
        fresh = {source.name: self._wait(source, future, started) for source, future in pending}
        results = []
        for source in config.sources:
            result = fresh.get(source.name) or cache.get(source.name)
            if result is not None:
                results.append(result)
        return results

    def _wait(self, source: SourceSpec, future: "concurrent.futures.Future[SourceResult]",
              started: float) -> SourceResult:
        remaining = started + source.timeout + WAIT_GRACE_SECONDS - time.monotonic()
        try:
            result = future.result(timeout=max(0.0, remaining))
        except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
            queued = future.cancel()
            PROBLEMS.problem("source %s" % source.name, "no answer within %gs%s (timeout)"
                             % (source.timeout, "; all workers were busy" if queued else ""))
            result = SourceResult(source.name, False, time.monotonic() - started, time.time(), errors=("timeout",))
        self._stats.record(result)
        return result

    def collect(self) -> Iterator[Metric]:
        """prometheus_client collector entry point: never raises."""
        try:
            results = self.gather()
        except Exception:
            LOG.exception("collecting sources failed")
            results = []
        yield from self._user_metrics(results)
        yield from self._source_metrics(results)
        yield from self._exporter_metrics()

    @staticmethod
    def _user_metrics(results: Sequence[SourceResult]) -> Iterator[Metric]:
        families: Dict[str, GaugeMetricFamily] = {}
        for result in results:
            for spec, value in result.samples:
                family = families.get(spec.name)
                if family is None:
                    family = GaugeMetricFamily(spec.name, spec.help, labels=[k for k, dummy in spec.labels])
                    families[spec.name] = family
                family.add_metric([v for dummy, v in spec.labels], value)
        return iter(list(families.values()))

    def _source_metrics(self, results: Sequence[SourceResult]) -> Iterator[Metric]:
        up = GaugeMetricFamily("vigil_custom_source_up", "1 when the source answered with a parsable document.",
                               labels=["source"])
        duration = GaugeMetricFamily("vigil_custom_source_duration_seconds",
                                     "Duration of the source's last collection.", labels=["source"])
        success = GaugeMetricFamily("vigil_custom_source_last_success_timestamp_seconds",
                                    "Unix time of the source's last successful collection.", labels=["source"])
        errors = CounterMetricFamily("vigil_custom_source_errors", "Source and metric collection errors by reason.",
                                     labels=["source", "reason"])
        error_counts, last_success = self._stats.snapshot()
        for result in results:
            up.add_metric([result.source], 1.0 if result.up else 0.0)
            duration.add_metric([result.source], result.duration)
        for name, stamp in sorted(last_success.items()):
            success.add_metric([name], stamp)
        for (name, reason), count in sorted(error_counts.items()):
            errors.add_metric([name, reason], float(count))
        return iter([up, duration, success, errors])

    def _exporter_metrics(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("vigil_custom_exporter_build_info", "Version of the Vigil custom exporter.",
                                 labels=["version", "pythonversion"])
        info.add_metric([__version__, platform.python_version()], 1.0)
        ok = GaugeMetricFamily("vigil_custom_exporter_config_last_reload_successful",
                               "1 when the last configuration (re)load succeeded.",
                               value=1.0 if self.reload_ok else 0.0)
        stamp = GaugeMetricFamily("vigil_custom_exporter_config_last_reload_success_timestamp_seconds",
                                  "Unix time of the last successful configuration (re)load.", value=self.reload_time)
        return iter([info, ok, stamp])


def build_registry(exporter: Exporter) -> CollectorRegistry:
    """A registry with the exporter's collector and the standard process metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(exporter)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry
