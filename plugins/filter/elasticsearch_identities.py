# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The component identities the elasticsearch role creates (users with one role each).

elasticsearch_identity_roles(identities)
  identities: {name, password, component, role} entries (the role's, then
              elasticsearch_identities_extra), those with a password
  returns {name, component, role} per identity: the same without the passwords, for loop
  items that are printed.

elasticsearch_invalid_identities(identities, reserved)
  reserved: built-in user names an identity may not take
  returns the names of the unusable identities ("(entry <n>)", counted from 1, for one
  without a name): no name, a reserved or repeated name, a password shorter than 16
  characters, or a role that is not a mapping. No password is returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Dict, List, Sequence

from ansible.errors import AnsibleFilterError
from ansible_collections.vigil.monitoring.plugins.plugin_utils.filter_input import FilterInputError, as_list

MIN_PASSWORD_LENGTH = 16


def _entries(identities: Any) -> List[Mapping]:
    try:
        items = as_list(identities, "the identities (elasticsearch_identities_extra)")
    except FilterInputError as exc:
        raise AnsibleFilterError(str(exc)) from None
    return [item if isinstance(item, Mapping) else {} for item in items]


def elasticsearch_identity_roles(identities: Any) -> List[Dict[str, Any]]:
    """{name, component, role} of every identity: no password."""
    return [{"name": item["name"], "component": item.get("component", item["name"]), "role": item.get("role", {})}
            for item in _entries(identities)]


def _unusable(item: Mapping, name: str, names: Sequence[Any], reserved: Sequence[Any]) -> bool:
    password = str(item.get("password", ""))
    return (not name or name in reserved or names.count(name) > 1
            or 0 < len(password) < MIN_PASSWORD_LENGTH or not isinstance(item.get("role"), Mapping))


def elasticsearch_invalid_identities(identities: Any, reserved: Any = ()) -> List[str]:
    """Names of the identities the role cannot create, each once."""
    items = _entries(identities)
    names = [item.get("name", "") for item in items]
    found: List[str] = []
    for number, item in enumerate(items, start=1):
        name = str(item.get("name", ""))
        label = name or "(entry %d)" % number
        if _unusable(item, name, names, list(reserved or ())) and label not in found:
            found.append(label)
    return found


class FilterModule:
    """Elasticsearch component identities."""

    def filters(self):
        return {
            "elasticsearch_identity_roles": elasticsearch_identity_roles,
            "elasticsearch_invalid_identities": elasticsearch_invalid_identities,
        }
