# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by Vigil's HTTP API modules.

``vigil.monitoring.api`` documents the URL, authentication and retries of
``vigil_http.api_argument_spec``; ``vigil.monitoring.api.transport`` its TLS, timeout and retry-delay
options. Every API module takes the second; a family that documents its own URL, authentication and
retries (``vigil.monitoring.opencti``) takes only the second.
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  url:
    description: Base URL of the API, for example C(https://grafana.example.org:3000).
    type: str
    required: true
  url_username:
    description: User for HTTP basic authentication. Mutually exclusive with O(api_token).
    type: str
    aliases: [username]
  url_password:
    description: Password for HTTP basic authentication. Never logged.
    type: str
    aliases: [password]
  api_token:
    description: API token or service-account token sent as an C(Authorization) header. Never logged.
    type: str
  retries:
    description: How many times a refused connection or an HTTP 502/503/504 is retried (the service may be starting). Bounded.
    type: int
    default: 5
"""

    TRANSPORT = r"""
options:
  validate_certs:
    description: Verify the server's TLS certificate. Leave on; turn off only for a lab with self-signed certificates.
    type: bool
    default: true
  ca_path:
    description: PEM file of the CA that signed the server certificate (instead of the system store).
    type: path
  client_cert:
    description: PEM client certificate for mutual TLS.
    type: path
  client_key:
    description: PEM private key of O(client_cert).
    type: path
  timeout:
    description: Seconds to wait for one HTTP answer.
    type: int
    default: 30
  retry_delay:
    description: Seconds between two retries.
    type: float
    default: 3.0
"""
