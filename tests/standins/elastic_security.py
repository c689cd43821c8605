"""Elasticsearch security for the fakes: users, roles, API keys, authentication, authorisation.

Follows the documented request and response shapes of Elasticsearch's security APIs
(elastic/elasticsearch-specification, ``specification/security``): ``PUT/GET/DELETE
_security/role/<name>``, ``PUT/GET/DELETE _security/user/<name>``, ``POST
_security/user/<name>/_password``, ``GET _security/_authenticate``, ``POST/GET/DELETE
_security/api_key`` and ``PUT _security/api_key/<id>``.

Authentication: basic auth of a native user, or ``ApiKey <base64 id:secret>``;
anything else answers 401. Authorisation follows Elasticsearch's model closely enough
to catch a missing privilege: each REST call maps to its transport action name
(``cluster:admin/ingest/pipeline/put``, ``indices:data/write/index:op_type/create``,
...), and each named privilege to the action patterns Elasticsearch documents for it.
A user is allowed what any of its roles allows; an API key what both its role
descriptors and its owner's roles (the ``limited_by`` snapshot) allow; an API key
without descriptors has its owner's privileges. Kibana privileges are checked the
same way for the Kibana fake (application ``kibana-.kibana``, resource ``space:<id>``).

This is a fake: it checks names and patterns, not field or document level security,
restricted indices, run_as or realms other than native.
"""

from __future__ import annotations

import base64
import binascii
import copy
import fnmatch
import itertools
import re
import secrets
from typing import Any, Dict, Iterable, List, Optional, Tuple

Answer = Tuple[int, Any]

ALL_CLUSTER = ("cluster:*", "indices:admin/template/*", "indices:admin/index_template/*")
SECURITY = ("cluster:admin/xpack/security/*",)
API_KEY_ACTIONS = ("cluster:admin/xpack/security/api_key/*",)
CLUSTER_PATTERNS: Dict[str, Tuple[str, ...]] = {
    "all": ALL_CLUSTER,
    "manage": ALL_CLUSTER,  # minus SECURITY, see cluster_allowed
    "manage_security": SECURITY,
    "manage_api_key": API_KEY_ACTIONS,
    "manage_own_api_key": API_KEY_ACTIONS,  # own keys only, see cluster_allowed
    "read_security": (
        "cluster:admin/xpack/security/user/get",
        "cluster:admin/xpack/security/role/get",
        "cluster:admin/xpack/security/api_key/get",
    ),
    "manage_ingest_pipelines": ("cluster:admin/ingest/pipeline/*",),
    "manage_pipeline": ("cluster:admin/ingest/pipeline/*",),
    "read_pipeline": ("cluster:admin/ingest/pipeline/get", "cluster:admin/ingest/pipeline/simulate"),
    "manage_index_templates": (
        "indices:admin/template/*",
        "indices:admin/index_template/*",
        "cluster:admin/component_template/*",
    ),
    "manage_ilm": ("cluster:admin/ilm/*",),
    "manage_slm": ("cluster:admin/slm/*",),
    "read_slm": ("cluster:admin/slm/get", "cluster:admin/slm/status"),
    "create_snapshot": ("cluster:admin/snapshot/create*", "cluster:admin/snapshot/status*", "cluster:admin/snapshot/get",
                        "cluster:admin/repository/get"),
    "monitor_snapshot": ("cluster:admin/snapshot/status*", "cluster:admin/snapshot/get", "cluster:admin/repository/get"),
    "read_ilm": ("cluster:admin/ilm/get", "cluster:admin/ilm/operation_mode/get"),
    "monitor": ("cluster:monitor/*", "indices:admin/index_template/get", "indices:admin/template/get"),
}
INDEX_PATTERNS: Dict[str, Tuple[str, ...]] = {
    "all": ("indices:*",),
    "read": ("indices:data/read/*",),
    "view_index_metadata": ("indices:admin/get", "indices:admin/mappings/get", "indices:admin/resolve/*", "indices:admin/aliases/get",
                            "indices:monitor/settings/get", "indices:data/read/field_caps*"),  # fmt: skip
    "create_doc": ("indices:data/write/index:op_type/create", "indices:data/write/bulk*"),
    "create": ("indices:data/write/index:op_type/create", "indices:data/write/bulk*"),
    "index": ("indices:data/write/index*", "indices:data/write/update*", "indices:data/write/bulk*"),
    "delete": ("indices:data/write/delete*", "indices:data/write/bulk*"),
    "write": ("indices:data/write/*",),
    "auto_configure": ("indices:admin/auto_create", "indices:admin/mapping/auto_put"),
    "create_index": ("indices:admin/create", "indices:admin/auto_create", "indices:admin/data_stream/create"),
    "manage": ("indices:monitor/*", "indices:admin/*"),
    "monitor": ("indices:monitor/*",),
    "maintenance": ("indices:admin/refresh*", "indices:admin/flush*", "indices:admin/forcemerge*"),
}
KIBANA = "kibana-.kibana"
SUPERUSER = {
    "cluster": ["all"],
    "indices": [{"names": ["*"], "privileges": ["all"], "allow_restricted_indices": True}],
    "applications": [{"application": "*", "privileges": ["*"], "resources": ["*"]}],
    "run_as": ["*"],
    "metadata": {"_reserved": True},
}
USER_FIELDS = ("username", "roles", "full_name", "email", "metadata", "enabled")
ROLE_KEYS = {"cluster", "indices", "applications", "run_as", "metadata", "description", "global",
             "remote_indices", "remote_cluster", "transient_metadata"}  # fmt: skip


def es_error(status: int, etype: str, reason: str) -> Answer:
    cause = {"type": etype, "reason": reason}
    return status, {"error": {"root_cause": [cause], "type": etype, "reason": reason}, "status": status}


def security_exception(status: int, reason: str) -> Answer:
    answer = es_error(status, "security_exception", reason)
    if status == 401:
        answer[1]["error"]["header"] = {"WWW-Authenticate": ['Basic realm="security" charset="UTF-8"', "ApiKey"]}
    return answer


def stored_descriptor(body: Dict[str, Any]) -> Dict[str, Any]:
    """A role descriptor the way Elasticsearch stores and returns it (documented defaults added)."""
    out = {k: copy.deepcopy(v) for k, v in body.items() if k != "transient_metadata"}
    out.setdefault("cluster", [])
    out["indices"] = [dict({"allow_restricted_indices": False}, **copy.deepcopy(e)) for e in out.get("indices") or []]
    for entry in out["indices"]:
        if isinstance(entry.get("names"), str):
            entry["names"] = [entry["names"]]
    out.setdefault("applications", [])
    out.setdefault("run_as", [])
    out.setdefault("metadata", {})
    out["transient_metadata"] = {"enabled": True}
    return out


class Principal:
    """Who a request authenticated as."""

    def __init__(self, username: str, roles: Dict[str, Dict[str, Any]],
                 api_key: Optional[Dict[str, Any]] = None) -> None:  # fmt: skip
        self.username = username
        self.role_map = roles  # the owner's roles: a user's, or the snapshot an API key was limited by
        self.api_key = api_key

    @property
    def roles(self) -> List[str]:
        return sorted(self.role_map)

    @property
    def descriptors(self) -> List[Dict[str, Any]]:
        return list(self.role_map.values())

    @property
    def label(self) -> str:
        """``<user>`` or ``api_key:<name>`` (the key's owner is in ``username``)."""
        return "api_key:%s" % self.api_key["name"] if self.api_key else self.username

    def layers(self) -> List[List[Dict[str, Any]]]:
        """Permission layers that must all allow an action (an API key: its descriptors and its owner's)."""
        if self.api_key and self.api_key["role_descriptors"]:
            return [list(self.api_key["role_descriptors"].values()), self.descriptors]
        return [self.descriptors]


class SecurityRealm:
    """Native users, roles and API keys of one fake cluster; ``elastic`` is the built-in superuser."""

    def __init__(self, elastic_password: str, now_millis: Optional[Iterable[int]] = None) -> None:
        self.users: Dict[str, Dict[str, Any]] = {
            "elastic": {"username": "elastic", "roles": ["superuser"], "full_name": None, "email": None,
                        "metadata": {"_reserved": True}, "enabled": True, "password": elastic_password},
        }  # fmt: skip
        self.roles: Dict[str, Dict[str, Any]] = {"superuser": copy.deepcopy(SUPERUSER)}
        self.api_keys: Dict[str, Dict[str, Any]] = {}
        # Bearer tokens (access tokens, service account tokens): token -> user name.
        self.bearer_tokens: Dict[str, str] = {}
        self._clock = iter(now_millis) if now_millis is not None else itertools.count(1767225600000, 1000)
        self.now_ms = next(self._clock)

    # -- authentication -------------------------------------------------------------------
    def authenticate(self, header: Optional[str]) -> Optional[Principal]:
        if not header or " " not in header:
            return None
        scheme, _sep, value = header.partition(" ")
        if scheme == "Bearer":
            owner = self.bearer_tokens.get(value.strip())
            user = self.users.get(owner) if owner else None
            if user is None or not user["enabled"]:
                return None
            return Principal(owner, self.role_descriptors(user["roles"]))
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return None
        name, sep, secret = decoded.partition(":")
        if not sep:
            return None
        if scheme == "Basic":
            user = self.users.get(name)
            if user is None or not user["enabled"] or not secrets.compare_digest(user["password"], secret):
                return None
            return Principal(name, self.role_descriptors(user["roles"]))
        if scheme == "ApiKey":
            key = self.api_keys.get(name)
            if key is None or not self.active(key) or not secrets.compare_digest(key["secret"], secret):
                return None
            return Principal(key["username"], key["limited_by"], api_key=key)
        return None

    def role_descriptors(self, names: Iterable[str]) -> Dict[str, Dict[str, Any]]:
        return {n: copy.deepcopy(self.roles[n]) for n in names if n in self.roles}

    def active(self, key: Dict[str, Any]) -> bool:
        return not key["invalidated"] and (key.get("expiration") is None or key["expiration"] > self.now_ms)

    # -- authorisation --------------------------------------------------------------------
    @staticmethod
    def _matches(action: str, patterns: Iterable[str]) -> bool:
        return any(fnmatch.fnmatchcase(action, p) for p in patterns)

    def cluster_allowed(self, principal: Principal, action: str, own_key: bool = False) -> bool:
        return all(self._layer_cluster(layer, action, own_key) for layer in principal.layers())

    def _layer_cluster(self, descriptors: List[Dict[str, Any]], action: str, own_key: bool) -> bool:
        for descriptor in descriptors:
            for name in descriptor.get("cluster") or []:
                if name == "manage" and self._matches(action, SECURITY):
                    continue
                if name == "manage_own_api_key" and not own_key:
                    continue
                if self._matches(action, CLUSTER_PATTERNS.get(name, (name,))):
                    return True
        return False

    def index_allowed(self, principal: Principal, action: str, index: str) -> bool:
        return all(self._layer_index(layer, action, index) for layer in principal.layers())

    def _layer_index(self, descriptors: List[Dict[str, Any]], action: str, index: str) -> bool:
        for descriptor in descriptors:
            for entry in descriptor.get("indices") or []:
                names = entry.get("names") or []
                names = [names] if isinstance(names, str) else names
                if not any(fnmatch.fnmatchcase(index, n) for n in names):
                    continue
                if any(self._matches(action, INDEX_PATTERNS.get(p, ())) for p in entry.get("privileges") or []):
                    return True
        return False

    def kibana_allowed(self, principal: Principal, space: str, privileges: Iterable[str]) -> bool:
        """True when the principal holds one of ``privileges`` (or a base privilege) in the space."""
        wanted = set(privileges) | {"all", "space_all"}
        return all(self._layer_kibana(layer, space, wanted) for layer in principal.layers())

    @staticmethod
    def _layer_kibana(descriptors: List[Dict[str, Any]], space: str, wanted: set) -> bool:
        for descriptor in descriptors:
            for entry in descriptor.get("applications") or []:
                if entry.get("application") not in (KIBANA, "*"):
                    continue
                if not any(r in ("*", "space:%s" % space) for r in entry.get("resources") or []):
                    continue
                if "*" in (entry.get("privileges") or []) or wanted & set(entry.get("privileges") or []):
                    return True
        return False

    def unauthorized(self, principal: Principal, action: str, index: Optional[str] = None) -> Answer:
        who = "API key id [%s] of user [%s]" % (principal.api_key["id"], principal.username) if principal.api_key \
            else "user [%s]" % principal.username  # fmt: skip
        roles = ",".join(principal.api_key["role_descriptors"] if principal.api_key else principal.roles)
        on = " on indices [%s]" % index if index else ""
        return security_exception(
            403, "action [%s] is unauthorized for %s with effective roles [%s]%s" % (action, who, roles, on)
        )

    # -- REST: _security/* ----------------------------------------------------------------
    def route(self, method: str, parts: List[str], query: Dict[str, List[str]], body: Any,
              principal: Principal) -> Answer:  # fmt: skip
        if parts == ["_authenticate"] and method == "GET":
            return 200, self.whoami(principal)
        if parts[:1] == ["role"] and len(parts) == 2:
            return self.check(principal, "cluster:admin/xpack/security/role/%s" % self.verb(method),
                              lambda: self.role(method, parts[1], body))  # fmt: skip
        if parts[:1] == ["user"] and len(parts) == 3 and parts[2] == "_password" and method in ("POST", "PUT"):
            own = parts[1] == principal.username and not principal.api_key
            if own:
                return self.change_password(parts[1], body)
            return self.check(principal, "cluster:admin/xpack/security/user/change_password",
                              lambda: self.change_password(parts[1], body))  # fmt: skip
        if parts[:1] == ["user"] and len(parts) == 2:
            return self.check(principal, "cluster:admin/xpack/security/user/%s" % self.verb(method),
                              lambda: self.user(method, parts[1], body))  # fmt: skip
        if parts == ["api_key"]:
            return self.api_key_collection(method, query, body, principal)
        if parts[:1] == ["api_key"] and len(parts) == 2 and method == "PUT":
            return self.update_api_key(parts[1], body, principal)
        return es_error(400, "illegal_argument_exception",
                        "no handler found for uri [/_security/%s] and method [%s]" % ("/".join(parts), method))

    @staticmethod
    def verb(method: str) -> str:
        return {"GET": "get", "PUT": "put", "POST": "put", "DELETE": "delete"}.get(method, method.lower())

    def check(self, principal: Principal, action: str, then) -> Answer:
        if not self.cluster_allowed(principal, action):
            return self.unauthorized(principal, action)
        return then()

    def whoami(self, principal: Principal) -> Dict[str, Any]:
        realm = {"name": "default_native", "type": "native"} if principal.username != "elastic" \
            else {"name": "reserved", "type": "reserved"}  # fmt: skip
        user = self.users[principal.username]
        answer = {
            "username": principal.username,
            "roles": principal.roles if not principal.api_key else [],
            "full_name": user.get("full_name"),
            "email": user.get("email"),
            "metadata": copy.deepcopy(user.get("metadata") or {}),
            "enabled": True,
            "authentication_realm": realm if not principal.api_key else {"name": "_es_api_key", "type": "_es_api_key"},
            "lookup_realm": realm if not principal.api_key else {"name": "_es_api_key", "type": "_es_api_key"},
            "authentication_type": "api_key" if principal.api_key else "realm",
        }
        if principal.api_key:
            answer["api_key"] = {"id": principal.api_key["id"], "name": principal.api_key["name"]}
        return answer

    # roles
    def role(self, method: str, name: str, body: Any) -> Answer:
        if method == "GET":
            if name not in self.roles:
                return 404, {}
            return 200, {name: copy.deepcopy(self.roles[name])}
        if name in self.roles and self.roles[name]["metadata"].get("_reserved"):
            return es_error(400, "illegal_argument_exception", "role [%s] is reserved and cannot be modified" % name)
        if method == "DELETE":
            return 200, {"found": self.roles.pop(name, None) is not None}
        if method not in ("PUT", "POST"):
            return es_error(405, "method_not_allowed", "Incorrect HTTP method")
        if not isinstance(body, dict):
            return es_error(400, "parse_exception", "request body is required")
        error = self.descriptor_error(name, body)
        if error:
            return error
        created = name not in self.roles
        self.roles[name] = stored_descriptor(body)
        return 200, {"role": {"created": created}}

    @staticmethod
    def descriptor_error(name: str, body: Dict[str, Any]) -> Optional[Answer]:
        unknown = sorted(set(body) - ROLE_KEYS)
        if unknown:
            return es_error(400, "x_content_parse_exception",
                            "failed to parse role [%s]. unexpected field [%s]" % (name, unknown[0]))  # fmt: skip
        for privilege in body.get("cluster") or []:
            if privilege not in CLUSTER_PATTERNS and not privilege.startswith("cluster:"):
                return es_error(400, "action_request_validation_exception",
                                "Validation Failed: 1: unknown cluster privilege [%s]. a privilege must be either "
                                "one of the predefined cluster privilege names or a pattern over one of the "
                                "available cluster actions;" % privilege)  # fmt: skip
        for entry in body.get("indices") or []:
            for privilege in entry.get("privileges") or []:
                if privilege not in INDEX_PATTERNS and not privilege.startswith("indices:"):
                    return es_error(400, "illegal_argument_exception",
                                    "unknown index privilege [%s]. a privilege must be either one of the predefined "
                                    "fixed indices privileges or a pattern over one of the available index actions"
                                    % privilege)  # fmt: skip
        return None

    # users
    def user(self, method: str, name: str, body: Any) -> Answer:
        if method == "GET":
            if name not in self.users:
                return 404, {}
            return 200, {name: {k: copy.deepcopy(self.users[name].get(k)) for k in USER_FIELDS}}
        if name in self.users and self.users[name]["metadata"].get("_reserved"):
            return es_error(400, "illegal_argument_exception",
                            "user [%s] is reserved and only the password can be changed" % name)  # fmt: skip
        if method == "DELETE":
            return 200, {"found": self.users.pop(name, None) is not None}
        if method not in ("PUT", "POST"):
            return es_error(405, "method_not_allowed", "Incorrect HTTP method")
        if not isinstance(body, dict):
            return es_error(400, "parse_exception", "request body is required")
        unknown = sorted(set(body) - {"username", "email", "full_name", "metadata", "password", "password_hash",
                                      "roles", "enabled"})  # fmt: skip
        if unknown:
            return es_error(400, "x_content_parse_exception", "[put_user] unknown field [%s]" % unknown[0])
        created = name not in self.users
        if created and not body.get("password"):
            return es_error(400, "action_request_validation_exception",
                            "Validation Failed: 1: password must be specified unless you are updating an existing "
                            "user;")  # fmt: skip
        if "password" in body and len(str(body["password"])) < 6:
            return es_error(400, "action_request_validation_exception",
                            "Validation Failed: 1: passwords must be at least [6] characters long;")  # fmt: skip
        user = self.users.get(name) or {"username": name, "roles": [], "full_name": None, "email": None,
                                        "metadata": {}, "enabled": True}  # fmt: skip
        for key in ("roles", "full_name", "email", "metadata", "enabled"):
            if key in body:
                user[key] = copy.deepcopy(body[key])
        if "password" in body:
            user["password"] = body["password"]
        self.users[name] = user
        return 200, {"created": created}

    def change_password(self, name: str, body: Any) -> Answer:
        if name not in self.users:
            return es_error(404, "resource_not_found_exception", "user [%s] does not exist" % name)
        password = (body or {}).get("password") if isinstance(body, dict) else None
        if not password or len(password) < 6:
            return es_error(400, "action_request_validation_exception",
                            "Validation Failed: 1: passwords must be at least [6] characters long;")  # fmt: skip
        self.users[name]["password"] = password
        return 200, {}

    # API keys
    def api_key_collection(self, method: str, query: Dict[str, List[str]], body: Any, principal: Principal) -> Answer:
        if method in ("POST", "PUT"):
            return self.create_api_key(body, principal)
        if method == "GET":
            return self.get_api_keys(query, principal)
        if method == "DELETE":
            return self.invalidate_api_keys(body, principal)
        return es_error(405, "method_not_allowed", "Incorrect HTTP method")

    def create_api_key(self, body: Any, principal: Principal) -> Answer:
        action = "cluster:admin/xpack/security/api_key/create"
        if not self.cluster_allowed(principal, action, own_key=True):
            return self.unauthorized(principal, action)
        body = body if isinstance(body, dict) else {}
        unknown = sorted(set(body) - {"name", "expiration", "role_descriptors", "metadata"})
        if unknown:
            return es_error(400, "x_content_parse_exception", "[api_key_request] unknown field [%s]" % unknown[0])
        if not body.get("name"):
            return es_error(400, "action_request_validation_exception",
                            "Validation Failed: 1: api key name is required;")  # fmt: skip
        descriptors = body.get("role_descriptors") or {}
        if principal.api_key and descriptors:
            return es_error(400, "illegal_argument_exception",
                            "creating derived api keys requires an explicit role descriptor that is empty")
        for name, descriptor in descriptors.items():
            error = self.descriptor_error(name, descriptor)
            if error:
                return error
        key_id = base64.urlsafe_b64encode(secrets.token_bytes(15)).decode().rstrip("=")
        secret = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        self.now_ms = next(self._clock)
        key = {
            "id": key_id,
            "name": body["name"],
            "type": "rest",
            "creation": self.now_ms,
            "invalidated": False,
            "username": principal.username,
            "realm": "default_native" if principal.username != "elastic" else "reserved",
            "realm_type": "native" if principal.username != "elastic" else "reserved",
            "metadata": copy.deepcopy(body.get("metadata") or {}),
            "role_descriptors": {n: stored_descriptor(d) for n, d in descriptors.items()},
            "limited_by": copy.deepcopy(principal.role_map),
            "secret": secret,
        }
        if body.get("expiration"):
            key["expiration"] = self.now_ms + self.duration_ms(str(body["expiration"]))
        self.api_keys[key_id] = key
        answer = {"id": key_id, "name": key["name"], "api_key": secret,
                  "encoded": base64.b64encode(("%s:%s" % (key_id, secret)).encode()).decode()}  # fmt: skip
        if "expiration" in key:
            answer["expiration"] = key["expiration"]
        return 200, answer

    @staticmethod
    def duration_ms(value: str) -> int:
        match = re.fullmatch(r"(\d+)(ms|s|m|h|d)", value)
        if match is None:
            raise ValueError("bad duration %r" % value)
        scale = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}[match.group(2)]
        return int(match.group(1)) * scale

    def get_api_keys(self, query: Dict[str, List[str]], principal: Principal) -> Answer:
        owner = (query.get("owner") or ["false"])[0] == "true"
        action = "cluster:admin/xpack/security/api_key/get"
        if not self.cluster_allowed(principal, action, own_key=owner):
            return self.unauthorized(principal, action)
        name = (query.get("name") or [None])[0]
        key_id = (query.get("id") or [None])[0]
        found = []
        for key in self.api_keys.values():
            if owner and key["username"] != principal.username:
                continue
            if key_id and key["id"] != key_id:
                continue
            if name and not fnmatch.fnmatchcase(key["name"], name):
                continue
            view = {k: copy.deepcopy(v) for k, v in key.items() if k not in ("secret", "limited_by")}
            if (query.get("with_limited_by") or ["false"])[0] == "true":
                view["limited_by"] = [copy.deepcopy(key["limited_by"])]
            found.append(view)
        # Nothing found is an empty list, not a 404.
        return 200, {"api_keys": sorted(found, key=lambda k: k["creation"])}

    def invalidate_api_keys(self, body: Any, principal: Principal) -> Answer:
        body = body if isinstance(body, dict) else {}
        owner = body.get("owner") in (True, "true")
        action = "cluster:admin/xpack/security/api_key/invalidate"
        if not self.cluster_allowed(principal, action, own_key=owner):
            return self.unauthorized(principal, action)
        ids = list(body.get("ids") or ([body["id"]] if body.get("id") else []))
        if not ids and not body.get("name") and not owner:
            return es_error(400, "action_request_validation_exception",
                            "Validation Failed: 1: One of [api key id(s), api key name, username, realm name] "
                            "must be specified if [owner] flag is false;")  # fmt: skip
        done, before = [], []
        for key in self.api_keys.values():
            if owner and key["username"] != principal.username:
                continue
            if ids and key["id"] not in ids:
                continue
            if body.get("name") and key["name"] != body["name"]:
                continue
            if key["invalidated"]:
                before.append(key["id"])
                continue
            self.now_ms = next(self._clock)
            key.update(invalidated=True, invalidation=self.now_ms)
            done.append(key["id"])
        return 200, {"invalidated_api_keys": done, "previously_invalidated_api_keys": before, "error_count": 0}

    def update_api_key(self, key_id: str, body: Any, principal: Principal) -> Answer:
        action = "cluster:admin/xpack/security/api_key/update"
        if principal.api_key:
            return es_error(400, "illegal_argument_exception",
                            "authentication via API key not supported: only the owner user can update an API key")
        if not self.cluster_allowed(principal, action, own_key=True):
            return self.unauthorized(principal, action)
        key = self.api_keys.get(key_id)
        if key is None or key["username"] != principal.username:
            return es_error(404, "resource_not_found_exception", "no API key owned by requesting user found for ID [%s]"
                            % key_id)  # fmt: skip
        if not self.active(key):
            return es_error(400, "illegal_argument_exception", "cannot update invalidated or expired API key [%s]"
                            % key_id)  # fmt: skip
        body = body if isinstance(body, dict) else {}
        unknown = sorted(set(body) - {"role_descriptors", "metadata", "expiration"})
        if unknown:
            return es_error(400, "x_content_parse_exception", "[update_api_key] unknown field [%s]" % unknown[0])
        before = copy.deepcopy((key["role_descriptors"], key["metadata"], key["limited_by"]))
        if "role_descriptors" in body:
            key["role_descriptors"] = {n: stored_descriptor(d) for n, d in (body["role_descriptors"] or {}).items()}
        if "metadata" in body:
            key["metadata"] = copy.deepcopy(body["metadata"] or {})
        key["limited_by"] = copy.deepcopy(principal.role_map)
        return 200, {"updated": before != (key["role_descriptors"], key["metadata"], key["limited_by"])}
