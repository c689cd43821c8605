#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage an Elasticsearch component template (_component_template)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: elasticsearch_component_template
short_description: Manage an Elasticsearch component template, such as an integration's C(@custom) hook
version_added: 0.2.0
description:
  - Creates, updates or deletes a component template through C(PUT/GET/DELETE _component_template/<name>).
  - The way to change what Fleet-managed data streams get without replacing Fleet's index templates - every
    index template Fleet installs for an integration composes C(<type>@custom) and C(<type>-<dataset>@custom)
    (listed under C(ignore_missing_component_templates)), so settings such as C(index.lifecycle.name) and
    mappings written there apply to that data stream's next backing index.
  - Compares the stored template with O(body) after normalising both the way Elasticsearch stores them (settings
    flattened to dotted keys with the C(index.) prefix and string values, read with C(flat_settings=true); a
    C(_doc) mapping type unwrapped; C(template.lifecycle) with C(enabled=true); empty sections dropped; the server's
    C(created_date)/C(modified_date) ignored), and writes only on a difference.
  - A missing template is recognised only by HTTP 404.
author:
  - Vigil maintainers (@vigil-monitoring)
options:
  name:
    description: Component template name, for example C(logs-fortinet_fortigate.log@custom).
  body:
    description:
      - The template as sent to C(PUT _component_template/<name>) - C(template) (C(settings), C(mappings),
        C(aliases), C(lifecycle)), and optionally C(version), C(_meta) and C(deprecated).
      - Required when O(state=present).
    type: dict
extends_documentation_fragment: [vigil.monitoring.api, vigil.monitoring.api.transport, vigil.monitoring.elasticsearch, vigil.monitoring.elasticsearch.name,
  vigil.monitoring.resource, vigil.monitoring.resource.state]
notes:
  - Elasticsearch refuses to delete a component template that an index template composes; its error is reported.
  - Needs the C(manage_index_templates) cluster privilege.
"""

EXAMPLES = r"""
- name: Firewall logs of Elastic's FortiGate integration follow Vigil's ILM policy
  vigil.monitoring.elasticsearch_component_template:
    url: https://es.lab.example:9200
    api_key: "{{ vault_es_api_key }}"
    name: logs-fortinet_fortigate.log@custom
    body:
      template:
        settings:
          index.lifecycle.name: vigil-firewall
      _meta: {managed_by: vigil}

- name: Remove it
  vigil.monitoring.elasticsearch_component_template:
    url: https://es.lab.example:9200
    api_key: "{{ vault_es_api_key }}"
    name: logs-fortinet_fortigate.log@custom
    state: absent
"""

RETURN = r"""
component_template:
  description: The normalised component template as it is (or, in check mode, would be) stored; empty when absent.
  returned: always
  type: dict
"""

from typing import Any, Dict, Optional  # noqa: E402

from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import TemplateResource, normalize_template_section, run_body_resource  # noqa: E402

BODY_KEYS = ("template", "version", "_meta", "deprecated")


class ComponentTemplate(TemplateResource):
    kind = "component template"
    result_key = "component_template"

    def document_problem(self, document: Dict[str, Any]) -> Optional[str]:
        if not isinstance(document.get("template"), dict):
            return "body.template is required: a dict with settings, mappings, aliases or lifecycle"
        unknown = sorted(set(document) - set(BODY_KEYS))
        if unknown:
            return "body has key(s) %s that a component template does not take; use %s" % (
                ", ".join(unknown), ", ".join(BODY_KEYS))
        return None

    def template_form(self, document: Dict[str, Any]) -> Dict[str, Any]:
        """A component template the way Elasticsearch stores and shows it (flat settings)."""
        document["template"] = normalize_template_section(document.get("template") or {})
        return document


def main() -> None:
    run_body_resource(ComponentTemplate)


if __name__ == "__main__":
    main()
