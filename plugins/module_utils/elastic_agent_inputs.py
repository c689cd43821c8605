# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inputs of Vigil's Elastic Agent policies (elastic_agent_policies): what they may be.

Shared by the filters that check a policy, render the standalone elastic-agent.yml and
build Fleet package policies, so that the three agree on the input types and on what a
network, file or event log input carries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, List

# Input types, in the order the policy check names them.
INPUT_TYPES = ("udp", "tcp", "filestream", "winlog")
NETWORK_TYPES = ("udp", "tcp")
# Fleet's simplified package policy keys of Elastic's Custom UDP/TCP Logs, Custom Logs
# (Filestream) and Custom Windows Event Logs integrations: package input, then stream.
FLEET_KEYS = {
    "udp": ("udp-udp", "udp.generic"),
    "tcp": ("tcp-tcp", "tcp.generic"),
    "filestream": ("filestream-filestream", "filestream.generic"),
    "winlog": ("winlogs-winlog", "winlog.winlog"),
}
DEFAULT_LISTEN_ADDRESS = "0.0.0.0"
DEFAULT_NAMESPACE = "default"
NO_PIPELINE = "none"


class PolicyError(ValueError):
    """elastic_agent_policies is not a list of policies."""


def as_mapping(value: Any) -> Mapping:
    """A policy or input as a mapping; anything else has no keys (the checks then name what it lacks)."""
    return value if isinstance(value, Mapping) else {}


def policy_list(policies: Any) -> List[Any]:
    """elastic_agent_policies as a list; PolicyError naming the variable otherwise."""
    if isinstance(policies, (str, bytes, Mapping)) or not isinstance(policies, Sequence):
        raise PolicyError("elastic_agent_policies must be a list of policies, got %s" % type(policies).__name__)
    return list(policies)


def policy_inputs(policy: Any) -> List[Any]:
    """A policy's inputs (none when it has no ``inputs``)."""
    inputs = as_mapping(policy).get("inputs", [])
    if inputs is None:
        return []
    if isinstance(inputs, (str, bytes, Mapping)) or not isinstance(inputs, Sequence):
        raise PolicyError(
            "elastic_agent_policies: policy %s: inputs must be a list, got %s"
            % (as_mapping(policy).get("id", "(no id)"), type(inputs).__name__)
        )
    return list(inputs)


def namespace(policy: Any) -> Any:
    """The data stream namespace of a policy's inputs."""
    return as_mapping(policy).get("namespace", DEFAULT_NAMESPACE)


def listen_address(item: Mapping) -> Any:
    """Where a network input listens."""
    return item.get("listen_address", DEFAULT_LISTEN_ADDRESS)


def has_pipeline(item: Mapping) -> bool:
    """Whether an input names an ingest pipeline (``pipeline: none`` does not)."""
    return item["pipeline"] != NO_PIPELINE
