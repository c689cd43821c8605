#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage an Elasticsearch snapshot lifecycle management (SLM) policy."""

from __future__ import annotations

DOCUMENTATION = r"""
module: elasticsearch_slm_policy
short_description: Manage an Elasticsearch snapshot lifecycle management (SLM) policy
version_added: 0.2.0
description:
  - Creates, updates or deletes an SLM policy through C(PUT/GET/DELETE _slm/policy/<name>).
  - C(GET) answers an object keyed by the policy id holding C(version), C(modified_date), C(policy), C(stats) and
    the next execution; only C(policy) is compared, exactly, and the policy is written only when it differs. A
    missing policy is recognised only by HTTP 404.
  - The repository must exist before the policy is written (Elasticsearch refuses the policy otherwise).
author:
  - Vigil maintainers (@vigil-monitoring)
options:
  name:
    description: Policy id. An ILM delete phase's C(wait_for_snapshot) action names it.
  state:
    description: Whether the policy must exist. Deleting it keeps the snapshots it took.
  policy:
    description:
      - The policy as sent to C(PUT _slm/policy/<name>) - C(name) (snapshot name, date math allowed, for example
        C(<vigil-{now/d}>)), C(schedule) (a cron expression with seconds, for example C(0 30 1 * * ?)),
        C(repository), and optionally C(config) (C(indices), C(include_global_state), C(feature_states), ...) and
        C(retention) (C(expire_after), C(min_count), C(max_count); the published 8.17 specification marks all three
        as required, so send all three).
      - Required when O(state=present).
    type: dict
extends_documentation_fragment: [vigil.monitoring.api, vigil.monitoring.api.transport, vigil.monitoring.elasticsearch, vigil.monitoring.elasticsearch.name,
  vigil.monitoring.resource, vigil.monitoring.resource.state]
notes:
  - Needs the C(manage_slm) cluster privilege.
"""

EXAMPLES = r"""
- name: Snapshot the log data streams every night, keep 30 days (at least 5, at most 60 snapshots)
  vigil.monitoring.elasticsearch_slm_policy:
    url: https://es.lab.example:9200
    api_key: "{{ vault_es_api_key }}"
    name: vigil-logs-nightly
    policy:
      name: "<vigil-logs-{now/d}>"
      schedule: "0 30 1 * * ?"
      repository: vigil-snapshots
      config:
        indices: ["logs-*"]
        include_global_state: false
      retention:
        expire_after: 30d
        min_count: 5
        max_count: 60
"""

RETURN = r"""
version:
  description: The policy version Elasticsearch reported before this run (it increments on every write).
  returned: when the policy existed
  type: int
policy:
  description: The policy as it is (or, in check mode, would be) stored; empty when absent.
  returned: always
  type: dict
"""

import re  # noqa: E402
from typing import Any, Dict, Optional  # noqa: E402

from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import VersionedResource, run_body_resource  # noqa: E402

POLICY_KEYS = ("name", "schedule", "repository", "config", "retention")
REQUIRED = ("name", "schedule", "repository")
# Elasticsearch's cron: seconds minutes hours day-of-month month day-of-week [year].
CRON_FIELDS = (6, 7)
# A time value as Elasticsearch parses it (d h m s ms micros nanos).
TIME_VALUE = re.compile(r"^\d+(d|h|m|s|ms|micros|nanos)$")


def policy_problem(policy: Dict[str, Any]) -> Optional[str]:
    unknown = sorted(set(policy) - set(POLICY_KEYS))
    if unknown:
        return "policy has key(s) %s that an SLM policy does not take; use %s" % (", ".join(unknown), ", ".join(POLICY_KEYS))
    missing = [key for key in REQUIRED if not policy.get(key)]
    if missing:
        return "policy.%s is required (name: the snapshot name, schedule: a cron expression, repository)" % missing[0]
    if len(str(policy["schedule"]).split()) not in CRON_FIELDS:
        return ("policy.schedule %r is not an Elasticsearch cron expression: 6 or 7 fields, seconds first, "
                "for example '0 30 1 * * ?' (01:30 every day)" % policy["schedule"])
    expire = (policy.get("retention") or {}).get("expire_after")
    if expire is not None and not TIME_VALUE.match(str(expire)):
        return "policy.retention.expire_after %r is not a time value such as 30d or 12h" % expire
    return None


class SlmPolicy(VersionedResource):
    kind = "SLM policy"
    result_key = "policy"
    prefix = "/_slm/policy"
    document_problem = staticmethod(policy_problem)


def main() -> None:
    run_body_resource(SlmPolicy)


if __name__ == "__main__":
    main()
