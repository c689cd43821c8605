# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the Prometheus exporter-toolkit web configuration (TLS and basic auth)."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from ansible.errors import AnsibleFilterError

try:
    import bcrypt

    HAS_BCRYPT = True
except ImportError:  # pragma: no cover - exercised only without bcrypt
    HAS_BCRYPT = False

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None

DOCUMENTATION_BCRYPT_USERS = """
bcrypt_users(users, existing=None, rounds=10)
  users:    {name: plaintext password} (from Ansible Vault)
  existing: the web config file currently on the host (text, or the dict it parses to),
            or None. A user whose current hash still matches the password keeps it,
            so a second run writes the same file (bcrypt salts are random).
  returns   {name: bcrypt hash} for basic_auth_users.
"""


def _existing_hashes(existing: Any) -> Dict[str, str]:
    if not existing:
        return {}
    if isinstance(existing, (bytes, str)):
        try:
            existing = yaml.safe_load(existing) if yaml else None
        except yaml.YAMLError:
            return {}
    if not isinstance(existing, Mapping):
        return {}
    users = existing.get("basic_auth_users") or {}
    return {str(k): str(v) for k, v in users.items()} if isinstance(users, Mapping) else {}


def _matches(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode("utf-8"), hashed.encode("utf-8"))
    except ValueError:
        return False


def bcrypt_users(users: Optional[Mapping[str, Any]], existing: Any = None, rounds: int = 10) -> Dict[str, str]:
    """Hash basic-auth passwords with bcrypt, reusing a host's hash that still matches."""
    if not users:
        return {}
    if not isinstance(users, Mapping):
        raise AnsibleFilterError("bcrypt_users expects a mapping of user name to password, got %s" % type(users).__name__)
    if not HAS_BCRYPT:
        raise AnsibleFilterError("bcrypt_users needs the Python 'bcrypt' package on the controller: pip install bcrypt")
    current = _existing_hashes(existing)
    result: Dict[str, str] = {}
    for name, password in users.items():
        if password is None or str(password) == "":
            raise AnsibleFilterError(
                "basic auth user '%s' has an empty password: set it (from Ansible Vault) or remove the user" % name
            )
        password = str(password)
        old = current.get(str(name))
        if old and _matches(password, old):
            result[str(name)] = old
        else:
            result[str(name)] = bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds)).decode("ascii")
    return result


class FilterModule:
    """Exporter-toolkit web config filters."""

    def filters(self):
        return {"bcrypt_users": bcrypt_users}
