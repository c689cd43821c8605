# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Service-account tokens and component identities of the elasticsearch role."""

from __future__ import annotations

import base64

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.filter import elasticsearch_identities as identities
from ansible_collections.vigil.monitoring.plugins.filter import elasticsearch_service_tokens as tokens


def bearer(text: str, prefix: bytes = b"\x00\x01\x00\x01", padding: bool = False) -> str:
    encoded = base64.b64encode(prefix + text.encode()).decode()
    return encoded if padding else encoded.rstrip("=")


def test_the_filters_are_exposed():
    assert set(tokens.FilterModule().filters()) == {
        "elasticsearch_service_tokens", "elasticsearch_invalid_service_tokens", "elasticsearch_service_token_store"}
    assert set(identities.FilterModule().filters()) == {"elasticsearch_identity_roles", "elasticsearch_invalid_identities"}


def test_a_bearer_token_is_split_into_name_and_secret():
    good = "elastic/kibana/vigil:a-secret-of-enough-length"
    assert tokens.elasticsearch_service_tokens([bearer(good), bearer(good, padding=True)]) == [
        {"valid": True, "qualified_name": "elastic/kibana/vigil", "secret": "a-secret-of-enough-length"}] * 2


@pytest.mark.parametrize("token, entry", [
    (bearer("elastic/kibana/vigil:x", prefix=b"\x00\x01\x00\x02"),
     {"valid": False, "qualified_name": "elastic/kibana/vigil", "secret": "x"}),
    (bearer("elastic/kibana:no-third-part"), {"valid": False, "qualified_name": "elastic/kibana", "secret": "no-third-part"}),
    (bearer("elastic/kibana/vigil"), {"valid": False, "qualified_name": "elastic/kibana/vigil", "secret": ""}),
    ("x", {"valid": False, "qualified_name": "", "secret": ""}),  # not base64: no crash, not valid
])
def test_tokens_of_another_shape_are_not_valid(token, entry):
    assert tokens.elasticsearch_service_tokens([token]) == [entry]


def test_the_preflight_gets_positions_never_values():
    entries = tokens.elasticsearch_service_tokens([
        bearer("elastic/kibana/vigil:a-secret-of-enough-length"),
        bearer("elastic/kibana/vigil:short"),
        bearer("Elastic/kibana/vigil:a-secret-of-enough-length"),
        bearer("elastic/kibana/vigil:a-secret-of-enough-length", prefix=b"\x00\x00\x00\x00"),
    ])
    assert tokens.elasticsearch_invalid_service_tokens(entries) == [1, 2, 3]
    assert tokens.elasticsearch_invalid_service_tokens(["garbage"]) == [0]


def test_the_token_store_is_read_back_with_2b_hashes():
    text = "elastic/kibana/vigil:$2a$10$abc\n elastic/fleet-server/f : $2b$10$def \nno separator\n\n"
    assert tokens.elasticsearch_service_token_store(text) == {
        "elastic/kibana/vigil": "$2b$10$abc", "elastic/fleet-server/f": "$2b$10$def"}
    assert tokens.elasticsearch_service_token_store("") == {}


def test_tokens_must_be_a_list():
    with pytest.raises(AnsibleFilterError, match="elasticsearch_service_tokens must be a list, got str"):
        tokens.elasticsearch_service_tokens("one-token")


IDENTITIES = [
    {"name": "vigil_ingest", "password": "sixteen-chars-ok", "component": "ingest", "role": {"cluster": ["manage_ilm"]}},
    {"name": "vigil_grafana", "password": "s3cret-but-short", "role": {"indices": []}},
]


def test_identity_roles_carry_no_password():
    assert identities.elasticsearch_identity_roles(IDENTITIES) == [
        {"name": "vigil_ingest", "component": "ingest", "role": {"cluster": ["manage_ilm"]}},
        {"name": "vigil_grafana", "component": "vigil_grafana", "role": {"indices": []}},
    ]
    assert "sixteen-chars-ok" not in repr(identities.elasticsearch_identity_roles(IDENTITIES))


def test_unusable_identities_are_named_each_once():
    entries = IDENTITIES + [
        {"name": "vigil_ingest", "password": "another-long-password", "role": {}},
        {"name": "kibana_system", "password": "a-long-enough-password", "role": {}},
        {"name": "short", "password": "too-short", "role": {}},
        {"password": "a-long-enough-password", "role": {}},
        {"name": "no_role", "password": "a-long-enough-password", "role": "superuser"},
        {"name": "not_yet", "password": "", "role": {}},
    ]
    assert identities.elasticsearch_invalid_identities(entries, ["elastic", "kibana_system"]) == [
        "vigil_ingest", "kibana_system", "short", "(entry 6)", "no_role"]
    assert identities.elasticsearch_invalid_identities(IDENTITIES, ["elastic"]) == []


def test_identities_must_be_a_list():
    with pytest.raises(AnsibleFilterError, match=r"the identities \(elasticsearch_identities_extra\) must be a list, got dict"):
        identities.elasticsearch_invalid_identities({"name": "x"})
