# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options and attributes of the Elasticsearch modules (with vigil.monitoring.api)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  api_key:
    description:
      - Elasticsearch API key, sent in the C(Authorization) header with the C(ApiKey) scheme; the C(encoded) value
        or C(id:api_key). Never logged.
      - Mutually exclusive with O(api_token) and O(url_username).
    type: str
attributes:
  action_group:
    description: Set the connection options once per play or block with C(module_defaults) and C(group/vigil.monitoring.elasticsearch).
    support: full
    membership: [vigil.monitoring.elasticsearch]
"""

    # vigil.monitoring.elasticsearch.name: the name of a resource at <API path>/<name> (a module may describe it).
    NAME = r"""
options:
  name:
    description: Name of the resource, the last segment of its API path.
    type: str
    required: true
"""
