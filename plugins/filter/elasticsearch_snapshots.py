# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Vigil's snapshot repository and SLM policies (vigil.monitoring.elasticsearch_snapshot_repository,
vigil.monitoring.elasticsearch_slm_policies).

elasticsearch_snapshot_repository(kind, name, path_repo, s3, settings)
  kind: elasticsearch_snapshot_repository_type ('' none, fs, s3); s3: {bucket, client, base_path}
  returns {} for none, else {name, type, settings}: fs at <path_repo>/<name>; s3 with
  bucket, client and base_path; ``settings`` merged over that. Refuses what is missing or
  a setting that would hold a credential (S3 keys belong in the keystore), naming the variable.
elasticsearch_slm_policies(policies, repository)
  policies: elasticsearch_snapshot_policies; repository: the repository's name ('' none)
  returns [] without a repository, else one {name, body} per policy: the body of
  PUT _slm/policy/<name> (snapshot name <name-{now/d}>, indices logs-* unless given, no
  global state, retention 30d / 7 / 100 unless given).
"""

from __future__ import annotations

import re
from typing import Any, Dict, List

from ansible_collections.vigil.monitoring.plugins.plugin_utils.filter_input import (
    FilterInputError,
    as_list,
    as_mapping,
    filter_errors,
    whole_number,
)

CREDENTIAL_SETTINGS = ("access_key", "secret_key", "session_token", "key", "sas_token", "credentials_file")
CRON_FIELDS = (6, 7)
TIME_VALUE = re.compile(r"^\d+(d|h|m|s|ms)$")
POLICY_KEYS = {"name", "schedule", "indices", "expire_after", "min_count", "max_count", "snapshot_name"}
RETENTION_DEFAULTS = {"expire_after": "30d", "min_count": 7, "max_count": 100}


@filter_errors
def elasticsearch_snapshot_repository(kind: Any, name: Any, path_repo: Any = "", s3: Any = None,
                                      settings: Any = None) -> Dict[str, Any]:
    """The repository to register, or {} when none is asked for."""
    if kind in ("", None):
        return {}
    extra = dict(as_mapping(settings, "elasticsearch_snapshot_repository_settings"))
    secret = sorted(k for k in extra if str(k).rsplit(".", 1)[-1] in CREDENTIAL_SETTINGS)
    if secret:
        raise FilterInputError("elasticsearch_snapshot_repository_settings: %s would put a credential into the "
                               "repository's settings; S3 keys go to the keystore (elasticsearch_snapshot_s3_access_key, "
                               "elasticsearch_snapshot_s3_secret_key)" % ", ".join(secret))
    if kind == "fs":
        if not str(path_repo or "").startswith("/"):
            raise FilterInputError("elasticsearch_snapshot_path_repo must be an absolute path (the shared mount on every "
                                   "node), got %r" % path_repo)
        base: Dict[str, Any] = {"location": "%s/%s" % (str(path_repo).rstrip("/"), name)}
    elif kind == "s3":
        s3 = as_mapping(s3, "the s3 settings")
        if not s3.get("bucket"):
            raise FilterInputError("elasticsearch_snapshot_s3_bucket is required when elasticsearch_snapshot_repository_type is s3")
        base = {key: s3[key] for key in ("bucket", "client", "base_path") if s3.get(key)}
    else:
        raise FilterInputError("elasticsearch_snapshot_repository_type must be '', fs or s3, got %r" % kind)
    base.update(extra)
    return {"name": str(name), "type": kind, "settings": base}


def _policy(entry: Any, index: int, repository: str) -> Dict[str, Any]:
    entry = as_mapping(entry, "every entry of elasticsearch_snapshot_policies")
    where = "elasticsearch_snapshot_policies[%d] (%s)" % (index, entry.get("name", "no name"))
    unknown = sorted(set(entry) - POLICY_KEYS)
    if unknown:
        raise FilterInputError("%s: unknown key(s) %s; use %s" % (where, ", ".join(unknown), ", ".join(sorted(POLICY_KEYS))))
    if not entry.get("name") or not entry.get("schedule"):
        raise FilterInputError("%s needs name and schedule" % where)
    if len(str(entry["schedule"]).split()) not in CRON_FIELDS:
        raise FilterInputError("%s: schedule %r is not an Elasticsearch cron expression (6 or 7 fields, seconds first, "
                               "such as '0 30 1 * * ?')" % (where, entry["schedule"]))
    retention = {key: entry.get(key, default) for key, default in RETENTION_DEFAULTS.items()}
    if not TIME_VALUE.match(str(retention["expire_after"])):
        raise FilterInputError("%s: expire_after must be a time value such as 30d, got %r" % (where, retention["expire_after"]))
    for key in ("min_count", "max_count"):
        retention[key] = whole_number(retention[key], "%s: %s" % (where, key))
    if retention["min_count"] > retention["max_count"]:
        raise FilterInputError("%s: min_count %d is above max_count %d" % (where, retention["min_count"], retention["max_count"]))
    indices = [str(i) for i in as_list(entry.get("indices", ["logs-*"]), where + ": indices")]
    return {"name": str(entry["name"]), "body": {
        "name": str(entry.get("snapshot_name") or "<%s-{now/d}>" % entry["name"]),
        "schedule": str(entry["schedule"]),
        "repository": repository,
        "config": {"indices": indices, "include_global_state": False, "ignore_unavailable": True},
        "retention": retention,
    }}


@filter_errors
def elasticsearch_slm_policies(policies: Any, repository: Any) -> List[Dict[str, Any]]:
    """The SLM policies to write; [] without a repository."""
    if not repository:
        return []
    entries = as_list(policies, "elasticsearch_snapshot_policies")
    out = [_policy(entry, index, str(repository)) for index, entry in enumerate(entries)]
    names = [p["name"] for p in out]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise FilterInputError("elasticsearch_snapshot_policies: the names %s are given more than once" % ", ".join(twice))
    return out


class FilterModule:
    """Elasticsearch snapshots."""

    def filters(self):
        return {"elasticsearch_snapshot_repository": elasticsearch_snapshot_repository,
                "elasticsearch_slm_policies": elasticsearch_slm_policies}
