#!/usr/bin/env bash
# Vigil's test engine (single-node OpenSearch 2.19 on loopback, built with Maven from
# tests/engine/java): start | stop | status | run (foreground, Ctrl-C stops) | build.
# VIGIL_ENGINE_PORT picks the HTTP port (default 0: any free port, printed).
set -euo pipefail
cd "$(dirname "$0")/.."
py=python3
[[ -x .venv/bin/python ]] && py=.venv/bin/python
exec "$py" tests/engine/engine_control.py "$@"
