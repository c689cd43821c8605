# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the Elasticsearch nodes of an inventory group are reached, and which are masters."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.filter.elasticsearch_nodes import (
    FilterModule,
    elasticsearch_http_urls,
    elasticsearch_master_hosts,
    elasticsearch_node_names,
    elasticsearch_seed_hosts,
)

HOSTVARS = {
    "es1": {"ansible_host": "192.0.2.10", "elasticsearch_node_roles": ["master", "data"]},
    "es2": {"ansible_host": "2001:db8::12", "elasticsearch_http_port": 9201, "elasticsearch_node_roles": ["data"],
            "elasticsearch_node_name": "data-two"},
    "es3": {"ansible_host": "[2001:db8::13]"},
    "es4": {},
}
HOSTS = ["es1", "es2", "es3", "es4"]
DEFAULT_ROLES = ["master", "data", "ingest"]


def test_the_filters_are_exposed():
    assert set(FilterModule().filters()) == {"elasticsearch_http_urls", "elasticsearch_seed_hosts",
                                             "elasticsearch_master_hosts", "elasticsearch_node_names"}


def test_https_urls_with_each_nodes_port_ipv6_bracketed_once():
    assert elasticsearch_http_urls(HOSTS, HOSTVARS) == [
        "https://192.0.2.10:9200", "https://[2001:db8::12]:9201", "https://[2001:db8::13]:9200", "https://es4:9200"]


def test_seed_hosts_on_the_transport_port():
    assert elasticsearch_seed_hosts(HOSTS, HOSTVARS, 9300) == [
        "192.0.2.10:9300", "[2001:db8::12]:9300", "[2001:db8::13]:9300", "es4:9300"]


def test_masters_follow_the_node_roles_else_the_default():
    assert elasticsearch_master_hosts(HOSTS, HOSTVARS, DEFAULT_ROLES) == ["es1", "es3", "es4"]
    assert elasticsearch_master_hosts(HOSTS, HOSTVARS, ["data"]) == ["es1"]
    assert elasticsearch_node_names(["es1", "es2"], HOSTVARS) == ["es1", "data-two"]


def test_an_empty_group_has_no_node():
    assert elasticsearch_http_urls([], HOSTVARS) == [] and elasticsearch_seed_hosts(None, HOSTVARS, 9300) == []


@pytest.mark.parametrize("call, message", [
    (lambda: elasticsearch_http_urls(["es9"], HOSTVARS), "elasticsearch_http_urls: host es9 is not in the inventory"),
    (lambda: elasticsearch_seed_hosts("es1", HOSTVARS, 9300), "the hosts must be a list of inventory names"),
    (lambda: elasticsearch_master_hosts(["es1"], {"es1": {"elasticsearch_node_roles": 3}}, DEFAULT_ROLES),
     "elasticsearch_node_roles must be a list of node roles"),
    (lambda: elasticsearch_node_names(["es1"], None), "host es1 is not in the inventory; pass hostvars"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(AnsibleFilterError, match=message):
        call()
