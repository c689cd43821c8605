# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared rules the new filters use: reaching an inventory host, reading role variables."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.module_utils import inventory_address as address
from ansible_collections.vigil.monitoring.plugins.plugin_utils import filter_input as values


@pytest.mark.parametrize("given, written", [
    ("192.0.2.1", "192.0.2.1"), ("2001:db8::1", "[2001:db8::1]"), ("[2001:db8::1]", "[2001:db8::1]"), ("mon1", "mon1"),
])
def test_ipv6_addresses_are_bracketed_once(given, written):
    assert address.bracketed(given) == written
    assert address.host_endpoint(given, 9090, "https") == "https://%s:9090" % written


def test_the_first_defined_variable_wins_even_when_empty():
    hostvars = {"a": {"vigil_metrics_address": "", "ansible_host": "192.0.2.1"}, "b": {"ansible_host": 10}}
    assert address.host_address(hostvars, "a", ("vigil_metrics_address", "ansible_host")) == ""
    assert address.host_address(hostvars, "b") == "10"
    assert address.host_value(hostvars, "b", "missing", "fallback") == "fallback"
    with pytest.raises(address.HostNotFound):
        address.host_address(hostvars, "c")


def test_numbers_and_merges_as_the_roles_jinja_read_them():
    assert [values.whole_number(v, "x") for v in ("3", " 4 ", 5.9, "6.2", True)] == [3, 4, 5, 6, 1]
    with pytest.raises(values.FilterInputError, match="threshold must be a number, got 'ten'"):
        values.whole_number("ten", "threshold")
    assert values.merge({"a": {"b": 1, "c": [1]}, "d": 1}, {"a": {"c": [2], "e": 3}}) == {"a": {"b": 1, "c": [2], "e": 3}, "d": 1}
    assert values.as_list(None, "x") == [] and values.as_mapping(None, "x") == {}


def test_filter_errors_become_ansible_filter_errors():
    @values.filter_errors
    def needs_a_list(value):
        return values.as_list(value, "some_role_variable")

    with pytest.raises(AnsibleFilterError, match="^some_role_variable must be a list, got str$"):
        needs_a_list("x")
