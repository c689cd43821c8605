"""A reader that watches a file_sd file while concurrent writers change it.

Used by the concurrency tests, which start real processes (50 writers at once) and are
slower than unit tests, so they live outside ``tests/unit``. Run them with
``python -m pytest tests/concurrency -q`` from the checkout. (This is not a conftest.py:
the unit tests import their own ``conftest`` by name, and a second one would shadow it.)
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import List, Optional

import yaml


def parse(path: Path, text: str):
    """file_sd content as Prometheus reads it: YAML for .yml/.yaml, JSON otherwise."""
    if path.suffix in (".yml", ".yaml"):
        return yaml.safe_load(text)
    return json.loads(text)


class FileWatcher(threading.Thread):
    """Polls a file_sd file (JSON, or YAML for .yml/.yaml) while writers run, parsing every version it sees.

    Records every parse failure (a half-written or invalid file) and the number of
    targets in each snapshot, so a test can assert the file was valid at every observed
    instant and that the number of targets never went down while hosts only registered.
    """

    def __init__(self, path: Path, interval: float = 0.0005) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.interval = interval
        self.stop_event = threading.Event()
        self.reads = 0
        self.errors: List[str] = []
        self.counts: List[int] = []

    def _snapshot(self) -> Optional[int]:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return None
        try:
            data = parse(self.path, text)
            assert isinstance(data, list)
            return sum(len(group["targets"]) for group in data)
        except Exception as exc:  # any failure is what the test is looking for
            self.errors.append("%s: %r" % (exc, text[:200]))
            return None

    def _observe(self) -> None:
        count = self._snapshot()
        self.reads += 1
        if count is not None and (not self.counts or self.counts[-1] != count):
            self.counts.append(count)

    def run(self) -> None:
        while not self.stop_event.is_set():
            self._observe()
            time.sleep(self.interval)

    def stop(self) -> None:
        """Stop polling, then read the file once more: on a loaded machine the thread may
        not have been scheduled between the last write and the stop."""
        if self.stop_event.is_set():
            return
        self.stop_event.set()
        self.join(timeout=10)
        self._observe()
