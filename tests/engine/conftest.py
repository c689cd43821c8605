# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``engine`` fixture: one OpenSearch 2.19 node for the whole test session.

- ``VIGIL_ENGINE_URL`` set (``scripts/engine.sh start`` prints it): that engine is used and
  left running.
- Otherwise the fixture builds and starts one (``tests/engine/engine_control.py``), waits
  for health, and stops it when the session ends.
- No Java or Maven: the engine tests are skipped with how to install them, except in CI
  (``CI`` set) or with ``VIGIL_REQUIRE_ENGINE=1``, where they fail.

Later tests reuse the fixture to index documents and run queries (``engine.request``).
Start-up, suite and stop times are printed in the session summary.
"""

from __future__ import annotations

import os
import time
from typing import Dict, Iterator

import pytest

from engine_control import (
    EngineClient,
    EngineError,
    EngineProcess,
    EngineUnavailable,
    SESSION_NOTES as NOTES,
    engine_required,
)

TIMINGS: Dict[str, float] = {}


def _unavailable(message: str) -> None:
    if engine_required():
        pytest.fail("the test engine is required here (CI or VIGIL_REQUIRE_ENGINE=1) and could not start: "
                    + message, pytrace=False)
    pytest.skip("no test engine: %s" % message)


@pytest.fixture(scope="session")
def engine() -> Iterator[EngineClient]:
    url = os.environ.get("VIGIL_ENGINE_URL")
    if url:
        client = EngineClient(url)
        try:
            client.health(timeout_s=30)
        except (OSError, EngineError) as err:
            _unavailable("VIGIL_ENGINE_URL=%s does not answer: %s" % (url, err))
        NOTES.append("engine: reused the running engine at %s (VIGIL_ENGINE_URL)" % url)
        TIMINGS["suite_start"] = time.monotonic()
        yield client
        return
    try:
        process = EngineProcess.start()
    except EngineUnavailable as err:
        _unavailable(str(err))
        return
    TIMINGS["startup"] = process.startup_seconds
    NOTES.append("engine: OpenSearch started at %s in %.1f s (pid %d)"
                 % (process.url, process.startup_seconds, process.pid))
    TIMINGS["suite_start"] = time.monotonic()
    try:
        yield EngineClient(process.url)
    finally:
        TIMINGS["suite"] = time.monotonic() - TIMINGS["suite_start"]
        NOTES.append("engine: stopped in %.1f s" % process.stop())


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001 (pytest hook signature)
    if not NOTES:
        return
    if "suite" not in TIMINGS and "suite_start" in TIMINGS:
        TIMINGS["suite"] = time.monotonic() - TIMINGS["suite_start"]
    terminalreporter.section("test engine")
    for note in NOTES:
        terminalreporter.write_line(note)
    if "suite" in TIMINGS:
        terminalreporter.write_line("engine: tests using it ran for %.1f s (from its start to its stop)"
                                    % TIMINGS["suite"])
