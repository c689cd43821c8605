#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage a Fleet output (where Fleet-managed agents send their data)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: kibana_fleet_output
short_description: Manage a Fleet output (Elasticsearch, remote Elasticsearch or Logstash)
version_added: 0.2.0
description:
  - Creates, updates or deletes a Fleet output by its ID through Kibana's Fleet API
    (C(GET/PUT/DELETE /api/fleet/outputs/<id>), C(POST /api/fleet/outputs)).
  - Only the fields you set are compared with what Fleet returns (Fleet adds C(is_preconfigured),
    C(allow_edit), defaults...); the output is written only when one differs, so a second run writes nothing.
  - The CA fingerprint is compared without colons and in lower case, as Elastic Agent reads it.
  - B(Secrets are write-only.) Fleet keeps O(service_token) (remote Elasticsearch) and O(ssl_key) (Logstash
    client key) as secrets and answers only a reference, so a change of a secret alone is not seen. They are sent
    when the output is created, whenever it is written for another change, when Fleet shows no reference for
    them, and on every run with O(force_secret_update=true).
  - An output written in C(kibana.yml) (C(xpack.fleet.outputs), C(is_preconfigured)) is never changed; the task
    fails and names the file.
  - B(No credential goes into an Elasticsearch output.) Fleet's API has no credential field for it; Fleet Server
    creates each agent's API key itself, with the privileges of the data streams of the agent's policy. Do not put
    C(api_key), C(username) or C(password) in O(config_yaml).
author:
  - Vigil maintainers (@vigil-monitoring)
options:
  id:
    description: Output ID, chosen by you so that runs are idempotent (for example C(vigil-elasticsearch)).
    type: str
    required: true
  state:
    description: Whether the output must exist. Fleet refuses to delete the default output.
  name:
    description: Display name (unique in Fleet). Required when O(state=present).
    type: str
  type:
    description: Output type. Required when O(state=present).
    type: str
    choices: [elasticsearch, remote_elasticsearch, logstash]
  hosts:
    description:
      - Where agents send data. Elasticsearch and remote Elasticsearch take URLs (C(https://es-1.example.org:9200));
        Logstash takes C(host:port). Required when O(state=present).
    type: list
    elements: str
  is_default:
    description: Whether agent policies without their own output send data here (one default in Fleet).
    type: bool
  is_default_monitoring:
    description: Whether agent policies without their own monitoring output send monitoring data here.
    type: bool
  ca_trusted_fingerprint:
    description:
      - SHA-256 fingerprint of the CA that signed the hosts' certificates (hex, colons allowed); agents then trust
        a chain that contains this CA.
    type: str
  ssl:
    description:
      - TLS settings, as Fleet stores them; C(certificate_authorities) (PEM texts), C(certificate) (client
        certificate, PEM), C(verification_mode) (C(full), C(strict), C(certificate), C(none)).
    type: dict
  ssl_key:
    description: Client key (PEM) for a Logstash output, kept by Fleet as a secret. Never logged.
    type: str
  service_token:
    description:
      - Service token of C(elastic/fleet-server) on the remote cluster, for a C(remote_elasticsearch) output; Fleet
        Server there creates the agents' keys with it. Kept by Fleet as a secret. Never logged.
    type: str
  force_secret_update:
    description: Send O(service_token) and O(ssl_key) on every run (the task then always reports a change).
    type: bool
    default: false
  config_yaml:
    description: Advanced YAML settings of the output (for example C(bulk_max_size)), compared as text.
    type: str
  preset:
    description: Performance preset of an Elasticsearch output.
    type: str
    choices: [balanced, custom, throughput, scale, latency]
  proxy_id:
    description: ID of a Fleet proxy the agents use to reach the output.
    type: str
extends_documentation_fragment: [vigil.monitoring.api, vigil.monitoring.api.transport, vigil.monitoring.kibana,
  vigil.monitoring.resource, vigil.monitoring.resource.state]
"""

EXAMPLES = r"""
- name: The cluster's output, the default of every agent policy
  vigil.monitoring.kibana_fleet_output:
    url: https://kibana-1.example.org:5601
    url_username: vigil_fleet
    url_password: "{{ vault_es_fleet_password }}"
    id: vigil-elasticsearch
    name: Vigil Elasticsearch
    type: elasticsearch
    hosts: [https://es-1.example.org:9200, https://es-2.example.org:9200]
    is_default: true
    is_default_monitoring: true
    ca_trusted_fingerprint: "{{ es_ca_sha256 }}"
    ssl:
      certificate_authorities: ["{{ lookup('ansible.builtin.file', 'ca.crt') }}"]
      verification_mode: full

- name: A copy of the security logs to the central cluster
  vigil.monitoring.kibana_fleet_output:
    url: https://kibana-1.example.org:5601
    url_username: vigil_fleet
    url_password: "{{ vault_es_fleet_password }}"
    id: vigil-central
    name: Central SOC cluster
    type: remote_elasticsearch
    hosts: [https://soc.example.org:9200]
    service_token: "{{ vault_central_fleet_server_token }}"
"""

RETURN = r"""
output:
  description: The output as Fleet returns it (in check mode, the request that would be sent); empty when absent.
  returned: always
  type: dict
id:
  description: The output ID.
  returned: always
  type: str
secrets_sent:
  description: Whether this run sent O(service_token) or O(ssl_key).
  returned: always
  type: bool
"""

import re  # noqa: E402
from typing import Any, Dict, List, Optional  # noqa: E402

from ansible_collections.vigil.monitoring.plugins.module_utils.api_resource import (  # noqa: E402
    require_present_options,
    state_option,
    subset_changed_paths,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import KibanaObject, kibana_argument_spec, run_resource  # noqa: E402

OUTPUTS = "/api/fleet/outputs"
PLAIN_FIELDS = ("name", "type", "hosts", "is_default", "is_default_monitoring", "ca_trusted_fingerprint", "ssl",
                "config_yaml", "preset", "proxy_id")
SECRETS = {"service_token": "remote_elasticsearch", "ssl_key": "logstash"}
SSL_KEYS = ("certificate_authorities", "certificate", "verification_mode")
FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")
CREDENTIAL_KEYS = re.compile(r"^\s*(api_key|username|password)\s*:", re.MULTILINE)


def argument_spec() -> Dict[str, Any]:
    return kibana_argument_spec(
        id=dict(type="str", required=True),
        state=state_option(),
        name=dict(type="str"),
        type=dict(type="str", choices=["elasticsearch", "remote_elasticsearch", "logstash"]),
        hosts=dict(type="list", elements="str"),
        is_default=dict(type="bool"),
        is_default_monitoring=dict(type="bool"),
        ca_trusted_fingerprint=dict(type="str"),
        ssl=dict(type="dict"),
        ssl_key=dict(type="str", no_log=True),
        service_token=dict(type="str", no_log=True),
        force_secret_update=dict(type="bool", default=False),
        config_yaml=dict(type="str"),
        preset=dict(type="str", choices=["balanced", "custom", "throughput", "scale", "latency"]),
        proxy_id=dict(type="str"),
    )


def fingerprint(value: Optional[str]) -> Optional[str]:
    """A SHA-256 fingerprint as agents read it: hex, lower case, no colons."""
    return None if value is None else value.replace(":", "").strip().lower()


class Output(KibanaObject):
    """A Fleet output, compared on the fields set; its secrets are write-only."""

    kind = "Fleet output"
    result_key = "output"
    prefix = OUTPUTS
    item_key = "item"

    # -- options ----------------------------------------------------------------------
    def validate(self) -> Optional[str]:
        p = self.params
        problem = require_present_options(self.module, ("name", "type", "hosts"), "write an output")
        if problem:
            return problem
        for option, kind in SECRETS.items():
            if p[option] is not None and p["type"] != kind:
                return "%s is only for a %s output, not %s" % (option, kind, p["type"])
        if p["type"] == "remote_elasticsearch" and not p["service_token"]:
            return "a remote_elasticsearch output needs service_token (elastic/fleet-server on the remote cluster)"
        if p["preset"] is not None and p["type"] == "logstash":
            return "preset is for Elasticsearch outputs, not logstash"
        found = fingerprint(p["ca_trusted_fingerprint"])
        if found is not None and not FINGERPRINT.match(found):
            return ("ca_trusted_fingerprint must be the SHA-256 of the CA certificate in hex (64 digits, colons "
                    "allowed), got %r" % p["ca_trusted_fingerprint"])
        unknown = sorted(set(p["ssl"] or {}) - set(SSL_KEYS))
        if unknown:
            return "ssl has unknown key(s) %s; allowed: %s" % (", ".join(unknown), ", ".join(SSL_KEYS))
        if p["config_yaml"] and CREDENTIAL_KEYS.search(p["config_yaml"]):
            return ("config_yaml sets a credential (api_key, username or password): Fleet Server creates each agent's "
                    "key itself, and every agent of the policy could read one written here; remove it")
        return None

    # -- the resource -----------------------------------------------------------------
    def refusal(self, raw: Dict[str, Any]) -> Optional[str]:
        if raw.get("is_preconfigured"):
            return ("Fleet output %s is preconfigured in kibana.yml (xpack.fleet.outputs); Fleet's API cannot change it. "
                    "Change it in kibana.yml, or give this task another id" % self.name)
        return None

    def normalise(self, raw: Dict[str, Any]) -> Dict[str, Any]:
        state = {k: raw[k] for k in PLAIN_FIELDS if k in raw and raw[k] is not None}
        if "ca_trusted_fingerprint" in state:
            state["ca_trusted_fingerprint"] = fingerprint(state["ca_trusted_fingerprint"])
        return state

    def desired(self) -> Dict[str, Any]:
        p = self.params
        state = {k: p[k] for k in PLAIN_FIELDS if p.get(k) is not None}
        if "ca_trusted_fingerprint" in state:
            state["ca_trusted_fingerprint"] = fingerprint(state["ca_trusted_fingerprint"])
        return state

    def secrets_given(self) -> bool:
        return any(self.params[option] for option in SECRETS)

    def secrets_missing(self) -> Optional[str]:
        stored = self.raw.get("secrets") or {}
        refs = {"service_token": stored.get("service_token") or self.raw.get("service_token"),
                "ssl_key": (stored.get("ssl") or {}).get("key")}
        missing = [option for option in SECRETS if self.params[option] and not refs.get(option)]
        return "secrets (%s not stored in Fleet)" % ", ".join(missing) if missing else None

    def changed_fields(self, current: Optional[Dict[str, Any]], desired: Optional[Dict[str, Any]]) -> List[str]:
        if current is None or desired is None:
            return sorted((desired if current is None else current) or {})
        return self.with_secrets_reason(subset_changed_paths(desired, current))

    def body(self) -> Dict[str, Any]:
        body = self.desired()
        if self.params["service_token"]:
            body["secrets"] = {"service_token": self.params["service_token"]}
        if self.params["ssl_key"]:
            body["secrets"] = {"ssl": {"key": self.params["ssl_key"]}}
        return body

    def create(self) -> Any:
        body = dict(self.body(), id=self.params["id"])
        return self.client.request("POST", OUTPUTS, body=body, expect=dict)[1].get("item")

    def update(self, raw: Dict[str, Any]) -> Any:
        return self.client.request("PUT", self.path, body=self.body(), expect=dict)[1].get("item")

    def delete(self, raw: Dict[str, Any]) -> None:
        self.client.request("DELETE", self.path, expect=None)

    def delete_hint(self) -> str:
        return "Fleet refuses to delete the default output and an output a policy uses; move them elsewhere first"


def main() -> None:
    run_resource(Output, argument_spec())


if __name__ == "__main__":
    main()
