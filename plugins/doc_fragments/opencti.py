# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by Vigil's OpenCTI modules (pycti on the host that runs the task)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
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
  validate_certs:
    description: Verify the platform's TLS certificate. Leave on; turn off only for a lab with self-signed certificates.
    type: bool
    default: true
  ca_path:
    description: PEM file of the CA that signed the platform's certificate (instead of the system store).
    type: path
  client_cert:
    description: PEM client certificate for mutual TLS.
    type: path
  client_key:
    description: PEM private key of O(client_cert).
    type: path
  timeout:
    description: Seconds to wait for one answer of the platform.
    type: int
    default: 30
  retries:
    description:
      - How many times the first request (the health query) is retried when the platform does not answer (it may
        be starting). Bounded.
    type: int
    default: 5
  retry_delay:
    description: Seconds between two retries.
    type: float
    default: 3.0
requirements:
  - pycti (the release matching the OpenCTI platform, for example C(pip install pycti==7.261026.0))
"""
