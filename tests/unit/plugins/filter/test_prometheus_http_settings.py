# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""prometheus.yml's HTTP client settings per job, the password files, and incomplete basic_auth."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.filter.prometheus_http_settings import (
    FilterModule,
    prometheus_incomplete_basic_auth,
    prometheus_job_settings,
    prometheus_secrets,
)

JOBS = ["prometheus", "node", "blackbox_exporter", "blackbox", "snmp_exporter", "snmp"]
MULTI = [{"job": "blackbox", "exporter_job": "blackbox_exporter"}, {"job": "snmp", "exporter_job": "snmp_exporter"}]
SELF = {"scheme": "https", "basic_auth": {"username": "admin", "password": "pw-admin"}}


def test_the_filters_are_exposed():
    assert set(FilterModule().filters()) == {"prometheus_job_settings", "prometheus_secrets", "prometheus_incomplete_basic_auth"}


def test_each_job_gets_its_settings_multi_target_jobs_their_exporters():
    settings = {"prometheus": {"scheme": "http", "tls_config": {"ca_file": "/ca.pem"}},
                "blackbox_exporter": {"scheme": "https"}, "snmp": {"basic_auth": {"username": "s", "password_file": "/pw"}}}
    found = prometheus_job_settings(JOBS, settings, MULTI, SELF)
    # Prometheus itself: the role's own settings, the job's winning key by key.
    assert found["prometheus"] == {"scheme": "http", "basic_auth": {"username": "admin", "password": "pw-admin"},
                                   "tls_config": {"ca_file": "/ca.pem"}}
    assert found["node"] == {} and found["blackbox"] == {"scheme": "https"} and found["snmp_exporter"] == {}
    assert found["snmp"] == settings["snmp"]
    assert list(found) == JOBS


def test_passwords_move_to_files_named_after_their_place():
    job_settings = prometheus_job_settings(JOBS, {"node": {"basic_auth": {"username": "n", "password": "pw-node"}}}, MULTI, SELF)
    remote_write = [{"url": "https://a"}, {"url": "https://b", "basic_auth": {"username": "rw", "password": "pw-rw"}},
                    {"url": "https://c", "basic_auth": {"username": "rw", "password_file": "/pw"}}]
    assert prometheus_secrets(job_settings, JOBS, {"basic_auth": {"username": "am", "password": "pw-am"}}, remote_write) == [
        {"name": "job-prometheus", "password": "pw-admin"},
        {"name": "job-node", "password": "pw-node"},
        {"name": "alertmanager", "password": "pw-am"},
        # Named by its position in prometheus_remote_write, as prometheus.yml.j2 names the file.
        {"name": "remote-write-1", "password": "pw-rw"},
    ]
    assert prometheus_secrets({"prometheus": {}}, ["prometheus"], {}, []) == []


def test_incomplete_basic_auth_is_named_by_variable():
    settings = {"node": {"basic_auth": {"password": "pw"}}, "windows": {"basic_auth": {"username": "w"}},
                "custom": {"basic_auth": {"username": "c", "password_file": "/pw"}}, "snmp": {"scheme": "https"}}
    remote_write = [{"url": "a", "basic_auth": {"username": "u", "password": "p"}}, {"url": "b", "basic_auth": {}}]
    assert prometheus_incomplete_basic_auth(settings, {"basic_auth": "admin:pw"}, remote_write) == [
        "prometheus_scrape_job_settings.node", "prometheus_scrape_job_settings.windows", "prometheus_alertmanager_settings",
        "prometheus_remote_write[1]"]
    assert prometheus_incomplete_basic_auth({}, {}, []) == []


@pytest.mark.parametrize("call, message", [
    (lambda: prometheus_job_settings(JOBS, ["node"], MULTI, SELF), "prometheus_scrape_job_settings must be a mapping, got list"),
    (lambda: prometheus_secrets({}, JOBS, {}, {"url": "x"}), "prometheus_remote_write must be a list, got dict"),
    (lambda: prometheus_incomplete_basic_auth({}, {}, "https://rw"), "prometheus_remote_write must be a list, got str"),
])
def test_wrong_types_are_named(call, message):
    with pytest.raises(AnsibleFilterError, match=message):
        call()
