# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options and attributes of the Grafana alerting provisioning modules (with vigil.monitoring.api)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
author:
  - Vigil maintainers (@vigil-monitoring)
options:
  state:
    description:
      - V(present) creates the resource or updates it to match the options.
      - V(absent) deletes it; a resource that does not exist is no change.
    type: str
    choices: [present, absent]
    default: present
  org_id:
    description:
      - Grafana organisation to work in, sent as the C(X-Grafana-Org-Id) header. Without it Grafana uses the token's
        organisation (or the user's current one).
    type: int
  disable_provenance:
    description:
      - Send C(X-Disable-Provenance) on create and update so that the resource stays editable in the Grafana UI
        (provenance empty). When false it gets provenance C(api) and is read-only in the UI.
      - Never sent on delete.
    type: bool
    default: false
attributes:
  action_group:
    description: Set the connection options once per play or block with C(module_defaults) and C(group/vigil.monitoring.grafana).
    support: full
    membership: [vigil.monitoring.grafana]
notes:
  - "Provenance is part of the resource's state: the result and the diff show it (C(api) or an empty string), and a
    resource with another provenance (for example C(file), owned by file provisioning) is never changed or deleted."
  - "Needs an account that may provision alerting in O(org_id): the Admin role, or a service account with the
    alerting provisioning permissions."
"""
