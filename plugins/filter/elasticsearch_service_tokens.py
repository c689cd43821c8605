# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Elasticsearch service-account tokens: what a bearer token holds, and the file token store.

elasticsearch_service_tokens(tokens)
  tokens: elasticsearch_service_tokens (bearer tokens, from the vault)
  returns {valid, qualified_name, secret} per token. A bearer token is base64 (padding
  optional) of the bytes 00 01 00 01 and "<namespace>/<service>/<token name>:<secret>";
  one that is not (or is not base64 at all) is ``valid: false``.

elasticsearch_invalid_service_tokens(entries)
  entries: the result of elasticsearch_service_tokens
  returns the list positions of the tokens Elasticsearch would refuse: not valid, a name
  that is not "<namespace>/<service>/<token name>" of letters, digits, _ and -, or a
  secret shorter than 16 characters.

elasticsearch_service_token_store(text)
  text: the file token store (service_tokens): "<qualified name>:<bcrypt hash>" lines
  returns {qualified name: hash}, $2a$ hashes written as $2b$ (the same hash for bcrypt).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any, Dict, List

from ansible.errors import AnsibleFilterError
from ansible_collections.vigil.monitoring.plugins.plugin_utils.filter_input import FilterInputError, as_list

TOKEN_PREFIX = "\x00\x01\x00\x01"
MIN_SECRET_LENGTH = 16
_QUALIFIED_NAME = re.compile(r"^[a-z0-9_-]+/[a-z0-9_-]+/[A-Za-z0-9_-]{1,256}$")
_BCRYPT_2A = re.compile(r"^\$2a\$")


def _decoded(token: Any) -> str:
    text = str(token)
    padded = text + "=" * ((4 - len(text) % 4) % 4)
    try:
        return base64.b64decode(padded.encode("utf-8", errors="surrogateescape")).decode("utf-8", errors="surrogateescape")
    except (binascii.Error, ValueError):
        return ""


def _entry(token: Any) -> Dict[str, Any]:
    text = _decoded(token)
    name, separator, secret = text[4:].partition(":")
    return {
        "valid": text[:4] == TOKEN_PREFIX and separator == ":" and len(name.split("/")) == 3,
        "qualified_name": name,
        "secret": secret,
    }


def elasticsearch_service_tokens(tokens: Any) -> List[Dict[str, Any]]:
    """{valid, qualified_name, secret} of every bearer token."""
    try:
        return [_entry(token) for token in as_list(tokens, "elasticsearch_service_tokens")]
    except FilterInputError as exc:
        raise AnsibleFilterError(str(exc)) from None


def _usable(entry: Any) -> bool:
    if not isinstance(entry, Mapping):
        return False
    name, secret = entry.get("qualified_name"), entry.get("secret")
    return (bool(entry.get("valid")) and isinstance(name, str) and _QUALIFIED_NAME.search(name) is not None
            and isinstance(secret, str) and len(secret) >= MIN_SECRET_LENGTH)


def elasticsearch_invalid_service_tokens(entries: Any) -> List[int]:
    """Positions (from 0) of the tokens Elasticsearch would refuse; no token value is returned."""
    try:
        return [index for index, entry in enumerate(as_list(entries, "the service token entries")) if not _usable(entry)]
    except FilterInputError as exc:
        raise AnsibleFilterError(str(exc)) from None


def elasticsearch_service_token_store(text: Any) -> Dict[str, str]:
    """{qualified name: bcrypt hash} of a file token store's lines."""
    found: Dict[str, str] = {}
    for line in str(text or "").splitlines():
        name, separator, digest = line.partition(":")
        if separator:
            found[name.strip()] = _BCRYPT_2A.sub("$2b$", digest.strip())
    return found


class FilterModule:
    """Elasticsearch service-account tokens."""

    def filters(self):
        return {
            "elasticsearch_service_tokens": elasticsearch_service_tokens,
            "elasticsearch_invalid_service_tokens": elasticsearch_invalid_service_tokens,
            "elasticsearch_service_token_store": elasticsearch_service_token_store,
        }
