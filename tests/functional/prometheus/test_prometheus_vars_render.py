# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The prometheus role's HTTP settings per scrape job, and the passwords it moves into files.

The role's variables, and those of its preflight check of basic_auth entries, are evaluated
by ansible-playbook on the controller (no Prometheus). Each scenario is also kept whole in
tests/golden/role_vars/ (see role_vars_render.py).
"""

from __future__ import annotations

from typing import Any, Dict

import pytest

from role_vars_render import golden_test, render_scenarios, task_vars

NAMES = ["_prometheus_job_settings", "_prometheus_secrets", "__prometheus_bad_auth"]
PREFLIGHT = task_vars("prometheus", "preflight.yml", "Assert every basic_auth has a user name and a password")

SCENARIOS: Dict[str, Dict[str, Any]] = {
    "defaults": {},
    "custom": {
        "prometheus_basic_auth_users": {"zed": "render-test-zed", "admin": "render-test-admin"},
        "prometheus_tls_server_config": {"cert_file": "/etc/prometheus/tls/p.crt", "key_file": "/etc/prometheus/tls/p.key"},
        "prometheus_scrape_job_settings": {
            "prometheus": {"tls_config": {"ca_file": "/etc/ssl/ca.pem"}},
            "node": {"scheme": "https", "basic_auth": {"username": "node", "password": "render-test-node"}},
            "blackbox_exporter": {"basic_auth": {"username": "bb", "password_file": "/etc/prometheus/bb.pw"}},
            "snmp": {"scheme": "https"},
            "windows": {"basic_auth": {"password": "render-test-no-user"}},
            "custom": {"basic_auth": {"username": "custom"}},
        },
        "prometheus_alertmanager_settings": {"basic_auth": {"username": "am", "password": "render-test-am"}},
        "prometheus_remote_write": [
            {"url": "https://rw1.example.org/api/v1/write"},
            {"url": "https://rw2.example.org/api/v1/write", "basic_auth": {"username": "rw", "password": "render-test-rw"}},
            {"url": "https://rw3.example.org/api/v1/write", "basic_auth": {}},
        ],
    },
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Dict[str, Dict[str, Any]]]:
    return render_scenarios(tmp_path_factory, "prometheus", SCENARIOS, NAMES, extra_task_vars=PREFLIGHT)


test_scenario_matches_golden_file = golden_test("prometheus", SCENARIOS)


def test_defaults_scrape_prometheus_itself_over_http(rendered):
    host = rendered["defaults"]["localhost"]
    settings = host["_prometheus_job_settings"]
    assert settings["prometheus"] == {"scheme": "http"}
    assert settings["node"] == {} and settings["blackbox"] == {} and settings["snmp"] == {}
    assert host["_prometheus_secrets"] == [] and host["__prometheus_bad_auth"] == []


def test_job_settings_and_secrets(rendered):
    host = rendered["custom"]["localhost"]
    settings = host["_prometheus_job_settings"]
    # The first user by name scrapes Prometheus itself; the job's own settings win key by key.
    assert settings["prometheus"] == {"scheme": "https", "basic_auth": {"username": "admin", "password": "render-test-admin"},
                                      "tls_config": {"ca_file": "/etc/ssl/ca.pem"}}
    # Multi-target jobs take their exporter's settings unless they have their own.
    assert settings["blackbox"] == settings["blackbox_exporter"]
    assert settings["snmp"] == {"scheme": "https"}
    # A remote_write password file is named by the entry's position in prometheus_remote_write,
    # as prometheus.yml.j2 names it (the first entry has no password).
    assert host["_prometheus_secrets"] == [
        {"name": "job-prometheus", "password": "render-test-admin"},
        {"name": "job-node", "password": "render-test-node"},
        {"name": "job-windows", "password": "render-test-no-user"},
        {"name": "alertmanager", "password": "render-test-am"},
        {"name": "remote-write-1", "password": "render-test-rw"},
    ]


def test_preflight_names_every_incomplete_basic_auth(rendered):
    assert rendered["custom"]["localhost"]["__prometheus_bad_auth"] == [
        "prometheus_scrape_job_settings.windows", "prometheus_scrape_job_settings.custom", "prometheus_remote_write[2]"]
