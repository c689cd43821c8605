# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTP client settings of prometheus.yml: per scrape job, and the passwords moved into files.

prometheus_job_settings(jobs, settings, multi_target_jobs, self_settings)
  jobs: every job of the role; settings: prometheus_scrape_job_settings
  multi_target_jobs: [{job, exporter_job}]: such a job takes its exporter's settings
  unless it has its own; self_settings: what job 'prometheus' scrapes Prometheus with
  (its own settings win key by key)
  returns {job: settings} for every job.

prometheus_secrets(job_settings, jobs, alertmanager_settings, remote_write)
  returns {name, password} for every clear-text basic_auth password: job-<job>,
  alertmanager, remote-write-<position in prometheus_remote_write>. The role writes each
  to a 0640 file of that name and prometheus.yml names the file (password_file).

prometheus_incomplete_basic_auth(settings, alertmanager_settings, remote_write)
  returns the variables (prometheus_scrape_job_settings.<job>, prometheus_alertmanager_settings,
  prometheus_remote_write[<n>]) whose basic_auth lacks a username, or both password and password_file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Dict, Iterator, List, Tuple

from ansible_collections.vigil.monitoring.plugins.plugin_utils.filter_input import as_list, as_mapping, filter_errors


def _basic_auth(settings: Any) -> Mapping:
    auth = settings.get("basic_auth", {}) if isinstance(settings, Mapping) else {}
    return auth if isinstance(auth, Mapping) else {}


@filter_errors
def prometheus_job_settings(jobs: Any, settings: Any, multi_target_jobs: Any = None,
                            self_settings: Any = None) -> Dict[str, Any]:
    """The HTTP settings of every job."""
    given = as_mapping(settings, "prometheus_scrape_job_settings")
    found = {job: given[job] if job in given else {} for job in as_list(jobs, "the jobs")}
    for multi in as_list(multi_target_jobs, "the multi-target jobs"):
        found[multi["job"]] = given[multi["job"]] if multi["job"] in given else found[multi["exporter_job"]]
    if "prometheus" in found:
        merged = dict(as_mapping(self_settings, "the self-scrape settings"))
        merged.update(as_mapping(found["prometheus"], "prometheus_scrape_job_settings.prometheus"))
        found["prometheus"] = merged
    return found


@filter_errors
def prometheus_secrets(job_settings: Any, jobs: Any, alertmanager_settings: Any = None,
                       remote_write: Any = None) -> List[Dict[str, Any]]:
    """{name, password} of every basic_auth password given in clear."""
    settings = as_mapping(job_settings, "the job settings")
    named = [("job-%s" % job, settings.get(job)) for job in as_list(jobs, "the jobs")]
    named.append(("alertmanager", alertmanager_settings))
    named += [("remote-write-%d" % index, entry)
              for index, entry in enumerate(as_list(remote_write, "prometheus_remote_write"))]
    return [{"name": name, "password": _basic_auth(entry)["password"]} for name, entry in named
            if "password" in _basic_auth(entry)]


def _candidates(settings: Mapping, alertmanager_settings: Any, remote_write: List[Any]) -> Iterator[Tuple[str, Any]]:
    for job, entry in settings.items():
        yield "prometheus_scrape_job_settings.%s" % job, entry
    yield "prometheus_alertmanager_settings", alertmanager_settings
    for index, entry in enumerate(remote_write):
        yield "prometheus_remote_write[%d]" % index, entry


@filter_errors
def prometheus_incomplete_basic_auth(settings: Any, alertmanager_settings: Any = None, remote_write: Any = None) -> List[str]:
    """The variables whose basic_auth lacks a username or a password (or password_file)."""
    found = []
    for name, entry in _candidates(as_mapping(settings, "prometheus_scrape_job_settings"), alertmanager_settings,
                                   as_list(remote_write, "prometheus_remote_write")):
        if not isinstance(entry, Mapping) or "basic_auth" not in entry:
            continue
        auth = _basic_auth(entry)
        if "username" not in auth or ("password" not in auth and "password_file" not in auth):
            found.append(name)
    return found


class FilterModule:
    """Prometheus HTTP client settings."""

    def filters(self):
        return {
            "prometheus_job_settings": prometheus_job_settings,
            "prometheus_secrets": prometheus_secrets,
            "prometheus_incomplete_basic_auth": prometheus_incomplete_basic_auth,
        }
