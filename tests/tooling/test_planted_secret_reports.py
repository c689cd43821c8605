"""A failing test that compares a planted secret must not print it (conftest.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRET = "VIGIL-" + "MARKER-am-$$grafana"


def test_a_failing_comparison_reports_the_failure_without_the_secret(tmp_path):
    # Under the checkout, so the root conftest.py applies as it does to Molecule verifiers.
    workdir = ROOT / ".cache" / "tooling-planted"
    workdir.mkdir(parents=True, exist_ok=True)
    probe = workdir / "test_probe.py"
    probe.write_text(textwrap.dedent("""
        def test_compare():
            print("captured %s")
            assert {"password": "%s"} == {"password": "expected"}
    """) % (SECRET, SECRET), encoding="utf-8")
    try:
        run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(probe)],
                             cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    finally:
        probe.unlink()
    output = run.stdout + run.stderr
    assert run.returncode == 1, output[-2000:]
    assert "1 failed" in output
    assert "planted secret, not shown" in output
    assert "MARKER-am" not in output
