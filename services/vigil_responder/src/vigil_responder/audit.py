"""The audit log: one JSON object per line for every notification and every decision.

Each line has ``time`` (UTC, RFC 3339), ``event`` and the fields of that event
(docs/active-response.md lists them). The file is opened, appended to and closed for each
line, so log rotation needs no signal; a line that cannot be written goes to the journal
instead, at error level, and is counted.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import threading
import time
from typing import Any, Callable, Dict, Optional

LOG = logging.getLogger("vigil_responder")


def rfc3339(stamp: float) -> str:
    moment = datetime.datetime.fromtimestamp(stamp, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


class AuditLog:
    def __init__(self, path: str, clock: Callable[[], float] = time.time,
                 on_error: Optional[Callable[[], None]] = None) -> None:
        self.path = path
        self.clock = clock
        self.on_error = on_error
        self._lock = threading.Lock()

    def write(self, event: str, **fields: Any) -> Dict[str, Any]:
        record: Dict[str, Any] = {"time": rfc3339(self.clock()), "event": event}
        record.update((key, value) for key, value in fields.items() if value is not None)
        line = json.dumps(record, separators=(",", ":"), sort_keys=False) + "\n"
        with self._lock:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
                try:
                    os.write(fd, line.encode("utf-8"))
                finally:
                    os.close(fd)
            except OSError as exc:
                LOG.error("cannot write the audit log %s (%s): %s", self.path, exc.strerror or exc, line.strip())
                if self.on_error is not None:
                    self.on_error()
                return record
        LOG.info("audit: %s", line.strip())
        return record
