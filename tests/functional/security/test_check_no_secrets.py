"""scripts/check-no-secrets.py, the last step of `make test`: it must fail when a planted secret reached a log.

Markers are built from parts here ("VIGIL-" + "MARKER-"), so that this file's own source,
printed by a failing test, is not itself a hit in the run's logs.
"""

from __future__ import annotations

import base64
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "check-no-secrets.py"
PREFIX = "VIGIL-" + "MARKER-"


def check(*paths, inventory="inventories/lab"):
    result = subprocess.run([sys.executable, str(SCRIPT), "--inventory", inventory] + [str(p) for p in paths],
                            capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    return result.returncode, result.stdout + result.stderr


@pytest.fixture
def logs(tmp_path):
    directory = tmp_path / "logs"
    (directory / "molecule").mkdir(parents=True)
    (directory / "molecule" / "node_exporter-alternative.log").write_text(
        "TASK [Write the web config] ***\nok: [vigil-node1]\nPLAY RECAP ***\n")
    (directory / "lint-unit.log").write_text("yamllint --strict .\n875 passed in 331.66s\n")
    return directory


def test_clean_logs_pass(logs):
    code, output = check(logs)
    assert code == 0, output
    assert "no planted secret in 2 log file(s)" in output


def test_a_printed_marker_fails_naming_file_and_line(logs):
    leak = logs / "molecule" / "grafana-default.log"
    leak.write_text("TASK [Render grafana.ini] ***\n+admin_password = %splanted-by-a-test\n" % PREFIX)

    code, output = check(logs)

    assert code == 1
    assert "molecule/grafana-default.log:2: marker %splanted-by-a-test" % PREFIX in output
    assert "FAIL: 1 planted secret(s) in 1 log file(s) (of 3 read)" in output


@pytest.mark.parametrize("user", ["prober", "a", "ab"])  # every base64 alignment of the marker
def test_a_marker_leaked_in_base64_is_found(logs, user):
    header = base64.b64encode(("%s:%spassword" % (user, PREFIX)).encode()).decode()
    (logs / "lint-unit.log").write_text("Authorization: Basic %s\n" % header)
    code, output = check(logs)
    assert code == 1 and "base64 of %s" % PREFIX in output


def test_an_inventory_secret_without_the_marker_is_found_and_not_printed(logs, tmp_path):
    """A format-bound secret (a UUID token) cannot carry the word: its value is the marker."""
    inventory = tmp_path / "inventory" / "group_vars" / "all"
    inventory.mkdir(parents=True)
    token = "0f8c2a4e-7b1d-4c3e-9a5f-6e2d1b0c9a87"
    (inventory / "vault.yml").write_text(yaml.safe_dump({"opencti_admin_token": token, "opencti_mode": "lab"}))
    (logs / "lint-unit.log").write_text("OPENCTI_ADMIN_TOKEN=%s\n" % token)

    code, output = check(logs, inventory=str(tmp_path / "inventory"))

    assert code == 1
    assert "the value of opencti_admin_token" in output and token not in output


def test_nothing_to_check_is_an_error(tmp_path):
    code, output = check(tmp_path / "missing")
    assert code == 2 and "nothing to check" in output


def load_checker():
    spec = importlib.util.spec_from_file_location("check_no_secrets", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_lab_inventory_carries_the_markers():
    """Every secret the lab sets is a marker: it holds the word, or its value is checked as such."""
    found = load_checker().inventory_secrets(str(ROOT), "inventories/lab")
    names = {part.split(" ")[0] for what in found.values() for part in what[len("the value of "):].split(", ")}
    assert len(found) >= 15
    assert {"grafana_admin_password", "opencti_admin_token", "opencti_encryption_key",
            "elasticsearch_service_tokens", "kibana_encryption_key_security"} <= names
    text = "".join(p.read_text() for p in (ROOT / "inventories" / "lab").rglob("*.yml"))
    assert text.count(PREFIX) >= 12
