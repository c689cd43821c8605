# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inputs of a standalone elastic-agent.yml (vigil.monitoring.elastic_agent_standalone_inputs).

elastic_agent_standalone_inputs(policy, log_source='files')
  policy: one entry of elastic_agent_policies (checked by elastic_agent_policy_problems)
  log_source: where this host's system logs are, ``files`` or ``journald`` (the role decides per host from facts)
  returns the ``inputs`` list of elastic-agent.yml: one input per policy input, named
  vigil-<input id>, writing to the default output, with one stream that carries the data
  stream, what it reads (host:port, paths, journal facilities or event log channel) and its
  ingest pipeline (always Vigil's: the ``integration`` key only matters under Fleet). On a
  ``journald`` host a file input with ``journald_facilities`` reads those facilities from the
  journal instead of its files.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Dict, List

from ansible.errors import AnsibleFilterError
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic_agent_inputs import (
    NETWORK_TYPES,
    PolicyError,
    has_pipeline,
    listen_address,
    namespace,
    policy_inputs,
)

# Rotated, compressed files are not read again.
EXCLUDE_FILES = ["[.]gz$"]
LOG_SOURCES = ("files", "journald")


def _journal(item: Mapping, log_source: str) -> bool:
    return log_source == "journald" and bool(item.get("journald_facilities")) and item["type"] == "filestream"


def _source(item: Mapping, log_source: str = "files") -> Dict[str, Any]:
    if _journal(item, log_source):
        return {"facilities": list(item["journald_facilities"])}
    if item["type"] in NETWORK_TYPES:
        return {"host": "%s:%s" % (listen_address(item), item["port"])}
    if item["type"] == "filestream":
        return {"paths": item["paths"], "prospector.scanner.exclude_files": list(EXCLUDE_FILES)}
    if item["type"] == "winlog":
        return {"name": item["channel"]}
    return {}


def _stream(item: Mapping, log_source: str = "files") -> Dict[str, Any]:
    stream = {"id": "vigil-%s" % item["id"], "data_stream": {"type": "logs", "dataset": item["dataset"]}}
    stream.update(_source(item, log_source))
    if has_pipeline(item):
        stream["pipeline"] = item["pipeline"]
    return stream


def elastic_agent_standalone_inputs(policy: Any, log_source: Any = "files") -> List[Dict[str, Any]]:
    """The ``inputs`` of elastic-agent.yml for one policy (an empty policy: none)."""
    if log_source not in LOG_SOURCES:
        raise AnsibleFilterError("elastic_agent_standalone_inputs: log_source must be one of %s, got %r"
                                 % (", ".join(LOG_SOURCES), log_source))
    if policy is None:
        policy = {}
    if not isinstance(policy, Mapping):
        raise AnsibleFilterError("elastic_agent_standalone_inputs: the policy (elastic_agent_policy_id's entry of "
                                 "elastic_agent_policies) must be a mapping, got %s" % type(policy).__name__)
    try:
        items = policy_inputs(policy)
        return [{"id": "vigil-%s" % item["id"], "type": "journald" if _journal(item, log_source) else item["type"],
                 "use_output": "default", "data_stream": {"namespace": namespace(policy)},
                 "streams": [_stream(item, log_source)]}
                for item in items]
    except PolicyError as exc:
        raise AnsibleFilterError(str(exc)) from None
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError("elastic_agent_policies: policy %s: an input lacks %s; run the role's policy checks "
                                 "(elastic_agent_policy_problems) first" % (policy.get("id", "(no id)"), exc)) from None


class FilterModule:
    """Standalone Elastic Agent configuration."""

    def filters(self):
        return {"elastic_agent_standalone_inputs": elastic_agent_standalone_inputs}
