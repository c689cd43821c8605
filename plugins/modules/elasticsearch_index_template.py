#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage an Elasticsearch composable index template (_index_template)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: elasticsearch_index_template
short_description: Manage an Elasticsearch composable index template, data streams included
version_added: 0.1.0
description:
  - Creates, updates or deletes a composable index template through C(PUT/GET/DELETE _index_template/<name>).
    Legacy C(_template) templates are not managed.
  - Compares the stored template with O(body) after normalising both the way Elasticsearch stores
    templates, and writes only on a difference. Normalisation - settings are flattened to dotted keys
    with the C(index.) prefix and string values (C(GET ...?flat_settings=true) is used);
    C(data_stream) gets its defaults (C(hidden=false), C(allow_custom_routing=false));
    C(template.lifecycle) (data stream lifecycle) gets C(enabled=true); C(composed_of) defaults to
    an empty list; empty C(settings)/C(mappings)/C(aliases) are dropped; the server's
    C(created_date)/C(modified_date) fields are ignored. Everything else is compared exactly.
  - A missing template is recognised only by HTTP 404.
author:
  - Vigil maintainers (@vigil-monitoring)
options:
  body:
    description:
      - The template as sent to C(PUT _index_template/<name>) (C(index_patterns), C(data_stream),
        C(template) with C(settings) such as C(index.lifecycle.name), C(mappings), C(aliases),
        C(lifecycle) and C(data_stream_options), C(priority), C(composed_of), C(version), C(_meta), ...).
      - Required when O(state=present); C(index_patterns) is required by Elasticsearch.
    type: dict
extends_documentation_fragment: [vigil.monitoring.api, vigil.monitoring.api.transport, vigil.monitoring.elasticsearch, vigil.monitoring.elasticsearch.name,
  vigil.monitoring.resource, vigil.monitoring.resource.state]
notes:
  - A template used by a data stream cannot be deleted; Elasticsearch's error is reported.
"""

EXAMPLES = r"""
- name: Data stream template for firewall logs, managed by ILM
  vigil.monitoring.elasticsearch_index_template:
    url: https://es.lab.example:9200
    api_key: "{{ vault_es_api_key }}"
    name: vigil-logs-firewall
    body:
      index_patterns: ["logs-firewall-*"]
      data_stream: {}
      priority: 200
      composed_of: ["ecs@mappings"]
      template:
        settings:
          index.lifecycle.name: vigil-security-365d
          number_of_replicas: 1
      _meta: {managed_by: vigil}

- name: Debug logs use the data stream lifecycle instead of ILM
  vigil.monitoring.elasticsearch_index_template:
    url: https://es.lab.example:9200
    api_key: "{{ vault_es_api_key }}"
    name: vigil-logs-debug
    body:
      index_patterns: ["logs-debug-*"]
      data_stream: {}
      priority: 200
      template:
        lifecycle: {data_retention: 7d}
"""

RETURN = r"""
template:
  description: The normalised template as it is (or, in check mode, would be) stored; empty when absent.
  returned: always
  type: dict
"""

from typing import Any, Dict, Optional  # noqa: E402

from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import TemplateResource, normalize_template_section, run_body_resource  # noqa: E402

DATA_STREAM_DEFAULTS = {"hidden": False, "allow_custom_routing": False}


class IndexTemplate(TemplateResource):
    kind = "index template"
    result_key = "template"

    def document_problem(self, document: Dict[str, Any]) -> Optional[str]:
        patterns = document.get("index_patterns")
        if not patterns or not isinstance(patterns, (list, str)):
            return "body.index_patterns is required: a list of index patterns, for example ['logs-firewall-*']"
        if "template" in document and not isinstance(document["template"], dict):
            return "body.template must be a dict (settings, mappings, aliases, lifecycle, ...)"
        if "composed_of" in document and not isinstance(document["composed_of"], list):
            return "body.composed_of must be a list of component template names"
        return None

    def template_form(self, document: Dict[str, Any]) -> Dict[str, Any]:
        """A template the way Elasticsearch stores and shows it (flat settings, data stream defaults)."""
        if isinstance(document.get("index_patterns"), str):
            document["index_patterns"] = [document["index_patterns"]]
        document.setdefault("composed_of", [])
        if isinstance(document.get("data_stream"), dict):
            document["data_stream"] = dict(DATA_STREAM_DEFAULTS, **document["data_stream"])
        if isinstance(document.get("template"), dict):
            document["template"] = normalize_template_section(document["template"])
            if not document["template"]:
                del document["template"]
        return document


def main() -> None:
    run_body_resource(IndexTemplate)


if __name__ == "__main__":
    main()
