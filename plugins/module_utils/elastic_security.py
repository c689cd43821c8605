# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Elasticsearch security helpers shared by the role, user and API key modules.

* Privilege names are checked before any call: cluster, index and remote cluster
  privileges against the lists derived from Elastic's API specification
  (``elastic_privileges_data``), Kibana privileges (application ``kibana-.kibana``)
  against the table below. An unknown name is reported with the closest valid ones.
* Role descriptors are normalised the way Elasticsearch stores and shows them, so that
  a role or an API key written from the same descriptor compares equal on the next run.
* ``ClientAs``: an Elasticsearch client for the same URL and TLS settings that
  authenticates as someone else (a user's password, an API key), to check a credential
  without reading it back (Elasticsearch never returns passwords or API key secrets).
"""

from __future__ import annotations

import base64
import binascii
import copy
import difflib
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import ElasticResource, ElasticsearchClient
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic_privileges_data import (
    CLUSTER_PRIVILEGES,
    INDEX_PRIVILEGES,
    REMOTE_CLUSTER_PRIVILEGES,
    SPEC_REF,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.vigil_http import ApiError

# --------------------------------------------------------------------------------------
# Kibana privileges (application "kibana-.kibana")
# --------------------------------------------------------------------------------------

KIBANA_APPLICATION = "kibana-.kibana"
# Base privileges: "all"/"read" on resource "*", "space_all"/"space_read" on "space:<id>".
KIBANA_BASE_PRIVILEGES = ("all", "read", "space_all", "space_read")
# Feature privileges are "feature_<feature id>.<privilege>". Not part of the
# Elasticsearch specification: the feature ids and their privileges are Kibana's
# (Kibana guide "Kibana privileges" and "Kibana role management"; GET
# /api/security/privileges lists them on a running Kibana). Only the features Vigil
# grants or documents are listed; add one here, with its source, before granting it.
KIBANA_FEATURE_PRIVILEGES = {
    "actions": ("all", "read", "minimal_all", "minimal_read"),  # Management > Actions and Connectors
    "stackAlerts": ("all", "read", "minimal_all", "minimal_read"),  # Management > Stack Rules
    "siem": ("all", "read", "minimal_all", "minimal_read"),  # Security > Security (detection rules)
    "fleet": ("all", "read", "minimal_all", "minimal_read"),  # Management > Integrations
    "fleetv2": ("all", "read", "minimal_all", "minimal_read"),  # Management > Fleet
    "discover": ("all", "read", "minimal_all", "minimal_read"),  # Analytics > Discover
    "dashboard": ("all", "read", "minimal_all", "minimal_read"),  # Analytics > Dashboard
}


def kibana_privilege_names() -> Tuple[str, ...]:
    names = list(KIBANA_BASE_PRIVILEGES)
    for feature, privileges in KIBANA_FEATURE_PRIVILEGES.items():
        names.extend("feature_%s.%s" % (feature, p) for p in privileges)
    return tuple(sorted(names))


KNOWN = {
    "cluster": CLUSTER_PRIVILEGES,
    "indices": INDEX_PRIVILEGES,
    "remote_indices": INDEX_PRIVILEGES,
    "remote_cluster": REMOTE_CLUSTER_PRIVILEGES,
    KIBANA_APPLICATION: kibana_privilege_names(),
}

DESCRIPTOR_KEYS = (
    "cluster",
    "indices",
    "applications",
    "run_as",
    "metadata",
    "description",
    "remote_indices",
    "remote_cluster",
    "global",
)
INDEX_ENTRY_KEYS = ("names", "privileges", "field_security", "query", "allow_restricted_indices")


def closest(name: str, known: Tuple[str, ...]) -> List[str]:
    return difflib.get_close_matches(name, known, n=3, cutoff=0.5)


def unknown_privilege(where: str, name: Any, kind: str) -> str:
    known = KNOWN[kind]
    near = closest(str(name), known)
    source = (
        "Kibana's privileges for %s" % KIBANA_APPLICATION
        if kind == KIBANA_APPLICATION
        else "Elasticsearch %s's documented %s privileges" % (SPEC_REF, "index" if "indices" in kind else kind)
    )
    return "%s: unknown privilege %r (not in %s)%s" % (
        where,
        name,
        source,
        "; closest: %s" % ", ".join(near) if near else "",
    )


def descriptor_errors(descriptor: Any, where: str) -> List[str]:
    """Problems of one role descriptor, each naming the entry, the value and the fix."""
    if not isinstance(descriptor, dict):
        return ["%s must be a dict (cluster, indices, applications, run_as, metadata, ...)" % where]
    errors = []
    unknown_keys = sorted(set(descriptor) - set(DESCRIPTOR_KEYS))
    if unknown_keys:
        errors.append("%s has unknown key(s) %s; allowed: %s" % (where, unknown_keys, ", ".join(DESCRIPTOR_KEYS)))
    errors.extend(_list_of_names(descriptor, "cluster", where, "cluster"))
    for key in ("indices", "remote_indices"):
        for index, entry in enumerate(_entries(descriptor, key, where, errors)):
            spot = "%s.%s[%d]" % (where, key, index)
            errors.extend(_index_entry_errors(entry, spot, key))
    for index, entry in enumerate(_entries(descriptor, "remote_cluster", where, errors)):
        spot = "%s.remote_cluster[%d]" % (where, index)
        errors.extend(_list_of_names(entry, "privileges", spot, "remote_cluster"))
    for index, entry in enumerate(_entries(descriptor, "applications", where, errors)):
        spot = "%s.applications[%d]" % (where, index)
        if not isinstance(entry, dict) or not entry.get("application"):
            errors.append("%s needs application, privileges and resources" % spot)
            continue
        kind = KIBANA_APPLICATION if entry["application"] == KIBANA_APPLICATION else None
        errors.extend(_list_of_names(entry, "privileges", spot, kind))
        if not isinstance(entry.get("resources"), list) or not entry["resources"]:
            errors.append("%s.resources must be a non-empty list, e.g. ['space:default'] or ['*']" % spot)
    return errors


def _entries(descriptor: Dict[str, Any], key: str, where: str, errors: List[str]) -> List[Any]:
    value = descriptor.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        errors.append("%s.%s must be a list" % (where, key))
        return []
    return value


def _index_entry_errors(entry: Any, spot: str, key: str) -> List[str]:
    if not isinstance(entry, dict):
        return ["%s must be a dict with names and privileges" % spot]
    errors = []
    allowed = INDEX_ENTRY_KEYS + (("clusters",) if key == "remote_indices" else ())
    extra = sorted(set(entry) - set(allowed))
    if extra:
        errors.append("%s has unknown key(s) %s; allowed: %s" % (spot, extra, ", ".join(allowed)))
    names = entry.get("names")
    if not names or not isinstance(names, (str, list)):
        errors.append("%s.names must be an index name or pattern, or a list of them" % spot)
    errors.extend(_list_of_names(entry, "privileges", spot, "indices", required=True))
    return errors


def _list_of_names(container: Any, key: str, where: str, kind: Optional[str], required: bool = False) -> List[str]:
    value = container.get(key) if isinstance(container, dict) else None
    if value is None:
        return ["%s.%s is required (a list of privilege names)" % (where, key)] if required else []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return ["%s.%s must be a list of privilege names" % (where, key)]
    if required and not value:
        return ["%s.%s must name at least one privilege" % (where, key)]
    if kind is None:
        return []
    return [unknown_privilege("%s.%s" % (where, key), name, kind) for name in value if name not in KNOWN[kind]]


# --------------------------------------------------------------------------------------
# Normalisation (what Elasticsearch stores and shows)
# --------------------------------------------------------------------------------------


def _sorted_unique(values: Any) -> List[Any]:
    if isinstance(values, str):
        values = [values]
    return sorted(set(values or []), key=str)


def _index_entry(entry: Dict[str, Any]) -> Dict[str, Any]:
    out = copy.deepcopy(entry)
    out["names"] = _sorted_unique(out.get("names"))
    out["privileges"] = _sorted_unique(out.get("privileges"))
    out.setdefault("allow_restricted_indices", False)
    if "clusters" in out:
        out["clusters"] = _sorted_unique(out["clusters"])
    return out


def normalize_descriptor(descriptor: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """A role descriptor the way GET _security/role (or GET _security/api_key) shows it.

    Elasticsearch fills in ``cluster``, ``indices``, ``applications``, ``run_as`` (empty
    lists), ``metadata`` (empty) and ``allow_restricted_indices`` (false), and adds the
    server-managed ``transient_metadata`` (dropped here). Privilege, name and resource
    lists are compared as sets (their order carries no meaning), so they are sorted.
    """
    src = copy.deepcopy(descriptor or {})
    out: Dict[str, Any] = {
        "cluster": _sorted_unique(src.get("cluster")),
        "indices": sorted(
            (_index_entry(e) for e in src.get("indices") or []), key=lambda e: (e["names"], e["privileges"])
        ),
        "applications": sorted(
            (
                {
                    "application": a.get("application"),
                    "privileges": _sorted_unique(a.get("privileges")),
                    "resources": _sorted_unique(a.get("resources")),
                }
                for a in src.get("applications") or []
            ),
            key=lambda a: (str(a["application"]), a["privileges"], a["resources"]),
        ),
        "run_as": _sorted_unique(src.get("run_as")),
        "metadata": src.get("metadata") or {},
    }
    if src.get("remote_indices"):
        out["remote_indices"] = sorted(
            (_index_entry(e) for e in src["remote_indices"]), key=lambda e: (e["clusters"], e["names"])
        )
    if src.get("remote_cluster"):
        out["remote_cluster"] = sorted(
            (
                {"clusters": _sorted_unique(e.get("clusters")), "privileges": _sorted_unique(e.get("privileges"))}
                for e in src["remote_cluster"]
            ),
            key=lambda e: e["clusters"],
        )
    for key in ("description", "global"):
        if src.get(key):
            out[key] = src[key]
    return out


def normalize_descriptors(descriptors: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """``{name: descriptor}`` of an API key, each normalised."""
    return {name: normalize_descriptor(d) for name, d in sorted((descriptors or {}).items())}


def is_reserved(entity: Optional[Dict[str, Any]]) -> bool:
    """Built-in users and roles carry ``metadata._reserved: true`` and cannot be changed."""
    return bool(((entity or {}).get("metadata") or {}).get("_reserved"))


class SecurityResource(ElasticResource):
    """A role or a user of the security API; the built-in (reserved) ones are refused whatever the state."""

    delete_expected = (200,)
    delete_expect = dict

    def refusal(self, raw: Dict[str, Any]) -> Optional[str]:
        if is_reserved(raw):
            return "%s %s is a built-in (reserved) %s of Elasticsearch and cannot be managed" % (
                self.kind, self.name, self.kind)
        return None


# --------------------------------------------------------------------------------------
# API keys and authentication as someone else
# --------------------------------------------------------------------------------------


def split_api_key(value: str) -> Optional[Tuple[str, str]]:
    """``(id, secret)`` of an API key given as ``id:secret`` or as its base64 ``encoded`` form."""
    value = (value or "").strip()
    if not value:
        return None
    text = value
    if ":" not in value:
        try:
            text = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return None
    key_id, _sep, secret = text.partition(":")
    return (key_id, secret) if key_id and secret else None


def encoded_api_key(key_id: str, secret: str) -> str:
    return base64.b64encode(("%s:%s" % (key_id, secret)).encode("utf-8")).decode("ascii")


class _ModuleAs:
    """The module, seen with other credential parameters (for one extra client)."""

    CREDENTIALS = ("url_username", "url_password", "api_token", "api_key", "force_basic_auth")

    def __init__(self, module, **credentials: Any) -> None:
        self._module = module
        params = {k: v for k, v in module.params.items() if k not in self.CREDENTIALS}
        params.update({k: v for k, v in credentials.items() if v is not None})
        self.params = params

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


def client_as(module, username: Optional[str] = None, password: Optional[str] = None,
              api_key: Optional[str] = None) -> ElasticsearchClient:  # fmt: skip
    """A client for the module's URL and TLS options that authenticates as given."""
    return ElasticsearchClient(_ModuleAs(module, url_username=username, url_password=password, api_key=api_key))


def authenticate(client: ElasticsearchClient) -> Optional[Dict[str, Any]]:
    """``GET _security/_authenticate``: who the client is, or None when Elasticsearch answers 401."""
    status, body = client.request("GET", "/_security/_authenticate", expected=(200, 401))
    if status == 401:
        return None
    if not isinstance(body, dict):
        raise ApiError("GET", client.base_url + "/_security/_authenticate", status, body)
    return body
