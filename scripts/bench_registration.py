#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark Prometheus self-registration into one file_sd file (not a test).

Registers N targets (default 200) into a fresh file, one at a time and then from P
parallel worker processes (default 50, like ``forks: 50``), and prints the wall time,
the time per target, the time of an idempotent second pass and the final file size.
Every run checks that all N targets are in the file.

``--via core`` (default) calls the module's core function ``file_sd.register`` with
locking, fsync and rename, so it measures the file handling alone. ``--via module``
starts the real module (``python -m ...prometheus_target``) for each registration, adding
the Python start-up and AnsibleModule overhead that a playbook also pays, but not SSH or
AnsiballZ packaging.

    .venv/bin/python scripts/bench_registration.py [--count 200] [--parallel 50] [--via core|module]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Dict, List, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "collections"))

from ansible_collections.vigil.monitoring.plugins.module_utils.file_sd import (  # noqa: E402
    file_format,
    parse_file_sd,
    register,
)

MODULE = "ansible_collections.vigil.monitoring.plugins.modules.prometheus_target"

Job = Tuple[str, str, Dict[str, str]]


def target_of(index: int) -> str:
    return "10.%d.%d.%d:9100" % (index // 65536 % 256, index // 256 % 256, index % 256)


def labels_of(index: int) -> Dict[str, str]:
    return {"environment": "production", "site": "par%d" % (index % 3), "os": "linux", "role": "node"}


def via_core(job: Job) -> bool:
    path, target, labels = job
    return register(path, target, labels, lock_timeout=120).changed


def via_module(job: Job) -> bool:
    path, target, labels = job
    fd, args_file = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w") as handle:
        json.dump(
            {"ANSIBLE_MODULE_ARGS": {"path": path, "target": target, "labels": labels, "lock_timeout": 120}}, handle
        )
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "collections"))
    try:
        proc = subprocess.run([sys.executable, "-m", MODULE, args_file], capture_output=True, text=True, env=env, check=False)
    finally:
        os.unlink(args_file)
    result = json.loads(proc.stdout)
    if result.get("failed"):
        raise RuntimeError(result.get("msg"))
    return bool(result["changed"])


def timed(runner: Callable[[Job], bool], jobs: List[Job], parallel: int) -> Tuple[float, int]:
    """Run the jobs (sequentially when parallel == 1); return (seconds, number that changed the file)."""
    started = time.perf_counter()
    if parallel == 1:
        changed = sum(runner(job) for job in jobs)
    else:
        with ProcessPoolExecutor(max_workers=parallel, mp_context=multiprocessing.get_context("fork")) as pool:
            changed = sum(pool.map(runner, jobs))
    return time.perf_counter() - started, changed


def check(path: str, count: int) -> None:
    with open(path, encoding="utf-8") as handle:
        entries = parse_file_sd(handle.read(), file_format(path), path)
    found = {target for target, dummy in entries}
    expected = {target_of(i) for i in range(count)}
    if found != expected:
        raise SystemExit("LOST TARGETS in %s: %d of %d present" % (path, len(found & expected), count))


def bench(runner: Callable[[Job], bool], directory: str, fmt: str, count: int, parallel: int) -> None:
    for mode, workers in (("sequential", 1), ("%d-way parallel" % parallel, parallel)):
        path = os.path.join(directory, "%s-%d.%s" % (fmt, workers, "json" if fmt == "json" else "yml"))
        jobs = [(path, target_of(i), labels_of(i)) for i in range(count)]
        seconds, changed = timed(runner, jobs, workers)
        check(path, count)
        again, changed_again = timed(runner, jobs, workers)
        print(
            "%-4s %-17s %4d targets: %7.3f s (%6.2f ms/target, %d changed) | second pass %7.3f s (%d changed)"
            " | file %7d bytes"
            % (fmt, mode, count, seconds, 1000 * seconds / count, changed, again, changed_again, os.path.getsize(path))
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--count", type=int, default=200, help="targets to register (default 200)")
    parser.add_argument("--parallel", type=int, default=50, help="parallel writers (default 50)")
    parser.add_argument("--via", choices=("core", "module"), default="core", help="what each registration runs")
    parser.add_argument("--formats", nargs="+", choices=("json", "yaml"), default=["json", "yaml"])
    args = parser.parse_args()
    runner = via_core if args.via == "core" else via_module
    print(
        "prometheus_target registration benchmark: via=%s, cpus=%d, python %s"
        % (args.via, os.cpu_count() or 0, sys.version.split()[0])
    )
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as directory:
        for fmt in args.formats:
            bench(runner, directory, fmt, args.count, args.parallel)


if __name__ == "__main__":
    main()
