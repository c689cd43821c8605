#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage an Elasticsearch security role (native realm)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: elasticsearch_role
short_description: Manage an Elasticsearch security role, with its privilege names checked first
version_added: 0.2.0
description:
  - Creates, updates or deletes a role of the native realm through C(PUT/GET/DELETE _security/role/<name>).
  - Every privilege name is checked before any call - cluster, index and remote cluster privileges against
    the lists of Elasticsearch's API specification (C(elastic/elasticsearch-specification), branch 8.17,
    derived into C(plugins/module_utils/elastic_privileges_data.py)), and Kibana privileges (application
    C(kibana-.kibana)) against the features Vigil knows (C(plugins/module_utils/elastic_security.py)). An
    unknown name fails the task naming the entry, the name and the closest valid ones. Privileges of other
    applications are not checked.
  - The stored role is compared with the desired one after normalising both the way Elasticsearch shows
    roles (empty C(cluster), C(indices), C(applications), C(run_as) and C(metadata) when unset,
    C(allow_restricted_indices=false), the server's C(transient_metadata) ignored, privilege, index name
    and resource lists compared as sets); the role is written only on a difference.
  - A missing role is recognised only by HTTP 404. Built-in (reserved) roles are refused.
author:
  - Vigil maintainers (@vigil-monitoring)
options:
  cluster:
    description: Cluster privileges, for example C(manage_ingest_pipelines).
    type: list
    elements: str
    default: []
  indices:
    description:
      - Index privilege entries, each with C(names) (index names or patterns), C(privileges), and
        optionally C(field_security), C(query) and C(allow_restricted_indices).
    type: list
    elements: dict
    default: []
  applications:
    description:
      - Application privilege entries, each with C(application), C(privileges) and C(resources). Kibana's
        are C(application=kibana-.kibana), privileges such as C(feature_stackAlerts.all) and resources
        such as C(space:default).
    type: list
    elements: dict
    default: []
  run_as:
    description: Users the role may impersonate. Leave empty unless a component needs it.
    type: list
    elements: str
    default: []
  metadata:
    description: Metadata stored with the role (keys starting with C(_) are reserved by Elasticsearch).
    type: dict
    default: {}
  description:
    description: Description of the role (Elasticsearch 8.15 and later).
    type: str
extends_documentation_fragment: [vigil.monitoring.api, vigil.monitoring.api.transport, vigil.monitoring.elasticsearch, vigil.monitoring.elasticsearch.name,
  vigil.monitoring.resource, vigil.monitoring.resource.state]
notes:
  - Needs the C(manage_security) cluster privilege (the C(elastic) user during bootstrap).
"""

EXAMPLES = r"""
- name: The role of the pipeline, template and ILM uploads
  vigil.monitoring.elasticsearch_role:
    url: https://es.lab.example:9200
    url_username: elastic
    url_password: "{{ vault_elasticsearch_elastic_password }}"
    name: vigil_ingest
    cluster: [manage_ingest_pipelines, manage_index_templates, manage_ilm]
    metadata: {managed_by: vigil}

- name: Grafana reads the logs data streams
  vigil.monitoring.elasticsearch_role:
    url: https://es.lab.example:9200
    url_username: elastic
    url_password: "{{ vault_elasticsearch_elastic_password }}"
    name: vigil_grafana
    indices:
      - names: ["logs-*"]
        privileges: [read, view_index_metadata]
"""

RETURN = r"""
role:
  description: The normalised role as it is (or, in check mode, would be) stored; empty when absent.
  returned: always
  type: dict
"""

from typing import Any, Dict, Optional  # noqa: E402

from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import named_resource_spec, run_resource  # noqa: E402
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic_security import (  # noqa: E402
    SecurityResource,
    descriptor_errors,
    normalize_descriptor,
)

DESCRIPTOR_OPTIONS = ("cluster", "indices", "applications", "run_as", "metadata", "description")


def argument_spec() -> Dict[str, Any]:
    return named_resource_spec(
        cluster=dict(type="list", elements="str", default=[]),
        indices=dict(type="list", elements="dict", default=[]),
        applications=dict(type="list", elements="dict", default=[]),
        run_as=dict(type="list", elements="str", default=[]),
        metadata=dict(type="dict", default={}),
        description=dict(type="str"),
    )


def desired_body(params: Dict[str, Any]) -> Dict[str, Any]:
    """The PUT body: what the user set (empty lists are sent, so a removed privilege is removed)."""
    return {key: params[key] for key in DESCRIPTOR_OPTIONS if params.get(key) is not None}


class Role(SecurityResource):
    kind = "role"
    result_key = "role"
    prefix = "/_security/role"

    def validate(self) -> Optional[str]:
        errors = descriptor_errors(desired_body(self.params), "role %s" % self.name)
        return "; ".join(errors) if errors else None

    def normalise(self, raw: Dict[str, Any]) -> Dict[str, Any]:
        return normalize_descriptor(raw)

    def desired(self) -> Dict[str, Any]:
        return normalize_descriptor(desired_body(self.params))

    def body(self) -> Dict[str, Any]:
        return desired_body(self.params)


def main() -> None:
    run_resource(Role, argument_spec())


if __name__ == "__main__":
    main()
