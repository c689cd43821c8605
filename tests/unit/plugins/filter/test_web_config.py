from __future__ import annotations

import bcrypt
import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.filter.web_config import bcrypt_users


def test_hash_verifies_against_the_password():
    hashed = bcrypt_users({"prometheus": "s3cret"})["prometheus"]
    assert hashed.startswith("$2")
    assert bcrypt.checkpw(b"s3cret", hashed.encode())
    assert not bcrypt.checkpw(b"wrong", hashed.encode())


def test_existing_matching_hash_is_kept_so_the_file_does_not_change():
    first = bcrypt_users({"prometheus": "s3cret", "grafana": "other"}, rounds=4)
    on_host = yaml.safe_dump({"basic_auth_users": first})
    second = bcrypt_users({"prometheus": "s3cret", "grafana": "other"}, on_host, rounds=4)
    assert second == first


def test_changed_password_gets_a_new_hash():
    first = bcrypt_users({"prometheus": "old"}, rounds=4)
    second = bcrypt_users({"prometheus": "new"}, {"basic_auth_users": first}, rounds=4)
    assert second["prometheus"] != first["prometheus"]
    assert bcrypt.checkpw(b"new", second["prometheus"].encode())


def test_garbage_on_host_is_ignored():
    result = bcrypt_users({"u": "p"}, "::: not yaml [", rounds=4)
    assert bcrypt.checkpw(b"p", result["u"].encode())


def test_empty_password_names_the_user():
    with pytest.raises(AnsibleFilterError, match="'scraper' has an empty password"):
        bcrypt_users({"scraper": ""})


def test_no_users_gives_empty_mapping():
    assert bcrypt_users(None) == {}
    assert bcrypt_users({}) == {}
