# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""URL, token and retries of Vigil's OpenCTI modules (pycti on the host that runs the task).

Modules extend it together with ``vigil.monitoring.api.transport`` (TLS, timeout, retry delay).
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
author:
  - Vigil maintainers (@vigil-monitoring)
options:
  url:
    description:
      - Base URL of the OpenCTI platform, for example C(https://opencti.example.org). The GraphQL endpoint is
        C(<url>/graphql).
    type: str
    required: true
  api_token:
    description:
      - API token of an OpenCTI user allowed to do what the module does (the platform admin token or, better, a
        dedicated service account's token). Never logged.
    type: str
    required: true
    aliases: [token]
  retries:
    description:
      - How many times the first request (the health query) is retried when the platform does not answer (it may
        be starting). Bounded.
    type: int
    default: 5
requirements:
  - pycti (the release matching the OpenCTI platform, for example C(pip install pycti==7.261026.0))
"""
